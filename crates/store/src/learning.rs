//! The Centro de Aprendizaje Digital in the store: courses and their content, cohorts,
//! enrolment (one by one and in bulk), lesson progress, quiz attempts, completion — which
//! issues the course's constancia in the same transaction — and the completion reports.
//!
//! Rules live in `violeta_domain::learning` (validation, drawing, grading, completion); this
//! module keeps the records. Authoring, enrolment and completion are audited; a lesson marked
//! as seen is the learner's own activity log (`lesson_views`, timestamped) and is not.

use crate::audit::{Event, append, append_all};
use crate::credentials::{Signing, issue_course_in_tx, lock_issuing};
use crate::{Backend, Result, Store, StoreError, Tx, now, on_pool, on_tx};
use std::sync::Arc;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use violeta_domain::audit::Actor;
use violeta_domain::credential::Folio;
use violeta_domain::learning::{
    CompletionRule, CourseDraft, CourseInfo, CourseStatus, EnrolmentSource, Grade, ItemDraft, ItemKind, ItemProgress, KeyedQuestion, ModuleDraft,
    OptionDraft, QuestionDraft, QuestionKind, QuizSettings, Removal, attempts_left, check_quiz_bank, check_removal, draw, grade, is_complete, progress_percent,
};
use crate::people::{PersonRef, resolve_people};
use violeta_domain::person::PersonDraft;

/// A course with its figures.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Course {
    pub id: i64,
    pub code: String,
    pub version: i64,
    pub title: String,
    pub summary: String,
    pub audience: String,
    pub minutes: i64,
    pub programme_id: Option<i64>,
    pub programme: Option<String>,
    pub status: String,
    pub completion_rule: String,
    pub valid_months: Option<i64>,
    pub enrolment_closes_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Raised by every change to the course or its content: the key of cached content.
    pub revision: i64,
    pub enrolled: i64,
    pub completed: i64,
}

impl Course {
    pub fn status(&self) -> CourseStatus {
        CourseStatus::parse(&self.status).unwrap_or(CourseStatus::Borrador)
    }
    pub fn rule(&self) -> CompletionRule {
        CompletionRule::parse(&self.completion_rule).unwrap_or(CompletionRule::Todo)
    }
    pub fn hours_label(&self) -> String {
        violeta_domain::credential::hours_label(self.minutes)
    }
    /// Is self-enrolment open on `today` (Mexico City)?
    pub fn enrolment_open(&self, today: NaiveDate) -> bool {
        self.status() == CourseStatus::Publicado && self.enrolment_closes_on.is_none_or(|d| today <= d)
    }
}

const COURSE_COLUMNS: &str = "c.id, c.code, c.version, c.title, c.summary, c.audience, c.minutes, c.programme_id, p.name AS programme, \
    c.status, c.completion_rule, c.valid_months, c.enrolment_closes_on, c.created_at, c.updated_at, c.revision";
const COURSE_FROM: &str = "FROM courses c LEFT JOIN programmes p ON p.id = c.programme_id";
const COURSE_FIGURES: &str = "(SELECT COUNT(*) FROM enrolments e WHERE e.course_id = c.id) AS enrolled, \
    (SELECT COUNT(*) FROM enrolments e WHERE e.course_id = c.id AND e.completed_at IS NOT NULL) AS completed";
/// Courses with their figures (staff pages).
static COURSE_SELECT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| format!("SELECT {COURSE_COLUMNS}, {COURSE_FIGURES} {COURSE_FROM}"));

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Module {
    pub id: i64,
    pub course_id: i64,
    pub position: i64,
    pub title: String,
}

/// A lesson or a quiz.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Item {
    pub id: i64,
    pub course_id: i64,
    pub module_id: i64,
    pub position: i64,
    pub kind: String,
    pub title: String,
    pub required: bool,
    pub body: String,
    pub video_url: String,
    pub pass_percent: Option<i64>,
    pub attempt_limit: Option<i64>,
    pub draw_count: Option<i64>,
}

impl Item {
    pub fn kind(&self) -> ItemKind {
        ItemKind::parse(&self.kind).unwrap_or(ItemKind::Leccion)
    }
    pub fn is_quiz(&self) -> bool {
        self.kind() == ItemKind::Cuestionario
    }
    pub fn settings(&self) -> QuizSettings {
        QuizSettings { pass_percent: self.pass_percent.unwrap_or(100), attempt_limit: self.attempt_limit, draw_count: self.draw_count }
    }
}

const ITEM_SELECT: &str =
    "SELECT id, course_id, module_id, position, kind, title, required, body, video_url, pass_percent, attempt_limit, draw_count FROM course_items";

/// A course's modules with their items, in order.
#[derive(Debug, Clone, Serialize)]
pub struct Content {
    pub modules: Vec<(Module, Vec<Item>)>,
}

impl Content {
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.modules.iter().flat_map(|(_, items)| items.iter())
    }
    pub fn item(&self, id: i64) -> Option<&Item> {
        self.items().find(|i| i.id == id)
    }
    /// Per item: required, and done (a lesson seen, a quiz passed)? The same answer as the
    /// store's progress query, from content already in hand and a [`LearnerView`]'s `done`.
    pub fn progress(&self, done: &Done) -> BTreeMap<i64, ItemProgress> {
        self.items()
            .map(|i| (i.id, ItemProgress { required: i.required, done: done.has(i.id, i.is_quiz()) }))
            .collect()
    }
    /// The item after `id`, in course order.
    pub fn next_after(&self, id: i64) -> Option<&Item> {
        let mut items = self.items().skip_while(|i| i.id != id);
        items.next();
        items.next()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Question {
    pub id: i64,
    pub item_id: i64,
    pub position: i64,
    pub kind: String,
    pub prompt: String,
    pub feedback: String,
    pub options: Vec<AnswerOption>,
}

impl Question {
    pub fn kind(&self) -> QuestionKind {
        QuestionKind::parse(&self.kind).unwrap_or(QuestionKind::Unica)
    }
    pub fn keyed(&self) -> KeyedQuestion {
        KeyedQuestion { id: self.id, correct: self.options.iter().filter(|o| o.correct).map(|o| o.id).collect() }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AnswerOption {
    pub id: i64,
    pub question_id: i64,
    pub position: i64,
    pub text: String,
    pub correct: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Cohort {
    pub id: i64,
    pub course_id: i64,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub enrolment_closes_on: Option<NaiveDate>,
    pub enrolled: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Enrolment {
    pub id: i64,
    pub course_id: i64,
    pub person_id: i64,
    pub cohort_id: Option<i64>,
    pub source: String,
    pub enrolled_at: DateTime<Utc>,
    pub last_item_id: Option<i64>,
    pub completed_at: Option<DateTime<Utc>>,
}

const ENROLMENT_SELECT: &str = "SELECT id, course_id, person_id, cohort_id, source, enrolled_at, last_item_id, completed_at FROM enrolments";

/// A learner's view of one course: see [`Store::learner_view`].
#[derive(Debug, Clone)]
pub struct LearnerView {
    pub course: Course,
    pub enrolment: Option<Enrolment>,
    pub done: Done,
    pub folio: Option<String>,
}

#[derive(sqlx::FromRow)]
struct LearnerViewRow {
    #[sqlx(flatten)]
    course: Course,
    e_id: Option<i64>,
    e_cohort_id: Option<i64>,
    e_source: Option<String>,
    e_enrolled_at: Option<DateTime<Utc>>,
    e_last_item_id: Option<i64>,
    e_completed_at: Option<DateTime<Utc>>,
    seen: Option<String>,
    passed: Option<String>,
    folio: Option<String>,
}

/// What an enrolment `e` holds, as columns: her standing constancia (`folio`), the lessons she
/// saw (`seen`) and the quizzes she passed (`passed`), each a list of item ids (see
/// [`Done::from_lists`]).
macro_rules! enrolment_records {
    () => {
        "(SELECT folio FROM credentials k WHERE k.kind = 'curso' AND k.subject_id = e.course_id AND k.person_id = e.person_id AND k.revoked_at IS NULL) AS folio, \
         (SELECT STRING_AGG(CAST(v.item_id AS TEXT), ',') FROM lesson_views v WHERE v.enrolment_id = e.id) AS seen, \
         (SELECT STRING_AGG(CAST(a.item_id AS TEXT), ',') FROM quiz_attempts a WHERE a.enrolment_id = e.id AND a.passed) AS passed"
    };
}

/// A learner's rows for a course (`c`, `e`): the course without figures, her enrolment, what
/// she has done and her standing constancia.
static LEARNER_COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {COURSE_COLUMNS}, CAST(0 AS BIGINT) AS enrolled, CAST(0 AS BIGINT) AS completed, \
         e.id AS e_id, e.cohort_id AS e_cohort_id, e.source AS e_source, e.enrolled_at AS e_enrolled_at, \
         e.last_item_id AS e_last_item_id, e.completed_at AS e_completed_at, {} {COURSE_FROM}",
        enrolment_records!()
    )
});
/// One course and a person, enrolled or not.
static LEARNER_VIEW_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{} LEFT JOIN enrolments e ON e.course_id = c.id AND e.person_id = $2 WHERE c.id = $1", *LEARNER_COLUMNS));
/// Every course a person is enrolled in, the unfinished first, newest first.
static LEARNER_COURSES_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("{} JOIN enrolments e ON e.course_id = c.id AND e.person_id = $1 ORDER BY e.completed_at IS NOT NULL, e.enrolled_at DESC", *LEARNER_COLUMNS)
});

impl LearnerViewRow {
    fn into_view(self, person_id: i64) -> LearnerView {
        let enrolment = match (self.e_id, self.e_source, self.e_enrolled_at) {
            (Some(id), Some(source), Some(enrolled_at)) => Some(Enrolment {
                id,
                course_id: self.course.id,
                person_id,
                cohort_id: self.e_cohort_id,
                source,
                enrolled_at,
                last_item_id: self.e_last_item_id,
                completed_at: self.e_completed_at,
            }),
            _ => None,
        };
        LearnerView { course: self.course, enrolment, done: Done::from_lists(self.seen, self.passed), folio: self.folio }
    }
}

const VISIT_SQL: &str = "SELECT e.id, e.course_id, e.person_id, e.cohort_id, e.source, e.enrolled_at, e.last_item_id, e.completed_at, \
    i.kind AS item_kind FROM enrolments e LEFT JOIN course_items i ON i.id = $2 AND i.course_id = e.course_id WHERE e.id = $1";

#[derive(sqlx::FromRow)]
struct VisitRow {
    #[sqlx(flatten)]
    enrolment: Enrolment,
    item_kind: Option<String>,
}

/// What an enrolment has done: lessons seen, quizzes passed (a list of item ids each).
#[derive(Debug, Clone, Default)]
pub struct Done {
    pub lessons_seen: BTreeSet<i64>,
    pub quizzes_passed: BTreeSet<i64>,
}

impl Done {
    /// From the `seen` and `passed` columns of [`enrolment_records!`].
    fn from_lists(seen: Option<String>, passed: Option<String>) -> Done {
        Done { lessons_seen: id_list(seen).into_iter().collect(), quizzes_passed: id_list(passed).into_iter().collect() }
    }

    /// Is this item done: a lesson seen, a quiz passed?
    pub fn has(&self, item_id: i64, quiz: bool) -> bool {
        if quiz { self.quizzes_passed.contains(&item_id) } else { self.lessons_seen.contains(&item_id) }
    }
}

/// A learner's course on her dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct LearnerCourse {
    pub course: Course,
    pub enrolment: Enrolment,
    pub percent: i64,
    /// Where to resume: the last item visited, or the first not done.
    pub resume_item: Option<i64>,
    pub folio: Option<String>,
}

/// One submitted or open quiz attempt.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Attempt {
    pub id: i64,
    pub enrolment_id: i64,
    pub item_id: i64,
    pub drawn: String,
    pub started_at: DateTime<Utc>,
    pub answers: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub score_percent: Option<i64>,
    pub passed: Option<bool>,
}

impl Attempt {
    pub fn drawn_ids(&self) -> Vec<i64> {
        serde_json::from_str(&self.drawn).unwrap_or_default()
    }
    pub fn chosen(&self) -> BTreeMap<i64, BTreeSet<i64>> {
        self.answers.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or_default()
    }
}

const ATTEMPT_SELECT: &str = "SELECT id, enrolment_id, item_id, drawn, started_at, answers, submitted_at, score_percent, passed FROM quiz_attempts";

/// What a learner's step did to her course.
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// The course became complete with this step.
    pub completed: bool,
    /// The constancia issued with it (none when no issuer is set up yet).
    pub folio: Option<Folio>,
}

/// What a bulk enrolment did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkEnrolment {
    pub enrolled: usize,
    pub already: usize,
    pub people_created: usize,
    pub completions: usize,
}

