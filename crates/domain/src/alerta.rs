//! *Alerta Rosa*: the search for a missing woman or girl, from the report to her
//! localization. The rules live here; the store keeps cases, the application renders
//! fichas and feeds, the web shows them.
//!
//! ```text
//! reportada ──► activada ──► difundida ──► localizada con vida
//!     │             │            │        ├► localizada sin vida
//!     └─────────────┴────────────┴───────►└► desactivada
//! ```
//!
//! Publishing can endanger her, so a case is activated only after a recorded risk check
//! concluded that public dissemination is appropriate, with the family's consent when the
//! protocol asks for it, and with the operator's explicit confirmation. Her data is public
//! only while the alert is active; a drill (*simulacro*) is never public.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::text::clean;

/// Problems by field: (field, message).
pub type FieldErrors = Vec<(&'static str, String)>;

coded_enum!(
    /// Where a case stands.
    AlertStatus {
        Reportada => ("reportada", "Reportada"),
        Activada => ("activada", "Activada"),
        Difundida => ("difundida", "Difundida"),
        LocalizadaConVida => ("localizada_con_vida", "Localizada con vida"),
        LocalizadaSinVida => ("localizada_sin_vida", "Localizada sin vida"),
        Desactivada => ("desactivada", "Desactivada"),
    }
);

impl AlertStatus {
    /// The statuses that may follow this one.
    pub fn next(self) -> &'static [AlertStatus] {
        use AlertStatus::*;
        match self {
            Reportada => &[Activada, LocalizadaConVida, LocalizadaSinVida, Desactivada],
            Activada => &[Difundida, LocalizadaConVida, LocalizadaSinVida, Desactivada],
            Difundida => &[LocalizadaConVida, LocalizadaSinVida, Desactivada],
            LocalizadaConVida | LocalizadaSinVida | Desactivada => &[],
        }
    }

    /// Refuses a step out of order, in Spanish.
    pub fn check_move(self, next: AlertStatus) -> Result<(), String> {
        if self.next().contains(&next) {
            return Ok(());
        }
        if self.is_closed() {
            return Err(format!("la alerta ya concluyó («{}»): no admite más cambios de estado", self.label()));
        }
        let allowed: Vec<String> = self.next().iter().map(|s| format!("«{}»", s.label())).collect();
        Err(format!("no se puede pasar de «{}» a «{}»: los pasos posibles son {}", self.label(), next.label(), allowed.join(", ")))
    }

    /// Whether her data is on public pages and feeds (never for a drill: see [`is_public`]).
    pub fn shows_publicly(self) -> bool {
        matches!(self, AlertStatus::Activada | AlertStatus::Difundida)
    }

    pub fn is_closed(self) -> bool {
        self.next().is_empty()
    }

    /// Whether she was located (alive or not).
    pub fn is_located(self) -> bool {
        matches!(self, AlertStatus::LocalizadaConVida | AlertStatus::LocalizadaSinVida)
    }
}

/// The one rule for what the public sees: an active alert that is not a drill.
pub fn is_public(status: AlertStatus, drill: bool) -> bool {
    status.shows_publicly() && !drill
}

coded_enum!(
    /// How an alert ends.
    Closing {
        LocalizadaConVida => ("localizada_con_vida", "Localizada con vida"),
        LocalizadaSinVida => ("localizada_sin_vida", "Localizada sin vida"),
        Desactivada => ("desactivada", "Desactivada"),
    }
);

impl Closing {
    pub fn status(self) -> AlertStatus {
        match self {
            Closing::LocalizadaConVida => AlertStatus::LocalizadaConVida,
            Closing::LocalizadaSinVida => AlertStatus::LocalizadaSinVida,
            Closing::Desactivada => AlertStatus::Desactivada,
        }
    }

