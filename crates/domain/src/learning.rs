//! The Centro de Aprendizaje Digital: what a course is made of, the rules a course must meet
//! before learners see it, how a quiz draws its questions and grades an attempt, and when a
//! learner has completed a course.

use crate::text::clean;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

coded_enum!(
    CourseStatus {
        Borrador => ("borrador", "Borrador"),
        Publicado => ("publicado", "Publicado"),
        Archivado => ("archivado", "Archivado"),
    }
);

coded_enum!(
    ItemKind {
        Leccion => ("leccion", "Lección"),
        Cuestionario => ("cuestionario", "Cuestionario"),
    }
);

coded_enum!(
    QuestionKind {
        Unica => ("unica", "Opción única"),
        Multiple => ("multiple", "Opción múltiple"),
        VerdaderoFalso => ("verdadero_falso", "Verdadero o falso"),
    }
);

coded_enum!(
    /// What completing a course takes.
    CompletionRule {
        Todo => ("todo", "Todas las lecciones vistas y todos los cuestionarios aprobados"),
        Seleccion => ("seleccion", "Solo las lecciones y cuestionarios marcados como obligatorios"),
    }
);

coded_enum!(
    /// How a person came to be enrolled.
    EnrolmentSource {
        Autoinscripcion => ("autoinscripcion", "Autoinscripción"),
        Masiva => ("masiva", "Inscripción masiva"),
        Moodle => ("moodle", "Historial de Moodle"),
        Personal => ("personal", "Inscrita por el personal"),
    }
);

/// A course's description, as staff enter it or an archive carries it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CourseInfo {
    pub code: String,
    pub title: String,
    pub summary: String,
    pub audience: String,
    /// Length in minutes (the constancia shows hours).
    pub minutes: i64,
    pub completion_rule: Option<CompletionRule>,
    pub valid_months: Option<i64>,
}

impl CourseInfo {
    /// Cleans the text fields and checks the rest.
    pub fn validate(&self) -> Result<CourseInfo, String> {
        let code = clean(&self.code).to_uppercase();
        let title = clean(&self.title);
        if code.is_empty() {
            return Err("indique la clave del curso (por ejemplo, PG-101)".into());
        }
        if code.len() > 40 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
            return Err(format!("la clave «{code}» solo puede tener letras sin acento, números, guiones y puntos (40 como máximo)"));
        }
        if title.is_empty() {
            return Err("indique el título del curso".into());
        }
        if self.minutes <= 0 || self.minutes > 1000 * 60 {
            return Err("la duración del curso debe ser de más de 0 y hasta 1,000 horas".into());
        }
        if let Some(m) = self.valid_months
            && !(1..=120).contains(&m)
        {
            return Err("la vigencia de la constancia debe ser de 1 a 120 meses".into());
        }
        Ok(CourseInfo {
            code,
            title,
            summary: self.summary.trim().to_string(),
            audience: clean(&self.audience),
            minutes: self.minutes,
            completion_rule: Some(self.completion_rule.unwrap_or(CompletionRule::Todo)),
            valid_months: self.valid_months,
        })
    }
}

/// Parses a duration in hours as staff write it ("4", "1.5", "2,5") into minutes.
pub fn parse_hours(s: &str) -> Option<i64> {
    let hours: f64 = s.trim().replace(',', ".").parse().ok()?;
    (hours.is_finite() && hours > 0.0).then(|| (hours * 60.0).round() as i64)
}

/// A quiz's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizSettings {
    pub pass_percent: i64,
    pub attempt_limit: Option<i64>,
    pub draw_count: Option<i64>,
}

impl QuizSettings {
    pub fn validate(self) -> Result<QuizSettings, String> {
        if !(1..=100).contains(&self.pass_percent) {
            return Err("la calificación aprobatoria debe estar entre 1 y 100".into());
        }
        if matches!(self.attempt_limit, Some(n) if n < 1) {
            return Err("el número de intentos debe ser al menos 1 (o déjelo vacío para no limitarlo)".into());
        }
        if matches!(self.draw_count, Some(n) if n < 1) {
            return Err("las preguntas por intento deben ser al menos 1 (o déjelo vacío para usar todas)".into());
        }
        Ok(self)
    }
}