/// A row of a bulk enrolment or history import.
#[derive(Debug, Clone)]
pub struct EnrolmentRow {
    /// A registered person, or one to match or create by CURP.
    pub learner: PersonRef,
    /// Completed before (history from another platform).
    pub completed_at: Option<DateTime<Utc>>,
}

// ----- reports -----

/// What the completion report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Curso,
    Institucion,
    Municipio,
    Region,
    Sexo,
    Mes,
}

impl Dimension {
    pub const ALL: [Dimension; 6] = [Dimension::Curso, Dimension::Institucion, Dimension::Municipio, Dimension::Region, Dimension::Sexo, Dimension::Mes];
    pub fn code(self) -> &'static str {
        match self {
            Dimension::Curso => "curso",
            Dimension::Institucion => "institucion",
            Dimension::Municipio => "municipio",
            Dimension::Region => "region",
            Dimension::Sexo => "sexo",
            Dimension::Mes => "mes",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Dimension::Curso => "Curso",
            Dimension::Institucion => "Institución",
            Dimension::Municipio => "Municipio",
            Dimension::Region => "Región",
            Dimension::Sexo => "Sexo",
            Dimension::Mes => "Mes de inscripción",
        }
    }
    pub fn parse(s: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.code() == s)
    }
    /// (key, label) expressions of the group, over `e` (enrolments), `c` (courses), `p` (people).
    fn sql(self, backend: crate::Backend) -> (&'static str, &'static str) {
        match (self, backend) {
            (Dimension::Curso, _) => ("CAST(c.id AS TEXT)", "c.title || ' (v' || CAST(c.version AS TEXT) || ')'"),
            (Dimension::Institucion, _) => ("COALESCE(CAST(i.id AS TEXT), '')", "COALESCE(i.name, 'Sin institución')"),
            (Dimension::Municipio, _) => ("COALESCE(p.cvegeo, '')", "COALESCE(m.name || ', ' || s.name, 'Sin municipio')"),
            (Dimension::Region, _) => ("COALESCE(CAST(r.id AS TEXT), '')", "COALESCE(r.name, 'Sin región')"),
            (Dimension::Sexo, _) => ("p.sex", "p.sex"),
            (Dimension::Mes, crate::Backend::Sqlite) => ("substr(e.enrolled_at, 1, 7)", "substr(e.enrolled_at, 1, 7)"),
            (Dimension::Mes, crate::Backend::Postgres) => ("to_char(e.enrolled_at, 'YYYY-MM')", "to_char(e.enrolled_at, 'YYYY-MM')"),
        }
    }
}

/// Which enrolments a report counts.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub course_id: Option<i64>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// One line of the completion report.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReportRow {
    pub key: String,
    pub label: String,
    pub enrolled: i64,
    pub completed: i64,
}

impl ReportRow {
    /// Completion rate in percent, one decimal.
    pub fn rate(&self) -> f64 {
        if self.enrolled == 0 { 0.0 } else { (self.completed as f64 * 1000.0 / self.enrolled as f64).round() / 10.0 }
    }
}

/// A person behind a report figure.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReportPerson {
    pub person_id: i64,
    pub name: String,
    pub course: String,
    pub institution: Option<String>,
    pub enrolled_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

// The joins every report needs; the region is the municipality's (a municipality belongs to
// at most one region).
const REPORT_FROM: &str = "FROM enrolments e JOIN courses c ON c.id = e.course_id JOIN people p ON p.id = e.person_id \
    LEFT JOIN institutions i ON i.id = p.institution_id \
    LEFT JOIN municipalities m ON m.cvegeo = p.cvegeo LEFT JOIN states s ON s.cve_ent = m.cve_ent \
    LEFT JOIN region_municipalities rm ON rm.cvegeo = p.cvegeo LEFT JOIN regions r ON r.id = rm.region_id";

fn random_seed() -> [u8; 8] {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("el sistema operativo no dio aleatoriedad");
    b
}

fn invalid(e: String) -> StoreError {
    StoreError::Invalid(e)
}

async fn course_in_tx(tx: &mut Tx, id: i64) -> Result<Course> {
    let sql = format!("{} WHERE c.id = $1", *COURSE_SELECT);
    let course: Option<Course> = on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(&mut *c).await?);
    course.ok_or_else(|| StoreError::NotFound("no existe ese curso".into()))
}

/// Records a change to a course's content: raises its revision (cached content is keyed by it).
async fn touch(tx: &mut Tx, course_id: i64) -> Result<()> {
    on_tx!(tx, |c| sqlx::query("UPDATE courses SET updated_at = $1, revision = revision + 1 WHERE id = $2").bind(now()).bind(course_id).execute(&mut *c).await?.rows_affected());
    Ok(())
}

async fn next_position(tx: &mut Tx, sql: &'static str, parent: i64) -> Result<i64> {
    let max: Option<i64> = on_tx!(tx, |c| sqlx::query_scalar(sql).bind(parent).fetch_one(&mut *c).await?);
    Ok(max.unwrap_or(0) + 1)
}

async fn insert_item(tx: &mut Tx, course_id: i64, module_id: i64, item: &ItemDraft) -> Result<i64> {
    let position = next_position(tx, "SELECT MAX(position) FROM course_items WHERE module_id = $1", module_id).await?;
    let (kind, title, required, body, video, settings) = match item {
        ItemDraft::Lesson { title, body, video_url, required } => (ItemKind::Leccion, title, *required, body.as_str(), video_url.as_str(), None),
        ItemDraft::Quiz { title, settings, required, .. } => (ItemKind::Cuestionario, title, *required, "", "", Some(*settings)),
    };
    let id: i64 = on_tx!(tx, |c| sqlx::query_scalar(
        "INSERT INTO course_items (course_id, module_id, position, kind, title, required, body, video_url, pass_percent, attempt_limit, draw_count) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id"
    )
    .bind(course_id)
    .bind(module_id)
    .bind(position)
    .bind(kind.code())
    .bind(title)
    .bind(required)
    .bind(body)
    .bind(video)
    .bind(settings.map(|s| s.pass_percent))
    .bind(settings.and_then(|s| s.attempt_limit))
    .bind(settings.and_then(|s| s.draw_count))
    .fetch_one(&mut *c)
    .await?);
    if let ItemDraft::Quiz { questions, .. } = item {
        for q in questions {
            insert_question(tx, id, q).await?;
        }
    }
    Ok(id)
}

async fn insert_question(tx: &mut Tx, item_id: i64, q: &QuestionDraft) -> Result<i64> {
    let position = next_position(tx, "SELECT MAX(position) FROM quiz_questions WHERE item_id = $1", item_id).await?;
    let id: i64 = on_tx!(tx, |c| sqlx::query_scalar(
        "INSERT INTO quiz_questions (item_id, position, kind, prompt, feedback) VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(item_id)
    .bind(position)
    .bind(q.kind.code())
    .bind(&q.prompt)
    .bind(&q.feedback)
    .fetch_one(&mut *c)
    .await?);
    for (n, o) in q.options.iter().enumerate() {
        on_tx!(tx, |c| sqlx::query("INSERT INTO quiz_options (question_id, position, text, correct) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(n as i64 + 1)
            .bind(&o.text)
            .bind(o.correct)
            .execute(&mut *c)
            .await?
            .rows_affected());
    }
    Ok(id)
}

async fn insert_course(tx: &mut Tx, info: &CourseInfo, version: i64, programme_id: Option<i64>, closes: Option<NaiveDate>) -> Result<i64> {
    let t = now();
    let inserted: std::result::Result<i64, StoreError> = async {
        Ok(on_tx!(tx, |c| sqlx::query_scalar(
            "INSERT INTO courses (code, version, title, summary, audience, minutes, programme_id, status, completion_rule, valid_months, \
             enrolment_closes_on, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'borrador', $8, $9, $10, $11, $11) RETURNING id"
        )
        .bind(&info.code)
        .bind(version)
        .bind(&info.title)
        .bind(&info.summary)
        .bind(&info.audience)
        .bind(info.minutes)
        .bind(programme_id)
        .bind(info.completion_rule.unwrap_or(CompletionRule::Todo).code())
        .bind(info.valid_months)
        .bind(closes)
        .bind(t)
        .fetch_one(&mut *c)
        .await?))
    }
    .await;
    inserted.map_err(|e| {
        if e.is_unique_violation() {
            StoreError::Conflict(format!("ya existe el curso {} en su versión {version}: importe una versión mayor", info.code))
        } else {
            e
        }
    })
}

const QUESTIONS_SQL: &str = "SELECT id, item_id, position, kind, prompt, feedback FROM quiz_questions WHERE item_id = $1 ORDER BY position, id";
const OPTIONS_SQL: &str = "SELECT o.id, o.question_id, o.position, o.text, o.correct FROM quiz_options o JOIN quiz_questions q ON q.id = o.question_id \
    WHERE q.item_id = $1 ORDER BY o.question_id, o.position";
type QuestionRow = (i64, i64, i64, String, String, String);

async fn questions_in(tx: &mut Tx, item_id: i64) -> Result<Vec<Question>> {
    let rows: Vec<QuestionRow> = on_tx!(tx, |c| sqlx::query_as(QUESTIONS_SQL).bind(item_id).fetch_all(&mut *c).await?);
    let options: Vec<AnswerOption> = on_tx!(tx, |c| sqlx::query_as(OPTIONS_SQL).bind(item_id).fetch_all(&mut *c).await?);
    Ok(assemble_questions(rows, options))
}

fn assemble_questions(rows: Vec<QuestionRow>, options: Vec<AnswerOption>) -> Vec<Question> {
    let mut by_question: HashMap<i64, Vec<AnswerOption>> = HashMap::new();
    for o in options {
        by_question.entry(o.question_id).or_default().push(o);
    }
    rows.into_iter()
        .map(|(id, item_id, position, kind, prompt, feedback)| Question {
            id,
            item_id,
            position,
            kind,
            prompt,
            feedback,
            options: by_question.remove(&id).unwrap_or_default(),
        })
        .collect()
}

/// Marks the enrolment complete when the course's rule is met, and issues the constancia
/// when an issuer is set up (`signing`). Runs inside the step's transaction.
async fn complete_if_done(tx: &mut Tx, enrolment: &Enrolment, signing: Option<Signing<'_>>, actor: &Actor) -> Result<Step> {
    if enrolment.completed_at.is_some() {
        return Ok(Step::default());
    }
    let rule = completion_rule(tx, enrolment.course_id).await?;
    let progress = item_progress(tx, enrolment.course_id, enrolment.id).await?;
    let items: Vec<ItemProgress> = progress.values().copied().collect();
    if !is_complete(rule, &items) {
        return Ok(Step::default());
    }
    on_tx!(tx, |c| sqlx::query("UPDATE enrolments SET completed_at = $1 WHERE id = $2 AND completed_at IS NULL")
        .bind(now())
        .bind(enrolment.id)
        .execute(&mut *c)
        .await?
            .rows_affected());
    let folio = match signing {
        Some(signing) if has_issuer(tx).await? => {
            lock_issuing(tx).await?;
            issue_course_in_tx(tx, enrolment.course_id, enrolment.person_id, signing).await?.map(|(_, f)| f)
        }
        _ => None,
    };
    append(
        tx,
        actor,
        Event::new("curso.concluir", "inscripcion", enrolment.id)
            .with(serde_json::json!({"curso": enrolment.course_id, "persona": enrolment.person_id, "constancia": folio.as_ref().map(|f| f.as_str())})),
    )
    .await?;
    Ok(Step { completed: true, folio })
}

/// After a change that can leave learners with nothing left to do (an item deleted or made
/// optional, the rule relaxed), records the completion of every unfinished enrolment that the
/// course now counts complete, in the change's transaction. Their constancias are issued with
/// «Emitir constancias faltantes»: the change is made by staff, not at a learner's step.
///
/// A handful of statements whatever the number of learners (the course's items, every
/// unfinished learner's records, the updates in lists), so an edit to a course with thousands
/// of learners in progress stays short.
async fn complete_the_finished(tx: &mut Tx, course_id: i64, actor: &Actor) -> Result<usize> {
    let rule = completion_rule(tx, course_id).await?;
    let items: Vec<(i64, bool)> = on_tx!(tx, |c| sqlx::query_as("SELECT id, required FROM course_items WHERE course_id = $1").bind(course_id).fetch_all(&mut *c).await?);
    // What each unfinished learner has done: (enrolment, person, item), lessons seen and
    // quizzes passed. Learners with no record at all can have nothing complete.
    let records: Vec<(i64, i64, i64)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT e.id, e.person_id, v.item_id FROM enrolments e JOIN lesson_views v ON v.enrolment_id = e.id \
         WHERE e.course_id = $1 AND e.completed_at IS NULL \
         UNION SELECT e.id, e.person_id, a.item_id FROM enrolments e JOIN quiz_attempts a ON a.enrolment_id = e.id \
         WHERE e.course_id = $1 AND e.completed_at IS NULL AND a.passed"
    )
    .bind(course_id)
    .fetch_all(&mut *c)
    .await?);
    let mut done: BTreeMap<(i64, i64), HashSet<i64>> = BTreeMap::new();
    for (enrolment, person, item) in records {
        done.entry((enrolment, person)).or_default().insert(item);
    }
    let mut finished: Vec<(i64, i64)> = done
        .into_iter()
        .filter(|(_, seen)| {
            let progress: Vec<ItemProgress> = items.iter().map(|&(id, required)| ItemProgress { required, done: seen.contains(&id) }).collect();
            is_complete(rule, &progress)
        })
        .map(|(key, _)| key)
        .collect();
    let t = now();
    let ids: Vec<i64> = finished.iter().map(|&(id, _)| id).collect();
    match tx {
        // A learner's own step may have completed her meanwhile: only those updated here
        // are recorded as completed by this change. (SQLite has one writer at a time.)
        Tx::Postgres(c) => {
            let updated: HashSet<i64> =
                sqlx::query_scalar("UPDATE enrolments SET completed_at = $1 WHERE completed_at IS NULL AND id = ANY($2) RETURNING id")
                    .bind(t)
                    .bind(&ids)
                    .fetch_all(&mut **c)
                    .await?
                    .into_iter()
                    .collect();
            finished.retain(|(id, _)| updated.contains(id));
        }
        Tx::Sqlite(c, _) => {
            for chunk in ids.chunks(crate::people::BULK_ROWS) {
                let sql = format!("UPDATE enrolments SET completed_at = ? WHERE completed_at IS NULL AND id IN ({})", crate::people::in_list(Backend::Sqlite, chunk.len()));
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(t);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut **c).await?;
            }
        }
    }
    let events = finished
        .iter()
        .map(|&(id, person)| {
            (actor, Event::new("curso.concluir", "inscripcion", id).with(serde_json::json!({"curso": course_id, "persona": person, "constancia": null})))
        })
        .collect();
    append_all(tx, events).await?;
    Ok(finished.len())
}