    /// A deactivation must say why (withdrawn report, duplicate, error); a localization may
    /// add a note.
    pub fn check_note(self, note: &str) -> Result<(), String> {
        if self == Closing::Desactivada && clean(note).is_empty() {
            return Err("indique el motivo de la desactivación (por ejemplo, reporte retirado o duplicado)".into());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Folio

/// A case's folio: `AR-2026-0001`, or `SIM-2026-0001` for a drill, numbered per year.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AlertFolio(String);

pub const FOLIO_PREFIX: &str = "AR";
pub const DRILL_FOLIO_PREFIX: &str = "SIM";

impl AlertFolio {
    pub fn prefix(drill: bool) -> &'static str {
        if drill { DRILL_FOLIO_PREFIX } else { FOLIO_PREFIX }
    }

    pub fn new(drill: bool, year: i32, number: i64) -> AlertFolio {
        AlertFolio(format!("{}-{year:04}-{number:04}", AlertFolio::prefix(drill)))
    }

    /// Accepts `AR-2026-0001` in any case, with spaces around.
    pub fn parse(s: &str) -> Result<AlertFolio, String> {
        let t = s.trim().to_uppercase();
        let bad = || format!("«{}» no es un folio de Alerta Rosa: tiene la forma AR-2026-0001", s.trim());
        let mut parts = t.split('-');
        let (Some(prefix), Some(year), Some(number), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let digits = |p: &str, min: usize| p.len() >= min && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit());
        if ![FOLIO_PREFIX, DRILL_FOLIO_PREFIX].contains(&prefix) || year.len() != 4 || !digits(year, 4) || !digits(number, 4) {
            return Err(bad());
        }
        Ok(AlertFolio(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_drill(&self) -> bool {
        self.0.starts_with(DRILL_FOLIO_PREFIX)
    }
}

impl fmt::Display for AlertFolio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------
// Time: what people type and read is central Mexico time.

/// Central Mexico has kept UTC−6 all year since 2022; Violeta reads and writes local times
/// with that offset.
pub const MEXICO_OFFSET_HOURS: i64 = -6;

pub fn to_local(t: DateTime<Utc>) -> NaiveDateTime {
    (t + Duration::hours(MEXICO_OFFSET_HOURS)).naive_utc()
}

pub fn from_local(t: NaiveDateTime) -> DateTime<Utc> {
    (t - Duration::hours(MEXICO_OFFSET_HOURS)).and_utc()
}

const MONTHS: [&str; 12] =
    ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"];

/// "3 de marzo de 2026, 18:40 h" (central Mexico time).
pub fn long_local(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let l = to_local(t);
    format!("{} de {} de {}, {:02}:{:02} h", l.day(), MONTHS[l.month0() as usize], l.year(), l.hour(), l.minute())
}

/// "3 de marzo de 2026".
pub fn long_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{} de {} de {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

// ---------------------------------------------------------------------------
// The case as typed

coded_enum!(
    /// Sex as recorded. The ficha shows her gender identity when one is given, so a trans
    /// woman is never outed by a public bulletin.
    RecordedSex {
        Mujer => ("mujer", "Mujer"),
        Hombre => ("hombre", "Hombre"),
        Intersexual => ("intersexual", "Intersexual"),
    }
);

/// The national lines for reporting information: 911 (emergencies) and 089 (anonymous
/// reports), the default hotline of a ficha.
pub const DEFAULT_HOTLINE: &str = "911 (emergencias) y 089 (denuncia anónima)";

/// Default radius of the search area around the last-seen place, in kilometres.
pub const DEFAULT_RADIUS_KM: f64 = 10.0;

/// A case as typed in the form or sent to the API, before checking.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AlertInput {
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub age: String,
    #[serde(default)]
    pub sex: String,
    #[serde(default)]
    pub gender_identity: String,
    #[serde(default)]
    pub height_cm: String,
    #[serde(default)]
    pub complexion: String,
    #[serde(default)]
    pub skin: String,
    #[serde(default)]
    pub hair: String,
    #[serde(default)]
    pub eyes: String,
    #[serde(default)]
    pub marks: String,
    #[serde(default)]
    pub clothing: String,
    /// `2026-03-03` (or 03/03/2026).
    #[serde(default)]
    pub last_seen_date: String,
    /// `18:40`.
    #[serde(default)]
    pub last_seen_time: String,
    #[serde(default)]
    pub last_seen_place: String,
    /// INEGI municipality key, already resolved from a name by the caller.
    #[serde(default)]
    pub municipality: String,
    #[serde(default)]
    pub lat: String,
    #[serde(default)]
    pub lon: String,
    #[serde(default)]
    pub radius_km: String,
    #[serde(default)]
    pub circumstances: String,
    #[serde(default)]
    pub authority: String,
    #[serde(default)]
    pub hotline: String,
    // Private.
    #[serde(default)]
    pub reporter_name: String,
    #[serde(default)]
    pub reporter_relationship: String,
    #[serde(default)]
    pub reporter_phone: String,
    #[serde(default)]
    pub reporter_email: String,
    #[serde(default)]
    pub file_number: String,
    #[serde(default)]
    pub health: String,
    /// "si" for a drill.
    #[serde(default)]
    pub drill: String,
}

/// The private part of a case: kept sealed, shown only to those who may, every read audited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateData {
    pub reporter_name: String,
    pub reporter_relationship: String,
    pub reporter_phone: String,
    pub reporter_email: String,
    /// The investigation file (*carpeta de investigación*) number.
    pub file_number: String,
    /// Health or vulnerability details: medication, disability, pregnancy.
    pub health: String,
}

impl PrivateData {
    pub fn is_empty(&self) -> bool {
        *self == PrivateData::default()
    }
}

/// A checked case.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertDraft {
    pub full_name: String,
    pub age: i64,
    pub sex: RecordedSex,
    pub gender_identity: String,
    pub height_cm: Option<i64>,
    pub complexion: String,
    pub skin: String,
    pub hair: String,
    pub eyes: String,
    pub marks: String,
    pub clothing: String,
    pub last_seen_at: DateTime<Utc>,
    pub last_seen_place: String,
    pub municipality: crate::territory::MunicipalityKey,
    pub point: Option<crate::geo::Point>,
    pub radius_km: f64,
    pub circumstances: String,
    pub authority: String,
    pub hotline: String,
    pub private: PrivateData,
    pub drill: bool,
}

/// Longest free text in a field that goes on the ficha: more does not fit the bulletin.
pub const MAX_FICHA_TEXT: usize = 400;

fn yes(s: &str) -> bool {
    matches!(crate::text::search_key(s).as_str(), "si" | "1" | "on" | "true" | "verdadero")
}

impl AlertInput {
    /// Checks everything at once and names every problem. `now` bounds the last-seen time.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<AlertDraft, FieldErrors> {
        let mut errors: FieldErrors = Vec::new();
        let full_name = crate::text::normalize_name(&self.full_name);
        if full_name.split(' ').filter(|w| !w.is_empty()).count() < 2 {
            errors.push(("full_name", "escriba el nombre completo: nombre y al menos un apellido".into()));
        }
        let age = match self.age.trim().parse::<i64>() {
            Ok(a @ 0..=110) => a,
            _ if self.age.trim().is_empty() => {
                errors.push(("age", "indique la edad en años cumplidos".into()));
                0
            }
            _ => {
                errors.push(("age", format!("la edad «{}» no es válida: escriba los años cumplidos, de 0 a 110", self.age.trim())));
                0
            }
        };
        let sex = RecordedSex::parse(&self.sex);
        let gender_identity = clean(&self.gender_identity);
        match sex {
            None => errors.push(("sex", "elija el sexo registrado".into())),
            Some(s) if s != RecordedSex::Mujer && gender_identity.is_empty() => errors.push((
                "gender_identity",
                "la Alerta Rosa busca a mujeres y niñas: indique su identidad de género (por ejemplo, «mujer trans»)".into(),
            )),
            _ => {}
        }
        let height_cm = match self.height_cm.trim() {
            "" => None,
            t => match t.trim_end_matches("cm").trim().parse::<i64>() {
                Ok(h @ 40..=230) => Some(h),
                _ => {
                    errors.push(("height_cm", format!("la estatura «{t}» no es válida: escríbala en centímetros, por ejemplo 158")));
                    None
                }
            },
        };
        let text = |field: &'static str, value: &str, errors: &mut FieldErrors| {
            let v = clean(value);
            if v.chars().count() > MAX_FICHA_TEXT {
                errors.push((field, format!("el texto es demasiado largo para la ficha: use a lo más {MAX_FICHA_TEXT} caracteres")));
            }
            v
        };
        let complexion = text("complexion", &self.complexion, &mut errors);
        let skin = text("skin", &self.skin, &mut errors);
        let hair = text("hair", &self.hair, &mut errors);
        let eyes = text("eyes", &self.eyes, &mut errors);
        let marks = text("marks", &self.marks, &mut errors);
        let clothing = text("clothing", &self.clothing, &mut errors);
        let circumstances = text("circumstances", &self.circumstances, &mut errors);
        if clothing.is_empty() && marks.is_empty() && complexion.is_empty() && height_cm.is_none() {
            errors.push(("clothing", "describa al menos la vestimenta o sus rasgos: es lo que permite reconocerla".into()));
        }

        let date = match self.last_seen_date.trim() {
            "" => {
                errors.push(("last_seen_date", "indique la fecha en que se le vio por última vez".into()));
                None
            }
            t => match NaiveDate::parse_from_str(t, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(t, "%d/%m/%Y")) {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.push(("last_seen_date", format!("la fecha «{t}» no es válida: use día/mes/año, por ejemplo 03/03/2026")));
                    None
                }
            },
        };
        let time = match self.last_seen_time.trim() {
            "" => {
                errors.push(("last_seen_time", "indique la hora aproximada en que se le vio por última vez".into()));
                None
            }
            t => match NaiveTime::parse_from_str(t, "%H:%M").or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S")) {
                Ok(h) => Some(h),
                Err(_) => {
                    errors.push(("last_seen_time", format!("la hora «{t}» no es válida: use horas y minutos de 24 h, por ejemplo 18:40")));
                    None
                }
            },
        };
        let mut last_seen_at = now;
        if let (Some(d), Some(h)) = (date, time) {
            last_seen_at = from_local(d.and_time(h));
            if last_seen_at > now + Duration::minutes(10) {
                errors.push(("last_seen_date", "la fecha y hora en que se le vio por última vez no pueden estar en el futuro".into()));
            } else if last_seen_at < now - Duration::days(365 * 30) {
                errors.push(("last_seen_date", "la fecha en que se le vio por última vez es de hace más de 30 años; revísela".into()));
            }
        }
        let last_seen_place = clean(&self.last_seen_place);
        if last_seen_place.is_empty() {
            errors.push(("last_seen_place", "indique el lugar donde se le vio por última vez (calle, colonia o referencia)".into()));
        }
        let municipality = match crate::territory::MunicipalityKey::parse(&self.municipality) {
            Ok(k) => Some(k),
            Err(_) if self.municipality.trim().is_empty() => {
                errors.push(("municipality", "indique el municipio donde se le vio por última vez".into()));
                None
            }
            Err(e) => {
                errors.push(("municipality", e.to_string()));
                None
            }
        };
        let point = match (self.lat.trim(), self.lon.trim()) {
            ("", "") => None,
            (lat, lon) => match crate::geo::Point::parse(lat, lon) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(("lat", e.to_string()));
                    None
                }
            },
        };
        let radius_km = match self.radius_km.trim() {
            "" => DEFAULT_RADIUS_KM,
            t => match t.replace(',', ".").parse::<f64>() {
                Ok(r) if (0.1..=500.0).contains(&r) => r,
                _ => {
                    errors.push(("radius_km", format!("el radio de búsqueda «{t}» no es válido: escriba kilómetros, de 0.1 a 500")));
                    DEFAULT_RADIUS_KM
                }
            },
        };
        let authority = clean(&self.authority);
        if authority.is_empty() {
            errors.push(("authority", "indique la autoridad que investiga (por ejemplo, la fiscalía del estado)".into()));
        }
        let hotline = match clean(&self.hotline) {
            h if h.is_empty() => DEFAULT_HOTLINE.to_string(),
            h => h,
        };
        let private = PrivateData {
            reporter_name: crate::text::normalize_name(&self.reporter_name),
            reporter_relationship: clean(&self.reporter_relationship),
            reporter_phone: clean(&self.reporter_phone),
            reporter_email: clean(&self.reporter_email).to_lowercase(),
            file_number: clean(&self.file_number),
            health: clean(&self.health),
        };
        if private.reporter_name.is_empty() {
            errors.push(("reporter_name", "indique el nombre de quien reporta".into()));
        }
        if private.reporter_phone.is_empty() && private.reporter_email.is_empty() {
            errors.push(("reporter_phone", "indique un teléfono o un correo para comunicarse con quien reporta".into()));
        }
        if !private.reporter_phone.is_empty() && private.reporter_phone.chars().filter(char::is_ascii_digit).count() < 7 {
            errors.push(("reporter_phone", format!("el teléfono «{}» tiene muy pocos dígitos", private.reporter_phone)));
        }
        if !private.reporter_email.is_empty() && !private.reporter_email.contains('@') {
            errors.push(("reporter_email", format!("«{}» no es un correo electrónico", private.reporter_email)));
        }
        match (sex, municipality) {
            (Some(sex), Some(municipality)) if errors.is_empty() => Ok(AlertDraft {
                full_name,
                age,
                sex,
                gender_identity,
                height_cm,
                complexion,
                skin,
                hair,
                eyes,
                marks,
                clothing,
                last_seen_at,
                last_seen_place,
                municipality,
                point,
                radius_km,
                circumstances,
                authority,
                hotline,
                private,
                drill: yes(&self.drill),
            }),
            _ => Err(errors),
        }
    }
}

