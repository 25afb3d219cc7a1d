//! Violeta's domain: the rules of the business, with no I/O, no HTTP and no SQL.
//!
//! Every type here that holds a value from the outside world (a CURP, an INEGI key,
//! a role name) can only be built through a parser that checks it, so the rest of the
//! program never meets an invalid one ("parse, don't validate").

/// An enum stored by a code and shown by a Spanish label: `ALL`, `code()`, `label()`,
/// and `parse()` that accepts either, with or without accents.
#[macro_export]
macro_rules! coded_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => ($code:literal, $label:literal)),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
                let k = $crate::text::search_key(s).replace(' ', "_");
                Self::ALL.iter().copied().find(|v| v.code() == k || $crate::text::search_key(v.label()).replace(' ', "_") == k)
            }
        }
    };
}


pub mod access;
pub mod audit;
pub mod curp;
pub mod geo;
pub mod hours;
pub mod institution;
pub mod person;
pub mod safety;
pub mod territory;
pub mod text;
pub mod training;
pub mod certification;
pub mod credential;
pub mod learning;

pub mod alerta;

pub use curp::Curp;
pub mod secret;
pub mod dissemination;