/// The course's completion rule, read in the step's or the edit's transaction.
async fn completion_rule(tx: &mut Tx, course_id: i64) -> Result<CompletionRule> {
    let rule: String = on_tx!(tx, |c| sqlx::query_scalar("SELECT completion_rule FROM courses WHERE id = $1").bind(course_id).fetch_one(&mut *c).await?);
    Ok(CompletionRule::parse(&rule).unwrap_or(CompletionRule::Todo))
}

async fn has_issuer(tx: &mut Tx) -> Result<bool> {
    let n: i64 = on_tx!(tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM issuer_keys WHERE active").fetch_one(&mut *c).await?);
    Ok(n > 0)
}

/// Per item of the course: is it required, and is it done (lesson seen, quiz passed)?
const PROGRESS_SQL: &str = "SELECT i.id, i.required, CASE WHEN i.kind = 'leccion' \
    THEN EXISTS (SELECT 1 FROM lesson_views v WHERE v.enrolment_id = $2 AND v.item_id = i.id) \
    ELSE EXISTS (SELECT 1 FROM quiz_attempts a WHERE a.enrolment_id = $2 AND a.item_id = i.id AND a.passed) END AS done \
    FROM course_items i WHERE i.course_id = $1";

async fn item_progress(tx: &mut Tx, course_id: i64, enrolment_id: i64) -> Result<BTreeMap<i64, ItemProgress>> {
    let rows: Vec<(i64, bool, bool)> = on_tx!(tx, |c| sqlx::query_as(PROGRESS_SQL).bind(course_id).bind(enrolment_id).fetch_all(&mut *c).await?);
    Ok(rows.into_iter().map(|(id, required, done)| (id, ItemProgress { required, done })).collect())
}

async fn enrolment_in_tx(tx: &mut Tx, id: i64) -> Result<Enrolment> {
    let sql = format!("{ENROLMENT_SELECT} WHERE id = $1");
    let e: Option<Enrolment> = on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(&mut *c).await?);
    e.ok_or_else(|| StoreError::NotFound("no existe esa inscripción".into()))
}

impl Store {
    // ----- authoring -----

