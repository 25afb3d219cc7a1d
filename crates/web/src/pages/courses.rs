//! The staff's side of the Centro de Aprendizaje Digital: authoring courses (modules,
//! lessons in Markdown, quizzes and their question banks, files), publishing, cohorts, bulk
//! enrolment, Moodle history, course constancias, the portable archive, and the completion
//! report with its exports and the people behind each figure.

use super::{Notice, Upload, render, render_invalid, see_other};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, PageResult};
use crate::layout::{Layout, thousands};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use violeta_domain::access::Permission;
use violeta_domain::learning::{CompletionRule, CourseInfo, CourseStatus, ItemDraft, QuestionDraft, QuestionKind, QuizSettings, Removal, check_removal, parse_hours};
use violeta_store::credentials::Signing;
use violeta_store::StoreError;
use violeta_store::learning::{
    Attempt, AttemptGrant, Cohort, Content, Course, Dimension, Direction, Item, Module, Participant, ParticipantHistory, Question, ReportFilter, ReportPerson, ReportRow,
};
use violeta_store::training::Programme;

fn opt_i64(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

fn opt_date(s: &str) -> Option<chrono::NaiveDate> {
    violeta_app::avgm::parse_date(s.trim())
}

// ----- list, create, import -----

#[derive(Template)]
#[template(path = "courses/list.html")]
struct ListPage {
    l: Layout,
    courses: Vec<Course>,
    programmes: Vec<Programme>,
    f: CourseForm,
    error: Option<String>,
}

impl ListPage {
    fn status(&self, c: &Course) -> &'static str {
        c.status().label()
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct CourseForm {
    #[serde(default)]
    clave: String,
    #[serde(default)]
    titulo: String,
    #[serde(default)]
    resumen: String,
    #[serde(default)]
    publico: String,
    #[serde(default)]
    horas: String,
    #[serde(default)]
    programa: String,
    #[serde(default)]
    regla: String,
    #[serde(default)]
    vigencia: String,
    #[serde(default)]
    cierre: String,
}

impl CourseForm {
    fn info(&self) -> Result<CourseInfo, String> {
        let minutes = parse_hours(&self.horas).ok_or("indique la duración en horas (por ejemplo, 4 o 2.5)")?;
        Ok(CourseInfo {
            code: self.clave.clone(),
            title: self.titulo.clone(),
            summary: self.resumen.clone(),
            audience: self.publico.clone(),
            minutes,
            completion_rule: Some(CompletionRule::parse(&self.regla).unwrap_or(CompletionRule::Todo)),
            valid_months: opt_i64(&self.vigencia),
        })
    }
    fn of(c: &Course) -> CourseForm {
        CourseForm {
            clave: c.code.clone(),
            titulo: c.title.clone(),
            resumen: c.summary.clone(),
            publico: c.audience.clone(),
            horas: format!("{}", c.minutes as f64 / 60.0),
            programa: c.programme_id.map(|p| p.to_string()).unwrap_or_default(),
            regla: c.completion_rule.clone(),
            vigencia: c.valid_months.map(|v| v.to_string()).unwrap_or_default(),
            cierre: c.enrolment_closes_on.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        }
    }
}

async fn list_page(state: &AppState, ctx: &Ctx, f: CourseForm, error: Option<String>, notice: Option<&str>) -> Result<ListPage, AppError> {
    Ok(ListPage {
        l: Layout::new(ctx, state, "Centro de Aprendizaje Digital").with_notice(notice),
        courses: state.store.courses(None).await?,
        programmes: state.store.programmes().await?,
        f,
        error,
    })
}

pub async fn list(State(state): State<AppState>, ctx: Ctx, Query(n): Query<Notice>) -> PageResult {
    render(&list_page(&state, &ctx, CourseForm { horas: "4".into(), ..Default::default() }, None, n.aviso.as_deref()).await?)
}

pub async fn create(State(state): State<AppState>, ctx: Ctx, Form(f): Form<CourseForm>) -> PageResult {
    let result = match f.info() {
        Ok(info) => state.store.create_course(&ctx.actor(), &info, opt_i64(&f.programa), opt_date(&f.cierre)).await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match result {
        Ok(id) => see_other(&format!("/cursos/{id}"), "creada"),
        Err(e) => render_invalid(&list_page(&state, &ctx, f, Some(e), None).await?),
    }
}

/// Imports a course archive (ZIP) as a draft.
pub async fn import(State(state): State<AppState>, ctx: Ctx, multipart: Multipart) -> PageResult {
    let up = Upload::read(multipart, &ctx).await?;
    let programme = up.field("programa").as_deref().and_then(opt_i64);
    match violeta_app::learning::import_archive(&state.store, &ctx.actor(), &up.bytes, programme).await {
        Ok(id) => see_other(&format!("/cursos/{id}"), "importado"),
        Err(e) => render_invalid(&list_page(&state, &ctx, CourseForm::default(), Some(format!("No se importó el curso: {e}")), None).await?),
    }
}

// ----- one course -----

#[derive(Template)]
#[template(path = "courses/show.html")]
struct ShowPage {
    l: Layout,
    course: Course,
    content: Content,
    cohorts: Vec<Cohort>,
    programmes: Vec<Programme>,
    f: CourseForm,
    error: Option<String>,
    report: Option<violeta_app::report::ImportReport>,
    result: Option<String>,
    credentials: usize,
    can_sign: bool,
}

impl ShowPage {
    fn status(&self) -> &'static str {
        self.course.status().label()
    }
    fn rule_selected(&self, code: &str) -> bool {
        self.f.regla == code
    }
    fn programme_selected(&self, id: &i64) -> bool {
        self.f.programa == id.to_string()
    }
}

async fn show_page(state: &AppState, ctx: &Ctx, id: i64) -> Result<ShowPage, AppError> {
    let course = state.store.course(id).await?;
    Ok(ShowPage {
        l: Layout::new(ctx, state, course.title.clone()),
        content: state.store.course_content(id).await?,
        cohorts: state.store.course_cohorts(id).await?,
        programmes: state.store.programmes().await?,
        f: CourseForm::of(&course),
        credentials: state.store.course_credentials(id, None).await?.len(),
        can_sign: state.config.credential_key.is_some(),
        course,
        error: None,
        report: None,
        result: None,
    })
}

pub async fn show(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(n): Query<Notice>) -> PageResult {
    let mut page = show_page(&state, &ctx, id).await?;
    page.l = page.l.with_notice(n.aviso.as_deref());
    render(&page)
}

async fn show_error(state: &AppState, ctx: &Ctx, id: i64, error: String) -> PageResult {
    let mut page = show_page(state, ctx, id).await?;
    page.error = Some(error);
    render_invalid(&page)
}

pub async fn update(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<CourseForm>) -> PageResult {
    let result = match f.info() {
        Ok(info) => state.store.update_course(&ctx.actor(), id, &info, opt_i64(&f.programa), opt_date(&f.cierre)).await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => see_other(&format!("/cursos/{id}"), "guardado"),
        Err(e) => show_error(&state, &ctx, id, e).await,
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    estado: String,
}

pub async fn set_status(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<StatusForm>) -> PageResult {
    let status = CourseStatus::parse(&f.estado).ok_or_else(|| AppError::BadRequest("estado desconocido".into()))?;
    match state.store.set_course_status(&ctx.actor(), id, status).await {
        Ok(()) => see_other(&format!("/cursos/{id}"), if status == CourseStatus::Publicado { "publicado" } else { "guardado" }),
        Err(violeta_store::StoreError::Invalid(e)) => show_error(&state, &ctx, id, e).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct TitleForm {
    #[serde(default)]
    titulo: String,
}

pub async fn add_module(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<TitleForm>) -> PageResult {
    match state.store.add_module(&ctx.actor(), id, &f.titulo).await {
        Ok(_) => see_other(&format!("/cursos/{id}"), "guardado"),
        Err(violeta_store::StoreError::Invalid(e)) => show_error(&state, &ctx, id, e).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct ItemForm {
    #[serde(default)]
    modulo: String,
    #[serde(default)]
    tipo: String,
    #[serde(default)]
    titulo: String,
    #[serde(default)]
    texto: String,
    #[serde(default)]
    video: String,
    #[serde(default)]
    opcional: Option<String>,
    #[serde(default)]
    aprobatoria: String,
    #[serde(default)]
    intentos: String,
    #[serde(default)]
    preguntas: String,
}

pub async fn add_item(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<ItemForm>) -> PageResult {
    let module = opt_i64(&f.modulo).ok_or_else(|| AppError::BadRequest("elija el módulo".into()))?;
    let required = f.opcional.is_none();
    let item = if f.tipo == "cuestionario" {
        let pass = opt_i64(&f.aprobatoria).unwrap_or(80);
        ItemDraft::Quiz { title: f.titulo, settings: QuizSettings { pass_percent: pass, attempt_limit: opt_i64(&f.intentos), draw_count: opt_i64(&f.preguntas) }, required, questions: vec![] }
    } else {
        ItemDraft::Lesson { title: f.titulo, body: f.texto, video_url: f.video, required }
    };
    match state.store.add_item(&ctx.actor(), module, &item).await {
        Ok(item_id) => see_other(&format!("/cursos/{id}/elementos/{item_id}"), "creada"),
        Err(violeta_store::StoreError::Invalid(e)) => show_error(&state, &ctx, id, e).await,
        Err(e) => Err(e.into()),
    }
}

// ----- an item: lesson editor or question bank -----

#[derive(Template)]
#[template(path = "courses/item.html")]
struct ItemPage {
    l: Layout,
    course: Course,
    item: Item,
    questions: Vec<Question>,
    /// The course's modules, for «Mover a…».
    modules: Vec<Module>,
    error: Option<String>,
    q: QuestionForm,
    /// A question whose edit was refused, with what was typed.
    editing: Option<(i64, QuestionForm)>,
}

impl ItemPage {
    fn kind_selected(&self, code: &str) -> bool {
        self.q.tipo == code
    }
    fn kinds(&self) -> &'static [QuestionKind] {
        QuestionKind::ALL
    }
    fn is_editing(&self, q: &Question) -> bool {
        self.editing.as_ref().is_some_and(|(id, _)| *id == q.id)
    }
    /// The edit form's values: what was typed when refused, else the question as stored.
    fn edit_form(&self, q: &Question) -> QuestionForm {
        match &self.editing {
            Some((id, f)) if *id == q.id => f.clone(),
            _ => QuestionForm::of(q),
        }
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct QuestionForm {
    #[serde(default)]
    tipo: String,
    #[serde(default)]
    enunciado: String,
    #[serde(default)]
    opciones: String,
    #[serde(default)]
    retroalimentacion: String,
}

impl QuestionForm {
    /// A stored question as the form writes it: one option per line, the correct ones marked
    /// with `*`; a true/false question as its answer.
    fn of(q: &Question) -> QuestionForm {
        let opciones = if q.kind() == QuestionKind::VerdaderoFalso {
            q.options.iter().find(|o| o.correct).map(|o| o.text.to_lowercase()).unwrap_or_default()
        } else {
            q.options.iter().map(|o| if o.correct { format!("*{}", o.text) } else { o.text.clone() }).collect::<Vec<_>>().join("\n")
        };
        QuestionForm { tipo: q.kind().code().into(), enunciado: q.prompt.clone(), opciones, retroalimentacion: q.feedback.clone() }
    }
    fn draft(&self) -> Result<QuestionDraft, String> {
        QuestionDraft::from_form(QuestionKind::parse(&self.tipo).unwrap_or(QuestionKind::Unica), &self.enunciado, &self.opciones, &self.retroalimentacion)
    }
}

async fn item_page(state: &AppState, ctx: &Ctx, course_id: i64, item_id: i64, error: Option<String>, q: QuestionForm) -> Result<ItemPage, AppError> {
    let course = state.store.course(course_id).await?;
    let content = state.store.course_content(course_id).await?;
    let item = content.item(item_id).cloned().ok_or_else(|| AppError::NotFound("ese elemento no es de este curso".into()))?;
    let questions = if item.is_quiz() { state.store.questions(item_id).await? } else { Vec::new() };
    let modules = content.modules.into_iter().map(|(m, _)| m).collect();
    Ok(ItemPage { l: Layout::new(ctx, state, item.title.clone()), course, item, questions, modules, error, q, editing: None })
}

pub async fn item(State(state): State<AppState>, ctx: Ctx, Path((id, item_id)): Path<(i64, i64)>, Query(n): Query<Notice>) -> PageResult {
    let mut page = item_page(&state, &ctx, id, item_id, None, QuestionForm { tipo: "unica".into(), ..Default::default() }).await?;
    page.l = page.l.with_notice(n.aviso.as_deref());
    render(&page)
}

pub async fn update_lesson(State(state): State<AppState>, ctx: Ctx, Path((id, item_id)): Path<(i64, i64)>, Form(f): Form<ItemForm>) -> PageResult {
    match state.store.update_lesson(&ctx.actor(), item_id, &f.titulo, &f.texto, &f.video, f.opcional.is_none()).await {
        Ok(()) => see_other(&format!("/cursos/{id}/elementos/{item_id}"), "guardado"),
        Err(violeta_store::StoreError::Invalid(e)) => render_invalid(&item_page(&state, &ctx, id, item_id, Some(e), QuestionForm::default()).await?),
        Err(e) => Err(e.into()),
    }
}

pub async fn add_question(State(state): State<AppState>, ctx: Ctx, Path((id, item_id)): Path<(i64, i64)>, Form(f): Form<QuestionForm>) -> PageResult {
    let result = match f.draft() {
        Ok(q) => state.store.add_question(&ctx.actor(), item_id, &q).await.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => see_other(&format!("/cursos/{id}/elementos/{item_id}"), "guardado"),
        Err(e) => render_invalid(&item_page(&state, &ctx, id, item_id, Some(e), f).await?),
    }
}

pub async fn remove_question(State(state): State<AppState>, ctx: Ctx, Path((id, item_id, question_id)): Path<(i64, i64, i64)>) -> PageResult {
    state.store.remove_question(&ctx.actor(), question_id).await?;
    see_other(&format!("/cursos/{id}/elementos/{item_id}"), "guardado")
}

// ----- editing the structure: modules and items -----

#[derive(Deserialize, Default)]
pub struct MoveForm {
    /// «arriba» or «abajo».
    #[serde(default)]
    direccion: String,
    /// Another module of the course («Mover a…»).
    #[serde(default)]
    modulo: String,
}

/// Back to where the author was: the item's page or the course's.
fn back_to(id: i64, f: &ConfirmForm) -> String {
    match f.volver.as_deref() {
        Some(v) if v.starts_with(&format!("/cursos/{id}/")) && !v.contains("//") => v.to_string(),
        _ => format!("/cursos/{id}"),
    }
}

pub async fn rename_module(State(state): State<AppState>, ctx: Ctx, Path((id, module)): Path<(i64, i64)>, Form(f): Form<TitleForm>) -> PageResult {
    match state.store.rename_module(&ctx.actor(), id, module, &f.titulo).await {
        Ok(()) => see_other(&format!("/cursos/{id}"), "guardado"),
        Err(StoreError::Invalid(e)) => show_error(&state, &ctx, id, e).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn move_module(State(state): State<AppState>, ctx: Ctx, Path((id, module)): Path<(i64, i64)>, Form(f): Form<MoveForm>) -> PageResult {
    let direction = Direction::parse(&f.direccion).ok_or_else(|| AppError::BadRequest("indique si el módulo sube o baja".into()))?;
    state.store.move_module(&ctx.actor(), id, module, direction).await?;
    see_other(&format!("/cursos/{id}"), "guardado")
}

/// Moves an item up or down within its module, or to the end of another module.
pub async fn move_item(State(state): State<AppState>, ctx: Ctx, Path((id, item_id)): Path<(i64, i64)>, Form(f): Form<MoveForm>) -> PageResult {
    if let Some(module) = opt_i64(&f.modulo) {
        state.store.move_item_to(&ctx.actor(), id, item_id, module).await?;
    } else {
        let direction = Direction::parse(&f.direccion).ok_or_else(|| AppError::BadRequest("indique si el elemento sube, baja o a qué módulo pasa".into()))?;
        state.store.move_item(&ctx.actor(), id, item_id, direction).await?;
    }
    see_other(&format!("/cursos/{id}"), "guardado")
}

#[derive(Deserialize, Default)]
pub struct ConfirmForm {
    /// «si» once the author ticked «Confirmo».
    #[serde(default)]
    confirmo: Option<String>,
    #[serde(default)]
    volver: Option<String>,
}

impl ConfirmForm {
    fn confirmed(&self) -> bool {
        self.confirmo.as_deref() == Some("si")
    }
}

/// The confirmation step of a deletion: works without JavaScript (a page with a «Confirmo» box).
#[derive(Template)]
#[template(path = "courses/confirm.html")]
struct ConfirmPage {
    l: Layout,
    course: Course,
    /// «la lección «Título»».
    what: String,
    /// What the deletion does, or why it cannot be done.
    consequences: String,
    /// Set when the deletion will be refused: no form then.
    refusal: Option<String>,
    action: String,
    back: String,
}

/// A deletion awaiting confirmation.
struct Deletion<'a> {
    what: Removal,
    title: &'a str,
    /// Enrolments with records in it.
    records: i64,
    /// Lessons and quizzes it takes with it.
    items: usize,
    action: String,
    back: String,
}

/// What deleting takes with it, and whether the rule refuses it (the store decides again, in
/// its transaction, with the same rule).
async fn confirm_page(state: &AppState, ctx: &Ctx, course: Course, d: Deletion<'_>) -> PageResult {
    let Deletion { what, title, records, items, action, back } = d;
    let named = match what {
        Removal::Lesson => format!("la lección «{title}»"),
        Removal::Quiz => format!("el cuestionario «{title}»"),
        Removal::Module => format!("el módulo «{title}»"),
    };
    let total = state.store.course_content(course.id).await?.items().count();
    let refusal = check_removal(course.status(), what, title, records, total.saturating_sub(items)).err();
    let inside = if what == Removal::Module { format!(" Se eliminarán también sus {items} lecciones y cuestionarios.") } else { String::new() };
    let consequences = if refusal.is_some() {
        String::new()
    } else if records > 0 {
        format!(
            "El curso es un borrador: se borrarán también los registros de {records} {} (lecciones vistas e intentos de cuestionario).{inside} Las conclusiones y constancias ya registradas no cambian.",
            if records == 1 { "persona" } else { "personas" }
        )
    } else {
        format!("Nadie tiene registros en {}.{inside} No se puede deshacer.", if what == Removal::Lesson { "ella" } else { "él" })
    };
    let page = ConfirmPage { l: Layout::new(ctx, state, "Confirmar la eliminación"), course, what: named, consequences, refusal, action, back };
    render(&page)
}

pub async fn delete_module(State(state): State<AppState>, ctx: Ctx, Path((id, module)): Path<(i64, i64)>, Form(f): Form<ConfirmForm>) -> PageResult {
    let back = back_to(id, &f);
    if f.confirmed() {
        return match state.store.delete_module(&ctx.actor(), id, module).await {
            Ok(()) => see_other(&format!("/cursos/{id}"), "eliminado"),
            Err(StoreError::Conflict(e)) => show_error(&state, &ctx, id, e).await,
            Err(e) => Err(e.into()),
        };
    }
    let course = state.store.course(id).await?;
    let content = state.store.course_content(id).await?;
    let (m, items) = content.modules.iter().find(|(m, _)| m.id == module).ok_or_else(|| AppError::NotFound("ese módulo no es de este curso".into()))?;
    let records = state.store.records_in(id, Some(module), None).await?;
    let action = format!("/cursos/{id}/modulos/{module}/eliminar");
    confirm_page(&state, &ctx, course, Deletion { what: Removal::Module, title: &m.title, records, items: items.len(), action, back }).await
}

pub async fn delete_item(State(state): State<AppState>, ctx: Ctx, Path((id, item_id)): Path<(i64, i64)>, Form(f): Form<ConfirmForm>) -> PageResult {
    let back = back_to(id, &f);
    if f.confirmed() {
        return match state.store.delete_item(&ctx.actor(), id, item_id).await {
            Ok(()) => see_other(&format!("/cursos/{id}"), "eliminado"),
            Err(StoreError::Conflict(e)) => show_error(&state, &ctx, id, e).await,
            Err(e) => Err(e.into()),
        };
    }
    let course = state.store.course(id).await?;
    let item = state.store.course_content(id).await?.item(item_id).cloned().ok_or_else(|| AppError::NotFound("ese elemento no es de este curso".into()))?;
    let records = state.store.records_in(id, None, Some(item_id)).await?;
    let what = if item.is_quiz() { Removal::Quiz } else { Removal::Lesson };
    let action = format!("/cursos/{id}/elementos/{item_id}/eliminar");
    confirm_page(&state, &ctx, course, Deletion { what, title: &item.title, records, items: 1, action, back }).await
}

/// A quiz's title, required flag and settings.
pub async fn update_quiz(State(state): State<AppState>, ctx: Ctx, Path((id, item_id)): Path<(i64, i64)>, Form(f): Form<ItemForm>) -> PageResult {
    let pass = match f.aprobatoria.trim() {
        "" => Err("indique la calificación aprobatoria (de 1 a 100)".to_string()),
        p => opt_i64(p).ok_or_else(|| format!("la calificación aprobatoria «{p}» no es un número entero")),
    };
    let number = |label: &str, v: &str| -> Result<Option<i64>, String> {
        match v.trim() {
            "" => Ok(None),
            v => opt_i64(v).map(Some).ok_or_else(|| format!("{label} «{v}» no es un número entero")),
        }
    };
    let result = match (pass, number("el número de intentos", &f.intentos), number("las preguntas por intento", &f.preguntas)) {
        (Ok(pass), Ok(attempts), Ok(draw)) => state
            .store
            .update_quiz(&ctx.actor(), id, item_id, &f.titulo, f.opcional.is_none(), QuizSettings { pass_percent: pass, attempt_limit: attempts, draw_count: draw })
            .await
            .map_err(|e| match e {
                StoreError::Invalid(m) => Ok(m),
                other => Err(other),
            }),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(Ok(e)),
    };
    match result {
        Ok(()) => see_other(&format!("/cursos/{id}/elementos/{item_id}"), "guardado"),
        Err(Ok(e)) => render_invalid(&item_page(&state, &ctx, id, item_id, Some(e), QuestionForm::default()).await?),
        Err(Err(e)) => Err(e.into()),
    }
}

/// A question's prompt, options, correct answers and feedback.
pub async fn update_question(State(state): State<AppState>, ctx: Ctx, Path((id, item_id, question_id)): Path<(i64, i64, i64)>, Form(f): Form<QuestionForm>) -> PageResult {
    let result = match f.draft() {
        Ok(q) => state.store.update_question(&ctx.actor(), id, item_id, question_id, &q).await.map_err(|e| match e {
            StoreError::Invalid(m) => Ok(m),
            other => Err(other),
        }),
        Err(e) => Err(Ok(e)),
    };
    match result {
        Ok(()) => see_other(&format!("/cursos/{id}/elementos/{item_id}"), "guardado"),
        Err(Ok(e)) => {
            let mut page = item_page(&state, &ctx, id, item_id, Some(format!("No se guardó la pregunta: {e}")), QuestionForm { tipo: "unica".into(), ..Default::default() }).await?;
            page.editing = Some((question_id, f));
            render_invalid(&page)
        }
        Err(Err(e)) => Err(e.into()),
    }
}

// ----- participants and extra attempts -----

#[derive(Deserialize, Default, Clone)]
pub struct ParticipantsQuery {
    #[serde(default)]
    q: String,
}

/// How many participants the page lists at once (narrow with the search).
const PARTICIPANTS_SHOWN: i64 = 100;

#[derive(Template)]
#[template(path = "courses/participants.html")]
struct ParticipantsPage {
    l: Layout,
    course: Course,
    content: Content,
    people: Vec<Participant>,
    total: i64,
    q: String,
    show_curp: bool,
    error: Option<String>,
    shown: i64,
}

impl ParticipantsPage {
    fn percent(&self, p: &Participant) -> i64 {
        p.percent(&self.content, self.course.rule())
    }
    fn exhausted(&self, p: &Participant) -> Vec<&Item> {
        p.exhausted(&self.content)
    }
    fn day(&self, d: &chrono::DateTime<chrono::Utc>) -> String {
        crate::layout::date(&violeta_domain::hours::mexico_city_date(*d))
    }
}

async fn participants_page(state: &AppState, ctx: &Ctx, id: i64, q: String, error: Option<String>) -> Result<ParticipantsPage, AppError> {
    let course = state.store.course(id).await?;
    let content = state.store.course_content(id).await?;
    let (people, total) = state.store.course_participants(&ctx.actor(), ctx.principal.people_scope(), id, Some(&q), PARTICIPANTS_SHOWN, 0).await?;
    Ok(ParticipantsPage {
        l: Layout::new(ctx, state, format!("Participantes de {}", course.title)),
        course,
        content,
        people,
        total,
        q,
        show_curp: ctx.can(Permission::ViewPeople),
        error,
        shown: PARTICIPANTS_SHOWN,
    })
}

#[derive(Template)]
#[template(path = "courses/participant.html")]
struct ParticipantPage {
    l: Layout,
    course: Course,
    content: Content,
    h: ParticipantHistory,
    show_curp: bool,
}

impl ParticipantPage {
    fn percent(&self) -> i64 {
        self.h.participant.percent(&self.content, self.course.rule())
    }
    fn exhausted(&self) -> Vec<&Item> {
        self.h.participant.exhausted(&self.content)
    }
    fn done(&self, item: &Item) -> bool {
        self.h.participant.done.has(item.id, item.is_quiz())
    }
    fn attempts_at(&self, item: &Item) -> Vec<&Attempt> {
        self.h.attempts.iter().filter(|a| a.item_id == item.id).collect()
    }
    fn grants_at(&self, item: &Item) -> Vec<&AttemptGrant> {
        self.h.grants.iter().filter(|g| g.item_id == item.id).collect()
    }
    fn day(&self, d: &chrono::DateTime<chrono::Utc>) -> String {
        crate::layout::date(&violeta_domain::hours::mexico_city_date(*d))
    }
    fn moment(&self, d: &chrono::DateTime<chrono::Utc>) -> String {
        violeta_domain::hours::mexico_city_time(*d).format("%d/%m/%Y %H:%M").to_string()
    }
}

/// One participant: what she has done, her attempts and the attempts granted to her
/// (within the reader's people scope; audited).
pub async fn participant(State(state): State<AppState>, ctx: Ctx, Path((id, enrolment)): Path<(i64, i64)>, Query(n): Query<Notice>) -> PageResult {
    let course = state.store.course(id).await?;
    let content = state.store.course_content(id).await?;
    let h = state.store.participant_history(&ctx.actor(), ctx.principal.people_scope(), id, enrolment).await?;
    let l = Layout::new(&ctx, &state, h.participant.name.clone()).with_notice(n.aviso.as_deref());
    render(&ParticipantPage { l, course, content, h, show_curp: ctx.can(Permission::ViewPeople) })
}

/// A course's participants, found by name or CURP (within the reader's people scope; audited).
pub async fn participants(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(q): Query<ParticipantsQuery>, Query(n): Query<Notice>) -> PageResult {
    let mut page = participants_page(&state, &ctx, id, q.q.trim().to_string(), None).await?;
    page.l = page.l.with_notice(n.aviso.as_deref());
    render(&page)
}

#[derive(Deserialize, Default)]
pub struct GrantForm {
    #[serde(default)]
    cuestionario: String,
    #[serde(default)]
    motivo: String,
    /// The search to return to.
    #[serde(default)]
    q: String,
    /// Set when the form is on the participant's own page: return there.
    #[serde(default)]
    ficha: String,
}

/// Gives a learner who used up her attempts at a quiz one more, with a reason (audited).
pub async fn grant_attempt(State(state): State<AppState>, ctx: Ctx, Path((id, enrolment)): Path<(i64, i64)>, Form(f): Form<GrantForm>) -> PageResult {
    let quiz = opt_i64(&f.cuestionario).ok_or_else(|| AppError::BadRequest("indique el cuestionario".into()))?;
    match state.store.grant_attempt(&ctx.actor(), id, enrolment, quiz, &f.motivo).await {
        Ok(_) => {
            let back = if !f.ficha.is_empty() {
                format!("/cursos/{id}/participantes/{enrolment}")
            } else if f.q.trim().is_empty() {
                format!("/cursos/{id}/participantes")
            } else {
                format!("/cursos/{id}/participantes?q={}", crate::layout::urlencode(f.q.trim()))
            };
            see_other(&back, "intento")
        }
        Err(StoreError::Invalid(e)) => render_invalid(&participants_page(&state, &ctx, id, f.q.trim().to_string(), Some(format!("No se otorgó el intento: {e}"))).await?),
        Err(e) => Err(e.into()),
    }
}

// ----- files, cohorts, enrolment, history -----

pub async fn add_file(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, multipart: Multipart) -> PageResult {
    let up = Upload::read(multipart, &ctx).await?;
    match state.store.add_course_file(&ctx.actor(), id, &up.file_name, &up.bytes).await {
        Ok(name) => {
            let mut page = show_page(&state, &ctx, id).await?;
            page.result = Some(format!("Archivo guardado. Enlácelo en una lección como ![descripción](archivos/{name}) o [texto](archivos/{name})."));
            render(&page)
        }
        Err(violeta_store::StoreError::Invalid(e)) => show_error(&state, &ctx, id, e).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct CohortForm {
    #[serde(default)]
    nombre: String,
    #[serde(default)]
    inicio: String,
    #[serde(default)]
    fin: String,
    #[serde(default)]
    cierre: String,
}

pub async fn add_cohort(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<CohortForm>) -> PageResult {
    let (Some(start), Some(end)) = (opt_date(&f.inicio), opt_date(&f.fin)) else {
        return show_error(&state, &ctx, id, "indique las fechas de inicio y fin del grupo".into()).await;
    };
    match state.store.create_course_cohort(&ctx.actor(), id, &f.nombre, start, end, opt_date(&f.cierre)).await {
        Ok(_) => see_other(&format!("/cursos/{id}"), "creada"),
        Err(e @ (violeta_store::StoreError::Invalid(_) | violeta_store::StoreError::Conflict(_))) => show_error(&state, &ctx, id, e.to_string()).await,
        Err(e) => Err(e.into()),
    }
}

/// Bulk enrolment from a people list: all or nothing, with the report on the page.
pub async fn enrol_file(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, multipart: Multipart) -> PageResult {
    let up = Upload::read(multipart, &ctx).await?;
    let cohort = up.field("grupo").as_deref().and_then(opt_i64);
    let outcome = violeta_app::learning::enrol_file(&state.store, &ctx.actor(), id, cohort, &up.file_name, &up.bytes).await;
    let mut page = show_page(&state, &ctx, id).await?;
    match outcome {
        Ok((r, skipped)) => {
            page.result = Some(format!(
                "Inscripción terminada: {} personas inscritas, {} ya lo estaban, {} registros nuevos de personas{}.",
                thousands(r.enrolled as i64),
                thousands(r.already as i64),
                thousands(r.people_created as i64),
                if skipped.is_empty() { String::new() } else { format!("; se omitieron {} filas que no son personas (totales, firmas)", skipped.len()) }
            ));
            render(&page)
        }
        Err(report) => {
            page.report = Some(report);
            render_invalid(&page)
        }
    }
}

/// Completions from a Moodle course-completion report.
pub async fn import_moodle(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, multipart: Multipart) -> PageResult {
    let up = Upload::read(multipart, &ctx).await?;
    let outcome = violeta_app::learning::import_moodle(&state.store, &ctx.actor(), id, &up.file_name, &up.bytes).await;
    let mut page = show_page(&state, &ctx, id).await?;
    match outcome {
        Ok(m) => {
            page.result = Some(format!(
                "Historial de Moodle importado: {} conclusiones registradas, {} ya estaban inscritas, {} personas nuevas en el registro; {} filas omitidas porque la persona no concluyó el curso en Moodle.",
                thousands(m.result.enrolled as i64),
                thousands(m.result.already as i64),
                thousands(m.result.people_created as i64),
                m.skipped.len()
            ));
            render(&page)
        }
        Err(report) => {
            page.report = Some(report);
            render_invalid(&page)
        }
    }
}

// ----- constancias and the archive -----

pub async fn issue(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>) -> PageResult {
    let master = state.config.credential_key.as_ref().ok_or_else(|| AppError::Conflict("Este servidor no puede firmar constancias: falta configurar VIOLETA_SECRET_KEY.".into()))?;
    let base = super::constancias::base_url(&state, &headers);
    let folios = state.store.issue_course_credentials(&ctx.actor(), id, Signing { master, base_url: &base }).await?;
    let mut page = show_page(&state, &ctx, id).await?;
    page.result = Some(format!("Se emitieron {} constancias.", folios.len()));
    render(&page)
}

#[derive(Deserialize, Default)]
pub struct CohortQuery {
    grupo: Option<String>,
}

/// Every constancia of the course (or of one cohort) in one ZIP of PDFs.
pub async fn constancias_zip(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<i64>, Query(q): Query<CohortQuery>) -> PageResult {
    let course = state.store.course(id).await?;
    let records = state.store.course_credentials(id, q.grupo.as_deref().and_then(opt_i64)).await?;
    let base = super::constancias::base_url(&state, &headers);
    let bytes = tokio::task::spawn_blocking(move || violeta_app::learning::constancias_zip(&records, &base))
        .await
        .map_err(|e| AppError::Internal(format!("zip: {e}")))?
        .map_err(AppError::Internal)?;
    let name = format!("attachment; filename=\"constancias-{}-v{}.zip\"", course.code.to_lowercase(), course.version);
    Ok(([(header::CONTENT_TYPE, "application/zip".to_string()), (header::CONTENT_DISPOSITION, name)], bytes).into_response())
}

pub async fn export(State(state): State<AppState>, Path(id): Path<i64>) -> PageResult {
    let (name, bytes) = violeta_app::learning::export_archive(&state.store, id).await?;
    Ok(([(header::CONTENT_TYPE, "application/zip".to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))], bytes).into_response())
}

// ----- reports -----

#[derive(Deserialize, Default, Clone)]
pub struct ReportQuery {
    #[serde(default)]
    por: String,
    #[serde(default)]
    curso: String,
    #[serde(default)]
    desde: String,
    #[serde(default)]
    hasta: String,
}

impl ReportQuery {
    fn dimension(&self) -> Dimension {
        Dimension::parse(&self.por).unwrap_or(Dimension::Curso)
    }
    fn filter(&self) -> ReportFilter {
        ReportFilter { course_id: opt_i64(&self.curso), from: opt_date(&self.desde), to: opt_date(&self.hasta) }
    }
    fn query_string(&self) -> String {
        serde_urlencoded::to_string([("por", self.dimension().code()), ("curso", &self.curso), ("desde", &self.desde), ("hasta", &self.hasta)]).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "courses/report.html")]
struct ReportPage {
    l: Layout,
    q: ReportQuery,
    courses: Vec<Course>,
    rows: Vec<ReportRow>,
    total_enrolled: i64,
    total_completed: i64,
    can_drill: bool,
}

impl ReportPage {
    fn dimensions(&self) -> [Dimension; 6] {
        Dimension::ALL
    }
    fn label(&self, r: &ReportRow) -> String {
        if self.q.dimension() == Dimension::Sexo {
            violeta_domain::person::Sex::from_code(&r.label).map(|s| s.label().to_string()).unwrap_or_else(|| r.label.clone())
        } else {
            r.label.clone()
        }
    }
    fn drill(&self, r: &ReportRow, completed: bool) -> String {
        format!("/cursos/reportes/personas?{}&clave={}&concluidas={}", self.q.query_string(), crate::layout::urlencode(&r.key), completed)
    }
    fn rate(&self, r: &ReportRow) -> String {
        format!("{:.1}", r.rate())
    }
}

async fn report_rows(state: &AppState, q: &ReportQuery) -> Result<Vec<ReportRow>, AppError> {
    Ok(state.store.completion_report(q.dimension(), &q.filter()).await?)
}

pub async fn report(State(state): State<AppState>, ctx: Ctx, Query(q): Query<ReportQuery>) -> PageResult {
    let rows = report_rows(&state, &q).await?;
    render(&ReportPage {
        l: Layout::new(&ctx, &state, "Reporte de cursos"),
        courses: state.store.courses(None).await?,
        total_enrolled: rows.iter().map(|r| r.enrolled).sum(),
        total_completed: rows.iter().map(|r| r.completed).sum(),
        rows,
        can_drill: ctx.can(Permission::ManagePeople),
        q,
    })
}

pub async fn report_csv(State(state): State<AppState>, Query(q): Query<ReportQuery>) -> PageResult {
    let rows = report_rows(&state, &q).await?;
    let body = violeta_app::learning::report_csv(q.dimension().label(), &rows);
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"reporte-cursos.csv\"")], body).into_response())
}

pub async fn report_xlsx(State(state): State<AppState>, Query(q): Query<ReportQuery>) -> PageResult {
    let rows = report_rows(&state, &q).await?;
    let body = violeta_app::learning::report_xlsx("Inscripciones y conclusiones de cursos", q.dimension().label(), &rows).map_err(AppError::Internal)?;
    Ok((
        [(header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (header::CONTENT_DISPOSITION, "attachment; filename=\"reporte-cursos.xlsx\"")],
        body,
    )
        .into_response())
}

#[derive(Deserialize, Default)]
pub struct DrillQuery {
    #[serde(flatten)]
    q: ReportQuery,
    #[serde(default)]
    clave: String,
    #[serde(default)]
    concluidas: String,
}

#[derive(Template)]
#[template(path = "courses/people.html")]
struct PeoplePage {
    l: Layout,
    what: String,
    people: Vec<ReportPerson>,
    back: String,
}

impl PeoplePage {
    fn day(&self, d: Option<&chrono::DateTime<chrono::Utc>>) -> String {
        d.copied().map(|d| crate::layout::date(&violeta_domain::hours::mexico_city_date(d))).unwrap_or_default()
    }
}

/// The people behind one figure of the report (roles that may see the registry's people).
pub async fn report_people(State(state): State<AppState>, ctx: Ctx, Query(d): Query<DrillQuery>) -> PageResult {
    let completed = d.concluidas == "true";
    let people = state.store.report_people(d.q.dimension(), &d.clave, completed, &d.q.filter(), 2000).await?;
    let what = format!("{} — {}: {}", if completed { "Conclusiones" } else { "Inscripciones" }, d.q.dimension().label(), if d.clave.is_empty() { "sin dato" } else { &d.clave });
    render(&PeoplePage { l: Layout::new(&ctx, &state, "Personas del reporte"), what, people, back: format!("/cursos/reportes?{}", d.q.query_string()) })
}
