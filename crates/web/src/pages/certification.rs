//! Competency certification in CONOCER standards: the catalogue with its counts and the
//! renewals due, each standard with its cohorts and candidates, and each candidate's process
//! with its history and next step. Violeta records official certificates; it never issues
//! them. Candidates are people: every read is narrowed to the principal's people scope.

use super::{Upload, render, see_other};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, PageResult};
use crate::layout::{Layout, date};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use violeta_app::ImportReport;
use violeta_domain::access::{Permission, Role};
use violeta_domain::certification::{Certificate, Evaluation, Outcome, RENEWAL_WINDOW_DAYS, Stage, StandardInput, Validity};
use violeta_domain::hours::mexico_city_now;
use violeta_store::certification::{
    Cohort, InstitutionCount, NewCohort, NewProcess, Period, Process, ProcessEvent, ProcessFilter, Renewal, Standard, StandardCount, Step,
};
use violeta_store::institutions::Institution;
use violeta_store::training::Training;

fn parse_date_field(s: &str, what: &str) -> Result<Option<NaiveDate>, String> {
    match s.trim() {
        "" => Ok(None),
        t => violeta_app::avgm::parse_date(t).map(Some).ok_or_else(|| format!("la {what} «{t}» no es una fecha válida")),
    }
}

fn parse_id(s: &str, what: &str) -> Result<Option<i64>, AppError> {
    match s.trim() {
        "" => Ok(None),
        t => t.parse().map(Some).map_err(|_| AppError::BadRequest(format!("{what} no válido"))),
    }
}

fn today() -> NaiveDate {
    mexico_city_now().date()
}

fn years(n: &Option<i64>) -> String {
    match n {
        Some(1) => "1 año".into(),
        Some(n) => format!("{n} años"),
        None => "Sin dato".into(),
    }
}

fn day(d: &Option<NaiveDate>) -> String {
    d.as_ref().map(date).unwrap_or_else(|| "—".into())
}

/// Renders a page with the status of a refused step (422 or 409), keeping the page around it.
fn render_status(status: StatusCode, t: &impl Template) -> PageResult {
    Ok((status, Html(t.render()?)).into_response())
}

// ----- the catalogue -----

#[derive(Deserialize, Default)]
pub struct IndexQuery {
    #[serde(default)]
    desde: String,
    #[serde(default)]
    hasta: String,
    aviso: Option<String>,
}

#[derive(Template)]
#[template(path = "certification/index.html")]
struct IndexPage {
    l: Layout,
    counts: Vec<StandardCount>,
    standards: Vec<Standard>,
    renewals: Vec<Renewal>,
    by_institution: Vec<InstitutionCount>,
    desde: String,
    hasta: String,
    window: i64,
    can_manage: bool,
    f: StandardInput,
    error: Option<String>,
    report: Option<ImportReport>,
}

impl IndexPage {
    fn standard(&self, id: &i64) -> Option<&Standard> {
        self.standards.iter().find(|s| s.id == *id)
    }
    fn level(&self, id: &i64) -> String {
        self.standard(id).and_then(|s| s.level).map(|n| n.to_string()).unwrap_or_else(|| "Sin dato".into())
    }
    fn validity(&self, id: &i64) -> String {
        years(&self.standard(id).and_then(|s| s.valid_years))
    }
    fn renewal_state(&self, r: &Renewal) -> &'static str {
        Validity::of(Some(r.expires_on), today()).label()
    }
    fn expired(&self, r: &Renewal) -> bool {
        Validity::of(Some(r.expires_on), today()) == Validity::Vencido
    }
    fn total_certified(&self) -> i64 {
        self.by_institution.iter().map(|r| r.certified_people).sum()
    }
}