    /// A new course, as a draft (version 1).
    pub async fn create_course(&self, actor: &Actor, info: &CourseInfo, programme_id: Option<i64>, closes: Option<NaiveDate>) -> Result<i64> {
        let info = info.validate().map_err(invalid)?;
        let mut tx = self.begin().await?;
        let id = insert_course(&mut tx, &info, 1, programme_id, closes).await?;
        append(&mut tx, actor, Event::new("curso.crear", "curso", id).with(serde_json::json!({"clave": info.code, "titulo": info.title}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn update_course(&self, actor: &Actor, id: i64, info: &CourseInfo, programme_id: Option<i64>, closes: Option<NaiveDate>) -> Result<()> {
        let info = info.validate().map_err(invalid)?;
        let mut tx = self.begin().await?;
        course_in_tx(&mut tx, id).await?;
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE courses SET title = $1, summary = $2, audience = $3, minutes = $4, programme_id = $5, completion_rule = $6, \
             valid_months = $7, enrolment_closes_on = $8, updated_at = $9, revision = revision + 1 WHERE id = $10"
        )
        .bind(&info.title)
        .bind(&info.summary)
        .bind(&info.audience)
        .bind(info.minutes)
        .bind(programme_id)
        .bind(info.completion_rule.unwrap_or(CompletionRule::Todo).code())
        .bind(info.valid_months)
        .bind(closes)
        .bind(now())
        .bind(id)
        .execute(&mut *c)
        .await?
            .rows_affected());
        append(&mut tx, actor, Event::new("curso.actualizar", "curso", id).with(serde_json::json!({"titulo": info.title}))).await?;
        complete_the_finished(&mut tx, id, actor).await?;
        tx.commit().await
    }

    /// Publishes, archives or returns a course to draft. Publishing checks that it has content
    /// and that every quiz can draw its questions.
    pub async fn set_course_status(&self, actor: &Actor, id: i64, status: CourseStatus) -> Result<()> {
        let mut tx = self.begin().await?;
        course_in_tx(&mut tx, id).await?;
        if status == CourseStatus::Publicado {
            let sql = format!("{ITEM_SELECT} WHERE course_id = $1");
            let items: Vec<Item> = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_all(&mut *c).await?);
            if items.is_empty() {
                return Err(StoreError::Invalid("el curso no tiene lecciones ni cuestionarios: agregue contenido antes de publicarlo".into()));
            }
            for item in items.iter().filter(|i| i.is_quiz()) {
                let bank: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM quiz_questions WHERE item_id = $1").bind(item.id).fetch_one(&mut *c).await?);
                check_quiz_bank(&item.title, &item.settings(), bank as usize).map_err(invalid)?;
            }
        }
        on_tx!(&mut tx, |c| sqlx::query("UPDATE courses SET status = $1, updated_at = $2, revision = revision + 1 WHERE id = $3").bind(status.code()).bind(now()).bind(id).execute(&mut *c).await?.rows_affected());
        append(&mut tx, actor, Event::new("curso.estado", "curso", id).with(serde_json::json!({"estado": status.code()}))).await?;
        tx.commit().await
    }

    pub async fn add_module(&self, actor: &Actor, course_id: i64, title: &str) -> Result<i64> {
        let title = violeta_domain::text::clean(title);
        if title.is_empty() {
            return Err(StoreError::Invalid("indique el título del módulo".into()));
        }
        let mut tx = self.begin().await?;
        course_in_tx(&mut tx, course_id).await?;
        let position = next_position(&mut tx, "SELECT MAX(position) FROM course_modules WHERE course_id = $1", course_id).await?;
        let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar("INSERT INTO course_modules (course_id, position, title) VALUES ($1, $2, $3) RETURNING id")
            .bind(course_id)
            .bind(position)
            .bind(&title)
            .fetch_one(&mut *c)
            .await?);
        touch(&mut tx, course_id).await?;
        append(&mut tx, actor, Event::new("curso.modulo", "curso", course_id).with(serde_json::json!({"modulo": id, "titulo": title}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adds a lesson or a quiz (with its questions, if any) at the end of a module.
    pub async fn add_item(&self, actor: &Actor, module_id: i64, item: &ItemDraft) -> Result<i64> {
        let item = validate_item(item)?;
        let mut tx = self.begin().await?;
        let course_id: Option<i64> =
            on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT course_id FROM course_modules WHERE id = $1").bind(module_id).fetch_optional(&mut *c).await?);
        let course_id = course_id.ok_or_else(|| StoreError::NotFound("no existe ese módulo".into()))?;
        let id = insert_item(&mut tx, course_id, module_id, &item).await?;
        touch(&mut tx, course_id).await?;
        append(&mut tx, actor, Event::new("curso.elemento", "curso", course_id).with(serde_json::json!({"elemento": id}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a lesson's text, video link, title or whether it is required.
    pub async fn update_lesson(&self, actor: &Actor, item_id: i64, title: &str, body: &str, video_url: &str, required: bool) -> Result<()> {
        let ItemDraft::Lesson { title, body, video_url, required } =
            validate_item(&ItemDraft::Lesson { title: title.into(), body: body.into(), video_url: video_url.into(), required })?
        else {
            unreachable!("a lesson stays a lesson")
        };
        let mut tx = self.begin().await?;
        let course_id: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "UPDATE course_items SET title = $1, body = $2, video_url = $3, required = $4 WHERE id = $5 AND kind = 'leccion' RETURNING course_id"
        )
        .bind(&title)
        .bind(&body)
        .bind(&video_url)
        .bind(required)
        .bind(item_id)
        .fetch_optional(&mut *c)
        .await?);
        let course_id = course_id.ok_or_else(|| StoreError::NotFound("no existe esa lección".into()))?;
        touch(&mut tx, course_id).await?;
        append(&mut tx, actor, Event::new("curso.leccion", "curso", course_id).with(serde_json::json!({"elemento": item_id}))).await?;
        complete_the_finished(&mut tx, course_id, actor).await?;
        tx.commit().await
    }

    pub async fn add_question(&self, actor: &Actor, item_id: i64, q: &QuestionDraft) -> Result<i64> {
        let q = q.validate().map_err(invalid)?;
        let mut tx = self.begin().await?;
        let course_id: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT course_id FROM course_items WHERE id = $1 AND kind = 'cuestionario'")
            .bind(item_id)
            .fetch_optional(&mut *c)
            .await?);
        let course_id = course_id.ok_or_else(|| StoreError::NotFound("no existe ese cuestionario".into()))?;
        let id = insert_question(&mut tx, item_id, &q).await?;
        touch(&mut tx, course_id).await?;
        append(&mut tx, actor, Event::new("curso.pregunta", "curso", course_id).with(serde_json::json!({"cuestionario": item_id, "pregunta": id}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Removes a question from a quiz's bank; attempts that drew it keep their grade.
    pub async fn remove_question(&self, actor: &Actor, question_id: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let row: Option<(i64, i64)> = on_tx!(&mut tx, |c| sqlx::query_as(
            "SELECT i.course_id, i.id FROM quiz_questions q JOIN course_items i ON i.id = q.item_id WHERE q.id = $1"
        )
        .bind(question_id)
        .fetch_optional(&mut *c)
        .await?);
        let (course_id, item_id) = row.ok_or_else(|| StoreError::NotFound("no existe esa pregunta".into()))?;
        // Learners of a published or archived course keep a quiz that can draw its questions.
        let course = course_in_tx(&mut tx, course_id).await?;
        if course.status() != CourseStatus::Borrador {
            let item = item_in_tx(&mut tx, course_id, item_id).await?;
            let bank = bank_size(&mut tx, item_id).await? - 1;
            check_quiz_bank(&item.title, &item.settings(), bank.max(0) as usize)
                .map_err(|e| StoreError::Invalid(format!("no se puede quitar la pregunta: {e}; agregue antes otra pregunta o reduzca las preguntas por intento")))?;
        }
        on_tx!(&mut tx, |c| sqlx::query("DELETE FROM quiz_questions WHERE id = $1").bind(question_id).execute(&mut *c).await?.rows_affected());
        touch(&mut tx, course_id).await?;
        append(&mut tx, actor, Event::new("curso.quitar_pregunta", "curso", course_id).with(serde_json::json!({"cuestionario": item_id, "pregunta": question_id}))).await?;
        tx.commit().await
    }

    /// Stores an image or attachment that lessons link to as `archivos/NAME`.
    pub async fn add_course_file(&self, actor: &Actor, course_id: i64, name: &str, bytes: &[u8]) -> Result<String> {
        let (name, content_type) = file_kind(name)?;
        let mut tx = self.begin().await?;
        course_in_tx(&mut tx, course_id).await?;
        put_file(&mut tx, course_id, &name, content_type, bytes).await?;
        touch(&mut tx, course_id).await?;
        append(&mut tx, actor, Event::new("curso.archivo", "curso", course_id).with(serde_json::json!({"archivo": name, "bytes": bytes.len()}))).await?;
        tx.commit().await?;
        Ok(name)
    }

    pub async fn course_file(&self, course_id: i64, name: &str) -> Result<(String, Vec<u8>)> {
        let row: Option<(String, Vec<u8>)> = on_pool!(self, |p| sqlx::query_as("SELECT content_type, bytes FROM course_files WHERE course_id = $1 AND name = $2")
            .bind(course_id)
            .bind(name)
            .fetch_optional(p)
            .await?);
        row.ok_or_else(|| StoreError::NotFound("no existe ese archivo".into()))
    }

    pub async fn course_files(&self, course_id: i64) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(on_pool!(self, |p| sqlx::query_as("SELECT name, bytes FROM course_files WHERE course_id = $1 ORDER BY name")
            .bind(course_id)
            .fetch_all(p)
            .await?))
    }

    // ----- reading courses -----

    /// Courses, newest first; `status` narrows to one state.
    pub async fn courses(&self, status: Option<CourseStatus>) -> Result<Vec<Course>> {
        let sql = format!("{} WHERE ($1 IS NULL OR c.status = $1) ORDER BY c.title, c.version DESC", *COURSE_SELECT);
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(status.map(|s| s.code())).fetch_all(p).await?))
    }

    /// A course without its figures (no counting): for learners' pages.
    pub async fn course_light(&self, id: i64) -> Result<Course> {
        let sql = format!("SELECT {COURSE_COLUMNS}, CAST(0 AS BIGINT) AS enrolled, CAST(0 AS BIGINT) AS completed {COURSE_FROM} WHERE c.id = $1");
        let course: Option<Course> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?);
        course.ok_or_else(|| StoreError::NotFound("no existe ese curso".into()))
    }

    pub async fn course(&self, id: i64) -> Result<Course> {
        let sql = format!("{} WHERE c.id = $1", *COURSE_SELECT);
        let course: Option<Course> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?);
        course.ok_or_else(|| StoreError::NotFound("no existe ese curso".into()))
    }

    /// The course's modules and items, in order.
    pub async fn course_content(&self, course_id: i64) -> Result<Content> {
        let modules: Vec<Module> = on_pool!(self, |p| sqlx::query_as("SELECT id, course_id, position, title FROM course_modules WHERE course_id = $1 ORDER BY position, id")
            .bind(course_id)
            .fetch_all(p)
            .await?);
        let sql = format!("{ITEM_SELECT} WHERE course_id = $1 ORDER BY module_id, position, id");
        let items: Vec<Item> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(course_id).fetch_all(p).await?);
        let mut by_module: HashMap<i64, Vec<Item>> = HashMap::new();
        for item in items {
            by_module.entry(item.module_id).or_default().push(item);
        }
        Ok(Content { modules: modules.into_iter().map(|m| { let items = by_module.remove(&m.id).unwrap_or_default(); (m, items) }).collect() })
    }

    /// A quiz's question bank, with the options and which are correct.
    pub async fn questions(&self, item_id: i64) -> Result<Vec<Question>> {
        let rows: Vec<QuestionRow> = on_pool!(self, |p| sqlx::query_as(QUESTIONS_SQL).bind(item_id).fetch_all(p).await?);
        let options: Vec<AnswerOption> = on_pool!(self, |p| sqlx::query_as(OPTIONS_SQL).bind(item_id).fetch_all(p).await?);
        Ok(assemble_questions(rows, options))
    }

    /// The whole course as a draft, for export.
    pub async fn course_draft(&self, course_id: i64) -> Result<CourseDraft> {
        let course = self.course(course_id).await?;
        let content = self.course_content(course_id).await?;
        let mut modules = Vec::new();
        for (m, items) in &content.modules {
            let mut drafts = Vec::new();
            for item in items {
                drafts.push(if item.is_quiz() {
                    let questions = self
                        .questions(item.id)
                        .await?
                        .into_iter()
                        .map(|q| QuestionDraft {
                            kind: q.kind(),
                            prompt: q.prompt.clone(),
                            feedback: q.feedback.clone(),
                            options: q.options.iter().map(|o| OptionDraft { text: o.text.clone(), correct: o.correct }).collect(),
                        })
                        .collect();
                    ItemDraft::Quiz { title: item.title.clone(), settings: item.settings(), required: item.required, questions }
                } else {
                    ItemDraft::Lesson { title: item.title.clone(), body: item.body.clone(), video_url: item.video_url.clone(), required: item.required }
                });
            }
            modules.push(ModuleDraft { title: m.title.clone(), items: drafts });
        }
        Ok(CourseDraft {
            info: CourseInfo {
                code: course.code.clone(),
                title: course.title.clone(),
                summary: course.summary.clone(),
                audience: course.audience.clone(),
                minutes: course.minutes,
                completion_rule: Some(course.rule()),
                valid_months: course.valid_months,
            },
            version: course.version,
            modules,
        })
    }

    /// Stores a whole course from an archive, as a draft, in one transaction.
    pub async fn import_course(&self, actor: &Actor, draft: &CourseDraft, files: &[(String, Vec<u8>)], programme_id: Option<i64>) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = insert_course(&mut tx, &draft.info, draft.version, programme_id, None).await?;
        for m in &draft.modules {
            let position = next_position(&mut tx, "SELECT MAX(position) FROM course_modules WHERE course_id = $1", id).await?;
            let module_id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar("INSERT INTO course_modules (course_id, position, title) VALUES ($1, $2, $3) RETURNING id")
                .bind(id)
                .bind(position)
                .bind(&m.title)
                .fetch_one(&mut *c)
                .await?);
            for item in &m.items {
                insert_item(&mut tx, id, module_id, item).await?;
            }
        }
        for (name, bytes) in files {
            let (name, content_type) = file_kind(name)?;
            put_file(&mut tx, id, &name, content_type, bytes).await?;
        }
        append(
            &mut tx,
            actor,
            Event::new("curso.importar", "curso", id).with(serde_json::json!({"clave": draft.info.code, "version": draft.version, "archivos": files.len()})),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    // ----- cohorts -----

    pub async fn create_course_cohort(&self, actor: &Actor, course_id: i64, name: &str, starts_on: NaiveDate, ends_on: NaiveDate, closes: Option<NaiveDate>) -> Result<i64> {
        let name = violeta_domain::text::clean(name);
        if name.is_empty() {
            return Err(StoreError::Invalid("indique el nombre del grupo".into()));
        }
        if ends_on < starts_on {
            return Err(StoreError::Invalid("el grupo termina antes de empezar".into()));
        }
        let mut tx = self.begin().await?;
        course_in_tx(&mut tx, course_id).await?;
        let id: std::result::Result<i64, StoreError> = async {
            Ok(on_tx!(&mut tx, |c| sqlx::query_scalar(
                "INSERT INTO course_cohorts (course_id, name, starts_on, ends_on, enrolment_closes_on, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
            )
            .bind(course_id)
            .bind(&name)
            .bind(starts_on)
            .bind(ends_on)
            .bind(closes)
            .bind(now())
            .fetch_one(&mut *c)
            .await?))
        }
        .await;
        let id = id.map_err(|e| if e.is_unique_violation() { StoreError::Conflict(format!("el curso ya tiene un grupo llamado «{name}»")) } else { e })?;
        append(&mut tx, actor, Event::new("curso.grupo", "curso", course_id).with(serde_json::json!({"grupo": id, "nombre": name}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn course_cohorts(&self, course_id: i64) -> Result<Vec<Cohort>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT g.id, g.course_id, g.name, g.starts_on, g.ends_on, g.enrolment_closes_on, \
             (SELECT COUNT(*) FROM enrolments e WHERE e.cohort_id = g.id) AS enrolled \
             FROM course_cohorts g WHERE g.course_id = $1 ORDER BY g.starts_on, g.id"
        )
        .bind(course_id)
        .fetch_all(p)
        .await?))
    }

    // ----- enrolment -----

    /// Enrols a person in a published course (idempotent: an existing enrolment is returned).
    /// Self-enrolment respects the course's and the cohort's closing dates.
    pub async fn enrol(&self, actor: &Actor, course_id: i64, person_id: i64, source: EnrolmentSource, cohort_id: Option<i64>) -> Result<Enrolment> {
        let mut tx = self.begin().await?;
        let course = course_in_tx(&mut tx, course_id).await?;
        let today = violeta_domain::hours::mexico_city_now().date();
        let sql = format!("{ENROLMENT_SELECT} WHERE course_id = $1 AND person_id = $2");
        let existing: Option<Enrolment> = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(course_id).bind(person_id).fetch_optional(&mut *c).await?);
        if let Some(e) = existing {
            return Ok(e);
        }
        if course.status() != CourseStatus::Publicado {
            return Err(StoreError::Invalid("el curso no está publicado: no admite inscripciones".into()));
        }
        if source == EnrolmentSource::Autoinscripcion && !course.enrolment_open(today) {
            return Err(StoreError::Invalid("las inscripciones a este curso ya cerraron".into()));
        }
        if let Some(cohort) = cohort_id {
            let closes: Option<(i64, Option<NaiveDate>)> = on_tx!(&mut tx, |c| sqlx::query_as("SELECT course_id, enrolment_closes_on FROM course_cohorts WHERE id = $1")
                .bind(cohort)
                .fetch_optional(&mut *c)
                .await?);
            match closes {
                Some((c, _)) if c != course_id => return Err(StoreError::Invalid("el grupo no es de este curso".into())),
                None => return Err(StoreError::NotFound("no existe ese grupo".into())),
                Some((_, Some(d))) if source == EnrolmentSource::Autoinscripcion && today > d => {
                    return Err(StoreError::Invalid("las inscripciones a este grupo ya cerraron".into()));
                }
                _ => {}
            }
        }
        let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "INSERT INTO enrolments (course_id, person_id, cohort_id, source, enrolled_at) VALUES ($1, $2, $3, $4, $5) RETURNING id"
        )
        .bind(course_id)
        .bind(person_id)
        .bind(cohort_id)
        .bind(source.code())
        .bind(now())
        .fetch_one(&mut *c)
        .await?);
        append(&mut tx, actor, Event::new("curso.inscribir", "inscripcion", id).with(serde_json::json!({"curso": course_id, "persona": person_id, "origen": source.code()})))
            .await?;
        let e = enrolment_in_tx(&mut tx, id).await?;
        tx.commit().await?;
        Ok(e)
    }

    /// Enrols many people at once — matched by CURP or created — in one transaction; with
    /// `completed_at`, records completions brought from another platform. Rows already
    /// enrolled are counted, not duplicated.
    pub async fn enrol_bulk(
        &self,
        actor: &Actor,
        course_id: i64,
        cohort_id: Option<i64>,
        source: EnrolmentSource,
        rows: &[EnrolmentRow],
    ) -> Result<BulkEnrolment> {
        let mut tx = self.begin().await?;
        let course = course_in_tx(&mut tx, course_id).await?;
        if course.status() == CourseStatus::Borrador && source != EnrolmentSource::Moodle {
            return Err(StoreError::Invalid("el curso es un borrador: publíquelo antes de inscribir".into()));
        }
        if let Some(cohort) = cohort_id {
            let c: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT course_id FROM course_cohorts WHERE id = $1").bind(cohort).fetch_optional(&mut *c).await?);
            if c != Some(course_id) {
                return Err(StoreError::Invalid("el grupo no es de este curso".into()));
            }
        }
        // People: one lookup of every CURP, one multi-row insert of the new ones.
        let refs: Vec<&PersonRef> = rows.iter().map(|r| &r.learner).collect();
        let resolved = resolve_people(&mut tx, &refs).await?;
        let created = resolved.created.len();
        let mut people: Vec<(i64, Option<DateTime<Utc>>)> = resolved.ids.into_iter().zip(rows.iter().map(|r| r.completed_at)).collect();
        // A person once per course: the first row wins.
        let mut unique = std::collections::HashSet::new();
        people.retain(|(id, _)| unique.insert(*id));
        let already_in: std::collections::HashSet<i64> =
            on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT person_id FROM enrolments WHERE course_id = $1").bind(course_id).fetch_all(&mut *c).await?)
                .into_iter()
                .collect();
        let already_in: std::collections::HashSet<i64> = people.iter().map(|(id, _)| *id).filter(|id| already_in.contains(id)).collect();
        let mut fresh: Vec<&(i64, Option<DateTime<Utc>>)> = people.iter().filter(|(id, _)| !already_in.contains(id)).collect();
        // In person order, the enrolment indexes grow at their end (new people's ids are the
        // highest).
        fresh.sort_unstable_by_key(|(id, _)| *id);
        insert_enrolments(&mut tx, course_id, cohort_id, source, &fresh).await?;
        let result = BulkEnrolment {
            enrolled: fresh.len(),
            already: already_in.len(),
            people_created: created,
            completions: fresh.iter().filter(|(_, c)| c.is_some()).count(),
        };
        append(
            &mut tx,
            actor,
            Event::new("curso.inscripcion_masiva", "curso", course_id).with(serde_json::json!({
                "inscritas": result.enrolled, "ya_inscritas": result.already, "personas_nuevas": result.people_created,
                "conclusiones": result.completions, "origen": source.code(), "grupo": cohort_id,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(result)
    }

    pub async fn enrolment_of(&self, course_id: i64, person_id: i64) -> Result<Option<Enrolment>> {
        let sql = format!("{ENROLMENT_SELECT} WHERE course_id = $1 AND person_id = $2");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(course_id).bind(person_id).fetch_optional(p).await?))
    }

    /// Per item of the course: done (lesson seen, quiz passed)?
    pub async fn progress(&self, enrolment: &Enrolment) -> Result<BTreeMap<i64, ItemProgress>> {
        let rows: Vec<(i64, bool, bool)> = on_pool!(self, |p| sqlx::query_as(PROGRESS_SQL).bind(enrolment.course_id).bind(enrolment.id).fetch_all(p).await?);
        Ok(rows.into_iter().map(|(id, required, done)| (id, ItemProgress { required, done })).collect())
    }

    /// What a learner's course and lesson pages need of her own records, in one query: the
    /// course (without figures), her enrolment if any, what she has done, and her standing
    /// constancia. The
    /// content comes from [`Store::course_content`], which pages cache by `course.revision`.
    pub async fn learner_view(&self, course_id: i64, person_id: i64) -> Result<LearnerView> {
        let row: Option<LearnerViewRow> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(LEARNER_VIEW_SQL.as_str()))
            .bind(course_id)
            .bind(person_id)
            .fetch_optional(p)
            .await?);
        Ok(row.ok_or_else(|| StoreError::NotFound("no existe ese curso".into()))?.into_view(person_id))
    }

