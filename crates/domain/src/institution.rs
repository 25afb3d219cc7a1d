//! Dependencias y entidades: where the people Violeta serves work.

use serde::{Deserialize, Serialize};

/// Order of government or sector an institution belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Federal,
    Estatal,
    Municipal,
    Privado,
    Social,
}

/// What kind of body it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstitutionKind {
    Dependencia,
    Ayuntamiento,
    OrganismoAutonomo,
    SociedadCivil,
    SectorPrivado,
}

impl Level {
    pub const ALL: [Level; 5] = [Level::Federal, Level::Estatal, Level::Municipal, Level::Privado, Level::Social];
    pub fn code(self) -> &'static str {
        match self {
            Level::Federal => "federal",
            Level::Estatal => "estatal",
            Level::Municipal => "municipal",
            Level::Privado => "privado",
            Level::Social => "social",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Level::Federal => "Federal",
            Level::Estatal => "Estatal",
            Level::Municipal => "Municipal",
            Level::Privado => "Privado",
            Level::Social => "Social",
        }
    }
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.code() == crate::text::search_key(s))
    }
}

impl InstitutionKind {
    pub const ALL: [InstitutionKind; 5] = [
        InstitutionKind::Dependencia,
        InstitutionKind::Ayuntamiento,
        InstitutionKind::OrganismoAutonomo,
        InstitutionKind::SociedadCivil,
        InstitutionKind::SectorPrivado,
    ];
    pub fn code(self) -> &'static str {
        match self {
            InstitutionKind::Dependencia => "dependencia",
            InstitutionKind::Ayuntamiento => "ayuntamiento",
            InstitutionKind::OrganismoAutonomo => "organismo_autonomo",
            InstitutionKind::SociedadCivil => "sociedad_civil",
            InstitutionKind::SectorPrivado => "sector_privado",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            InstitutionKind::Dependencia => "Dependencia o entidad",
            InstitutionKind::Ayuntamiento => "Ayuntamiento",
            InstitutionKind::OrganismoAutonomo => "Organismo autónomo",
            InstitutionKind::SociedadCivil => "Sociedad civil",
            InstitutionKind::SectorPrivado => "Sector privado",
        }
    }
    pub fn parse(s: &str) -> Option<InstitutionKind> {
        let k = crate::text::search_key(s).replace(' ', "_");
        InstitutionKind::ALL.into_iter().find(|v| v.code() == k)
    }
    /// The level a kind implies, when it implies one.
    pub fn implied_level(self) -> Option<Level> {
        match self {
            InstitutionKind::Ayuntamiento => Some(Level::Municipal),
            InstitutionKind::SociedadCivil => Some(Level::Social),
            InstitutionKind::SectorPrivado => Some(Level::Privado),
            _ => None,
        }
    }
}

/// Checks the coherence of an institution before it is stored; errors are in Spanish.
pub fn validate(name: &str, kind: InstitutionKind, level: Level, has_municipality: bool) -> Result<String, String> {
    let name = crate::text::clean(name);
    if name.is_empty() {
        return Err("el nombre de la institución no puede quedar vacío".into());
    }
    if let Some(implied) = kind.implied_level()
        && implied != level
    {
        return Err(format!("un(a) {} es de nivel {}", kind.label().to_lowercase(), implied.label().to_lowercase()));
    }
    if kind == InstitutionKind::Ayuntamiento && !has_municipality {
        return Err("un ayuntamiento debe indicar su municipio".into());
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ayuntamiento_is_municipal_and_has_a_municipality() {
        assert!(validate("Ayuntamiento de Oaxaca de Juárez", InstitutionKind::Ayuntamiento, Level::Municipal, true).is_ok());
        assert!(validate("Ayuntamiento", InstitutionKind::Ayuntamiento, Level::Estatal, true).is_err());
        assert!(validate("Ayuntamiento", InstitutionKind::Ayuntamiento, Level::Municipal, false).is_err());
        assert!(validate("  ", InstitutionKind::Dependencia, Level::Estatal, false).is_err());
    }
}
