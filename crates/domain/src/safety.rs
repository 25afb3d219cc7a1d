//! Rapid-reaction units and espacios seguros: their kinds and states.

use serde::{Deserialize, Serialize};

macro_rules! coded_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => ($code:literal, $label:literal)),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// The stored code.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),* }
            }
            /// What users read.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),* }
            }
            /// Accepts the code or the label, with or without accents.
            pub fn parse(s: &str) -> Option<$name> {
                let k = crate::text::search_key(s).replace(' ', "_");
                Self::ALL.iter().copied().find(|v| v.code() == k || crate::text::search_key(v.label()).replace(' ', "_") == k)
            }
        }
    };
}

coded_enum!(
    /// A *Unidad de reacción inmediata*'s state.
    UnitStatus {
        EnFormacion => ("en_formacion", "En formación"),
        Activa => ("activa", "Activa"),
        Suspendida => ("suspendida", "Suspendida"),
    }
);

coded_enum!(
    /// What kind of place an espacio seguro is.
    SafeSpaceKind {
        Comercio => ("comercio", "Comercio"),
        InstitucionPublica => ("institucion_publica", "Institución pública"),
        Transporte => ("transporte", "Transporte"),
        Escuela => ("escuela", "Escuela"),
        CentroSalud => ("centro_salud", "Centro de salud"),
        Otro => ("otro", "Otro"),
    }
);

coded_enum!(
    /// An espacio seguro's state. Only active ones are public.
    SafeSpaceStatus {
        Activo => ("activo", "Activo"),
        Suspendido => ("suspendido", "Suspendido"),
        Retirado => ("retirado", "Retirado"),
    }
);

coded_enum!(
    /// The outcome of a verification visit to an espacio seguro.
    VisitResult {
        Conforme => ("conforme", "Conforme"),
        ConObservaciones => ("con_observaciones", "Con observaciones"),
        NoOpera => ("no_opera", "Ya no opera"),
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_labels_parse() {
        assert_eq!(UnitStatus::parse("En formación"), Some(UnitStatus::EnFormacion));
        assert_eq!(SafeSpaceKind::parse("centro de salud"), Some(SafeSpaceKind::CentroSalud));
        assert_eq!(SafeSpaceKind::parse("institucion_publica"), Some(SafeSpaceKind::InstitucionPublica));
        assert_eq!(SafeSpaceStatus::parse("RETIRADO"), Some(SafeSpaceStatus::Retirado));
        assert_eq!(VisitResult::parse("otro"), None);
        for k in SafeSpaceKind::ALL {
            assert_eq!(SafeSpaceKind::parse(k.code()), Some(*k));
        }
    }
}