    /// A learner's courses, with progress and constancia: her dashboard. Two queries however
    /// many courses she has: her rows per course, and the items of those courses in order.
    pub async fn learner_courses(&self, person_id: i64) -> Result<Vec<LearnerCourse>> {
        let rows: Vec<LearnerViewRow> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(LEARNER_COURSES_SQL.as_str())).bind(person_id).fetch_all(p).await?);
        let items: Vec<(i64, i64, String, bool)> = on_pool!(self, |p| sqlx::query_as(
            "SELECT i.course_id, i.id, i.kind, i.required FROM course_items i JOIN course_modules m ON m.id = i.module_id \
             WHERE i.course_id IN (SELECT course_id FROM enrolments WHERE person_id = $1) ORDER BY i.course_id, m.position, m.id, i.position, i.id"
        )
        .bind(person_id)
        .fetch_all(p)
        .await?);
        let mut by_course: HashMap<i64, Vec<(i64, bool, bool)>> = HashMap::new();
        for (course_id, id, kind, required) in items {
            by_course.entry(course_id).or_default().push((id, kind == ItemKind::Cuestionario.code(), required));
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let LearnerView { course, enrolment, done, folio } = row.into_view(person_id);
            let Some(e) = enrolment else { continue };
            // In course order: each item and where she stands on it.
            let progress: Vec<(i64, ItemProgress)> = by_course
                .get(&course.id)
                .into_iter()
                .flatten()
                .map(|&(id, quiz, required)| (id, ItemProgress { required, done: done.has(id, quiz) }))
                .collect();
            let items: Vec<ItemProgress> = progress.iter().map(|(_, p)| *p).collect();
            let percent = if e.completed_at.is_some() { 100 } else { progress_percent(course.rule(), &items) };
            let first_open = progress.iter().find(|(_, p)| !p.done).map(|(id, _)| *id);
            out.push(LearnerCourse { resume_item: e.last_item_id.or(first_open), folio, course, enrolment: e, percent });
        }
        Ok(out)
    }

    /// Records that the learner opened an item (where she left off) and, for a lesson, that
    /// she saw it; completes the course when that was the last thing missing.
    pub async fn visit_item(&self, actor: &Actor, enrolment_id: i64, item_id: i64, signing: Option<Signing<'_>>) -> Result<Step> {
        let mut tx = self.begin().await?;
        // The enrolment, and the item's kind when the item belongs to its course: one query.
        let row: Option<VisitRow> = on_tx!(&mut tx, |c| sqlx::query_as(VISIT_SQL).bind(enrolment_id).bind(item_id).fetch_optional(&mut *c).await?);
        let VisitRow { enrolment: e, item_kind } = row.ok_or_else(|| StoreError::NotFound("no existe esa inscripción".into()))?;
        let kind = item_kind.ok_or_else(|| StoreError::NotFound("ese elemento no es de este curso".into()))?;
        if e.last_item_id != Some(item_id) {
            on_tx!(&mut tx, |c| sqlx::query("UPDATE enrolments SET last_item_id = $1 WHERE id = $2").bind(item_id).bind(enrolment_id).execute(&mut *c).await?.rows_affected());
        }
        let mut step = Step::default();
        if kind == ItemKind::Leccion.code() {
            let inserted = on_tx!(&mut tx, |c| sqlx::query(
                "INSERT INTO lesson_views (enrolment_id, item_id, seen_at) VALUES ($1, $2, $3) ON CONFLICT (enrolment_id, item_id) DO NOTHING"
            )
            .bind(enrolment_id)
            .bind(item_id)
            .bind(now())
            .execute(&mut *c)
            .await?
            .rows_affected());
            if inserted > 0 {
                step = complete_if_done(&mut tx, &e, signing, actor).await?;
            }
        }
        tx.commit().await?;
        Ok(step)
    }

    /// The learner's attempts at a quiz, oldest first.
    pub async fn attempts(&self, enrolment_id: i64, item_id: i64) -> Result<Vec<Attempt>> {
        let sql = format!("{ATTEMPT_SELECT} WHERE enrolment_id = $1 AND item_id = $2 ORDER BY id");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(enrolment_id).bind(item_id).fetch_all(p).await?))
    }

    /// The open attempt at a quiz, or a new one with questions drawn from the bank. Refused
    /// when the attempts are used up or the quiz is already passed.
    pub async fn open_attempt(&self, actor: &Actor, enrolment_id: i64, item_id: i64) -> Result<(Attempt, Vec<Question>)> {
        let mut tx = self.begin().await?;
        let e = enrolment_in_tx(&mut tx, enrolment_id).await?;
        let sql = format!("{ITEM_SELECT} WHERE id = $1 AND course_id = $2 AND kind = 'cuestionario'");
        let item: Option<Item> = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(item_id).bind(e.course_id).fetch_optional(&mut *c).await?);
        let item = item.ok_or_else(|| StoreError::NotFound("ese cuestionario no es de este curso".into()))?;
        let sql = format!("{ATTEMPT_SELECT} WHERE enrolment_id = $1 AND item_id = $2 ORDER BY id");
        let attempts: Vec<Attempt> = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(enrolment_id).bind(item_id).fetch_all(&mut *c).await?);
        let bank = questions_in(&mut tx, item_id).await?;
        if let Some(open) = attempts.iter().find(|a| a.submitted_at.is_none()) {
            let drawn = open.drawn_ids();
            let questions = drawn.iter().filter_map(|id| bank.iter().find(|q| q.id == *id).cloned()).collect();
            let open = open.clone();
            tx.commit().await?;
            return Ok((open, questions));
        }
        if attempts.iter().any(|a| a.passed == Some(true)) {
            return Err(StoreError::Conflict("ya aprobó este cuestionario".into()));
        }
        let granted: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM quiz_attempt_grants WHERE enrolment_id = $1 AND item_id = $2")
            .bind(enrolment_id)
            .bind(item_id)
            .fetch_one(&mut *c)
            .await?);
        if let Some(limit) = item.attempt_limit
            && attempts_left(Some(limit), granted, attempts.len() as i64) == Some(0)
        {
            return Err(StoreError::Conflict(format!("ya usó sus {} intentos de este cuestionario", limit + granted)));
        }
        let ids: Vec<i64> = bank.iter().map(|q| q.id).collect();
        let drawn = draw(&ids, item.draw_count, random_seed());
        if drawn.is_empty() {
            return Err(StoreError::Invalid("el cuestionario todavía no tiene preguntas".into()));
        }
        let drawn_json = serde_json::to_string(&drawn).unwrap_or_else(|_| "[]".into());
        let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar("INSERT INTO quiz_attempts (enrolment_id, item_id, drawn, started_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(enrolment_id)
            .bind(item_id)
            .bind(&drawn_json)
            .bind(now())
            .fetch_one(&mut *c)
            .await?);
        on_tx!(&mut tx, |c| sqlx::query("UPDATE enrolments SET last_item_id = $1 WHERE id = $2").bind(item_id).bind(enrolment_id).execute(&mut *c).await?.rows_affected());
        append(&mut tx, actor, Event::new("curso.intento", "inscripcion", enrolment_id).with(serde_json::json!({"cuestionario": item_id, "intento": id}))).await?;
        let sql = format!("{ATTEMPT_SELECT} WHERE id = $1");
        let attempt: Attempt = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_one(&mut *c).await?);
        tx.commit().await?;
        let questions = drawn.iter().filter_map(|id| bank.iter().find(|q| q.id == *id).cloned()).collect();
        Ok((attempt, questions))
    }

    /// Grades and closes an open attempt; passing the last missing quiz completes the course.
    pub async fn submit_attempt(
        &self,
        actor: &Actor,
        enrolment_id: i64,
        attempt_id: i64,
        answers: &BTreeMap<i64, BTreeSet<i64>>,
        signing: Option<Signing<'_>>,
    ) -> Result<(Grade, Step)> {
        let mut tx = self.begin().await?;
        let e = enrolment_in_tx(&mut tx, enrolment_id).await?;
        let sql = format!("{ATTEMPT_SELECT} WHERE id = $1 AND enrolment_id = $2");
        let attempt: Option<Attempt> = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(attempt_id).bind(enrolment_id).fetch_optional(&mut *c).await?);
        let attempt = attempt.ok_or_else(|| StoreError::NotFound("no existe ese intento".into()))?;
        if attempt.submitted_at.is_some() {
            return Err(StoreError::Conflict("ese intento ya se calificó".into()));
        }
        let pass: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT pass_percent FROM course_items WHERE id = $1").bind(attempt.item_id).fetch_one(&mut *c).await?);
        let bank = questions_in(&mut tx, attempt.item_id).await?;
        let drawn = attempt.drawn_ids();
        let keyed: Vec<KeyedQuestion> = drawn.iter().filter_map(|id| bank.iter().find(|q| q.id == *id)).map(Question::keyed).collect();
        // Only answers to the drawn questions count.
        let answers: BTreeMap<i64, BTreeSet<i64>> = answers.iter().filter(|(q, _)| drawn.contains(q)).map(|(q, o)| (*q, o.clone())).collect();
        let g = grade(&keyed, &answers, pass.unwrap_or(100));
        on_tx!(&mut tx, |c| sqlx::query("UPDATE quiz_attempts SET answers = $1, submitted_at = $2, score_percent = $3, passed = $4 WHERE id = $5")
            .bind(serde_json::to_string(&answers).unwrap_or_default())
            .bind(now())
            .bind(g.percent)
            .bind(g.passed)
            .bind(attempt_id)
            .execute(&mut *c)
            .await?
            .rows_affected());
        append(
            &mut tx,
            actor,
            Event::new("curso.calificar", "inscripcion", enrolment_id)
                .with(serde_json::json!({"cuestionario": attempt.item_id, "intento": attempt_id, "calificacion": g.percent, "aprobado": g.passed})),
        )
        .await?;
        let step = if g.passed { complete_if_done(&mut tx, &e, signing, actor).await? } else { Step::default() };
        tx.commit().await?;
        Ok((g, step))
    }

    /// Issues the constancias missing for a course's completed enrolments (after an issuer
    /// was set up, or after importing history). Returns the folios issued.
    pub async fn issue_course_credentials(&self, actor: &Actor, course_id: i64, signing: Signing<'_>) -> Result<Vec<Folio>> {
        let mut tx = self.begin().await?;
        lock_issuing(&mut tx).await?;
        course_in_tx(&mut tx, course_id).await?;
        let people: Vec<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT e.person_id FROM enrolments e WHERE e.course_id = $1 AND e.completed_at IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM credentials k WHERE k.kind = 'curso' AND k.subject_id = e.course_id AND k.person_id = e.person_id AND k.revoked_at IS NULL) \
             ORDER BY e.completed_at, e.id"
        )
        .bind(course_id)
        .fetch_all(&mut *c)
        .await?);
        let mut folios = Vec::new();
        for person in people {
            if let Some((_, folio)) = issue_course_in_tx(&mut tx, course_id, person, signing).await? {
                folios.push(folio);
            }
        }
        let list: Vec<&str> = folios.iter().map(|f| f.as_str()).collect();
        append(&mut tx, actor, Event::new("constancia.emitir", "curso", course_id).with(serde_json::json!({"emitidas": folios.len(), "folios": list}))).await?;
        tx.commit().await?;
        Ok(folios)
    }

    /// Every constancia of a course (or of one of its cohorts), revoked ones included.
    pub async fn course_credentials(&self, course_id: i64, cohort_id: Option<i64>) -> Result<Vec<crate::credentials::CredentialRecord>> {
        let folios: Vec<String> = on_pool!(self, |p| sqlx::query_scalar(
            "SELECT k.folio FROM credentials k WHERE k.kind = 'curso' AND k.subject_id = $1 \
             AND ($2 IS NULL OR EXISTS (SELECT 1 FROM enrolments e WHERE e.course_id = k.subject_id AND e.person_id = k.person_id AND e.cohort_id = $2)) \
             ORDER BY k.id"
        )
        .bind(course_id)
        .bind(cohort_id)
        .fetch_all(p)
        .await?);
        let mut out = Vec::with_capacity(folios.len());
        for f in folios {
            if let Ok(folio) = Folio::parse(&f)
                && let Some(c) = self.credential(&folio).await?
            {
                out.push(c);
            }
        }
        Ok(out)
    }

    // ----- reports -----

    /// Enrolments and completions grouped by `dimension`.
    pub async fn completion_report(&self, dimension: Dimension, f: &ReportFilter) -> Result<Vec<ReportRow>> {
        let (key, label) = dimension.sql(self.backend());
        let sql = format!(
            "SELECT {key} AS key, {label} AS label, COUNT(*) AS enrolled, COUNT(e.completed_at) AS completed {REPORT_FROM} \
             WHERE ($1 IS NULL OR e.course_id = $1) AND ($2 IS NULL OR e.enrolled_at >= $2) AND ($3 IS NULL OR e.enrolled_at < $3) \
             GROUP BY {key}, {label} ORDER BY COUNT(*) DESC, {label}"
        );
        let (from, to) = bounds(f);
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(f.course_id).bind(from).bind(to).fetch_all(p).await?))
    }

    /// The people behind one figure of the report: the group `key` of `dimension`, only those
    /// who completed when `completed` is set.
    pub async fn report_people(&self, dimension: Dimension, key: &str, completed: bool, f: &ReportFilter, limit: i64) -> Result<Vec<ReportPerson>> {
        let (key_sql, _) = dimension.sql(self.backend());
        let sql = format!(
            "SELECT p.id AS person_id, TRIM(p.given_names || ' ' || p.first_surname || ' ' || p.second_surname) AS name, \
             c.title AS course, i.name AS institution, e.enrolled_at, e.completed_at {REPORT_FROM} \
             WHERE {key_sql} = $1 AND ($2 IS NULL OR e.course_id = $2) AND ($3 IS NULL OR e.enrolled_at >= $3) AND ($4 IS NULL OR e.enrolled_at < $4) \
             AND ($5 = FALSE OR e.completed_at IS NOT NULL) ORDER BY p.first_surname, p.second_surname, p.given_names LIMIT $6"
        );
        let (from, to) = bounds(f);
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(key)
            .bind(f.course_id)
            .bind(from)
            .bind(to)
            .bind(completed)
            .bind(limit)
            .fetch_all(p)
            .await?))
    }
}

