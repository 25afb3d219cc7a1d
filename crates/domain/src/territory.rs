//! Mexico's territory as INEGI keys it, and the groupings units work with:
//! regions (per state) and AVGM declarations.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A state's two-digit INEGI key ("20" is Oaxaca).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StateKey(String);

/// A municipality's five-digit INEGI key, `cvegeo` ("20067" is Oaxaca de Juárez).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MunicipalityKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("la clave de entidad debe tener 2 dígitos entre 01 y 32; se recibió «{0}»")]
    State(String),
    #[error("la clave de municipio (INEGI) debe tener 5 dígitos; se recibió «{0}»")]
    Municipality(String),
}

impl StateKey {
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        let t = s.trim();
        let t = if t.len() == 1 { format!("0{t}") } else { t.to_string() };
        match t.parse::<u8>() {
            Ok(1..=32) if t.len() == 2 => Ok(StateKey(t)),
            _ => Err(KeyError::State(s.to_string())),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl MunicipalityKey {
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        let t = s.trim();
        let valid = t.len() == 5
            && t.bytes().all(|b| b.is_ascii_digit())
            && StateKey::parse(&t[..2]).is_ok()
            && &t[2..] != "000";
        if valid { Ok(MunicipalityKey(t.to_string())) } else { Err(KeyError::Municipality(s.to_string())) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn state(&self) -> StateKey {
        StateKey(self.0[..2].to_string())
    }
}

macro_rules! string_newtype_conversions {
    ($t:ty) => {
        impl TryFrom<String> for $t {
            type Error = KeyError;
            fn try_from(s: String) -> Result<Self, KeyError> {
                <$t>::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(k: $t) -> String {
                k.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
string_newtype_conversions!(StateKey);
string_newtype_conversions!(MunicipalityKey);

/// The two kinds of *Alerta de Violencia de Género contra las Mujeres*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AvgmKind {
    ViolenciaFeminicida,
    Desaparicion,
}

impl AvgmKind {
    pub const ALL: [AvgmKind; 2] = [AvgmKind::ViolenciaFeminicida, AvgmKind::Desaparicion];

    pub fn code(self) -> &'static str {
        match self {
            AvgmKind::ViolenciaFeminicida => "violencia_feminicida",
            AvgmKind::Desaparicion => "desaparicion",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            AvgmKind::ViolenciaFeminicida => "Violencia feminicida",
            AvgmKind::Desaparicion => "Desaparición",
        }
    }
    /// Accepts the code or the label, with or without accents.
    pub fn parse(s: &str) -> Option<AvgmKind> {
        let k = crate::text::search_key(s).replace(' ', "_");
        match k.as_str() {
            "violencia_feminicida" | "feminicida" => Some(AvgmKind::ViolenciaFeminicida),
            "desaparicion" | "desaparicion_de_mujeres" => Some(AvgmKind::Desaparicion),
            _ => None,
        }
    }
}

/// Checks a region's name and aliases before they are stored.
pub fn validate_region_name(name: &str) -> Result<String, String> {
    let name = crate::text::clean(name);
    if name.is_empty() {
        return Err("el nombre de la región no puede quedar vacío".into());
    }
    if name.chars().count() > 80 {
        return Err("el nombre de la región es demasiado largo (máximo 80 caracteres)".into());
    }
    Ok(name)
}

/// A rate per 10,000 women inhabitants, the measure Violeta reports against the 2020 Census.
pub fn rate_per_10k_women(count: u64, women: u64) -> Option<f64> {
    (women > 0).then(|| count as f64 * 10_000.0 / women as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_refuse() {
        assert_eq!(StateKey::parse("20").unwrap().as_str(), "20");
        assert_eq!(StateKey::parse("9").unwrap().as_str(), "09");
        assert!(StateKey::parse("33").is_err());
        assert!(StateKey::parse("00").is_err());
        let m = MunicipalityKey::parse("20067").unwrap();
        assert_eq!(m.state().as_str(), "20");
        assert!(MunicipalityKey::parse("2006").is_err());
        assert!(MunicipalityKey::parse("33001").is_err());
        assert!(MunicipalityKey::parse("20000").is_err());
    }

    #[test]
    fn avgm_kind_parses_labels() {
        assert_eq!(AvgmKind::parse("Desaparición"), Some(AvgmKind::Desaparicion));
        assert_eq!(AvgmKind::parse("violencia feminicida"), Some(AvgmKind::ViolenciaFeminicida));
        assert_eq!(AvgmKind::parse("otra"), None);
    }

    #[test]
    fn rates() {
        assert_eq!(rate_per_10k_women(5, 50_000), Some(1.0));
        assert_eq!(rate_per_10k_women(5, 0), None);
    }
}