// ---------------------------------------------------------------------------
// Risk check and consent

coded_enum!(
    /// The risk that public dissemination poses to her, as the operator assesses it.
    RiskLevel {
        Bajo => ("bajo", "Bajo"),
        Medio => ("medio", "Medio"),
        Alto => ("alto", "Alto"),
    }
);

coded_enum!(
    /// The family's consent to publish her image and data.
    Consent {
        Otorgado => ("otorgado", "Otorgado"),
        Negado => ("negado", "Negado"),
        NoRequerido => ("no_requerido", "No lo requiere el protocolo"),
    }
);

/// The risk check as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RiskCheckInput {
    #[serde(default)]
    pub level: String,
    /// "si": public dissemination is appropriate.
    #[serde(default)]
    pub publish: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub consent: String,
    #[serde(default)]
    pub consent_by: String,
    #[serde(default)]
    pub consent_relationship: String,
    /// How consent was given, or why it is not required.
    #[serde(default)]
    pub consent_note: String,
}

/// A recorded risk check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskCheck {
    pub level: RiskLevel,
    /// The operator's conclusion: publishing is appropriate.
    pub publish_ok: bool,
    pub notes: String,
    pub consent: Consent,
    pub consent_by: String,
    pub consent_relationship: String,
    pub consent_note: String,
}

