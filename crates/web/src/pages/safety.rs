//! Staff pages for rapid-reaction units, espacios seguros and their verification visits, and
//! the AVGM coverage table with its exports.

use super::{Notice, Upload, render, render_invalid, see_other};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, PageResult};
use crate::layout::{Layout, date, thousands};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use serde::Deserialize;
use violeta_app::ImportReport;
use violeta_app::coverage::CoverageLine;
use violeta_app::safe_spaces::SafeSpaceInput;
use violeta_domain::access::Permission;
use violeta_domain::hours::{OpeningHours, mexico_city_now};
use violeta_domain::safety::{SafeSpaceKind, SafeSpaceStatus, UnitStatus, VisitResult};
use violeta_domain::territory::StateKey;
use violeta_store::audit::Event;
use violeta_store::safety::{NewUnit, PlaceFilter, SafeSpace, Unit, UnitChange, UnitMember, Visit};
use violeta_store::territory::State as StateRow;

#[derive(Deserialize, Default)]
pub struct PlaceQuery {
    entidad: Option<String>,
    municipio: Option<String>,
    aviso: Option<String>,
}

impl PlaceQuery {
    fn filter(&self) -> PlaceFilter {
        PlaceFilter {
            cve_ent: self.entidad.clone().filter(|s| !s.is_empty()),
            region_id: None,
            cvegeo: self.municipio.clone().filter(|s| !s.is_empty()),
        }
    }
}

fn parse_date_field(s: &str, what: &str) -> Result<Option<NaiveDate>, String> {
    match s.trim() {
        "" => Ok(None),
        t => violeta_app::avgm::parse_date(t).map(Some).ok_or_else(|| format!("la {what} «{t}» no es una fecha válida")),
    }
}

// ----- units -----

#[derive(Template)]
#[template(path = "safety/units.html")]
struct UnitsPage {
    l: Layout,
    units: Vec<Unit>,
    states: Vec<StateRow>,
    entidad: String,
    can_edit: bool,
}

pub async fn units(State(state): State<AppState>, ctx: Ctx, Query(q): Query<PlaceQuery>) -> PageResult {
    render(&UnitsPage {
        l: Layout::new(&ctx, &state, "Unidades de reacción inmediata").with_notice(q.aviso.as_deref()),
        units: state.store.units(&q.filter()).await?,
        states: state.store.states().await?,
        entidad: q.entidad.clone().unwrap_or_default(),
        can_edit: ctx.can(Permission::EditRegistry),
    })
}

