//! The CURP (Clave Única de Registro de Población), as RENAPO defines it.
//!
//! Layout of the 18 characters:
//! `AAAA` name letters (the second a vowel or X) · `YYMMDD` birth date · `H|M|X` sex ·
//! `SS` state of birth (or `NE`, born abroad) · `CCC` inner consonants of the names ·
//! one character that tells the century (digit: 1900s, letter: 2000s) · check digit.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The 32 state codes a CURP uses, plus `NE` (born abroad).
pub const STATE_CODES: [&str; 33] = [
    "AS", "BC", "BS", "CC", "CL", "CM", "CS", "CH", "DF", "DG", "GT", "GR", "HG", "JC", "MC", "MN",
    "MS", "NT", "NL", "OC", "PL", "QT", "QR", "SP", "SL", "SR", "TC", "TS", "TL", "VZ", "YN", "ZS",
    "NE",
];

/// The dictionary of the check-digit algorithm: each character is worth its position.
const DICTIONARY: &str = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ";

/// A CURP that passed every check. It can only be built by [`Curp::parse`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Curp(String);

/// Why a text is not a valid CURP. The `Display` text is for users (Spanish).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurpError {
    #[error("la CURP debe tener 18 caracteres; tiene {0}")]
    Length(usize),
    #[error("la CURP no sigue la estructura de RENAPO (posición {position}: {expected})")]
    Structure { position: usize, expected: &'static str },
    #[error("la fecha de nacimiento de la CURP ({0}) no existe")]
    BirthDate(String),
    #[error("el código de entidad «{0}» de la CURP no corresponde a ningún estado ni a NE")]
    State(String),
    #[error("el dígito verificador de la CURP no coincide (se esperaba {expected}, trae {found})")]
    CheckDigit { expected: char, found: char },
}

/// The sex marker in a CURP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurpSex {
    Hombre,
    Mujer,
    NoBinario,
}

impl Curp {
    /// Parses a CURP as users type it: lower case and inner spaces are accepted.
    // Each check names the position it failed at, so the loops index by position.
    #[allow(clippy::needless_range_loop)]
    pub fn parse(input: &str) -> Result<Curp, CurpError> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .flat_map(char::to_uppercase)
            .collect();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 18 {
            return Err(CurpError::Length(chars.len()));
        }
        let upper = |c: char| c.is_ascii_uppercase() || c == 'Ñ';
        let structure = |position: usize, expected: &'static str| CurpError::Structure { position, expected };
        if !upper(chars[0]) {
            return Err(structure(1, "una letra"));
        }
        if !matches!(chars[1], 'A' | 'E' | 'I' | 'O' | 'U' | 'X') {
            return Err(structure(2, "una vocal o X"));
        }
        for p in 2..4 {
            if !upper(chars[p]) {
                return Err(structure(p + 1, "una letra"));
            }
        }
        for p in 4..10 {
            if !chars[p].is_ascii_digit() {
                return Err(structure(p + 1, "un dígito de la fecha de nacimiento"));
            }
        }
        if !matches!(chars[10], 'H' | 'M' | 'X') {
            return Err(structure(11, "el sexo: H, M o X"));
        }
        for p in 11..13 {
            if !upper(chars[p]) {
                return Err(structure(p + 1, "una letra del código de entidad"));
            }
        }
        for p in 13..16 {
            let c = chars[p];
            if !upper(c) || matches!(c, 'A' | 'E' | 'I' | 'O' | 'U') {
                return Err(structure(p + 1, "una consonante"));
            }
        }
        if !(chars[16].is_ascii_digit() || chars[16].is_ascii_uppercase()) {
            return Err(structure(17, "un dígito o una letra"));
        }
        if !chars[17].is_ascii_digit() {
            return Err(structure(18, "el dígito verificador"));
        }
        let state: String = chars[11..13].iter().collect();
        if !STATE_CODES.contains(&state.as_str()) {
            return Err(CurpError::State(state));
        }
        let curp = Curp(s);
        if curp.birth_date().is_none() {
            let d: String = chars[4..10].iter().collect();
            return Err(CurpError::BirthDate(format!("{}-{}-{}", &d[0..2], &d[2..4], &d[4..6])));
        }
        let expected = check_digit(&chars[..17]);
        if expected != chars[17] {
            return Err(CurpError::CheckDigit { expected, found: chars[17] });
        }
        Ok(curp)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Birth date. The 17th character tells the century: a digit for the 1900s,
    /// a letter for 2000 onwards.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        let c: Vec<char> = self.0.chars().collect();
        let num = |a: usize, b: usize| -> u32 {
            c[a..b].iter().fold(0, |acc, d| acc * 10 + d.to_digit(10).unwrap_or(0))
        };
        let century = if c[16].is_ascii_digit() { 1900 } else { 2000 };
        NaiveDate::from_ymd_opt(century + num(4, 6) as i32, num(6, 8), num(8, 10))
    }

    pub fn sex(&self) -> CurpSex {
        match self.0.chars().nth(10) {
            Some('H') => CurpSex::Hombre,
            Some('M') => CurpSex::Mujer,
            _ => CurpSex::NoBinario,
        }
    }

    /// The two-letter state code (RENAPO's), or `NE`.
    pub fn state_code(&self) -> String {
        self.0.chars().skip(11).take(2).collect()
    }
}

