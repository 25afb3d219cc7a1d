//! The people Violeta keeps: public servants, police and others who train, certify or
//! take courses. A person's CURP is optional (flagged when missing) but, when present,
//! always valid and unique.

use crate::curp::{Curp, CurpSex};
use crate::text;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Mujer,
    Hombre,
    NoBinario,
}

impl Sex {
    pub const ALL: [Sex; 3] = [Sex::Mujer, Sex::Hombre, Sex::NoBinario];
    pub fn code(self) -> &'static str {
        match self {
            Sex::Mujer => "mujer",
            Sex::Hombre => "hombre",
            Sex::NoBinario => "no_binario",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Sex::Mujer => "Mujer",
            Sex::Hombre => "Hombre",
            Sex::NoBinario => "No binario",
        }
    }
    pub fn from_code(s: &str) -> Option<Sex> {
        Sex::ALL.into_iter().find(|v| v.code() == s)
    }
}

impl From<CurpSex> for Sex {
    fn from(s: CurpSex) -> Sex {
        match s {
            CurpSex::Mujer => Sex::Mujer,
            CurpSex::Hombre => Sex::Hombre,
            CurpSex::NoBinario => Sex::NoBinario,
        }
    }
}

/// How a sign-in list writes sex. The letter "M" is the trap: *mujer* in a CURP and in
/// lists that use M/H, *masculino* in lists that use F/M. The convention is read from the
/// whole column, never from one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SexConvention {
    /// M = mujer, H = hombre (as in the CURP).
    MujerHombre,
    /// F = femenino, M = masculino.
    FemeninoMasculino,
    /// Only full words, or only "M": a lone "M" is not trusted.
    Unknown,
}

impl SexConvention {
    pub fn infer<'a>(column: impl IntoIterator<Item = &'a str>) -> SexConvention {
        let (mut f, mut h) = (false, false);
        for cell in column {
            match text::search_key(cell).as_str() {
                "f" => f = true,
                "h" => h = true,
                _ => {}
            }
        }
        match (f, h) {
            (true, false) => SexConvention::FemeninoMasculino,
            (false, true) => SexConvention::MujerHombre,
            _ => SexConvention::Unknown,
        }
    }

    /// Reads one cell. `Err` carries a Spanish reason.
    pub fn parse(self, cell: &str) -> Result<Option<Sex>, String> {
        let k = text::search_key(cell);
        Ok(Some(match k.as_str() {
            "" => return Ok(None),
            "mujer" | "femenino" | "fem" | "mujeres" => Sex::Mujer,
            "hombre" | "masculino" | "masc" | "hombres" => Sex::Hombre,
            "x" | "no binario" | "no binaria" | "nb" => Sex::NoBinario,
            "f" => Sex::Mujer,
            "h" => Sex::Hombre,
            "m" => match self {
                SexConvention::MujerHombre => Sex::Mujer,
                SexConvention::FemeninoMasculino => Sex::Hombre,
                SexConvention::Unknown => {
                    return Err("«M» es ambiguo (¿mujer o masculino?); escriba Mujer u Hombre".into());
                }
            },
            _ => return Err(format!("«{}» no es un sexo reconocido (use Mujer, Hombre o No binario)", cell.trim())),
        }))
    }
}

/// For police: the corps they belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Corps {
    Estatal,
    Municipal,
    Topil,
    Otra,
}

impl Corps {
    pub const ALL: [Corps; 4] = [Corps::Estatal, Corps::Municipal, Corps::Topil, Corps::Otra];
    pub fn code(self) -> &'static str {
        match self {
            Corps::Estatal => "estatal",
            Corps::Municipal => "municipal",
            Corps::Topil => "topil",
            Corps::Otra => "otra",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Corps::Estatal => "Policía estatal",
            Corps::Municipal => "Policía municipal",
            Corps::Topil => "Topil",
            Corps::Otra => "Otra corporación",
        }
    }
    pub fn parse(s: &str) -> Option<Corps> {
        let k = text::search_key(s);
        let k = k.trim_start_matches("policia ");
        match k {
            "estatal" => Some(Corps::Estatal),
            "municipal" => Some(Corps::Municipal),
            "topil" | "topiles" => Some(Corps::Topil),
            "otra" | "otro" | "otra corporacion" => Some(Corps::Otra),
            _ => None,
        }
    }
}

/// What a form, an API call or an import row says about a person, before it is checked.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PersonInput {
    #[serde(default)]
    pub curp: String,
    #[serde(default)]
    pub given_names: String,
    #[serde(default)]
    pub first_surname: String,
    #[serde(default)]
    pub second_surname: String,
    #[serde(default)]
    pub sex: String,
    pub institution_id: Option<i64>,
    #[serde(default)]
    pub position: String,
    #[serde(default)]
    pub corps: String,
    #[serde(default)]
    pub municipality: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
}

/// A person that passed every check, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonDraft {
    pub curp: Option<Curp>,
    pub given_names: String,
    pub first_surname: String,
    pub second_surname: String,
    pub sex: Option<Sex>,
    pub institution_id: Option<i64>,
    pub position: String,
    pub corps: Option<Corps>,
    pub municipality: Option<crate::territory::MunicipalityKey>,
    pub email: String,
    pub phone: String,
}

impl PersonDraft {
    pub fn full_name(&self) -> String {
        full_name(&self.given_names, &self.first_surname, &self.second_surname)
    }
    /// Key used for accent-insensitive search by name or CURP.
    pub fn search_key(&self) -> String {
        let curp = self.curp.as_ref().map(Curp::as_str).unwrap_or("");
        text::search_key(&format!("{} {curp}", self.full_name()))
    }
}