#[derive(Template)]
#[template(path = "safety/unit_form.html")]
struct UnitForm {
    l: Layout,
    f: UnitInput,
    states: Vec<StateRow>,
    statuses: &'static [UnitStatus],
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct UnitInput {
    #[serde(default)]
    state: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    municipality: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    activated_on: String,
    #[serde(default)]
    agreement: String,
    #[serde(default)]
    contact_line: String,
    #[serde(default)]
    notes: String,
}

pub async fn new_unit(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    render(&UnitForm {
        l: Layout::new(&ctx, &state, "Nueva unidad de reacción"),
        f: UnitInput::default(),
        states: state.store.states().await?,
        statuses: UnitStatus::ALL,
        error: None,
    })
}

pub async fn create_unit(State(state): State<AppState>, ctx: Ctx, Form(f): Form<UnitInput>) -> PageResult {
    let parsed: Result<NewUnit, String> = async {
        let st = StateKey::parse(&f.state).map_err(|_| "elija la entidad".to_string())?;
        let municipality = state
            .store
            .find_municipality(&st, &f.municipality)
            .await
            .map_err(|e| AppError::from(e).to_string())?
            .ok_or_else(|| format!("no existe el municipio «{}» en la entidad", f.municipality.trim()))?;
        Ok(NewUnit {
            state: st,
            name: f.name.clone(),
            municipality,
            status: UnitStatus::parse(&f.status).ok_or("elija el estado de la unidad")?,
            activated_on: parse_date_field(&f.activated_on, "fecha de activación")?,
            agreement: f.agreement.clone(),
            contact_line: f.contact_line.clone(),
            notes: f.notes.clone(),
        })
    }
    .await;
    let outcome = match parsed {
        Ok(u) => state.store.create_unit(&ctx.actor(), &u).await.map_err(|e| AppError::from(e).to_string()),
        Err(m) => Err(m),
    };
    match outcome {
        Ok(id) => see_other(&format!("/unidades/{id}"), "creada"),
        Err(message) => render_invalid(&UnitForm {
            l: Layout::new(&ctx, &state, "Nueva unidad de reacción"),
            f,
            states: state.store.states().await?,
            statuses: UnitStatus::ALL,
            error: Some(message),
        }),
    }
}

#[derive(Template)]
#[template(path = "safety/unit.html")]
struct UnitPage {
    l: Layout,
    u: Unit,
    changes: Vec<UnitChange>,
    members: Vec<UnitMember>,
    /// (person id, protocol) from training records.
    protocols: Vec<(i64, String)>,
    statuses: &'static [UnitStatus],
    can_edit: bool,
}

impl UnitPage {
    fn status_label(&self, code: &str) -> &'static str {
        UnitStatus::parse(code).map(|s| s.label()).unwrap_or("")
    }
    fn trained_in(&self, m: &UnitMember) -> String {
        let list: Vec<&str> = self.protocols.iter().filter(|(id, _)| *id == m.person_id).map(|(_, p)| p.as_str()).collect();
        if list.is_empty() { "Sin capacitación registrada".into() } else { list.join(", ") }
    }
    fn corps_label(&self, m: &UnitMember) -> &'static str {
        m.corps.as_deref().and_then(violeta_domain::person::Corps::parse).map(|c| c.label()).unwrap_or("")
    }
}

pub async fn unit(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(n): Query<Notice>) -> PageResult {
    let (u, changes, members) = state.store.unit(id).await?;
    let ids: Vec<i64> = members.iter().map(|m| m.person_id).collect();
    let protocols = state.store.protocols_of(&ids).await?;
    render(&UnitPage {
        protocols,
        l: Layout::new(&ctx, &state, u.name.clone()).with_notice(n.aviso.as_deref()),
        u,
        changes,
        members,
        statuses: UnitStatus::ALL,
        can_edit: ctx.can(Permission::EditRegistry),
    })
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    note: String,
}

pub async fn unit_status(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<StatusForm>) -> PageResult {
    let status = UnitStatus::parse(&f.status).ok_or_else(|| AppError::BadRequest("elija un estado".into()))?;
    let on = parse_date_field(&f.on, "fecha").map_err(AppError::BadRequest)?.unwrap_or_else(|| mexico_city_now().date());
    state.store.change_unit_status(&ctx.actor(), id, status, on, &f.note).await?;
    see_other(&format!("/unidades/{id}"), "guardado")
}

#[derive(Deserialize)]
pub struct MemberForm {
    curp: String,
    #[serde(default)]
    rank: String,
}

pub async fn add_member(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<MemberForm>) -> PageResult {
    let curp = violeta_domain::Curp::parse(&f.curp).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let person = state
        .store
        .person_by_curp(ctx.principal.people_scope(), curp.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no hay nadie registrado con la CURP {curp}; regístrela primero en Personas")))?;
    state.store.add_unit_member(&ctx.actor(), id, person.id, &f.rank, Some(mexico_city_now().date())).await?;
    see_other(&format!("/unidades/{id}"), "guardado")
}

// ----- espacios seguros -----

#[derive(Template)]
#[template(path = "safety/spaces.html")]
struct SpacesPage {
    l: Layout,
    spaces: Vec<SafeSpace>,
    states: Vec<StateRow>,
    entidad: String,
    can_edit: bool,
    report: Option<ImportReport>,
}

impl SpacesPage {
    fn kind(&self, s: &SafeSpace) -> &'static str {
        SafeSpaceKind::parse(&s.kind).map(|k| k.label()).unwrap_or("")
    }
    fn status(&self, s: &SafeSpace) -> &'static str {
        SafeSpaceStatus::parse(&s.status).map(|k| k.label()).unwrap_or("")
    }
    fn next_visit(&self, s: &SafeSpace) -> String {
        s.next_visit.as_ref().map(date).unwrap_or_else(|| "—".into())
    }
    fn overdue(&self, s: &SafeSpace) -> bool {
        s.next_visit.is_some_and(|d| d < mexico_city_now().date())
    }
}