async fn index_page(state: &AppState, ctx: &Ctx, q: &IndexQuery, f: StandardInput, error: Option<String>, report: Option<ImportReport>) -> Result<IndexPage, AppError> {
    let period = Period {
        from: parse_date_field(&q.desde, "fecha inicial").map_err(AppError::BadRequest)?,
        to: parse_date_field(&q.hasta, "fecha final").map_err(AppError::BadRequest)?,
    };
    let scope = ctx.principal.people_scope();
    Ok(IndexPage {
        l: Layout::new(ctx, state, "Certificación de competencias").with_notice(q.aviso.as_deref()),
        counts: state.store.certification_counts(scope, period).await?,
        standards: state.store.standards().await?,
        renewals: state.store.renewals_due(scope, today()).await?,
        by_institution: state.store.certified_by_institution(scope, None, period).await?,
        desde: q.desde.clone(),
        hasta: q.hasta.clone(),
        window: RENEWAL_WINDOW_DAYS,
        can_manage: ctx.can(Permission::ManageCertification),
        f,
        error,
        report,
    })
}

pub async fn index(State(state): State<AppState>, ctx: Ctx, Query(q): Query<IndexQuery>) -> PageResult {
    render(&index_page(&state, &ctx, &q, StandardInput::default(), None, None).await?)
}

pub async fn create_standard(State(state): State<AppState>, ctx: Ctx, Form(f): Form<StandardInput>) -> PageResult {
    let outcome = match f.validate() {
        Ok(d) => state.store.create_standard(&ctx.actor(), &d).await.map_err(AppError::from),
        Err(errors) => Err(AppError::BadRequest(errors.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("; "))),
    };
    match outcome {
        Ok(id) => see_other(&format!("/certificacion/estandares/{id}"), "creada"),
        Err(e @ (AppError::BadRequest(_) | AppError::Conflict(_))) => {
            let status = e.status();
            let page = index_page(&state, &ctx, &IndexQuery::default(), f, Some(e.to_string()), None).await?;
            render_status(status, &page)
        }
        Err(e) => Err(e),
    }
}