/// A report period as instants: from the first day's start to the day after the last.
fn bounds(f: &ReportFilter) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let start = |d: NaiveDate| d.and_hms_opt(6, 0, 0).map(|t| t.and_utc());
    (f.from.and_then(start), f.to.and_then(|d| d.succ_opt()).and_then(start))
}

fn validate_item(item: &ItemDraft) -> Result<ItemDraft> {
    match item {
        ItemDraft::Lesson { title, body, video_url, required } => {
            let title = violeta_domain::text::clean(title);
            if title.is_empty() {
                return Err(StoreError::Invalid("indique el título de la lección".into()));
            }
            let video_url = violeta_domain::learning::validate_video_url(video_url).map_err(invalid)?;
            Ok(ItemDraft::Lesson { title, body: body.clone(), video_url, required: *required })
        }
        ItemDraft::Quiz { title, settings, required, questions } => {
            let title = violeta_domain::text::clean(title);
            if title.is_empty() {
                return Err(StoreError::Invalid("indique el título del cuestionario".into()));
            }
            let settings = settings.validate().map_err(invalid)?;
            let questions = questions.iter().map(|q| q.validate().map_err(invalid)).collect::<Result<Vec<_>>>()?;
            Ok(ItemDraft::Quiz { title, settings, required: *required, questions })
        }
    }
}

/// Images and attachments a course may carry, by extension.
const FILE_KINDS: &[(&str, &str)] = &[
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("svg", "image/svg+xml"),
    ("pdf", "application/pdf"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("txt", "text/plain; charset=utf-8"),
];

/// A safe file name (letters, digits, dot, dash, underscore) and its content type.
fn file_kind(name: &str) -> Result<(String, &'static str)> {
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name).trim().to_string();
    let valid = !name.is_empty() && name.len() <= 120 && !name.starts_with('.') && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !valid {
        return Err(StoreError::Invalid(format!(
            "el nombre de archivo «{name}» solo puede tener letras sin acento, números, puntos, guiones y guiones bajos"
        )));
    }
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    let kind = FILE_KINDS.iter().find(|(e, _)| *e == ext).map(|(_, k)| *k).ok_or_else(|| {
        let accepted: Vec<&str> = FILE_KINDS.iter().map(|(e, _)| *e).collect();
        StoreError::Invalid(format!("el archivo «{name}» no es de un tipo aceptado ({})", accepted.join(", ")))
    })?;
    Ok((name, kind))
}

async fn put_file(tx: &mut Tx, course_id: i64, name: &str, content_type: &str, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Err(StoreError::Invalid(format!("el archivo «{name}» está vacío")));
    }
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO course_files (course_id, name, content_type, bytes) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (course_id, name) DO UPDATE SET content_type = excluded.content_type, bytes = excluded.bytes"
    )
    .bind(course_id)
    .bind(name)
    .bind(content_type)
    .bind(bytes)
    .execute(&mut *c)
    .await?
            .rows_affected());
    Ok(())
}

impl Store {
    /// Ties a learner's account to her record in the registry, by CURP. A registered CURP is
    /// tied only when the record carries the account's email (so nobody claims another
    /// person's record and constancias); a new CURP creates the record with that email.
    pub async fn link_learner(&self, actor: &Actor, user_id: i64, account_email: &str, draft: &PersonDraft) -> Result<i64> {
        let curp = draft.curp.as_ref().ok_or_else(|| StoreError::Invalid("indique su CURP".into()))?;
        let mut tx = self.begin().await?;
        let linked: Option<Option<i64>> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT person_id FROM users WHERE id = $1").bind(user_id).fetch_optional(&mut *c).await?);
        match linked {
            None => return Err(StoreError::NotFound("no existe esa cuenta".into())),
            Some(Some(_)) => return Err(StoreError::Conflict("su cuenta ya está vinculada a un registro".into())),
            Some(None) => {}
        }
        let existing: Option<(i64, String)> =
            on_tx!(&mut tx, |c| sqlx::query_as("SELECT id, email FROM people WHERE curp = $1").bind(curp.as_str()).fetch_optional(&mut *c).await?);
        let person_id = match existing {
            Some((id, email)) if email.trim().eq_ignore_ascii_case(account_email.trim()) => id,
            Some(_) => {
                return Err(StoreError::Conflict(
                    "esa CURP ya está en el registro con otro correo: pida a la coordinación del centro que vincule su cuenta".into(),
                ));
            }
            None => {
                let mut draft = draft.clone();
                draft.email = account_email.trim().to_lowercase();
                crate::people::insert_person(&mut tx, &draft).await?
            }
        };
        on_tx!(&mut tx, |c| sqlx::query("UPDATE users SET person_id = $1 WHERE id = $2").bind(person_id).bind(user_id).execute(&mut *c).await?.rows_affected());
        append(&mut tx, actor, Event::new("cuenta.vincular_persona", "usuario", user_id).with(serde_json::json!({"persona": person_id}))).await?;
        tx.commit().await?;
        Ok(person_id)
    }
}

// ----- editing a course's structure -----

/// Which way an author moves a module or an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "arriba" => Some(Direction::Up),
            "abajo" => Some(Direction::Down),
            _ => None,
        }
    }
    fn code(self) -> &'static str {
        match self {
            Direction::Up => "arriba",
            Direction::Down => "abajo",
        }
    }
}

/// A module of `course_id`, or "not found".
async fn module_in_tx(tx: &mut Tx, course_id: i64, module_id: i64) -> Result<Module> {
    let m: Option<Module> = on_tx!(tx, |c| sqlx::query_as("SELECT id, course_id, position, title FROM course_modules WHERE id = $1 AND course_id = $2")
        .bind(module_id)
        .bind(course_id)
        .fetch_optional(&mut *c)
        .await?);
    m.ok_or_else(|| StoreError::NotFound("ese módulo no es de este curso".into()))
}

/// An item of `course_id`, or "not found".
async fn item_in_tx(tx: &mut Tx, course_id: i64, item_id: i64) -> Result<Item> {
    let sql = format!("{ITEM_SELECT} WHERE id = $1 AND course_id = $2");
    let item: Option<Item> = on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(item_id).bind(course_id).fetch_optional(&mut *c).await?);
    item.ok_or_else(|| StoreError::NotFound("ese elemento no es de este curso".into()))
}

/// The rows under a parent as (id, position), in order: a course's modules or a module's items.
async fn siblings(tx: &mut Tx, table: Siblings, parent: i64) -> Result<Vec<(i64, i64)>> {
    let sql = match table {
        Siblings::Modules => "SELECT id, position FROM course_modules WHERE course_id = $1 ORDER BY position, id",
        Siblings::Items => "SELECT id, position FROM course_items WHERE module_id = $1 ORDER BY position, id",
    };
    Ok(on_tx!(tx, |c| sqlx::query_as(sql).bind(parent).fetch_all(&mut *c).await?))
}

#[derive(Clone, Copy)]
enum Siblings {
    Modules,
    Items,
}

/// Writes positions 1, 2, 3… in the given order, touching only the rows that change: positions
/// stay dense and ordered after every move or deletion.
async fn renumber(tx: &mut Tx, table: Siblings, ordered: &[(i64, i64)]) -> Result<()> {
    let sql = match table {
        Siblings::Modules => "UPDATE course_modules SET position = $1 WHERE id = $2",
        Siblings::Items => "UPDATE course_items SET position = $1 WHERE id = $2",
    };
    for (n, (id, position)) in ordered.iter().enumerate() {
        let want = n as i64 + 1;
        if *position != want {
            on_tx!(tx, |c| sqlx::query(sql).bind(want).bind(*id).execute(&mut *c).await?.rows_affected());
        }
    }
    Ok(())
}

/// Swaps `id` with its neighbour in `direction`; false when it is already at that end.
fn shift(ordered: &mut [(i64, i64)], id: i64, direction: Direction) -> bool {
    let Some(at) = ordered.iter().position(|(i, _)| *i == id) else { return false };
    let other = match direction {
        Direction::Up if at > 0 => at - 1,
        Direction::Down if at + 1 < ordered.len() => at + 1,
        _ => return false,
    };
    ordered.swap(at, other);
    true
}

/// How many enrolments have records (lessons seen, quiz attempts) in the items `cond` selects
/// (over `course_items i`, with `$1`).
async fn learners_with_records(tx: &mut Tx, cond: &'static str, id: i64) -> Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT v.enrolment_id FROM lesson_views v JOIN course_items i ON i.id = v.item_id WHERE {cond} \
         UNION SELECT a.enrolment_id FROM quiz_attempts a JOIN course_items i ON i.id = a.item_id WHERE {cond}) t"
    );
    Ok(on_tx!(tx, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_one(&mut *c).await?))
}