/// RENAPO's check digit: each of the first 17 characters is weighted by 18 minus
/// its position; the digit completes the sum to a multiple of ten.
pub fn check_digit(first17: &[char]) -> char {
    let sum: u32 = first17
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let value = DICTIONARY.chars().position(|d| d == *c).unwrap_or(0) as u32;
            value * (18 - i as u32)
        })
        .sum();
    char::from_digit((10 - sum % 10) % 10, 10).unwrap_or('0')
}

impl fmt::Display for Curp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Curp {
    // A CURP is personal data: debug output shows only its first four characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Curp({}…)", &self.0[..4])
    }
}

impl<'de> Deserialize<'de> for Curp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Curp::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Curp {
    type Err = CurpError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Curp::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a CURP with a correct check digit from its first 17 characters.
    fn with_check(first17: &str) -> String {
        let chars: Vec<char> = first17.chars().collect();
        format!("{first17}{}", check_digit(&chars))
    }

    #[test]
    fn accepts_a_valid_curp_and_reads_its_parts() {
        let text = with_check("GOMA850312MOCNRR0");
        let curp = Curp::parse(&text.to_lowercase()).unwrap();
        assert_eq!(curp.as_str(), text);
        assert_eq!(curp.birth_date(), NaiveDate::from_ymd_opt(1985, 3, 12));
        assert_eq!(curp.sex(), CurpSex::Mujer);
        assert_eq!(curp.state_code(), "OC");
    }

    #[test]
    fn century_letter_means_2000s() {
        let curp = Curp::parse(&with_check("PEXL050101HMCRPSA")).unwrap();
        assert_eq!(curp.birth_date(), NaiveDate::from_ymd_opt(2005, 1, 1));
    }

    #[test]
    fn known_check_digits() {
        // Synthetic CURPs from the shared samples, built with RENAPO's algorithm.
        for text in ["DOFL710326MOCVYF34", "XAFK891222MMCDWL55", "GANW931011HOCCSV74"] {
            assert!(Curp::parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn refuses_with_a_reason() {
        assert_eq!(Curp::parse("ABC"), Err(CurpError::Length(3)));
        let bad_date = with_check("GOMA850230MOCNRR0");
        assert!(matches!(Curp::parse(&bad_date), Err(CurpError::BirthDate(_))));
        let bad_state = with_check("GOMA850312MZZNRR0");
        assert_eq!(Curp::parse(&bad_state), Err(CurpError::State("ZZ".into())));
        let bad_sex = with_check("GOMA850312QOCNRR0");
        assert!(matches!(Curp::parse(&bad_sex), Err(CurpError::Structure { position: 11, .. })));
        let mut wrong = with_check("GOMA850312MOCNRR0");
        let last = wrong.pop().unwrap();
        let other = if last == '9' { '0' } else { char::from_digit(last.to_digit(10).unwrap() + 1, 10).unwrap() };
        wrong.push(other);
        assert!(matches!(Curp::parse(&wrong), Err(CurpError::CheckDigit { .. })));
        let err = Curp::parse(&wrong).unwrap_err().to_string();
        assert!(err.contains("dígito verificador"), "{err}");
    }

    #[test]
    fn debug_hides_the_curp() {
        let curp = Curp::parse(&with_check("GOMA850312MOCNRR0")).unwrap();
        assert_eq!(format!("{curp:?}"), "Curp(GOMA…)");
    }
}