/// One answer option of a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionDraft {
    pub text: String,
    pub correct: bool,
}

/// A question as authored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionDraft {
    pub kind: QuestionKind,
    pub prompt: String,
    pub feedback: String,
    pub options: Vec<OptionDraft>,
}

impl QuestionDraft {
    /// A question from the authoring form: one option per line, the correct ones marked
    /// with a leading `*`. True/false questions take «verdadero» or «falso» as the answer.
    pub fn from_form(kind: QuestionKind, prompt: &str, options: &str, feedback: &str) -> Result<QuestionDraft, String> {
        let options = match kind {
            QuestionKind::VerdaderoFalso => {
                let answer = crate::text::search_key(options.trim().trim_start_matches('*'));
                let truth = match answer.as_str() {
                    "verdadero" | "v" | "cierto" => true,
                    "falso" | "f" => false,
                    _ => return Err("indique si la respuesta correcta es «verdadero» o «falso»".into()),
                };
                true_false(truth)
            }
            _ => options
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| match l.strip_prefix('*') {
                    Some(rest) => OptionDraft { text: clean(rest), correct: true },
                    None => OptionDraft { text: clean(l), correct: false },
                })
                .collect(),
        };
        QuestionDraft { kind, prompt: prompt.to_string(), feedback: feedback.to_string(), options }.validate()
    }

    /// A question needs a prompt, at least two distinct options, and its correct answers:
    /// exactly one for single choice and true/false, at least one for multiple choice.
    pub fn validate(&self) -> Result<QuestionDraft, String> {
        let prompt = self.prompt.trim().to_string();
        if prompt.is_empty() {
            return Err("la pregunta no tiene enunciado".into());
        }
        let options: Vec<OptionDraft> = self.options.iter().map(|o| OptionDraft { text: clean(&o.text), correct: o.correct }).collect();
        if options.iter().any(|o| o.text.is_empty()) {
            return Err("una de las opciones está vacía".into());
        }
        if options.len() < 2 {
            return Err("la pregunta necesita al menos dos opciones".into());
        }
        let distinct: BTreeSet<String> = options.iter().map(|o| crate::text::search_key(&o.text)).collect();
        if distinct.len() != options.len() {
            return Err("la pregunta tiene opciones repetidas".into());
        }
        let correct = options.iter().filter(|o| o.correct).count();
        match (self.kind, correct) {
            (_, 0) => return Err("la pregunta no tiene respuesta correcta: marque la correcta con * al inicio de la línea".into()),
            (QuestionKind::Unica, n) if n > 1 => return Err("una pregunta de opción única debe tener una sola respuesta correcta".into()),
            (QuestionKind::VerdaderoFalso, _) if options.len() != 2 => return Err("una pregunta de verdadero o falso tiene exactamente dos opciones".into()),
            (QuestionKind::VerdaderoFalso, n) if n != 1 => return Err("una pregunta de verdadero o falso tiene una sola respuesta correcta".into()),
            _ => {}
        }
        Ok(QuestionDraft { kind: self.kind, prompt, feedback: self.feedback.trim().to_string(), options })
    }
}

fn true_false(truth: bool) -> Vec<OptionDraft> {
    vec![OptionDraft { text: "Verdadero".into(), correct: truth }, OptionDraft { text: "Falso".into(), correct: !truth }]
}

// ----- drawing and grading -----

/// Draws `n` question ids from the bank (all of them when `n` is `None` or larger), in a
/// random order decided by `seed` (8 random bytes from the caller).
pub fn draw(bank: &[i64], n: Option<i64>, seed: [u8; 8]) -> Vec<i64> {
    let mut ids = bank.to_vec();
    let mut state = u64::from_le_bytes(seed);
    // Fisher–Yates with SplitMix64: uniform enough for a quiz, and no dependency.
    for i in (1..ids.len()).rev() {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let j = (z % (i as u64 + 1)) as usize;
        ids.swap(i, j);
    }
    let keep = n.map(|n| n.max(0) as usize).unwrap_or(ids.len()).min(ids.len());
    ids.truncate(keep);
    ids
}