impl RiskCheckInput {
    pub fn validate(&self) -> Result<RiskCheck, FieldErrors> {
        let mut errors: FieldErrors = Vec::new();
        let level = RiskLevel::parse(&self.level);
        if level.is_none() {
            errors.push(("level", "elija el nivel de riesgo de la difusión".into()));
        }
        let publish_ok = match crate::text::search_key(&self.publish).as_str() {
            "si" | "1" | "true" => Some(true),
            "no" | "0" | "false" => Some(false),
            _ => None,
        };
        if publish_ok.is_none() {
            errors.push(("publish", "indique si la difusión pública es procedente".into()));
        }
        let notes = clean(&self.notes);
        if notes.is_empty() {
            errors.push(("notes", "anote en qué se basa la evaluación (por ejemplo, si hay una posible persona agresora que la busca)".into()));
        }
        let consent = Consent::parse(&self.consent);
        let (consent_by, consent_relationship, consent_note) =
            (crate::text::normalize_name(&self.consent_by), clean(&self.consent_relationship), clean(&self.consent_note));
        match consent {
            None => errors.push(("consent", "indique si la familia dio su consentimiento o si el protocolo no lo requiere".into())),
            Some(Consent::Otorgado) if consent_by.is_empty() || consent_relationship.is_empty() => {
                errors.push(("consent_by", "anote quién dio el consentimiento y su parentesco o relación".into()))
            }
            Some(Consent::NoRequerido) if consent_note.is_empty() => {
                errors.push(("consent_note", "anote por qué el protocolo no requiere el consentimiento en este caso".into()))
            }
            _ => {}
        }
        match (level, publish_ok, consent) {
            (Some(level), Some(publish_ok), Some(consent)) if errors.is_empty() => {
                Ok(RiskCheck { level, publish_ok, notes, consent, consent_by, consent_relationship, consent_note })
            }
            _ => Err(errors),
        }
    }
}