pub async fn spaces(State(state): State<AppState>, ctx: Ctx, Query(q): Query<PlaceQuery>) -> PageResult {
    render(&SpacesPage {
        l: Layout::new(&ctx, &state, "Espacios seguros").with_notice(q.aviso.as_deref()),
        spaces: state.store.safe_spaces(&q.filter()).await?,
        states: state.store.states().await?,
        entidad: q.entidad.clone().unwrap_or_default(),
        can_edit: ctx.can(Permission::EditRegistry),
        report: None,
    })
}

pub async fn import_spaces(State(state): State<AppState>, ctx: Ctx, multipart: Multipart) -> PageResult {
    let upload = Upload::read(multipart, &ctx).await?;
    match violeta_app::safe_spaces::import(&state.store, &ctx.actor(), &upload.file_name, &upload.bytes).await {
        Ok(_) => see_other("/espacios", "importado"),
        Err(report) => render_invalid(&SpacesPage {
            l: Layout::new(&ctx, &state, "Espacios seguros"),
            spaces: state.store.safe_spaces(&PlaceFilter::default()).await?,
            states: state.store.states().await?,
            entidad: String::new(),
            can_edit: true,
            report: Some(report),
        }),
    }
}

#[derive(Template)]
#[template(path = "safety/space_form.html")]
struct SpaceForm {
    l: Layout,
    f: SafeSpaceInput,
    states: Vec<StateRow>,
    kinds: &'static [SafeSpaceKind],
    problems: Vec<(&'static str, String)>,
    far: bool,
}

pub async fn new_space(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    render(&SpaceForm {
        l: Layout::new(&ctx, &state, "Nuevo espacio seguro"),
        f: SafeSpaceInput::default(),
        states: state.store.states().await?,
        kinds: SafeSpaceKind::ALL,
        problems: vec![],
        far: false,
    })
}

/// The form sends `confirm_far=1` from a checkbox.
#[derive(Deserialize)]
pub struct SpaceFormData {
    #[serde(flatten)]
    input: SafeSpaceInputForm,
    #[serde(default)]
    confirm: String,
}

#[derive(Deserialize)]
pub struct SafeSpaceInputForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    municipality: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    installed_on: String,
}

pub async fn create_space(State(state): State<AppState>, ctx: Ctx, Form(data): Form<SpaceFormData>) -> PageResult {
    let i = data.input;
    let input = SafeSpaceInput {
        name: i.name,
        kind: i.kind,
        address: i.address,
        municipality: i.municipality,
        state: i.state,
        lat: i.lat,
        lon: i.lon,
        hours: i.hours,
        contact_name: i.contact_name,
        contact_phone: i.contact_phone,
        notes: i.notes,
        installed_on: i.installed_on,
        status: String::new(),
        confirm_far: data.confirm == "1",
    };
    match violeta_app::safe_spaces::check(&state.store, &input).await? {
        Ok(new) => {
            let id = state.store.create_safe_space(&ctx.actor(), &new).await?;
            see_other(&format!("/espacios/{id}"), "creada")
        }
        Err(problems) => {
            let far = problems.iter().any(|(_, m)| m.contains("km de la cabecera"));
            render_invalid(&SpaceForm {
                l: Layout::new(&ctx, &state, "Nuevo espacio seguro"),
                f: input,
                states: state.store.states().await?,
                kinds: SafeSpaceKind::ALL,
                problems,
                far,
            })
        }
    }
}

