//! Rapid-reaction units and espacios seguros: their kinds and states.


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