async fn count_items(tx: &mut Tx, course_id: i64) -> Result<i64> {
    Ok(on_tx!(tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM course_items WHERE course_id = $1").bind(course_id).fetch_one(&mut *c).await?))
}

async fn bank_size(tx: &mut Tx, item_id: i64) -> Result<i64> {
    Ok(on_tx!(tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM quiz_questions WHERE item_id = $1").bind(item_id).fetch_one(&mut *c).await?))
}

/// A quiz's attempts as the attempt rules need them: (submitted or open attempts, passed?, extra
/// attempts granted).
async fn attempt_standing(tx: &mut Tx, enrolment_id: i64, item_id: i64) -> Result<(i64, bool, i64)> {
    let (used, passed, granted): (i64, i64, i64) = on_tx!(tx, |c| sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM quiz_attempts WHERE enrolment_id = $1 AND item_id = $2), \
         (SELECT COUNT(*) FROM quiz_attempts WHERE enrolment_id = $1 AND item_id = $2 AND passed), \
         (SELECT COUNT(*) FROM quiz_attempt_grants WHERE enrolment_id = $1 AND item_id = $2)"
    )
    .bind(enrolment_id)
    .bind(item_id)
    .fetch_one(&mut *c)
    .await?);
    Ok((used, passed > 0, granted))
}

/// One learner of a course, as the staff's «Participantes» list and the enrolments API show
/// her: who she is, what she has done, and her attempts at each quiz.
#[derive(Debug, Clone, Serialize)]
pub struct Participant {
    pub enrolment_id: i64,
    pub person_id: i64,
    pub name: String,
    pub curp: Option<String>,
    pub institution: Option<String>,
    pub enrolled_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub folio: Option<String>,
    #[serde(skip)]
    pub done: Done,
    /// Attempts started per quiz.
    pub attempts: BTreeMap<i64, i64>,
    /// Extra attempts granted per quiz.
    pub granted: BTreeMap<i64, i64>,
}

impl Participant {
    /// Progress in percent under the course's rule (100 once complete: an edit never undoes a
    /// completion).
    pub fn percent(&self, content: &Content, rule: CompletionRule) -> i64 {
        if self.completed_at.is_some() {
            return 100;
        }
        let items: Vec<ItemProgress> = content.progress(&self.done).into_values().collect();
        progress_percent(rule, &items)
    }
    /// Attempts left at a quiz (`None`: no limit).
    pub fn attempts_left(&self, quiz: &Item) -> Option<i64> {
        attempts_left(quiz.attempt_limit, self.granted.get(&quiz.id).copied().unwrap_or(0), self.attempts.get(&quiz.id).copied().unwrap_or(0))
    }
    /// The quizzes she has not passed and has no attempts left at: where staff may grant one more.
    pub fn exhausted<'a>(&self, content: &'a Content) -> Vec<&'a Item> {
        content.items().filter(|i| i.is_quiz() && !self.done.quizzes_passed.contains(&i.id) && self.attempts_left(i) == Some(0)).collect()
    }
}

/// One participant's record in a course (see [`Store::participant_history`]).
#[derive(Debug, Clone)]
pub struct ParticipantHistory {
    pub participant: Participant,
    /// Her attempts, quiz by quiz, oldest first.
    pub attempts: Vec<Attempt>,
    pub grants: Vec<AttemptGrant>,
}

/// An extra attempt granted to a learner, with its reason.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptGrant {
    pub item_id: i64,
    pub reason: String,
    pub granted_at: DateTime<Utc>,
}