/// Whether a case may be activated now. Every reason it may not, in Spanish.
pub fn check_activation(status: AlertStatus, risk: Option<&RiskCheck>, has_photo: bool, confirmed: bool) -> Result<(), Vec<String>> {
    let mut reasons = Vec::new();
    if let Err(e) = status.check_move(AlertStatus::Activada) {
        reasons.push(e);
    }
    match risk {
        None => reasons.push("falta registrar la evaluación de riesgo y el consentimiento".into()),
        Some(r) => {
            if !r.publish_ok {
                reasons.push("la evaluación de riesgo concluyó que la difusión pública no es procedente".into());
            }
            if r.consent == Consent::Negado {
                reasons.push("la familia no dio su consentimiento para difundir su imagen y sus datos".into());
            }
        }
    }
    if !has_photo {
        reasons.push("falta una fotografía reciente: sin ella la ficha de búsqueda no sirve para reconocerla".into());
    }
    if !confirmed {
        reasons.push("confirme expresamente que revisó la evaluación de riesgo y que la difusión es procedente".into());
    }
    if reasons.is_empty() { Ok(()) } else { Err(reasons) }
}

// ---------------------------------------------------------------------------
// Translations

/// A translation of the ficha supplied by staff (an indigenous language of the region, for
/// example), rendered in the same layout.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TranslationInput {
    /// BCP 47 tag, such as `zap` (Zapoteco) or `mix` (Mixteco).
    #[serde(default)]
    pub language: String,
    /// The language's name as readers know it: "Zapoteco del Istmo (diidxazá)".
    #[serde(default)]
    pub language_name: String,
    /// The heading ("¡Ayúdanos a localizarla!").
    #[serde(default)]
    pub heading: String,
    /// Her description and circumstances.
    #[serde(default)]
    pub body: String,
    /// Whom to call.
    #[serde(default)]
    pub call_to_action: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Translation {
    pub language: String,
    pub language_name: String,
    pub heading: String,
    pub body: String,
    pub call_to_action: String,
}

pub const MAX_HEADING: usize = 60;
pub const MAX_BODY: usize = 600;

/// Whether `tag` is a language tag as XML Schema's `xs:language` (and CAP) accept it.
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first_ok = parts.next().is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl TranslationInput {
    pub fn validate(&self) -> Result<Translation, FieldErrors> {
        let mut errors: FieldErrors = Vec::new();
        let language = self.language.trim().to_string();
        if !is_language_tag(&language) {
            errors.push(("language", format!("«{language}» no es una etiqueta de idioma: use la de la norma BCP 47, por ejemplo zap (zapoteco) o mix (mixteco)")));
        } else if language.to_lowercase() == "es" || language.to_lowercase().starts_with("es-") {
            errors.push(("language", "el español es el idioma de la ficha original; elija otro idioma".into()));
        }
        let language_name = clean(&self.language_name);
        if language_name.is_empty() {
            errors.push(("language_name", "escriba el nombre del idioma, como lo conocen sus hablantes".into()));
        }
        let heading = clean(&self.heading);
        if heading.is_empty() || heading.chars().count() > MAX_HEADING {
            errors.push(("heading", format!("escriba el encabezado traducido, de a lo más {MAX_HEADING} caracteres")));
        }
        let body = clean(&self.body);
        if body.is_empty() || body.chars().count() > MAX_BODY {
            errors.push(("body", format!("escriba la descripción traducida, de a lo más {MAX_BODY} caracteres")));
        }
        let call_to_action = clean(&self.call_to_action);
        if call_to_action.chars().count() > MAX_HEADING * 2 {
            errors.push(("call_to_action", format!("el llamado a comunicarse es demasiado largo: use a lo más {} caracteres", MAX_HEADING * 2)));
        }
        if errors.is_empty() { Ok(Translation { language, language_name, heading, body, call_to_action }) } else { Err(errors) }
    }
}

