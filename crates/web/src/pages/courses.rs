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
use violeta_domain::learning::{CompletionRule, CourseInfo, CourseStatus, ItemDraft, QuestionDraft, QuestionKind, QuizSettings, parse_hours};
use violeta_store::credentials::Signing;
use violeta_store::learning::{Cohort, Content, Course, Dimension, Item, Question, ReportFilter, ReportPerson, ReportRow};
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
    error: Option<String>,
    q: QuestionForm,
}

impl ItemPage {
    fn kind_selected(&self, code: &str) -> bool {
        self.q.tipo == code
    }
    fn kinds(&self) -> &'static [QuestionKind] {
        QuestionKind::ALL
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

async fn item_page(state: &AppState, ctx: &Ctx, course_id: i64, item_id: i64, error: Option<String>, q: QuestionForm) -> Result<ItemPage, AppError> {
    let course = state.store.course(course_id).await?;
    let item = state.store.course_content(course_id).await?.item(item_id).cloned().ok_or_else(|| AppError::NotFound("ese elemento no es de este curso".into()))?;
    let questions = if item.is_quiz() { state.store.questions(item_id).await? } else { Vec::new() };
    Ok(ItemPage { l: Layout::new(ctx, state, item.title.clone()), course, item, questions, error, q })
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
    let kind = QuestionKind::parse(&f.tipo).unwrap_or(QuestionKind::Unica);
    let result = match QuestionDraft::from_form(kind, &f.enunciado, &f.opciones, &f.retroalimentacion) {
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
        d.map(|d| *d).map(|d| crate::layout::date(&violeta_domain::hours::mexico_city_date(d))).unwrap_or_default()
    }
}

/// The people behind one figure of the report (roles that may see the registry's people).
pub async fn report_people(State(state): State<AppState>, ctx: Ctx, Query(d): Query<DrillQuery>) -> PageResult {
    let completed = d.concluidas == "true";
    let people = state.store.report_people(d.q.dimension(), &d.clave, completed, &d.q.filter(), 2000).await?;
    let what = format!("{} — {}: {}", if completed { "Conclusiones" } else { "Inscripciones" }, d.q.dimension().label(), if d.clave.is_empty() { "sin dato" } else { &d.clave });
    render(&PeoplePage { l: Layout::new(&ctx, &state, "Personas del reporte"), what, people, back: format!("/cursos/reportes?{}", d.q.query_string()) })
}