#[derive(Template)]
#[template(path = "safety/space.html")]
struct SpacePage {
    l: Layout,
    s: SafeSpace,
    visits: Vec<Visit>,
    open_now: bool,
    show_contact: bool,
    can_contact: bool,
    can_edit: bool,
    statuses: &'static [SafeSpaceStatus],
    results: &'static [VisitResult],
}

impl SpacePage {
    fn kind(&self) -> &'static str {
        SafeSpaceKind::parse(&self.s.kind).map(|k| k.label()).unwrap_or("")
    }
    fn status(&self) -> &'static str {
        SafeSpaceStatus::parse(&self.s.status).map(|k| k.label()).unwrap_or("")
    }
    fn result(&self, v: &Visit) -> &'static str {
        v.result.as_deref().and_then(VisitResult::parse).map(|r| r.label()).unwrap_or("Pendiente")
    }
    fn day(&self, d: &Option<NaiveDate>) -> String {
        d.as_ref().map(date).unwrap_or_else(|| "—".into())
    }
}

async fn space_page(state: &AppState, ctx: &Ctx, id: i64, notice: Option<&str>, show_contact: bool) -> PageResult {
    let s = state.store.safe_space(id).await?;
    let open_now = OpeningHours::parse(&s.opening_hours).map(|h| h.is_open(mexico_city_now())).unwrap_or(false);
    render(&SpacePage {
        l: Layout::new(ctx, state, s.name.clone()).with_notice(notice),
        visits: state.store.visits(id).await?,
        s,
        open_now,
        show_contact,
        can_contact: ctx.can(Permission::ViewPersonalData) && ctx.principal.people_scope() == violeta_domain::access::PeopleScope::All,
        can_edit: ctx.can(Permission::EditRegistry),
        statuses: SafeSpaceStatus::ALL,
        results: VisitResult::ALL,
    })
}

pub async fn space(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(n): Query<Notice>) -> PageResult {
    space_page(&state, &ctx, id, n.aviso.as_deref(), false).await
}

/// The trained contact person is personal data: shown on request, and the read is audited.
pub async fn space_contact(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    // The contact person belongs to no institution of the requester: only registry-wide
    // roles may read it (an enlace sees only its own institution's people).
    if ctx.principal.people_scope() != violeta_domain::access::PeopleScope::All {
        return Err(AppError::Forbidden);
    }
    state.store.safe_space(id).await?;
    state.store.record(&ctx.actor(), Event::new("espacio.leer_contacto", "espacio_seguro", id)).await?;
    space_page(&state, &ctx, id, None, true).await
}

#[derive(Deserialize)]
pub struct SpaceStatusForm {
    status: String,
}

pub async fn space_status(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<SpaceStatusForm>) -> PageResult {
    let status = SafeSpaceStatus::parse(&f.status).ok_or_else(|| AppError::BadRequest("elija un estado".into()))?;
    state.store.set_safe_space_status(&ctx.actor(), id, status).await?;
    see_other(&format!("/espacios/{id}"), "guardado")
}

#[derive(Deserialize)]
pub struct ScheduleForm {
    on: String,
}

pub async fn schedule_visit(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<ScheduleForm>) -> PageResult {
    let on = parse_date_field(&f.on, "fecha de la visita")
        .map_err(AppError::BadRequest)?
        .ok_or_else(|| AppError::BadRequest("indique la fecha de la visita".into()))?;
    state.store.schedule_visit(&ctx.actor(), id, on).await?;
    see_other(&format!("/espacios/{id}"), "guardado")
}

#[derive(Deserialize)]
pub struct VisitForm {
    visited_on: String,
    result: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    next_due: String,
}