// ---------------------------------------------------------------------------
// What the ficha says: one place for the bulletin, the public page, the CAP message and
// the text posted to social networks.

/// The Spanish heading of every ficha.
pub const HEADING: &str = "¡AYÚDANOS A LOCALIZARLA!";
/// The call to action under the hotline.
pub const CALL_TO_ACTION: &str = "Si tienes información, comunícate al";

/// The public facts of an active alert.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicFacts {
    pub folio: String,
    pub full_name: String,
    pub age: i64,
    pub sex: RecordedSex,
    pub gender_identity: String,
    pub height_cm: Option<i64>,
    pub complexion: String,
    pub skin: String,
    pub hair: String,
    pub eyes: String,
    pub marks: String,
    pub clothing: String,
    pub last_seen_at: DateTime<Utc>,
    pub last_seen_place: String,
    pub municipality: String,
    pub state: String,
    pub circumstances: String,
    pub hotline: String,
    pub drill: bool,
}

impl PublicFacts {
    /// "18 años", "1 año".
    pub fn age_label(&self) -> String {
        if self.age == 1 { "1 año".into() } else { format!("{} años", self.age) }
    }

    pub fn place_label(&self) -> String {
        format!("{}, {}, {}", self.last_seen_place, self.municipality, self.state)
    }

    /// The labelled lines of the ficha, in order, without the empty ones.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("Edad", self.age_label())];
        if self.gender_identity.is_empty() {
            out.push(("Sexo", self.sex.label().to_string()));
        } else {
            out.push(("Identidad de género", self.gender_identity.clone()));
        }
        if let Some(h) = self.height_cm {
            out.push(("Estatura", format!("{}.{:02} m", h / 100, h % 100)));
        }
        for (label, value) in [
            ("Complexión", &self.complexion),
            ("Tez", &self.skin),
            ("Cabello", &self.hair),
            ("Ojos", &self.eyes),
            ("Señas particulares", &self.marks),
            ("Vestimenta", &self.clothing),
        ] {
            if !value.is_empty() {
                out.push((label, value.clone()));
            }
        }
        out.push(("Vista por última vez", long_local(self.last_seen_at)));
        out.push(("Lugar", self.place_label()));
        if !self.circumstances.is_empty() {
            out.push(("Circunstancias", self.circumstances.clone()));
        }
        out
    }

    /// One paragraph: what the CAP message's description and the posts say.
    pub fn description(&self) -> String {
        self.fields().into_iter().map(|(k, v)| format!("{k}: {v}.")).collect::<Vec<_>>().join(" ").replace("..", ".")
    }

    /// "Alerta Rosa AR-2026-0001: se busca a María López Cruz, 16 años".
    pub fn headline(&self) -> String {
        format!("Alerta Rosa {}: se busca a {}, {}", self.folio, self.full_name, self.age_label())
    }
}

// ---------------------------------------------------------------------------
// Metrics

/// When each step of one case happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    pub reported_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    /// When the last channel posted it (from the dissemination deliveries).
    pub all_posted_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub status: AlertStatus,
}

impl Timeline {
    pub fn report_to_activation(&self) -> Option<i64> {
        minutes(self.reported_at, self.activated_at?)
    }

    pub fn activation_to_all_posted(&self) -> Option<i64> {
        minutes(self.activated_at?, self.all_posted_at?)
    }

    /// Only for a case that was activated and then located.
    pub fn activation_to_localization(&self) -> Option<i64> {
        if !self.status.is_located() {
            return None;
        }
        minutes(self.activated_at?, self.closed_at?)
    }
}

fn minutes(from: DateTime<Utc>, to: DateTime<Utc>) -> Option<i64> {
    let m = (to - from).num_minutes();
    (m >= 0).then_some(m)
}

/// Median, shortest and longest of a set of durations in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Spread {
    pub count: usize,
    pub median: Option<i64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl Spread {
    pub fn of(values: impl IntoIterator<Item = i64>) -> Spread {
        let mut v: Vec<i64> = values.into_iter().collect();
        v.sort_unstable();
        let n = v.len();
        let median = match n {
            0 => None,
            _ if n % 2 == 1 => Some(v[n / 2]),
            _ => Some((v[n / 2 - 1] + v[n / 2]) / 2),
        };
        Spread { count: n, median, min: v.first().copied(), max: v.last().copied() }
    }
}