pub async fn import_standards(State(state): State<AppState>, ctx: Ctx, multipart: Multipart) -> PageResult {
    let upload = Upload::read(multipart, &ctx).await?;
    match violeta_app::certification::import_standards(&state.store, &ctx.actor(), &upload.file_name, &upload.bytes).await {
        Ok(_) => see_other("/certificacion", "importado"),
        Err(report) => {
            let page = index_page(&state, &ctx, &IndexQuery::default(), StandardInput::default(), None, Some(report)).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

// ----- one standard -----

#[derive(Deserialize, Default)]
pub struct StandardQuery {
    #[serde(default)]
    grupo: String,
    #[serde(default)]
    etapa: String,
    aviso: Option<String>,
}

#[derive(Template)]
#[template(path = "certification/standard.html")]
struct StandardPage {
    l: Layout,
    s: Standard,
    cohorts: Vec<Cohort>,
    processes: Vec<Process>,
    by_institution: Vec<InstitutionCount>,
    institutions: Vec<Institution>,
    stages: &'static [Stage],
    grupo: String,
    etapa: String,
    can_manage: bool,
    edit: StandardInput,
    error: Option<String>,
}

impl StandardPage {
    fn level(&self) -> String {
        self.s.level.map(|n| n.to_string()).unwrap_or_else(|| "Sin dato (consulte el Registro Nacional)".into())
    }
    fn validity(&self) -> String {
        match self.s.valid_years {
            Some(_) => years(&self.s.valid_years),
            None => "Sin dato: no se calcula vencimiento".into(),
        }
    }
    fn day(&self, d: &Option<NaiveDate>) -> String {
        day(d)
    }
}

async fn standard_page(state: &AppState, ctx: &Ctx, id: i64, q: &StandardQuery, edit: Option<StandardInput>, error: Option<String>) -> Result<StandardPage, AppError> {
    let s = state.store.standard(id).await?;
    let scope = ctx.principal.people_scope();
    let filter = ProcessFilter {
        standard_id: Some(id),
        cohort_id: parse_id(&q.grupo, "grupo")?,
        stage: match q.etapa.trim() {
            "" => None,
            t => Some(Stage::parse(t).ok_or_else(|| AppError::BadRequest(format!("etapa desconocida «{t}»")))?),
        },
        institution_id: None,
    };
    let edit = edit.unwrap_or_else(|| StandardInput {
        code: s.code.clone(),
        title: s.title.clone(),
        level: s.level.map(|n| n.to_string()).unwrap_or_default(),
        valid_years: s.valid_years.map(|n| n.to_string()).unwrap_or_default(),
        source: s.source.clone(),
        active: if s.active { "si".into() } else { "no".into() },
    });
    let can_manage = ctx.can(Permission::ManageCertification);
    Ok(StandardPage {
        l: Layout::new(ctx, state, format!("{} — {}", s.code, s.title)).with_notice(q.aviso.as_deref()),
        cohorts: state.store.cohorts(scope, Some(id)).await?,
        processes: state.store.processes(scope, &filter).await?,
        by_institution: state.store.certified_by_institution(scope, Some(id), Period::default()).await?,
        institutions: if can_manage { state.store.institutions(None).await? } else { Vec::new() },
        stages: Stage::ALL,
        grupo: q.grupo.clone(),
        etapa: q.etapa.clone(),
        can_manage,
        edit,
        error,
        s,
    })
}

pub async fn standard(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(q): Query<StandardQuery>) -> PageResult {
    render(&standard_page(&state, &ctx, id, &q, None, None).await?)
}

/// Shows the standard's page again with the refusal, for a form posted from it.
async fn standard_refused(state: &AppState, ctx: &Ctx, id: i64, edit: Option<StandardInput>, e: AppError) -> PageResult {
    match e {
        AppError::BadRequest(_) | AppError::Conflict(_) => {
            let page = standard_page(state, ctx, id, &StandardQuery::default(), edit, Some(e.to_string())).await?;
            render_status(e.status(), &page)
        }
        other => Err(other),
    }
}

pub async fn update_standard(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<StandardInput>) -> PageResult {
    let outcome = match f.validate() {
        Ok(d) => state.store.update_standard(&ctx.actor(), id, &d).await.map_err(AppError::from),
        Err(errors) => Err(AppError::BadRequest(errors.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("; "))),
    };
    match outcome {
        Ok(()) => see_other(&format!("/certificacion/estandares/{id}"), "guardado"),
        Err(e) => standard_refused(&state, &ctx, id, Some(f), e).await,
    }
}

/// The cohort form: `institution` repeats, one per institution chosen.
pub async fn create_cohort(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(fields): Form<Vec<(String, String)>>) -> PageResult {
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let parsed: Result<NewCohort, AppError> = (|| {
        let mut institution_ids = Vec::new();
        for (_, v) in fields.iter().filter(|(k, _)| k == "institution") {
            institution_ids.extend(parse_id(v, "institución")?);
        }
        Ok(NewCohort {
            standard_id: id,
            name: field("name"),
            starts_on: parse_date_field(&field("starts_on"), "fecha de inicio").map_err(AppError::BadRequest)?,
            ends_on: parse_date_field(&field("ends_on"), "fecha de término").map_err(AppError::BadRequest)?,
            institution_ids,
            notes: field("notes"),
        })
    })();
    let outcome = match parsed {
        Ok(c) => state.store.create_cohort(&ctx.actor(), &c).await.map_err(AppError::from),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(cohort) => see_other(&format!("/certificacion/estandares/{id}?grupo={cohort}"), "creada"),
        Err(e) => standard_refused(&state, &ctx, id, None, e).await,
    }
}

// ----- processes -----

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    estandar: String,
    #[serde(default)]
    grupo: String,
    #[serde(default)]
    etapa: String,
}

#[derive(Template)]
#[template(path = "certification/processes.html")]
struct ListPage {
    l: Layout,
    processes: Vec<Process>,
    standards: Vec<Standard>,
    cohorts: Vec<Cohort>,
    stages: &'static [Stage],
    estandar: String,
    grupo: String,
    etapa: String,
}

impl ListPage {
    fn day(&self, d: &Option<NaiveDate>) -> String {
        day(d)
    }
}

pub async fn processes(State(state): State<AppState>, ctx: Ctx, Query(q): Query<ListQuery>) -> PageResult {
    let scope = ctx.principal.people_scope();
    let filter = ProcessFilter {
        standard_id: parse_id(&q.estandar, "estándar")?,
        cohort_id: parse_id(&q.grupo, "grupo")?,
        stage: match q.etapa.trim() {
            "" => None,
            t => Some(Stage::parse(t).ok_or_else(|| AppError::BadRequest(format!("etapa desconocida «{t}»")))?),
        },
        institution_id: None,
    };
    render(&ListPage {
        l: Layout::new(&ctx, &state, "Procesos de certificación"),
        processes: state.store.processes(scope, &filter).await?,
        standards: state.store.standards().await?,
        cohorts: state.store.cohorts(scope, filter.standard_id).await?,
        stages: Stage::ALL,
        estandar: q.estandar,
        grupo: q.grupo,
        etapa: q.etapa,
    })
}

#[derive(Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    curp: String,
    #[serde(default)]
    standard_id: String,
    #[serde(default)]
    cohort_id: String,
    #[serde(default)]
    diagnosis_on: String,
    #[serde(default)]
    note: String,
}

/// Opens a process for a person of the registry, found by CURP within the principal's scope.
pub async fn open(State(state): State<AppState>, ctx: Ctx, Form(f): Form<OpenForm>) -> PageResult {
    let standard_id = parse_id(&f.standard_id, "estándar")?.ok_or_else(|| AppError::BadRequest("elija el estándar de competencia".into()))?;
    let attempt: Result<i64, AppError> = async {
        let curp = violeta_domain::Curp::parse(&f.curp).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let person = state
            .store
            .person_by_curp(ctx.principal.people_scope(), curp.as_str())
            .await?
            .ok_or_else(|| AppError::BadRequest(format!("no hay nadie registrado con la CURP {curp}; regístrela primero en Personas")))?;
        let new = NewProcess {
            person_id: person.id,
            standard_id,
            cohort_id: parse_id(&f.cohort_id, "grupo")?,
            diagnosis_on: parse_date_field(&f.diagnosis_on, "fecha del diagnóstico").map_err(AppError::BadRequest)?,
            note: f.note.clone(),
        };
        Ok(state.store.open_process(&ctx.actor(), &new).await?)
    }
    .await;
    match attempt {
        Ok(id) => see_other(&format!("/certificacion/procesos/{id}"), "creada"),
        Err(e) => standard_refused(&state, &ctx, standard_id, None, e).await,
    }
}

#[derive(Template)]
#[template(path = "certification/process.html")]
struct ProcessPage {
    l: Layout,
    p: Process,
    events: Vec<ProcessEvent>,
    trainings: Vec<Training>,
    stage: Stage,
    can_manage: bool,
    can_evaluate: bool,
    evaluator: String,
    error: Option<String>,
}

impl ProcessPage {
    fn day(&self, d: &Option<NaiveDate>) -> String {
        day(d)
    }
    fn validity(&self) -> &'static str {
        if self.p.certified_on.is_none() {
            return "";
        }
        Validity::of(self.p.expires_on, today()).label()
    }
    fn renewal_due(&self) -> bool {
        self.p.certified_on.is_some() && Validity::of(self.p.expires_on, today()).renewal_due()
    }
    fn awaiting_certificate(&self) -> bool {
        self.stage == Stage::Evaluacion && self.p.outcome() == Some(Outcome::Competente)
    }
    fn awaiting_evaluation(&self) -> bool {
        self.stage == Stage::Evaluacion && self.p.result.is_none()
    }
}