impl ParticipantRow {
    fn into_participant(self) -> Participant {
        Participant {
            enrolment_id: self.enrolment_id,
            person_id: self.person_id,
            name: self.name,
            curp: self.curp,
            institution: self.institution,
            enrolled_at: self.enrolled_at,
            completed_at: self.completed_at,
            folio: self.folio,
            done: Done::from_lists(self.seen, self.passed),
            attempts: tally(id_list(self.tried)),
            granted: tally(id_list(self.granted)),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ParticipantRow {
    enrolment_id: i64,
    person_id: i64,
    name: String,
    curp: Option<String>,
    institution: Option<String>,
    enrolled_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    folio: Option<String>,
    seen: Option<String>,
    tried: Option<String>,
    passed: Option<String>,
    granted: Option<String>,
}

const PARTICIPANT_COLUMNS: &str = concat!(
    "SELECT e.id AS enrolment_id, p.id AS person_id, TRIM(p.given_names || ' ' || p.first_surname || ' ' || p.second_surname) AS name, \
     p.curp, i.name AS institution, e.enrolled_at, e.completed_at, ",
    enrolment_records!(),
    ", (SELECT STRING_AGG(CAST(a.item_id AS TEXT), ',') FROM quiz_attempts a WHERE a.enrolment_id = e.id) AS tried, \
     (SELECT STRING_AGG(CAST(g.item_id AS TEXT), ',') FROM quiz_attempt_grants g WHERE g.enrolment_id = e.id) AS granted"
);

const PARTICIPANTS_FROM: &str = "FROM enrolments e JOIN people p ON p.id = e.person_id LEFT JOIN institutions i ON i.id = p.institution_id \
    WHERE e.course_id = $3 AND ($1 = 0 OR ($1 = 1 AND p.institution_id = $2)) AND ($4 IS NULL OR p.search_key LIKE $4)";

fn id_list(list: Option<String>) -> Vec<i64> {
    list.unwrap_or_default().split(',').filter_map(|id| id.parse().ok()).collect()
}

fn tally(ids: Vec<i64>) -> BTreeMap<i64, i64> {
    let mut m = BTreeMap::new();
    for id in ids {
        *m.entry(id).or_insert(0) += 1;
    }
    m
}

impl Store {
    /// Renames a module.
    pub async fn rename_module(&self, actor: &Actor, course_id: i64, module_id: i64, title: &str) -> Result<()> {
        let title = violeta_domain::text::clean(title);
        if title.is_empty() {
            return Err(StoreError::Invalid("indique el título del módulo".into()));
        }
        let mut tx = self.begin().await?;
        let before = module_in_tx(&mut tx, course_id, module_id).await?;
        on_tx!(&mut tx, |c| sqlx::query("UPDATE course_modules SET title = $1 WHERE id = $2").bind(&title).bind(module_id).execute(&mut *c).await?.rows_affected());
        touch(&mut tx, course_id).await?;
        append(&mut tx, actor, Event::new("curso.renombrar_modulo", "curso", course_id).with(serde_json::json!({"modulo": module_id, "antes": before.title, "titulo": title})))
            .await?;
        tx.commit().await
    }

    /// Moves a module one place up or down; at either end nothing changes.
    pub async fn move_module(&self, actor: &Actor, course_id: i64, module_id: i64, direction: Direction) -> Result<()> {
        let mut tx = self.begin().await?;
        module_in_tx(&mut tx, course_id, module_id).await?;
        let mut ordered = siblings(&mut tx, Siblings::Modules, course_id).await?;
        if !shift(&mut ordered, module_id, direction) {
            return Ok(());
        }
        renumber(&mut tx, Siblings::Modules, &ordered).await?;
        touch(&mut tx, course_id).await?;
        append(&mut tx, actor, Event::new("curso.mover_modulo", "curso", course_id).with(serde_json::json!({"modulo": module_id, "direccion": direction.code()}))).await?;
        tx.commit().await
    }

    /// Moves a lesson or quiz one place up or down within its module.
    pub async fn move_item(&self, actor: &Actor, course_id: i64, item_id: i64, direction: Direction) -> Result<()> {
        let mut tx = self.begin().await?;
        let item = item_in_tx(&mut tx, course_id, item_id).await?;
        let mut ordered = siblings(&mut tx, Siblings::Items, item.module_id).await?;
        if !shift(&mut ordered, item_id, direction) {
            return Ok(());
        }
        renumber(&mut tx, Siblings::Items, &ordered).await?;
        touch(&mut tx, course_id).await?;
        append(&mut tx, actor, Event::new("curso.mover_elemento", "curso", course_id).with(serde_json::json!({"elemento": item_id, "direccion": direction.code()}))).await?;
        tx.commit().await
    }

    /// Moves a lesson or quiz to the end of another module of the same course. What learners
    /// did in it stays theirs: the item keeps its id.
    pub async fn move_item_to(&self, actor: &Actor, course_id: i64, item_id: i64, module_id: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let item = item_in_tx(&mut tx, course_id, item_id).await?;
        module_in_tx(&mut tx, course_id, module_id).await?;
        if item.module_id == module_id {
            return Ok(());
        }
        let position = next_position(&mut tx, "SELECT MAX(position) FROM course_items WHERE module_id = $1", module_id).await?;
        on_tx!(&mut tx, |c| sqlx::query("UPDATE course_items SET module_id = $1, position = $2 WHERE id = $3")
            .bind(module_id)
            .bind(position)
            .bind(item_id)
            .execute(&mut *c)
            .await?
            .rows_affected());
        let left = siblings(&mut tx, Siblings::Items, item.module_id).await?;
        renumber(&mut tx, Siblings::Items, &left).await?;
        touch(&mut tx, course_id).await?;
        append(
            &mut tx,
            actor,
            Event::new("curso.mover_elemento", "curso", course_id).with(serde_json::json!({"elemento": item_id, "de_modulo": item.module_id, "a_modulo": module_id})),
        )
        .await?;
        tx.commit().await
    }

    /// Changes a quiz's title, whether it is required, and its settings, checked as when it was
    /// created; on a published or archived course the draw must fit the bank.
    pub async fn update_quiz(&self, actor: &Actor, course_id: i64, item_id: i64, title: &str, required: bool, settings: QuizSettings) -> Result<()> {
        let ItemDraft::Quiz { title, settings, required, .. } = validate_item(&ItemDraft::Quiz { title: title.into(), settings, required, questions: vec![] })? else {
            unreachable!("a quiz stays a quiz")
        };
        let mut tx = self.begin().await?;
        let course = course_in_tx(&mut tx, course_id).await?;
        let item = item_in_tx(&mut tx, course_id, item_id).await?;
        if !item.is_quiz() {
            return Err(StoreError::NotFound("ese elemento no es un cuestionario".into()));
        }
        if course.status() != CourseStatus::Borrador {
            let bank = bank_size(&mut tx, item_id).await?;
            check_quiz_bank(&title, &settings, bank as usize).map_err(invalid)?;
        }
        on_tx!(&mut tx, |c| sqlx::query("UPDATE course_items SET title = $1, required = $2, pass_percent = $3, attempt_limit = $4, draw_count = $5 WHERE id = $6")
            .bind(&title)
            .bind(required)
            .bind(settings.pass_percent)
            .bind(settings.attempt_limit)
            .bind(settings.draw_count)
            .bind(item_id)
            .execute(&mut *c)
            .await?
            .rows_affected());
        touch(&mut tx, course_id).await?;
        append(
            &mut tx,
            actor,
            Event::new("curso.cuestionario", "curso", course_id).with(serde_json::json!({
                "elemento": item_id, "titulo": title, "obligatorio": required, "aprobatoria": settings.pass_percent,
                "intentos": settings.attempt_limit, "preguntas_por_intento": settings.draw_count,
            })),
        )
        .await?;
        complete_the_finished(&mut tx, course_id, actor).await?;
        tx.commit().await
    }

    /// Changes a question: prompt, kind, feedback, options and which are correct. Options keep
    /// their ids position by position, so an open attempt's answers still point at them; grades
    /// already given are not recomputed.
    pub async fn update_question(&self, actor: &Actor, course_id: i64, item_id: i64, question_id: i64, q: &QuestionDraft) -> Result<()> {
        let q = q.validate().map_err(invalid)?;
        let mut tx = self.begin().await?;
        item_in_tx(&mut tx, course_id, item_id).await?;
        let found: Option<i64> =
            on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT id FROM quiz_questions WHERE id = $1 AND item_id = $2").bind(question_id).bind(item_id).fetch_optional(&mut *c).await?);
        found.ok_or_else(|| StoreError::NotFound("esa pregunta no es de este cuestionario".into()))?;
        on_tx!(&mut tx, |c| sqlx::query("UPDATE quiz_questions SET kind = $1, prompt = $2, feedback = $3 WHERE id = $4")
            .bind(q.kind.code())
            .bind(&q.prompt)
            .bind(&q.feedback)
            .bind(question_id)
            .execute(&mut *c)
            .await?
            .rows_affected());
        let existing: Vec<i64> =
            on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT id FROM quiz_options WHERE question_id = $1 ORDER BY position, id").bind(question_id).fetch_all(&mut *c).await?);
        for (n, o) in q.options.iter().enumerate() {
            match existing.get(n) {
                Some(id) => on_tx!(&mut tx, |c| sqlx::query("UPDATE quiz_options SET position = $1, text = $2, correct = $3 WHERE id = $4")
                    .bind(n as i64 + 1)
                    .bind(&o.text)
                    .bind(o.correct)
                    .bind(*id)
                    .execute(&mut *c)
                    .await?
                    .rows_affected()),
                None => on_tx!(&mut tx, |c| sqlx::query("INSERT INTO quiz_options (question_id, position, text, correct) VALUES ($1, $2, $3, $4)")
                    .bind(question_id)
                    .bind(n as i64 + 1)
                    .bind(&o.text)
                    .bind(o.correct)
                    .execute(&mut *c)
                    .await?
                    .rows_affected()),
            };
        }
        for id in existing.iter().skip(q.options.len()) {
            on_tx!(&mut tx, |c| sqlx::query("DELETE FROM quiz_options WHERE id = $1").bind(*id).execute(&mut *c).await?.rows_affected());
        }
        touch(&mut tx, course_id).await?;
        append(&mut tx, actor, Event::new("curso.editar_pregunta", "curso", course_id).with(serde_json::json!({"cuestionario": item_id, "pregunta": question_id}))).await?;
        tx.commit().await
    }

    /// Deletes a lesson or quiz (see [`violeta_domain::learning::check_removal`] for when it
    /// may not be). Completions already recorded stay.
    pub async fn delete_item(&self, actor: &Actor, course_id: i64, item_id: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let course = course_in_tx(&mut tx, course_id).await?;
        let item = item_in_tx(&mut tx, course_id, item_id).await?;
        let learners = learners_with_records(&mut tx, "i.id = $1", item_id).await?;
        let left = count_items(&mut tx, course_id).await? - 1;
        let what = if item.is_quiz() { Removal::Quiz } else { Removal::Lesson };
        check_removal(course.status(), what, &item.title, learners, left.max(0) as usize).map_err(StoreError::Conflict)?;
        on_tx!(&mut tx, |c| sqlx::query("DELETE FROM course_items WHERE id = $1").bind(item_id).execute(&mut *c).await?.rows_affected());
        let rest = siblings(&mut tx, Siblings::Items, item.module_id).await?;
        renumber(&mut tx, Siblings::Items, &rest).await?;
        touch(&mut tx, course_id).await?;
        append(
            &mut tx,
            actor,
            Event::new("curso.eliminar_elemento", "curso", course_id)
                .with(serde_json::json!({"elemento": item_id, "tipo": item.kind, "titulo": item.title, "modulo": item.module_id, "registros_borrados": learners})),
        )
        .await?;
        complete_the_finished(&mut tx, course_id, actor).await?;
        tx.commit().await
    }

    /// Deletes a module with its lessons and quizzes, under the same rule as [`Store::delete_item`].
    pub async fn delete_module(&self, actor: &Actor, course_id: i64, module_id: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let course = course_in_tx(&mut tx, course_id).await?;
        let module = module_in_tx(&mut tx, course_id, module_id).await?;
        let learners = learners_with_records(&mut tx, "i.module_id = $1", module_id).await?;
        let inside: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM course_items WHERE module_id = $1").bind(module_id).fetch_one(&mut *c).await?);
        let left = count_items(&mut tx, course_id).await? - inside;
        check_removal(course.status(), Removal::Module, &module.title, learners, left.max(0) as usize).map_err(StoreError::Conflict)?;
        on_tx!(&mut tx, |c| sqlx::query("DELETE FROM course_items WHERE module_id = $1").bind(module_id).execute(&mut *c).await?.rows_affected());
        on_tx!(&mut tx, |c| sqlx::query("DELETE FROM course_modules WHERE id = $1").bind(module_id).execute(&mut *c).await?.rows_affected());
        let rest = siblings(&mut tx, Siblings::Modules, course_id).await?;
        renumber(&mut tx, Siblings::Modules, &rest).await?;
        touch(&mut tx, course_id).await?;
        append(
            &mut tx,
            actor,
            Event::new("curso.eliminar_modulo", "curso", course_id)
                .with(serde_json::json!({"modulo": module_id, "titulo": module.title, "elementos": inside, "registros_borrados": learners})),
        )
        .await?;
        complete_the_finished(&mut tx, course_id, actor).await?;
        tx.commit().await
    }

    /// How many enrolments have records (lessons seen, quiz attempts) in an item, or in a
    /// module's items: what a deletion would erase, for the confirmation page.
    pub async fn records_in(&self, course_id: i64, module_id: Option<i64>, item_id: Option<i64>) -> Result<i64> {
        let mut tx = self.begin().await?;
        let n = match (module_id, item_id) {
            (_, Some(item)) => {
                item_in_tx(&mut tx, course_id, item).await?;
                learners_with_records(&mut tx, "i.id = $1", item).await?
            }
            (Some(module), None) => {
                module_in_tx(&mut tx, course_id, module).await?;
                learners_with_records(&mut tx, "i.module_id = $1", module).await?
            }
            (None, None) => 0,
        };
        tx.commit().await?;
        Ok(n)
    }

    // ----- attempts granted by staff -----

    /// Gives a learner who used up her attempts at a quiz one more, with the reason; audited.
    /// Returns the attempts she now has left.
    pub async fn grant_attempt(&self, actor: &Actor, course_id: i64, enrolment_id: i64, item_id: i64, reason: &str) -> Result<i64> {
        let mut tx = self.begin().await?;
        let e = enrolment_in_tx(&mut tx, enrolment_id).await?;
        if e.course_id != course_id {
            return Err(StoreError::NotFound("esa inscripción no es de este curso".into()));
        }
        let item = item_in_tx(&mut tx, course_id, item_id).await?;
        if !item.is_quiz() {
            return Err(StoreError::NotFound("ese elemento no es un cuestionario".into()));
        }
        let (used, passed, granted) = attempt_standing(&mut tx, enrolment_id, item_id).await?;
        let reason = violeta_domain::learning::check_grant(item.attempt_limit, granted, used, passed, reason).map_err(invalid)?;
        on_tx!(&mut tx, |c| sqlx::query("INSERT INTO quiz_attempt_grants (enrolment_id, item_id, reason, granted_at) VALUES ($1, $2, $3, $4)")
            .bind(enrolment_id)
            .bind(item_id)
            .bind(&reason)
            .bind(now())
            .execute(&mut *c)
            .await?
            .rows_affected());
        append(
            &mut tx,
            actor,
            Event::new("curso.otorgar_intento", "inscripcion", enrolment_id)
                .with(serde_json::json!({"curso": course_id, "persona": e.person_id, "cuestionario": item_id, "motivo": reason})),
        )
        .await?;
        tx.commit().await?;
        Ok(attempts_left(item.attempt_limit, granted + 1, used).unwrap_or(0))
    }

    /// Extra attempts staff granted a learner at a quiz.
    pub async fn attempts_granted(&self, enrolment_id: i64, item_id: i64) -> Result<i64> {
        Ok(on_pool!(self, |p| sqlx::query_scalar("SELECT COUNT(*) FROM quiz_attempt_grants WHERE enrolment_id = $1 AND item_id = $2")
            .bind(enrolment_id)
            .bind(item_id)
            .fetch_one(p)
            .await?))
    }

    // ----- a course's participants -----

    /// A course's learners within the reader's people scope, found by name or CURP, with what
    /// each has done; and how many match. Names are personal data: the read is recorded in
    /// the audit trail with the people shown, in the same transaction.
    pub async fn course_participants(
        &self,
        actor: &Actor,
        scope: violeta_domain::access::PeopleScope,
        course_id: i64,
        query: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Participant>, i64)> {
        let (mode, inst) = crate::people::scope_bind(scope);
        // The search key holds the name and the CURP (as people's search does).
        let pattern = query.map(str::trim).filter(|q| !q.is_empty()).map(|q| format!("%{}%", violeta_domain::text::search_key(q)));
        let list_sql = format!(
            "{PARTICIPANT_COLUMNS} {PARTICIPANTS_FROM} ORDER BY p.first_surname, p.second_surname, p.given_names, e.id LIMIT $5 OFFSET $6"
        );
        let count_sql = format!("SELECT COUNT(*) {PARTICIPANTS_FROM}");
        let mut tx = self.begin().await?;
        course_in_tx(&mut tx, course_id).await?;
        let rows: Vec<ParticipantRow> = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(list_sql.clone()))
            .bind(mode)
            .bind(inst)
            .bind(course_id)
            .bind(&pattern)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *c)
            .await?);
        let total: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone()))
            .bind(mode)
            .bind(inst)
            .bind(course_id)
            .bind(&pattern)
            .fetch_one(&mut *c)
            .await?);
        let people: Vec<i64> = rows.iter().map(|r| r.person_id).collect();
        append(
            &mut tx,
            actor,
            Event::new("curso.consultar_participantes", "curso", course_id).with(serde_json::json!({"busqueda": pattern.is_some(), "personas": people})),
        )
        .await?;
        tx.commit().await?;
        Ok((rows.into_iter().map(ParticipantRow::into_participant).collect(), total))
    }

    /// One participant of a course with her attempts at its quizzes and the extra attempts
    /// granted to her (with their reasons), within the reader's people scope; the read is
    /// audited.
    pub async fn participant_history(&self, actor: &Actor, scope: violeta_domain::access::PeopleScope, course_id: i64, enrolment_id: i64) -> Result<ParticipantHistory> {
        let (mode, inst) = crate::people::scope_bind(scope);
        let sql = format!("{PARTICIPANT_COLUMNS} {PARTICIPANTS_FROM} AND e.id = $5");
        let mut tx = self.begin().await?;
        let row: Option<ParticipantRow> = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(mode)
            .bind(inst)
            .bind(course_id)
            .bind(None::<String>)
            .bind(enrolment_id)
            .fetch_optional(&mut *c)
            .await?);
        let participant = row.ok_or_else(|| StoreError::NotFound("no existe esa inscripción en este curso".into()))?.into_participant();
        let attempts_sql = format!("{ATTEMPT_SELECT} WHERE enrolment_id = $1 ORDER BY item_id, id");
        let attempts: Vec<Attempt> = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(attempts_sql.clone())).bind(enrolment_id).fetch_all(&mut *c).await?);
        let grants: Vec<AttemptGrant> = on_tx!(&mut tx, |c| sqlx::query_as("SELECT item_id, reason, granted_at FROM quiz_attempt_grants WHERE enrolment_id = $1 ORDER BY id")
            .bind(enrolment_id)
            .fetch_all(&mut *c)
            .await?);
        append(
            &mut tx,
            actor,
            Event::new("curso.consultar_participante", "curso", course_id).with(serde_json::json!({"inscripcion": enrolment_id, "persona": participant.person_id})),
        )
        .await?;
        tx.commit().await?;
        Ok(ParticipantHistory { participant, attempts, grants })
    }
}

/// Inserts enrolments of people not yet in the course: on SQLite in multi-row statements
/// (the next one's values bound while SQLite runs the current one), on PostgreSQL in one
/// statement over arrays. `enrolled_at` is now, or the completion when that was earlier.
async fn insert_enrolments(
    tx: &mut Tx,
    course_id: i64,
    cohort_id: Option<i64>,
    source: EnrolmentSource,
    fresh: &[&(i64, Option<DateTime<Utc>>)],
) -> Result<()> {
    if fresh.is_empty() {
        return Ok(());
    }
    let t = now();
    match tx {
        Tx::Sqlite(c, _) => {
            const COLS: usize = 6;
            const ROWS: usize = 2_000;
            // Shared texts, as the driver would write them, instead of one copy per row.
            let text = |d: DateTime<Utc>| -> Arc<str> { d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false).into() };
            let (now_text, source): (Arc<str>, Arc<str>) = (text(t), source.code().into());
            let statement = |chunk: &[&(i64, Option<DateTime<Utc>>)]| {
                let sql = format!(
                    "INSERT INTO enrolments (course_id, person_id, cohort_id, source, enrolled_at, completed_at) VALUES {}",
                    crate::people::placeholders(Backend::Sqlite, chunk.len(), COLS)
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (person, completed) in chunk {
                    let enrolled = match completed {
                        Some(d) if *d < t => text(*d),
                        _ => now_text.clone(),
                    };
                    q = q.bind(course_id).bind(*person).bind(cohort_id).bind(source.clone()).bind(enrolled).bind(completed.map(text));
                }
                q
            };
            let mut chunks = fresh.chunks(ROWS);
            let mut next = chunks.next().map(statement);
            while let Some(q) = next.take() {
                let (done, following) = tokio::join!(q.execute(&mut **c), async { chunks.next().map(statement) });
                done?;
                next = following;
            }
        }
        Tx::Postgres(c) => {
            let people: Vec<i64> = fresh.iter().map(|(id, _)| *id).collect();
            let completed: Vec<Option<DateTime<Utc>>> = fresh.iter().map(|(_, d)| *d).collect();
            // LEAST ignores NULLs: now for rows without a completion.
            sqlx::query(
                "INSERT INTO enrolments (course_id, person_id, cohort_id, source, enrolled_at, completed_at) \
                 SELECT $1, p, $2, $3, LEAST(d, $4), d FROM UNNEST($5::BIGINT[], $6::TIMESTAMPTZ[]) AS u (p, d)",
            )
            .bind(course_id)
            .bind(cohort_id)
            .bind(source.code())
            .bind(t)
            .bind(people)
            .bind(completed)
            .execute(&mut **c)
            .await?;
        }
    }
    Ok(())
}