/// A question as grading needs it.
#[derive(Debug, Clone)]
pub struct KeyedQuestion {
    pub id: i64,
    pub correct: BTreeSet<i64>,
}

/// The result of grading an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grade {
    pub correct: usize,
    pub total: usize,
    pub percent: i64,
    pub passed: bool,
    /// Per question id: answered correctly?
    pub per_question: BTreeMap<i64, bool>,
}

/// Grades the answers (chosen option ids per question). A question scores only when the set
/// of chosen options is exactly its set of correct ones; the percentage is rounded down, so a
/// learner never passes on rounding.
pub fn grade(questions: &[KeyedQuestion], answers: &BTreeMap<i64, BTreeSet<i64>>, pass_percent: i64) -> Grade {
    let per_question: BTreeMap<i64, bool> =
        questions.iter().map(|q| (q.id, answers.get(&q.id).is_some_and(|chosen| *chosen == q.correct))).collect();
    let correct = per_question.values().filter(|ok| **ok).count();
    let total = questions.len();
    let percent = (correct * 100).checked_div(total).unwrap_or(0) as i64;
    Grade { correct, total, percent, passed: total > 0 && percent >= pass_percent, per_question }
}

// ----- attempts -----

/// Attempts a learner has left at a quiz (`None`: no limit): the quiz's limit, plus the extra
/// attempts staff granted her, minus those she submitted.
pub fn attempts_left(limit: Option<i64>, granted: i64, used: i64) -> Option<i64> {
    limit.map(|n| (n + granted - used).max(0))
}

/// May staff give a learner one more attempt at a quiz? Only when she used up her attempts
/// without passing, and with a reason (it goes to the audit trail). Returns the reason, clean.
pub fn check_grant(limit: Option<i64>, granted: i64, used: i64, passed: bool, reason: &str) -> Result<String, String> {
    let reason = clean(reason);
    if reason.is_empty() {
        return Err("indique el motivo por el que otorga otro intento (queda en la bitácora)".into());
    }
    if passed {
        return Err("la persona ya aprobó este cuestionario: no necesita otro intento".into());
    }
    match attempts_left(limit, granted, used) {
        None => Err("este cuestionario no limita los intentos: la persona puede volver a intentarlo sin autorización".into()),
        Some(n) if n > 0 => Err(format!("a la persona todavía le {} {n} {} de este cuestionario", if n == 1 { "queda" } else { "quedan" }, if n == 1 { "intento" } else { "intentos" })),
        Some(_) => Ok(reason),
    }
}

// ----- editing a course's structure -----

/// What an author removes from a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Lesson,
    Quiz,
    Module,
}

impl Removal {
    /// «la lección «Título»», with its article.
    fn named(self, title: &str) -> String {
        match self {
            Removal::Lesson => format!("la lección «{title}»"),
            Removal::Quiz => format!("el cuestionario «{title}»"),
            Removal::Module => format!("el módulo «{title}»"),
        }
    }
}

/// May an item or a module be deleted? On a draft, always. On a published or archived course,
/// not when learners have records in it (lessons seen, quiz attempts: deleting them would
/// rewrite what they did), nor when it would leave the course empty. `learners` is how many
/// enrolments have records in it; `items_left` how many lessons and quizzes would remain.
pub fn check_removal(status: CourseStatus, what: Removal, title: &str, learners: i64, items_left: usize) -> Result<(), String> {
    if status == CourseStatus::Borrador {
        return Ok(());
    }
    let state = if status == CourseStatus::Publicado { "publicado" } else { "archivado" };
    let named = what.named(title);
    if learners > 0 {
        let who = if learners == 1 { "1 persona ya tiene registros".to_string() } else { format!("{learners} personas ya tienen registros") };
        let instead = match what {
            Removal::Lesson => "Si ya no debe contar para concluir, márquela como opcional",
            Removal::Quiz => "Si ya no debe contar para concluir, márquelo como opcional",
            Removal::Module => "Si ya no debe contar para concluir, marque sus elementos como opcionales",
        };
        return Err(format!(
            "no se puede eliminar {named}: el curso está {state} y {who} en {} (lecciones vistas o intentos de cuestionario). \
             {instead}; si el curso debe cambiar, publique una versión nueva: exporte el curso, impórtelo con una versión mayor, edítela y publíquela.",
            if what == Removal::Lesson { "ella" } else { "él" }
        ));
    }
    if items_left == 0 {
        return Err(format!(
            "no se puede eliminar {named}: el curso está {state} y se quedaría sin lecciones ni cuestionarios. Agregue primero el contenido que lo sustituye."
        ));
    }
    Ok(())
}

