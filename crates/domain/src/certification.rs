//! Competency certification in CONOCER standards (*Estándares de Competencia*).
//!
//! Violeta records the official process and its certificate; it never issues one. A
//! candidate moves through the stages of the process in order:
//!
//! ```text
//! diagnóstico → alineación → evaluación → certificado
//!                   ▲              │
//!                   └── todavía no competente (a new attempt starts at alineación)
//! ```
//!
//! The rules that decide whether a step may be taken live here; the store loads the
//! process, asks, and writes.

use chrono::{Months, NaiveDate};
use std::fmt;

coded_enum!(
    /// Where a certification process stands.
    Stage {
        Diagnostico => ("diagnostico", "Diagnóstico"),
        Alineacion => ("alineacion", "Alineación"),
        Evaluacion => ("evaluacion", "Evaluación"),
        Certificado => ("certificado", "Certificado"),
        TodaviaNoCompetente => ("todavia_no_competente", "Todavía no competente"),
    }
);

coded_enum!(
    /// The result of an evaluation, in CONOCER's words.
    Outcome {
        Competente => ("competente", "Competente"),
        TodaviaNoCompetente => ("todavia_no_competente", "Todavía no competente"),
    }
);

impl Stage {
    /// The stages that may follow this one.
    pub fn next(self) -> &'static [Stage] {
        match self {
            Stage::Diagnostico => &[Stage::Alineacion],
            Stage::Alineacion => &[Stage::Evaluacion],
            Stage::Evaluacion => &[Stage::Certificado, Stage::TodaviaNoCompetente],
            Stage::TodaviaNoCompetente => &[Stage::Alineacion],
            Stage::Certificado => &[],
        }
    }

    pub fn can_move_to(self, next: Stage) -> bool {
        self.next().contains(&next)
    }

    /// Whether the process is still open (a person has at most one open process per
    /// standard). Only a certificate closes it.
    pub fn is_open(self) -> bool {
        self != Stage::Certificado
    }

    /// Refuses a step out of order, saying what the next step is.
    pub fn check_move(self, next: Stage) -> Result<(), String> {
        if self.can_move_to(next) {
            return Ok(());
        }
        let allowed: Vec<String> = self.next().iter().map(|s| format!("«{}»", s.label())).collect();
        Err(match allowed.len() {
            0 => format!("el proceso ya está en «{}»: no admite más pasos", self.label()),
            1 => format!("no se puede pasar de «{}» a «{}»: el siguiente paso es {}", self.label(), next.label(), allowed[0]),
            _ => format!("no se puede pasar de «{}» a «{}»: los pasos posibles son {}", self.label(), next.label(), allowed.join(" o ")),
        })
    }
}

/// A standard's key in the *Registro Nacional de Estándares de Competencia*: "EC" and four
/// digits, such as EC0539.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct StandardCode(String);