async fn process_page(state: &AppState, ctx: &Ctx, id: i64, error: Option<String>, notice: Option<&str>) -> Result<ProcessPage, AppError> {
    let scope = ctx.principal.people_scope();
    let p = state.store.process(scope, id).await?;
    let stage = p.stage().ok_or_else(|| AppError::Internal(format!("etapa desconocida {}", p.stage)))?;
    let can_manage = ctx.can(Permission::ManageCertification);
    Ok(ProcessPage {
        l: Layout::new(ctx, state, format!("{} — {}", p.person_name, p.standard_code)).with_notice(notice),
        events: state.store.process_events(scope, id).await?,
        trainings: if can_manage && matches!(stage, Stage::Diagnostico | Stage::TodaviaNoCompetente) { state.store.trainings(None).await? } else { Vec::new() },
        stage,
        can_manage,
        can_evaluate: ctx.can(Permission::RecordEvaluations),
        evaluator: if ctx.principal.has_role(Role::Evaluacion) { ctx.user.as_ref().map(|u| u.display_name.clone()).unwrap_or_default() } else { String::new() },
        error,
        p,
    })
}

#[derive(Deserialize, Default)]
pub struct ProcessQuery {
    aviso: Option<String>,
}

pub async fn process(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(q): Query<ProcessQuery>) -> PageResult {
    render(&process_page(&state, &ctx, id, None, q.aviso.as_deref()).await?)
}