// ----- completion -----

/// Where a learner stands on one item of a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemProgress {
    pub required: bool,
    /// A lesson seen, or a quiz passed.
    pub done: bool,
}

/// Has the learner completed the course under its rule? A course with nothing to do is never
/// complete.
pub fn is_complete(rule: CompletionRule, items: &[ItemProgress]) -> bool {
    let counted: Vec<&ItemProgress> = items.iter().filter(|i| rule == CompletionRule::Todo || i.required).collect();
    !counted.is_empty() && counted.iter().all(|i| i.done)
}

/// Progress in percent of what the rule counts.
pub fn progress_percent(rule: CompletionRule, items: &[ItemProgress]) -> i64 {
    let counted: Vec<&ItemProgress> = items.iter().filter(|i| rule == CompletionRule::Todo || i.required).collect();
    if counted.is_empty() {
        return 0;
    }
    (counted.iter().filter(|i| i.done).count() * 100 / counted.len()) as i64
}

// ----- the portable course archive -----

/// The manifest's format tag; a later format gets a new number.
pub const ARCHIVE_FORMAT: &str = "violeta-curso/1";
/// The manifest's file name inside the archive.
pub const MANIFEST: &str = "curso.json";

/// `curso.json`: the course, its modules and items. Lessons point at Markdown files in the
/// archive; images and attachments live under `archivos/`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub formato: String,
    pub clave: String,
    pub version: i64,
    pub titulo: String,
    #[serde(default)]
    pub resumen: String,
    #[serde(default)]
    pub publico: String,
    pub horas: f64,
    #[serde(default = "default_rule")]
    pub regla_de_conclusion: String,
    #[serde(default)]
    pub vigencia_meses: Option<i64>,
    pub modulos: Vec<ManifestModule>,
}

fn default_rule() -> String {
    "todo".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManifestModule {
    pub titulo: String,
    pub elementos: Vec<ManifestItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "tipo", rename_all = "snake_case", deny_unknown_fields)]