impl StandardCode {
    /// Accepts "EC0539", "ec 0539" or "EC-0539"; also the frequent typo of a letter O for
    /// the zero ("ECO539").
    pub fn parse(s: &str) -> Result<StandardCode, String> {
        let compact: String = s.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase();
        let bad = || format!("«{}» no es una clave de estándar válida: debe ser EC seguida de cuatro dígitos, por ejemplo EC0539", s.trim());
        let digits = compact.strip_prefix("EC").ok_or_else(bad)?;
        let digits: String = digits.chars().map(|c| if c == 'O' { '0' } else { c }).collect();
        if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        Ok(StandardCode(format!("EC{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StandardCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A standard as typed in a form or a file, before checking.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct StandardInput {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub valid_years: String,
    #[serde(default)]
    pub source: String,
    /// "si"/"no" (empty: active).
    #[serde(default)]
    pub active: String,
}

/// A checked standard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardDraft {
    pub code: StandardCode,
    pub title: String,
    /// 1 to 5 in the Sistema Nacional de Competencias; `None` when not confirmed.
    pub level: Option<i64>,
    /// How long a certificate lasts, when the standard says so.
    pub valid_years: Option<i64>,
    /// Where the official title was confirmed.
    pub source: String,
    pub active: bool,
}

/// Problems by field: (field, message).
pub type FieldErrors = Vec<(&'static str, String)>;

impl StandardInput {
    pub fn validate(&self) -> Result<StandardDraft, FieldErrors> {
        let mut errors: FieldErrors = Vec::new();
        let code = StandardCode::parse(&self.code).map_err(|e| errors.push(("code", e))).ok();
        let title = crate::text::clean(&self.title);
        if title.is_empty() {
            errors.push(("title", "escriba el título oficial del estándar, tal como aparece en el Registro Nacional".into()));
        }
        let level = match self.level.trim() {
            "" => None,
            t => match t.parse::<i64>() {
                Ok(n @ 1..=5) => Some(n),
                _ => {
                    errors.push(("level", format!("el nivel «{t}» no es válido: va de 1 a 5")));
                    None
                }
            },
        };
        let valid_years = match self.valid_years.trim() {
            "" => None,
            t => match t.parse::<i64>() {
                Ok(n @ 1..=50) => Some(n),
                _ => {
                    errors.push(("valid_years", format!("la vigencia «{t}» no es válida: indique los años completos (por ejemplo 3) o déjela vacía")));
                    None
                }
            },
        };
        let source = crate::text::clean(&self.source);
        if source.is_empty() {
            errors.push(("source", "indique dónde se confirmó el título oficial (por ejemplo, el Registro Nacional de Estándares de Competencia)".into()));
        }
        let active = match crate::text::search_key(&self.active).as_str() {
            "" | "si" | "1" | "activo" | "on" | "verdadero" | "true" => true,
            "no" | "0" | "inactivo" | "falso" | "false" => false,
            other => {
                errors.push(("active", format!("«{other}» no es un valor de «activo»: escriba sí o no")));
                true
            }
        };
        match code {
            Some(code) if errors.is_empty() => Ok(StandardDraft { code, title, level, valid_years, source, active }),
            _ => Err(errors),
        }
    }
}

/// Days before expiry from which a certificate is listed for renewal.
pub const RENEWAL_WINDOW_DAYS: i64 = 90;

/// When a certificate expires: its date plus the standard's validity, if the standard
/// sets one. (29 February plus whole years falls on 28 February.)
pub fn expires_on(certified_on: NaiveDate, valid_years: Option<i64>) -> Option<NaiveDate> {
    let years = u32::try_from(valid_years?).ok()?;
    certified_on.checked_add_months(Months::new(years.checked_mul(12)?))
}

/// Where a certificate stands with respect to renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// No expiry recorded: the standard sets none, or its validity is not yet in the catalogue.
    Permanente,
    Vigente,
    /// Expires within [`RENEWAL_WINDOW_DAYS`].
    PorVencer,
    Vencido,
}

impl Validity {
    pub fn of(expires_on: Option<NaiveDate>, today: NaiveDate) -> Validity {
        match expires_on {
            None => Validity::Permanente,
            Some(e) if e < today => Validity::Vencido,
            Some(e) if e <= today + chrono::Duration::days(RENEWAL_WINDOW_DAYS) => Validity::PorVencer,
            Some(_) => Validity::Vigente,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Validity::Permanente => "Sin vencimiento registrado",
            Validity::Vigente => "Vigente",
            Validity::PorVencer => "Por vencer",
            Validity::Vencido => "Vencido",
        }
    }

    /// The renewal reminder rule: due within the window, or already expired.
    pub fn renewal_due(self) -> bool {
        matches!(self, Validity::PorVencer | Validity::Vencido)
    }
}

/// The last day a certificate may expire and still be listed for renewal on `today`.
pub fn renewal_horizon(today: NaiveDate) -> NaiveDate {
    today + chrono::Duration::days(RENEWAL_WINDOW_DAYS)
}

/// What an evaluation records. Checked by [`Evaluation::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The evaluator's account, when the evaluator uses Violeta.
    pub evaluator_user_id: Option<i64>,
    /// The evaluator's name as it appears in the evaluation (always kept as text).
    pub evaluator_name: String,
    pub evaluated_on: Option<NaiveDate>,
    pub outcome: Option<Outcome>,
    /// Notes about the evidence portfolio.
    pub portfolio: String,
}

impl Evaluation {
    /// An evaluation needs its evaluator, date and result, on a process in evaluation.
    pub fn check(&self, stage: Stage, diagnosis_on: Option<NaiveDate>) -> Result<(), String> {
        if stage != Stage::Evaluacion {
            return Err(format!(
                "solo se registra la evaluación de un proceso en «Evaluación»; este está en «{}»",
                stage.label()
            ));
        }
        let mut missing = Vec::new();
        if self.evaluator_name.trim().is_empty() {
            missing.push("la persona evaluadora");
        }
        if self.evaluated_on.is_none() {
            missing.push("la fecha de evaluación");
        }
        if self.outcome.is_none() {
            missing.push("el resultado");
        }
        if !missing.is_empty() {
            return Err(format!("para registrar la evaluación falta {}", join_es(&missing)));
        }
        if let (Some(d), Some(e)) = (diagnosis_on, self.evaluated_on)
            && e < d
        {
            return Err(format!("la fecha de evaluación ({}) es anterior al diagnóstico ({})", e.format("%d/%m/%Y"), d.format("%d/%m/%Y")));
        }
        Ok(())
    }

    /// The stage the process moves to once the evaluation is recorded: a "todavía no
    /// competente" result closes the attempt; "competente" waits for the certificate.
    pub fn next_stage(&self) -> Stage {
        match self.outcome {
            Some(Outcome::TodaviaNoCompetente) => Stage::TodaviaNoCompetente,
            _ => Stage::Evaluacion,
        }
    }
}

/// The official certificate, as issued through the certifying entity (ECE or OC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// CONOCER's folio.
    pub folio: String,
    pub certified_on: Option<NaiveDate>,
    /// The Entidad de Certificación y Evaluación or Organismo Certificador.
    pub certifying_entity: String,
}

impl Certificate {
    /// A certificate needs folio, date and certifying entity, on a process in evaluation
    /// whose recorded result is "competente".
    pub fn check(&self, stage: Stage, outcome: Option<Outcome>, evaluated_on: Option<NaiveDate>) -> Result<(), String> {
        stage.check_move(Stage::Certificado)?;
        if outcome != Some(Outcome::Competente) {
            return Err("solo se registra un certificado cuando la evaluación tiene resultado «Competente»; registre primero la evaluación".into());
        }
        let mut missing = Vec::new();
        if self.folio.trim().is_empty() {
            missing.push("el folio del certificado");
        }
        if self.certified_on.is_none() {
            missing.push("la fecha de certificación");
        }
        if self.certifying_entity.trim().is_empty() {
            missing.push("la entidad certificadora (ECE u OC)");
        }
        if !missing.is_empty() {
            return Err(format!("para registrar el certificado falta {}", join_es(&missing)));
        }
        if let (Some(e), Some(c)) = (evaluated_on, self.certified_on)
            && c < e
        {
            return Err(format!("la fecha de certificación ({}) es anterior a la evaluación ({})", c.format("%d/%m/%Y"), e.format("%d/%m/%Y")));
        }
        Ok(())
    }