/// After a step: back to the process, or the process again with the refusal (422, or 409
/// for a conflict such as a folio already registered).
async fn step_done(state: &AppState, ctx: &Ctx, id: i64, outcome: Result<(), AppError>) -> PageResult {
    match outcome {
        Ok(()) => see_other(&format!("/certificacion/procesos/{id}"), "guardado"),
        Err(e @ (AppError::BadRequest(_) | AppError::Conflict(_))) => {
            let status = e.status();
            render_status(status, &process_page(state, ctx, id, Some(e.to_string()), None).await?)
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct AdvanceForm {
    #[serde(default)]
    stage: String,
    #[serde(default)]
    alignment_session_id: String,
    #[serde(default)]
    alignment_note: String,
    #[serde(default)]
    note: String,
}

pub async fn advance(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<AdvanceForm>) -> PageResult {
    // Within scope, or "not found".
    state.store.process(ctx.principal.people_scope(), id).await?;
    let outcome = async {
        let to = Stage::parse(&f.stage).ok_or_else(|| AppError::BadRequest("elija la etapa a la que pasa el proceso".into()))?;
        let step = Step { alignment_session_id: parse_id(&f.alignment_session_id, "capacitación")?, alignment_note: f.alignment_note.clone(), note: f.note.clone() };
        Ok(state.store.advance_process(&ctx.actor(), id, to, &step).await?)
    }
    .await;
    step_done(&state, &ctx, id, outcome).await
}

#[derive(Deserialize)]
pub struct EvaluationForm {
    #[serde(default)]
    evaluator_name: String,
    #[serde(default)]
    evaluated_on: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    portfolio: String,
    #[serde(default)]
    note: String,
}

/// An evaluator with an account records as themselves; coordination transcribes the name
/// of an evaluator from outside.
pub async fn record_evaluation(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<EvaluationForm>) -> PageResult {
    state.store.process(ctx.principal.people_scope(), id).await?;
    let outcome = async {
        let own = ctx.principal.has_role(Role::Evaluacion);
        let evaluator_name = match (f.evaluator_name.trim(), own) {
            ("", true) => ctx.user.as_ref().map(|u| u.display_name.clone()).unwrap_or_default(),
            (name, _) => name.to_string(),
        };
        let result = match f.result.trim() {
            "" => None,
            t => Some(Outcome::parse(t).ok_or_else(|| AppError::BadRequest(format!("resultado desconocido «{t}»")))?),
        };
        let evaluation = Evaluation {
            evaluator_user_id: if own { ctx.principal.user_id } else { None },
            evaluator_name,
            evaluated_on: parse_date_field(&f.evaluated_on, "fecha de evaluación").map_err(AppError::BadRequest)?,
            outcome: result,
            portfolio: f.portfolio.clone(),
        };
        Ok(state.store.record_evaluation(&ctx.actor(), id, &evaluation, &f.note).await?)
    }
    .await;
    step_done(&state, &ctx, id, outcome).await
}

#[derive(Deserialize)]
pub struct CertificateForm {
    #[serde(default)]
    folio: String,
    #[serde(default)]
    certified_on: String,
    #[serde(default)]
    certifying_entity: String,
    #[serde(default)]
    note: String,
}

pub async fn record_certificate(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<CertificateForm>) -> PageResult {
    state.store.process(ctx.principal.people_scope(), id).await?;
    let outcome = async {
        let certificate = Certificate {
            folio: f.folio.clone(),
            certified_on: parse_date_field(&f.certified_on, "fecha de certificación").map_err(AppError::BadRequest)?,
            certifying_entity: f.certifying_entity.clone(),
        };
        Ok(state.store.record_certificate(&ctx.actor(), id, &certificate, &f.note).await?)
    }
    .await;
    step_done(&state, &ctx, id, outcome).await
}