pub enum ManifestItem {
    Leccion {
        titulo: String,
        /// Path of the Markdown file inside the archive.
        archivo: String,
        #[serde(default)]
        video: String,
        #[serde(default = "yes")]
        obligatorio: bool,
    },
    Cuestionario {
        titulo: String,
        calificacion_aprobatoria: i64,
        #[serde(default)]
        intentos: Option<i64>,
        #[serde(default)]
        preguntas_por_intento: Option<i64>,
        #[serde(default = "yes")]
        obligatorio: bool,
        preguntas: Vec<ManifestQuestion>,
    },
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManifestQuestion {
    pub tipo: String,
    pub enunciado: String,
    #[serde(default)]
    pub retroalimentacion: String,
    pub opciones: Vec<ManifestOption>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManifestOption {
    pub texto: String,
    #[serde(default)]
    pub correcta: bool,
}

/// A whole course, checked, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseDraft {
    pub info: CourseInfo,
    pub version: i64,
    pub modules: Vec<ModuleDraft>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModuleDraft {
    pub title: String,
    pub items: Vec<ItemDraft>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ItemDraft {
    Lesson { title: String, body: String, video_url: String, required: bool },
    Quiz { title: String, settings: QuizSettings, required: bool, questions: Vec<QuestionDraft> },
}

/// Checks a video link: only http(s), so a lesson cannot carry a script link.
pub fn validate_video_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.is_empty() || url.starts_with("https://") || url.starts_with("http://") {
        Ok(url.to_string())
    } else {
        Err(format!("el enlace al video «{url}» debe empezar con https://"))
    }
}

/// A quiz is publishable when it has questions and its draw does not ask for more than its
/// bank holds.
pub fn check_quiz_bank(title: &str, settings: &QuizSettings, bank: usize) -> Result<(), String> {
    if bank == 0 {
        return Err(format!("el cuestionario «{title}» no tiene preguntas"));
    }
    if let Some(n) = settings.draw_count
        && n as usize > bank
    {
        return Err(format!("el cuestionario «{title}» saca {n} preguntas por intento pero su banco tiene {bank}"));
    }
    Ok(())
}

impl Manifest {
    /// Reads `curso.json`. Errors give the line and column of the JSON.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        serde_json::from_str(text).map_err(|e| {
            let what = e.to_string();
            // serde's message ends with " at line L column C": keep the explanation in Spanish.
            let reason = what.split(" at line ").next().unwrap_or(&what).to_string();
            format!("{MANIFEST}, línea {}, columna {}: {}", e.line(), e.column(), spanish_serde(&reason))
        })
    }

    /// Checks the whole course; `read` returns the text of a Markdown file in the archive.
    /// Every error says where it is: «módulo 2, elemento 3 («Título»), pregunta 1: …».
    pub fn into_draft(self, mut read: impl FnMut(&str) -> Result<String, String>) -> Result<CourseDraft, String> {
        if self.formato != ARCHIVE_FORMAT {
            return Err(format!("{MANIFEST}: el formato «{}» no es «{ARCHIVE_FORMAT}»", self.formato));
        }
        if self.version < 1 {
            return Err(format!("{MANIFEST}: la versión debe ser un número entero de 1 en adelante"));
        }
        let rule = CompletionRule::parse(&self.regla_de_conclusion)
            .ok_or_else(|| format!("{MANIFEST}: la regla de conclusión «{}» no es «todo» ni «seleccion»", self.regla_de_conclusion))?;
        let minutes = (self.horas * 60.0).round() as i64;
        let info = CourseInfo {
            code: self.clave,
            title: self.titulo,
            summary: self.resumen,
            audience: self.publico,
            minutes,
            completion_rule: Some(rule),
            valid_months: self.vigencia_meses,
        }
        .validate()
        .map_err(|e| format!("{MANIFEST}: {e}"))?;
        if self.modulos.is_empty() {
            return Err(format!("{MANIFEST}: el curso no tiene módulos"));
        }
        let mut modules = Vec::new();
        for (m, module) in self.modulos.into_iter().enumerate() {
            let at = format!("módulo {}", m + 1);
            let title = clean(&module.titulo);
            if title.is_empty() {
                return Err(format!("{MANIFEST}, {at}: el módulo no tiene título"));
            }
            if module.elementos.is_empty() {
                return Err(format!("{MANIFEST}, {at} («{title}»): el módulo no tiene lecciones ni cuestionarios"));
            }
            let mut items = Vec::new();
            for (i, item) in module.elementos.into_iter().enumerate() {
                let at = format!("{at}, elemento {}", i + 1);
                items.push(match item {
                    ManifestItem::Leccion { titulo, archivo, video, obligatorio } => {
                        let title = clean(&titulo);
                        if title.is_empty() {
                            return Err(format!("{MANIFEST}, {at}: la lección no tiene título"));
                        }
                        let body = read(&archivo).map_err(|e| format!("{MANIFEST}, {at} («{title}»): {e}"))?;
                        let video_url = validate_video_url(&video).map_err(|e| format!("{MANIFEST}, {at} («{title}»): {e}"))?;
                        ItemDraft::Lesson { title, body, video_url, required: obligatorio }
                    }
                    ManifestItem::Cuestionario { titulo, calificacion_aprobatoria, intentos, preguntas_por_intento, obligatorio, preguntas } => {
                        let title = clean(&titulo);
                        if title.is_empty() {
                            return Err(format!("{MANIFEST}, {at}: el cuestionario no tiene título"));
                        }
                        let settings = QuizSettings { pass_percent: calificacion_aprobatoria, attempt_limit: intentos, draw_count: preguntas_por_intento }
                            .validate()
                            .map_err(|e| format!("{MANIFEST}, {at} («{title}»): {e}"))?;
                        let mut questions = Vec::new();
                        for (q, question) in preguntas.into_iter().enumerate() {
                            let at = format!("{at} («{title}»), pregunta {}", q + 1);
                            let kind = QuestionKind::parse(&question.tipo)
                                .ok_or_else(|| format!("{MANIFEST}, {at}: el tipo «{}» no es «unica», «multiple» ni «verdadero_falso»", question.tipo))?;
                            let draft = QuestionDraft {
                                kind,
                                prompt: question.enunciado,
                                feedback: question.retroalimentacion,
                                options: question.opciones.into_iter().map(|o| OptionDraft { text: o.texto, correct: o.correcta }).collect(),
                            };
                            questions.push(draft.validate().map_err(|e| format!("{MANIFEST}, {at}: {e}"))?);
                        }
                        check_quiz_bank(&title, &settings, questions.len()).map_err(|e| format!("{MANIFEST}, {at}: {e}"))?;
                        ItemDraft::Quiz { title, settings, required: obligatorio, questions }
                    }
                });
            }
            modules.push(ModuleDraft { title, items });
        }
        Ok(CourseDraft { info, version: self.version, modules })
    }
}