    /// The folio as stored: trimmed, in capitals, inner spaces removed.
    pub fn normalized_folio(&self) -> String {
        self.folio.split_whitespace().collect::<String>().to_uppercase()
    }
}

/// "a", "a y b", "a, b y c".
fn join_es(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} y {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn stages_move_in_order() {
        use Stage::*;
        assert!(Diagnostico.can_move_to(Alineacion));
        assert!(Alineacion.can_move_to(Evaluacion));
        assert!(Evaluacion.can_move_to(Certificado));
        assert!(Evaluacion.can_move_to(TodaviaNoCompetente));
        assert!(TodaviaNoCompetente.can_move_to(Alineacion), "a new attempt");
        for (from, to) in [(Diagnostico, Evaluacion), (Diagnostico, Certificado), (Alineacion, Certificado), (Certificado, Alineacion), (TodaviaNoCompetente, Evaluacion), (Evaluacion, Alineacion)] {
            assert!(!from.can_move_to(to), "{from:?} → {to:?}");
        }
        let err = Diagnostico.check_move(Certificado).unwrap_err();
        assert_eq!(err, "no se puede pasar de «Diagnóstico» a «Certificado»: el siguiente paso es «Alineación»");
        assert!(Alineacion.check_move(Certificado).unwrap_err().contains("«Evaluación»"));
        assert!(Certificado.check_move(Alineacion).unwrap_err().contains("no admite más pasos"));
        assert!(!Certificado.is_open());
        assert!(TodaviaNoCompetente.is_open());
        assert_eq!(Stage::parse("Todavía no competente"), Some(TodaviaNoCompetente));
        assert_eq!(Stage::parse("alineación"), Some(Alineacion));
        assert_eq!(Outcome::parse("competente"), Some(Outcome::Competente));
    }

    #[test]
    fn standard_codes() {
        assert_eq!(StandardCode::parse("EC0539").unwrap().as_str(), "EC0539");
        assert_eq!(StandardCode::parse(" ec 0539 ").unwrap().as_str(), "EC0539");
        assert_eq!(StandardCode::parse("EC-0539").unwrap().as_str(), "EC0539");
        assert_eq!(StandardCode::parse("ECO539").unwrap().as_str(), "EC0539", "letter O typed for zero");
        for bad in ["", "EC539", "EC05390", "0539", "EX0539", "EC05A9", "NTCL0539"] {
            let e = StandardCode::parse(bad).unwrap_err();
            assert!(e.contains("EC seguida de cuatro dígitos"), "{bad}: {e}");
        }
    }

    #[test]
    fn standard_input_is_checked_field_by_field() {
        let ok = StandardInput {
            code: "ec0539".into(),
            title: "  Atención presencial de primer contacto a mujeres víctimas de violencia de género ".into(),
            level: "".into(),
            valid_years: "3".into(),
            source: "Registro Nacional".into(),
            active: "".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(ok.code.as_str(), "EC0539");
        assert_eq!(ok.title, "Atención presencial de primer contacto a mujeres víctimas de violencia de género");
        assert_eq!((ok.level, ok.valid_years, ok.active), (None, Some(3), true));
        let errors = StandardInput { code: "E1".into(), level: "7".into(), valid_years: "x".into(), active: "quizá".into(), ..Default::default() }
            .validate()
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["code", "title", "level", "valid_years", "source", "active"]);
        let inactive = StandardInput { code: "EC0001".into(), title: "T".into(), source: "S".into(), active: "No".into(), ..Default::default() };
        assert!(!inactive.validate().unwrap().active);
    }

    #[test]
    fn expiry_and_renewal_window() {
        assert_eq!(expires_on(d(2024, 3, 15), Some(3)), Some(d(2027, 3, 15)));
        assert_eq!(expires_on(d(2024, 2, 29), Some(1)), Some(d(2025, 2, 28)));
        assert_eq!(expires_on(d(2024, 3, 15), None), None);
        let today = d(2026, 1, 1);
        assert_eq!(Validity::of(None, today), Validity::Permanente);
        assert_eq!(Validity::of(Some(d(2026, 6, 1)), today), Validity::Vigente);
        assert_eq!(Validity::of(Some(d(2026, 4, 1)), today), Validity::PorVencer, "exactly 90 days ahead");
        assert_eq!(Validity::of(Some(d(2026, 4, 2)), today), Validity::Vigente, "91 days ahead");
        assert_eq!(Validity::of(Some(today), today), Validity::PorVencer, "expires today: still valid today");
        assert_eq!(Validity::of(Some(d(2025, 12, 31)), today), Validity::Vencido);
        assert!(Validity::PorVencer.renewal_due() && Validity::Vencido.renewal_due());
        assert!(!Validity::Vigente.renewal_due() && !Validity::Permanente.renewal_due());
        assert_eq!(renewal_horizon(today), d(2026, 4, 1));
    }

    #[test]
    fn evaluation_needs_evaluator_date_and_result() {
        let full = Evaluation {
            evaluator_user_id: None,
            evaluator_name: "Evaluadora".into(),
            evaluated_on: Some(d(2025, 5, 2)),
            outcome: Some(Outcome::Competente),
            portfolio: String::new(),
        };
        assert!(full.check(Stage::Evaluacion, Some(d(2025, 3, 1))).is_ok());
        assert_eq!(full.next_stage(), Stage::Evaluacion, "waits for the certificate");
        let not_yet = Evaluation { outcome: Some(Outcome::TodaviaNoCompetente), ..full.clone() };
        assert_eq!(not_yet.next_stage(), Stage::TodaviaNoCompetente);
        assert!(full.check(Stage::Alineacion, None).unwrap_err().contains("«Alineación»"));
        let empty = Evaluation { evaluator_user_id: None, evaluator_name: " ".into(), evaluated_on: None, outcome: None, portfolio: String::new() };
        assert_eq!(
            empty.check(Stage::Evaluacion, None).unwrap_err(),
            "para registrar la evaluación falta la persona evaluadora, la fecha de evaluación y el resultado"
        );
        assert!(full.check(Stage::Evaluacion, Some(d(2025, 6, 1))).unwrap_err().contains("anterior al diagnóstico"));
    }

    #[test]
    fn certificate_needs_folio_date_entity_and_a_competent_result() {
        let c = Certificate { folio: " demo-ec0539 0001 ".into(), certified_on: Some(d(2025, 6, 1)), certifying_entity: "ECE de prueba".into() };
        assert_eq!(c.normalized_folio(), "DEMO-EC05390001");
        assert!(c.check(Stage::Evaluacion, Some(Outcome::Competente), Some(d(2025, 5, 2))).is_ok());
        assert!(c.check(Stage::Evaluacion, None, None).unwrap_err().contains("registre primero la evaluación"));
        assert!(c.check(Stage::Evaluacion, Some(Outcome::TodaviaNoCompetente), None).is_err());
        assert!(c.check(Stage::Diagnostico, Some(Outcome::Competente), None).unwrap_err().starts_with("no se puede pasar de «Diagnóstico»"));
        let empty = Certificate { folio: String::new(), certified_on: None, certifying_entity: String::new() };
        assert_eq!(
            empty.check(Stage::Evaluacion, Some(Outcome::Competente), None).unwrap_err(),
            "para registrar el certificado falta el folio del certificado, la fecha de certificación y la entidad certificadora (ECE u OC)"
        );
        assert!(c.check(Stage::Evaluacion, Some(Outcome::Competente), Some(d(2025, 7, 1))).unwrap_err().contains("anterior a la evaluación"));
    }
}