pub fn full_name(given: &str, first: &str, second: &str) -> String {
    text::clean(&format!("{given} {first} {second}"))
}

/// One field's problem, in Spanish. `field` is the input's field name, so forms can
/// place the message next to it and imports can name the column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl PersonInput {
    /// Checks everything that does not need the store. `sex_convention` comes from the
    /// whole column in an import; forms pass `MujerHombre`.
    pub fn validate(&self, sex_convention: SexConvention) -> Result<PersonDraft, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field: &'static str, message: String| errors.push(FieldError { field, message });

        let curp = match self.curp.trim() {
            "" => None,
            s => match Curp::parse(s) {
                Ok(c) => Some(c),
                Err(e) => {
                    err("curp", e.to_string());
                    None
                }
            },
        };
        let given_names = text::normalize_name(&self.given_names);
        let first_surname = text::normalize_name(&self.first_surname);
        let second_surname = text::normalize_name(&self.second_surname);
        if given_names.is_empty() {
            err("given_names", "falta el nombre".into());
        }
        if first_surname.is_empty() && second_surname.is_empty() {
            err("first_surname", "falta al menos un apellido".into());
        }
        for (field, value) in [("given_names", &given_names), ("first_surname", &first_surname), ("second_surname", &second_surname)] {
            if value.chars().count() > 100 {
                err(field, "el texto es demasiado largo (máximo 100 caracteres)".into());
            } else if value.chars().any(|c| c.is_ascii_digit()) {
                err(field, format!("«{value}» contiene números; un nombre no los lleva"));
            }
        }
        let mut sex = match sex_convention.parse(&self.sex) {
            Ok(s) => s,
            Err(m) => {
                err("sex", m);
                None
            }
        };
        if let Some(c) = &curp {
            let from_curp = Sex::from(c.sex());
            match sex {
                None => sex = Some(from_curp),
                Some(s) if s != from_curp => err(
                    "sex",
                    format!("el sexo indicado ({}) no coincide con el de la CURP ({})", s.label(), from_curp.label()),
                ),
                _ => {}
            }
        }
        let corps = match self.corps.trim() {
            "" => None,
            s => match Corps::parse(s) {
                Some(c) => Some(c),
                None => {
                    err("corps", format!("«{s}» no es una corporación reconocida (estatal, municipal, topil u otra)"));
                    None
                }
            },
        };
        let municipality = match self.municipality.trim() {
            "" => None,
            s => match crate::territory::MunicipalityKey::parse(s) {
                Ok(k) => Some(k),
                Err(e) => {
                    err("municipality", e.to_string());
                    None
                }
            },
        };
        let email = self.email.trim().to_lowercase();
        if !email.is_empty() && !looks_like_email(&email) {
            err("email", format!("«{email}» no parece un correo electrónico"));
        }
        let phone: String = self.phone.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
        if !phone.is_empty() && !(10..=15).contains(&phone.trim_start_matches('+').len()) {
            err("phone", "el teléfono debe tener 10 dígitos (o lada internacional)".into());
        }
        if errors.is_empty() {
            Ok(PersonDraft {
                curp,
                given_names,
                first_surname,
                second_surname,
                sex,
                institution_id: self.institution_id,
                position: text::clean(&self.position),
                corps,
                municipality,
                email,
                phone,
            })
        } else {
            Err(errors)
        }
    }
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PersonInput {
        PersonInput {
            curp: "dofl710326mocvyf34".into(),
            given_names: "LUCÍA".into(),
            first_surname: "DOMÍNGUEZ".into(),
            second_surname: "FLORES".into(),
            ..Default::default()
        }
    }

    #[test]
    fn valid_person_takes_sex_from_curp_and_tidies_names() {
        let d = input().validate(SexConvention::MujerHombre).unwrap();
        assert_eq!(d.sex, Some(Sex::Mujer));
        assert_eq!(d.full_name(), "Lucía Domínguez Flores");
        assert_eq!(d.curp.unwrap().as_str(), "DOFL710326MOCVYF34");
    }

    #[test]
    fn reports_every_problem_by_field() {
        let bad = PersonInput { curp: "XXXX".into(), given_names: "".into(), email: "sin-arroba".into(), sex: "q".into(), ..input() };
        let errors = bad.validate(SexConvention::MujerHombre).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["curp", "given_names", "sex", "email"]);
        assert!(errors[0].message.contains("18 caracteres"));
    }

    #[test]
    fn sex_contradicting_curp_is_refused() {
        let bad = PersonInput { sex: "Hombre".into(), ..input() };
        let errors = bad.validate(SexConvention::MujerHombre).unwrap_err();
        assert!(errors[0].message.contains("no coincide"));
    }

    #[test]
    fn sex_convention_resolves_the_letter_m() {
        assert_eq!(SexConvention::infer(["F", "M", "F"]), SexConvention::FemeninoMasculino);
        assert_eq!(SexConvention::infer(["M", "H"]), SexConvention::MujerHombre);
        assert_eq!(SexConvention::FemeninoMasculino.parse("m"), Ok(Some(Sex::Hombre)));
        assert_eq!(SexConvention::MujerHombre.parse("M"), Ok(Some(Sex::Mujer)));
        assert!(SexConvention::Unknown.parse("M").is_err());
        assert_eq!(SexConvention::Unknown.parse("Femenino"), Ok(Some(Sex::Mujer)));
    }
}