impl CourseDraft {
    /// The manifest that describes this course; lesson `n` (counted across the course, from 1)
    /// is written to `lecciones/NN.md`.
    pub fn manifest(&self) -> (Manifest, Vec<(String, String)>) {
        let mut files = Vec::new();
        let mut n = 0;
        let modulos = self
            .modules
            .iter()
            .map(|m| ManifestModule {
                titulo: m.title.clone(),
                elementos: m
                    .items
                    .iter()
                    .map(|item| match item {
                        ItemDraft::Lesson { title, body, video_url, required } => {
                            n += 1;
                            let path = format!("lecciones/{n:02}.md");
                            files.push((path.clone(), body.clone()));
                            ManifestItem::Leccion { titulo: title.clone(), archivo: path, video: video_url.clone(), obligatorio: *required }
                        }
                        ItemDraft::Quiz { title, settings, required, questions } => ManifestItem::Cuestionario {
                            titulo: title.clone(),
                            calificacion_aprobatoria: settings.pass_percent,
                            intentos: settings.attempt_limit,
                            preguntas_por_intento: settings.draw_count,
                            obligatorio: *required,
                            preguntas: questions
                                .iter()
                                .map(|q| ManifestQuestion {
                                    tipo: q.kind.code().into(),
                                    enunciado: q.prompt.clone(),
                                    retroalimentacion: q.feedback.clone(),
                                    opciones: q.options.iter().map(|o| ManifestOption { texto: o.text.clone(), correcta: o.correct }).collect(),
                                })
                                .collect(),
                        },
                    })
                    .collect(),
            })
            .collect();
        let manifest = Manifest {
            formato: ARCHIVE_FORMAT.into(),
            clave: self.info.code.clone(),
            version: self.version,
            titulo: self.info.title.clone(),
            resumen: self.info.summary.clone(),
            publico: self.info.audience.clone(),
            horas: self.info.minutes as f64 / 60.0,
            regla_de_conclusion: self.info.completion_rule.unwrap_or(CompletionRule::Todo).code().into(),
            vigencia_meses: self.info.valid_months,
            modulos,
        };
        (manifest, files)
    }
}