/// "3 h 05 min", "45 min", "2 d 4 h".
pub fn duration_label(minutes: i64) -> String {
    let (d, h, m) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m:02} min"),
        _ => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 4, 12, 0, 0).unwrap()
    }

    fn input() -> AlertInput {
        AlertInput {
            full_name: "MARÍA FERNANDA LÓPEZ CRUZ".into(),
            age: "16".into(),
            sex: "mujer".into(),
            height_cm: "158".into(),
            clothing: "Sudadera gris, pantalón de mezclilla azul, tenis blancos".into(),
            marks: "Lunar en la mejilla izquierda".into(),
            last_seen_date: "03/03/2026".into(),
            last_seen_time: "18:40".into(),
            last_seen_place: "Calle Independencia, Centro".into(),
            municipality: "20067".into(),
            authority: "Fiscalía General del Estado de Oaxaca".into(),
            reporter_name: "Rosa Cruz Martínez".into(),
            reporter_relationship: "Madre".into(),
            reporter_phone: "951 123 4567".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_case_validates() {
        let d = input().validate(now()).unwrap();
        assert_eq!(d.full_name, "María Fernanda López Cruz");
        assert_eq!(d.last_seen_at, Utc.with_ymd_and_hms(2026, 3, 4, 0, 40, 0).unwrap(), "18:40 central time is 00:40 UTC");
        assert_eq!(d.hotline, DEFAULT_HOTLINE);
        assert_eq!(d.radius_km, DEFAULT_RADIUS_KM);
        assert!(!d.drill);
        assert_eq!(d.private.reporter_relationship, "Madre");
    }

    #[test]
    fn every_problem_is_named_in_spanish() {
        let bad = AlertInput { full_name: "María".into(), age: "200".into(), last_seen_date: "2026-13-01".into(), ..Default::default() };
        let errors = bad.validate(now()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        for f in ["full_name", "age", "sex", "clothing", "last_seen_date", "last_seen_time", "last_seen_place", "municipality", "authority", "reporter_name", "reporter_phone"] {
            assert!(fields.contains(&f), "{f} missing from {errors:?}");
        }
        assert!(errors.iter().any(|(_, m)| m.contains("la edad «200» no es válida")));
        // The future is refused.
        let future = AlertInput { last_seen_date: "05/03/2026".into(), ..input() };
        assert!(future.validate(now()).unwrap_err().iter().any(|(_, m)| m.contains("futuro")));
        // Coordinates outside Mexico.
        let far = AlertInput { lat: "40.4".into(), lon: "-3.7".into(), ..input() };
        assert!(far.validate(now()).unwrap_err().iter().any(|(f, m)| *f == "lat" && m.contains("fuera de México")));
    }

    #[test]
    fn gender_identity_is_asked_and_shown_instead_of_sex() {
        let trans = AlertInput { sex: "hombre".into(), ..input() };
        assert!(trans.validate(now()).unwrap_err().iter().any(|(f, _)| *f == "gender_identity"));
        let trans = AlertInput { sex: "hombre".into(), gender_identity: "Mujer trans".into(), ..input() };
        let d = trans.validate(now()).unwrap();
        let facts = facts_of(&d);
        let fields = facts.fields();
        assert!(fields.contains(&("Identidad de género", "Mujer trans".into())));
        assert!(!fields.iter().any(|(k, _)| *k == "Sexo"), "the recorded sex is never published over her identity");
    }

    fn facts_of(d: &AlertDraft) -> PublicFacts {
        PublicFacts {
            folio: "AR-2026-0001".into(),
            full_name: d.full_name.clone(),
            age: d.age,
            sex: d.sex,
            gender_identity: d.gender_identity.clone(),
            height_cm: d.height_cm,
            complexion: d.complexion.clone(),
            skin: d.skin.clone(),
            hair: d.hair.clone(),
            eyes: d.eyes.clone(),
            marks: d.marks.clone(),
            clothing: d.clothing.clone(),
            last_seen_at: d.last_seen_at,
            last_seen_place: d.last_seen_place.clone(),
            municipality: "Oaxaca de Juárez".into(),
            state: "Oaxaca".into(),
            circumstances: d.circumstances.clone(),
            hotline: d.hotline.clone(),
            drill: d.drill,
        }
    }

    #[test]
    fn ficha_fields_and_headline() {
        let f = facts_of(&input().validate(now()).unwrap());
        assert_eq!(f.headline(), "Alerta Rosa AR-2026-0001: se busca a María Fernanda López Cruz, 16 años");
        let fields = f.fields();
        assert_eq!(fields[0], ("Edad", "16 años".into()));
        assert!(fields.contains(&("Estatura", "1.58 m".into())));
        assert!(fields.contains(&("Vista por última vez", "3 de marzo de 2026, 18:40 h".into())));
        assert!(fields.contains(&("Lugar", "Calle Independencia, Centro, Oaxaca de Juárez, Oaxaca".into())));
        assert!(!fields.iter().any(|(k, _)| *k == "Tez"), "empty fields are left out");
        assert!(f.description().starts_with("Edad: 16 años. Sexo: Mujer."));
    }

    #[test]
    fn transitions() {
        use AlertStatus::*;
        assert!(Reportada.check_move(Activada).is_ok());
        assert!(Activada.check_move(Difundida).is_ok());
        assert!(Difundida.check_move(LocalizadaConVida).is_ok());
        assert!(Reportada.check_move(Desactivada).is_ok(), "a report can be withdrawn before activation");
        assert!(Reportada.check_move(Difundida).unwrap_err().contains("no se puede pasar de «Reportada» a «Difundida»"));
        assert!(Difundida.check_move(Activada).is_err());
        for closed in [LocalizadaConVida, LocalizadaSinVida, Desactivada] {
            assert!(closed.is_closed());
            assert!(closed.check_move(Activada).unwrap_err().contains("ya concluyó"));
        }
        assert!(is_public(Activada, false) && is_public(Difundida, false));
        assert!(!is_public(Activada, true), "a drill is never public");
        assert!(!is_public(Reportada, false) && !is_public(LocalizadaConVida, false));
        assert!(Closing::Desactivada.check_note(" ").is_err());
        assert!(Closing::LocalizadaConVida.check_note("").is_ok());
    }

    #[test]
    fn activation_needs_risk_check_consent_photo_and_confirmation() {
        let ok = RiskCheckInput {
            level: "medio".into(),
            publish: "si".into(),
            notes: "Sin indicios de persona agresora que la busque".into(),
            consent: "otorgado".into(),
            consent_by: "Rosa Cruz Martínez".into(),
            consent_relationship: "Madre".into(),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert!(check_activation(AlertStatus::Reportada, Some(&ok), true, true).is_ok());
        let reasons = check_activation(AlertStatus::Reportada, None, false, false).unwrap_err();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        let refused = RiskCheck { publish_ok: false, consent: Consent::Negado, ..ok.clone() };
        let reasons = check_activation(AlertStatus::Reportada, Some(&refused), true, true).unwrap_err();
        assert!(reasons.iter().any(|r| r.contains("no es procedente")) && reasons.iter().any(|r| r.contains("consentimiento")));
        assert!(check_activation(AlertStatus::Activada, Some(&ok), true, true).is_err(), "not twice");
        // Consent not required needs a reason; given consent needs who gave it.
        let no_reason = RiskCheckInput { consent: "no_requerido".into(), consent_note: "".into(), ..risk_input() };
        assert!(no_reason.validate().unwrap_err().iter().any(|(f, _)| *f == "consent_note"));
        let nobody = RiskCheckInput { consent: "otorgado".into(), consent_by: "".into(), ..risk_input() };
        assert!(nobody.validate().unwrap_err().iter().any(|(f, _)| *f == "consent_by"));
        assert_eq!(RiskCheckInput::default().validate().unwrap_err().len(), 4);
    }

    fn risk_input() -> RiskCheckInput {
        RiskCheckInput { level: "bajo".into(), publish: "si".into(), notes: "x".into(), consent: "otorgado".into(), consent_by: "A B".into(), consent_relationship: "Madre".into(), ..Default::default() }
    }

    #[test]
    fn folios() {
        assert_eq!(AlertFolio::new(false, 2026, 1).as_str(), "AR-2026-0001");
        assert_eq!(AlertFolio::new(true, 2026, 12345).as_str(), "SIM-2026-12345");
        assert_eq!(AlertFolio::parse(" ar-2026-0001 ").unwrap().as_str(), "AR-2026-0001");
        assert!(AlertFolio::parse("SIM-2026-0002").unwrap().is_drill());
        for bad in ["AR-26-0001", "XX-2026-0001", "AR-2026-01", "AR-2026-0001-1", "AR-2026-00a1", ""] {
            assert!(AlertFolio::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn translations() {
        let t = TranslationInput { language: "zap".into(), language_name: "Zapoteco".into(), heading: "¡Gacanenu!".into(), body: "Texto".into(), ..Default::default() };
        assert!(t.validate().is_ok());
        assert!(is_language_tag("mix-MX") && !is_language_tag("zap mx") && !is_language_tag("") && !is_language_tag("a-"));
        let es = TranslationInput { language: "es-MX".into(), ..t.clone() };
        assert!(es.validate().unwrap_err()[0].1.contains("español"));
        let long = TranslationInput { heading: "x".repeat(MAX_HEADING + 1), ..t };
        assert!(long.validate().is_err());
    }

    #[test]
    fn metrics() {
        let t0 = now();
        let t = Timeline {
            reported_at: t0,
            activated_at: Some(t0 + Duration::minutes(95)),
            all_posted_at: Some(t0 + Duration::minutes(97)),
            closed_at: Some(t0 + Duration::hours(30)),
            status: AlertStatus::LocalizadaConVida,
        };
        assert_eq!(t.report_to_activation(), Some(95));
        assert_eq!(t.activation_to_all_posted(), Some(2));
        assert_eq!(t.activation_to_localization(), Some(30 * 60 - 95));
        let off = Timeline { status: AlertStatus::Desactivada, ..t.clone() };
        assert_eq!(off.activation_to_localization(), None, "a deactivated alert was not a localization");
        assert_eq!(Spread::of([5, 1, 3]), Spread { count: 3, median: Some(3), min: Some(1), max: Some(5) });
        assert_eq!(Spread::of([1, 2, 3, 10]).median, Some(2));
        assert_eq!(Spread::of([]).median, None);
        assert_eq!(duration_label(45), "45 min");
        assert_eq!(duration_label(185), "3 h 05 min");
        assert_eq!(duration_label(3000), "2 d 2 h");
    }
}