pub async fn record_visit(State(state): State<AppState>, ctx: Ctx, Path(visit_id): Path<i64>, Form(f): Form<VisitForm>) -> PageResult {
    let visited_on = parse_date_field(&f.visited_on, "fecha de la visita")
        .map_err(AppError::BadRequest)?
        .ok_or_else(|| AppError::BadRequest("indique la fecha en que se hizo la visita".into()))?;
    let result = VisitResult::parse(&f.result).ok_or_else(|| AppError::BadRequest("elija el resultado de la visita".into()))?;
    let next_due = parse_date_field(&f.next_due, "fecha de la próxima visita").map_err(AppError::BadRequest)?;
    state.store.record_visit(&ctx.actor(), visit_id, visited_on, result, &f.notes, next_due).await?;
    see_other("/espacios/visitas-vencidas", "guardado")
}

#[derive(Template)]
#[template(path = "safety/overdue.html")]
struct OverduePage {
    l: Layout,
    visits: Vec<Visit>,
    results: &'static [VisitResult],
    can_edit: bool,
}

pub async fn overdue(State(state): State<AppState>, ctx: Ctx, Query(n): Query<Notice>) -> PageResult {
    render(&OverduePage {
        l: Layout::new(&ctx, &state, "Visitas de verificación vencidas").with_notice(n.aviso.as_deref()),
        visits: state.store.overdue_visits(mexico_city_now().date()).await?,
        results: VisitResult::ALL,
        can_edit: ctx.can(Permission::EditRegistry),
    })
}

// ----- coverage -----

#[derive(Template)]
#[template(path = "safety/coverage.html")]
struct CoveragePage {
    l: Layout,
    id: i64,
    title: String,
    lines: Vec<CoverageLine>,
    with_gaps: usize,
    map_json: String,
}

impl CoveragePage {
    fn trained(&self, l: &CoverageLine) -> String {
        violeta_app::coverage::trained_text(l)
    }
    fn rate(&self, l: &CoverageLine) -> String {
        l.spaces_per_10k.map(|r| format!("{r:.2}")).unwrap_or_else(|| "—".into())
    }
}

async fn coverage_lines(state: &AppState, id: i64) -> Result<Vec<CoverageLine>, AppError> {
    let rows = state.store.coverage(id).await?;
    let keys: Vec<String> = rows.iter().map(|r| r.cvegeo.clone()).collect();
    let trained = state.store.trained_police(&keys).await?;
    Ok(violeta_app::coverage::lines(rows, &trained))
}

pub async fn coverage(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let (d, _, _) = state.store.declaration(id).await?;
    let lines = coverage_lines(&state, id).await?;
    let with_gaps = lines.iter().filter(|l| !l.gaps.is_empty()).count();
    // Escaped for a <script type="application/json"> block: no "</" can close it.
    let map_json = serde_json::to_string(&lines).unwrap_or_default().replace("</", "<\\/");
    render(&CoveragePage { l: Layout::new(&ctx, &state, format!("Cobertura: {}", d.title)), id, title: d.title, lines, with_gaps, map_json })
}

pub async fn coverage_csv(State(state): State<AppState>, Path(id): Path<i64>) -> PageResult {
    state.store.declaration(id).await?;
    let lines = coverage_lines(&state, id).await?;
    let body = violeta_app::coverage::to_csv(&lines);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, &format!("attachment; filename=\"cobertura-avgm-{id}.csv\""))],
        body,
    )
        .into_response())
}

pub async fn coverage_xlsx(State(state): State<AppState>, Path(id): Path<i64>) -> PageResult {
    let (d, _, _) = state.store.declaration(id).await?;
    let lines = coverage_lines(&state, id).await?;
    let body = violeta_app::coverage::to_xlsx(&format!("Cobertura — {}", d.title), &lines).map_err(AppError::Internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (header::CONTENT_DISPOSITION, &format!("attachment; filename=\"cobertura-avgm-{id}.xlsx\"")),
        ],
        body,
    )
        .into_response())
}

pub fn women(n: &i64) -> String {
    thousands(*n)
}