/// serde_json's most common messages, in Spanish.
fn spanish_serde(reason: &str) -> String {
    if let Some(rest) = reason.strip_prefix("missing field ") {
        return format!("falta el campo «{}»", rest.trim_matches('`'));
    }
    if let Some(rest) = reason.strip_prefix("unknown field ") {
        let field = rest.split(',').next().unwrap_or(rest);
        return format!("campo desconocido «{}»", field.trim_matches('`'));
    }
    if let Some(rest) = reason.strip_prefix("unknown variant ") {
        let variant = rest.split(',').next().unwrap_or(rest);
        return format!("tipo desconocido «{}» (se esperaba «leccion» o «cuestionario»)", variant.trim_matches('`'));
    }
    if reason.starts_with("invalid type") {
        return format!("tipo de dato equivocado ({reason})");
    }
    if reason.starts_with("EOF") {
        return "el archivo termina antes de tiempo".into();
    }
    if reason.starts_with("expected") || reason.starts_with("trailing") || reason.starts_with("key must") {
        return format!("JSON mal formado ({reason})");
    }
    reason.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(kind: QuestionKind, options: &[(&str, bool)]) -> QuestionDraft {
        QuestionDraft { kind, prompt: "¿Pregunta?".into(), feedback: String::new(), options: options.iter().map(|(t, c)| OptionDraft { text: t.to_string(), correct: *c }).collect() }
    }

    #[test]
    fn a_question_without_a_correct_answer_is_refused() {
        let err = q(QuestionKind::Unica, &[("A", false), ("B", false)]).validate().unwrap_err();
        assert!(err.contains("no tiene respuesta correcta"), "{err}");
        let err = q(QuestionKind::Unica, &[("A", true), ("B", true)]).validate().unwrap_err();
        assert!(err.contains("una sola respuesta correcta"), "{err}");
        assert!(q(QuestionKind::Multiple, &[("A", true), ("B", true), ("C", false)]).validate().is_ok());
        let err = q(QuestionKind::Multiple, &[("A", true), ("a", false)]).validate().unwrap_err();
        assert!(err.contains("repetidas"), "{err}");
    }

    #[test]
    fn form_options_mark_the_correct_ones_with_a_star() {
        let d = QuestionDraft::from_form(QuestionKind::Unica, "¿Qué es?", "Uno\n*Dos\n\nTres", "").unwrap();
        assert_eq!(d.options.len(), 3);
        assert!(d.options[1].correct && !d.options[0].correct);
        let tf = QuestionDraft::from_form(QuestionKind::VerdaderoFalso, "¿Es?", "Falso", "").unwrap();
        assert_eq!(tf.options, true_false(false));
        assert!(QuestionDraft::from_form(QuestionKind::VerdaderoFalso, "¿Es?", "quizá", "").is_err());
    }

    #[test]
    fn grading_needs_the_exact_set_and_rounds_down() {
        let qs = vec![
            KeyedQuestion { id: 1, correct: [10].into() },
            KeyedQuestion { id: 2, correct: [20, 21].into() },
            KeyedQuestion { id: 3, correct: [30].into() },
        ];
        let answers: BTreeMap<i64, BTreeSet<i64>> = [(1, [10].into()), (2, [20].into()), (3, [30].into())].into();
        let g = grade(&qs, &answers, 67);
        assert_eq!((g.correct, g.total, g.percent, g.passed), (2, 3, 66, false));
        let answers: BTreeMap<i64, BTreeSet<i64>> = [(1, [10].into()), (2, [21, 20].into()), (3, [30].into())].into();
        assert!(grade(&qs, &answers, 100).passed);
        assert!(!grade(&[], &BTreeMap::new(), 1).passed);
    }

    #[test]
    fn draws_are_permutations_of_the_bank() {
        let bank: Vec<i64> = (1..=20).collect();
        let a = draw(&bank, Some(5), [1; 8]);
        let b = draw(&bank, Some(5), [2; 8]);
        assert_eq!(a.len(), 5);
        assert_ne!(a, b);
        let all: BTreeSet<i64> = draw(&bank, None, [3; 8]).into_iter().collect();
        assert_eq!(all.len(), 20);
        assert_eq!(draw(&bank, Some(50), [4; 8]).len(), 20);
    }

    #[test]
    fn a_new_attempt_is_granted_only_when_they_are_used_up() {
        assert_eq!(attempts_left(Some(2), 1, 2), Some(1));
        assert_eq!(attempts_left(Some(2), 0, 3), Some(0));
        assert_eq!(attempts_left(None, 0, 9), None);
        assert_eq!(check_grant(Some(2), 0, 2, false, "  Falla de conexión "), Ok("Falla de conexión".into()));
        assert!(check_grant(Some(2), 0, 2, false, " ").unwrap_err().contains("motivo"));
        assert!(check_grant(Some(2), 0, 1, false, "x").unwrap_err().contains("le queda 1 intento"));
        assert!(check_grant(Some(2), 0, 2, true, "x").unwrap_err().contains("ya aprobó"));
        assert!(check_grant(None, 0, 5, false, "x").unwrap_err().contains("no limita"));
        assert!(check_grant(Some(2), 1, 3, false, "x").is_ok());
    }

    #[test]
    fn what_learners_did_is_not_deleted_from_a_published_course() {
        assert!(check_removal(CourseStatus::Borrador, Removal::Module, "Uno", 30, 0).is_ok());
        assert!(check_removal(CourseStatus::Publicado, Removal::Lesson, "L", 0, 3).is_ok());
        let err = check_removal(CourseStatus::Publicado, Removal::Lesson, "Sexo y género", 2, 3).unwrap_err();
        assert!(err.contains("la lección «Sexo y género»") && err.contains("2 personas") && err.contains("márquela como opcional") && err.contains("versión nueva"), "{err}");
        let err = check_removal(CourseStatus::Archivado, Removal::Quiz, "Q", 1, 3).unwrap_err();
        assert!(err.contains("archivado") && err.contains("1 persona ya tiene"), "{err}");
        assert!(check_removal(CourseStatus::Publicado, Removal::Quiz, "Q", 0, 0).unwrap_err().contains("sin lecciones ni cuestionarios"));
    }

    #[test]
    fn completion_follows_the_rule() {
        let items = [ItemProgress { required: true, done: true }, ItemProgress { required: false, done: false }];
        assert!(!is_complete(CompletionRule::Todo, &items));
        assert!(is_complete(CompletionRule::Seleccion, &items));
        assert_eq!(progress_percent(CompletionRule::Todo, &items), 50);
        assert!(!is_complete(CompletionRule::Todo, &[]));
    }

    #[test]
    fn manifest_errors_say_where() {
        let err = Manifest::parse("{\"formato\": \"violeta-curso/1\",\n \"clave\": 3}").unwrap_err();
        assert!(err.contains("línea 2"), "{err}");
        let text = r#"{"formato":"violeta-curso/1","clave":"PG-1","version":1,"titulo":"Curso","horas":2,
            "modulos":[{"titulo":"Uno","elementos":[{"tipo":"cuestionario","titulo":"Q","calificacion_aprobatoria":80,
            "preguntas":[{"tipo":"unica","enunciado":"¿?","opciones":[{"texto":"A"},{"texto":"B"}]}]}]}]}"#;
        let err = Manifest::parse(text).unwrap().into_draft(|_| Ok(String::new())).unwrap_err();
        assert!(err.contains("módulo 1, elemento 1 («Q»), pregunta 1") && err.contains("no tiene respuesta correcta"), "{err}");
    }

    #[test]
    fn a_course_survives_the_round_trip_through_its_manifest() {
        let draft = CourseDraft {
            info: CourseInfo { code: "PG-1".into(), title: "Curso".into(), minutes: 90, completion_rule: Some(CompletionRule::Todo), ..Default::default() },
            version: 2,
            modules: vec![ModuleDraft {
                title: "Uno".into(),
                items: vec![
                    ItemDraft::Lesson { title: "L".into(), body: "# Hola".into(), video_url: String::new(), required: true },
                    ItemDraft::Quiz {
                        title: "Q".into(),
                        settings: QuizSettings { pass_percent: 80, attempt_limit: Some(3), draw_count: Some(1) },
                        required: true,
                        questions: vec![q(QuestionKind::Unica, &[("A", true), ("B", false)]).validate().unwrap()],
                    },
                ],
            }],
        };
        let (manifest, files) = draft.manifest();
        let text = serde_json::to_string_pretty(&manifest).unwrap();
        let back = Manifest::parse(&text).unwrap().into_draft(|p| Ok(files.iter().find(|(f, _)| f == p).unwrap().1.clone())).unwrap();
        assert_eq!(back, draft);
    }
}
