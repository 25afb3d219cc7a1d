//! Territory pages: states, municipalities with their region and AVGM status, regions,
//! and AVGM declarations.

use super::{Notice, Upload, render, render_invalid, see_other};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, PageResult};
use crate::layout::{Layout, date, thousands};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use chrono::NaiveDate;
use serde::Deserialize;
use violeta_domain::access::Permission;
use violeta_domain::territory::{AvgmKind, MunicipalityKey, StateKey, rate_per_10k_women};
use violeta_store::territory::{Declaration, Measure, Municipality, MunicipalityFilter, NewDeclaration, Region, State as StateRow};

fn state_key(s: &str) -> Result<StateKey, AppError> {
    StateKey::parse(s).map_err(|e| AppError::NotFound(e.to_string()))
}

fn avgm_labels(m: &Municipality) -> Vec<&'static str> {
    m.avgm_kinds().into_iter().map(AvgmKind::label).collect()
}

#[derive(Template)]
#[template(path = "territory/states.html")]
struct StatesPage {
    l: Layout,
    states: Vec<(StateRow, usize)>,
}

pub async fn states(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let declarations = state.store.declarations(None).await?;
    let states = state
        .store
        .states()
        .await?
        .into_iter()
        .map(|s| {
            let n = declarations.iter().filter(|d| d.cve_ent == s.cve_ent).count();
            (s, n)
        })
        .collect();
    render(&StatesPage { l: Layout::new(&ctx, &state, "Territorio"), states })
}

#[derive(Template)]
#[template(path = "territory/state.html")]
struct StatePage {
    l: Layout,
    st: StateRow,
    municipalities: Vec<Municipality>,
    regions: Vec<Region>,
    q: String,
    region: Option<i64>,
    avgm_only: bool,
    can_edit: bool,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct StateQuery {
    q: Option<String>,
    region: Option<String>,
    avgm: Option<String>,
    aviso: Option<String>,
}

pub async fn state(State(app): State<AppState>, ctx: Ctx, Path(cve): Path<String>, Query(q): Query<StateQuery>) -> PageResult {
    state_page(&app, &ctx, &cve, q, None).await
}

async fn state_page(app: &AppState, ctx: &Ctx, cve: &str, q: StateQuery, error: Option<String>) -> PageResult {
    let key = state_key(cve)?;
    let st = app.store.state(&key).await?;
    let region = q.region.as_deref().and_then(|r| r.parse::<i64>().ok());
    let query = q.q.clone().filter(|s| !s.trim().is_empty());
    let avgm_only = q.avgm.as_deref() == Some("1");
    let municipalities = app
        .store
        .municipalities(&MunicipalityFilter { cve_ent: Some(key.to_string()), region_id: region, avgm_only, query: query.clone() })
        .await?;
    let page = StatePage {
        l: Layout::new(ctx, app, st.name.clone()).with_notice(q.aviso.as_deref()),
        regions: app.store.regions(&key).await?,
        st,
        municipalities,
        q: query.unwrap_or_default(),
        region,
        avgm_only,
        can_edit: ctx.can(Permission::EditRegistry),
        error: error.clone(),
    };
    if error.is_some() { render_invalid(&page) } else { render(&page) }
}

impl StatePage {
    fn selected(&self, id: &i64) -> bool {
        self.region == Some(*id)
    }
    fn avgm(&self, m: &Municipality) -> Vec<&'static str> {
        avgm_labels(m)
    }
}

#[derive(Template)]
#[template(path = "territory/municipality.html")]
struct MunicipalityPage {
    l: Layout,
    m: Municipality,
    declarations: Vec<Declaration>,
    institutions: Vec<violeta_store::institutions::Institution>,
}

pub async fn municipality(State(state): State<AppState>, ctx: Ctx, Path(cvegeo): Path<String>) -> PageResult {
    let key = MunicipalityKey::parse(&cvegeo).map_err(|e| AppError::NotFound(e.to_string()))?;
    let m = state.store.municipality(&key).await?;
    let mut declarations = Vec::new();
    for d in state.store.declarations(Some(&key.state())).await? {
        let (_, munis, _) = state.store.declaration(d.id).await?;
        if munis.iter().any(|x| x.cvegeo == m.cvegeo) {
            declarations.push(d);
        }
    }
    let institutions = state.store.institutions(None).await?.into_iter().filter(|i| i.cvegeo.as_deref() == Some(&m.cvegeo)).collect();
    render(&MunicipalityPage { l: Layout::new(&ctx, &state, m.name.clone()), m, declarations, institutions })
}

#[derive(Deserialize)]
pub struct RegionForm {
    name: String,
    #[serde(default)]
    aliases: String,
    #[serde(default)]
    source_note: String,
}

pub async fn create_region(State(app): State<AppState>, ctx: Ctx, Path(cve): Path<String>, Form(f): Form<RegionForm>) -> PageResult {
    let key = state_key(&cve)?;
    let aliases: Vec<String> = f.aliases.split(',').map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
    match app.store.create_region(&ctx.actor(), &key, &f.name, &aliases, &f.source_note).await {
        Ok(_) => see_other(&format!("/territorio/{key}"), "creada"),
        Err(e) => state_page(&app, &ctx, &cve, StateQuery::default(), Some(AppError::from(e).to_string())).await,
    }
}

/// Municipalities given as INEGI keys or names, one per line or separated by commas or
/// semicolons. Every unknown entry is reported; nothing is applied while one is unknown.
async fn resolve_municipalities(app: &AppState, state: &StateKey, text: &str) -> Result<Vec<MunicipalityKey>, String> {
    let mut keys = Vec::new();
    let mut unknown = Vec::new();
    for entry in text.split(['\n', ';', ',']).map(str::trim).filter(|e| !e.is_empty()) {
        match app.store.find_municipality(state, entry).await {
            Ok(Some(k)) => keys.push(k),
            _ => unknown.push(format!("«{entry}»")),
        }
    }
    if unknown.is_empty() {
        Ok(keys)
    } else {
        Err(format!("no se encontraron en la entidad estos municipios: {}", unknown.join(", ")))
    }
}

#[derive(Deserialize)]
pub struct MunicipalitiesForm {
    municipalities: String,
}

pub async fn assign_region(State(app): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<MunicipalitiesForm>) -> PageResult {
    let region = find_region(&app, id).await?;
    let key = state_key(&region.cve_ent)?;
    match resolve_municipalities(&app, &key, &f.municipalities).await {
        Ok(keys) => {
            app.store.assign_to_region(&ctx.actor(), id, &keys).await?;
            see_other(&format!("/territorio/{key}?region={id}"), "guardado")
        }
        Err(message) => state_page(&app, &ctx, &region.cve_ent, StateQuery::default(), Some(message)).await,
    }
}

pub async fn remove_from_region(State(app): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<MunicipalitiesForm>) -> PageResult {
    let region = find_region(&app, id).await?;
    let key = state_key(&region.cve_ent)?;
    match resolve_municipalities(&app, &key, &f.municipalities).await {
        Ok(keys) => {
            app.store.remove_from_region(&ctx.actor(), id, &keys).await?;
            see_other(&format!("/territorio/{key}?region={id}"), "guardado")
        }
        Err(message) => state_page(&app, &ctx, &region.cve_ent, StateQuery::default(), Some(message)).await,
    }
}

pub async fn update_region(State(app): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<RegionForm>) -> PageResult {
    let region = find_region(&app, id).await?;
    let aliases: Vec<String> = f.aliases.split(',').map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
    match app.store.update_region(&ctx.actor(), id, &f.name, &aliases, &f.source_note).await {
        Ok(()) => see_other(&format!("/territorio/{}", region.cve_ent), "guardado"),
        Err(e) => state_page(&app, &ctx, &region.cve_ent, StateQuery::default(), Some(AppError::from(e).to_string())).await,
    }
}

async fn find_region(app: &AppState, id: i64) -> Result<Region, AppError> {
    for st in app.store.states().await? {
        let key = state_key(&st.cve_ent)?;
        if let Some(r) = app.store.regions(&key).await?.into_iter().find(|r| r.id == id) {
            return Ok(r);
        }
    }
    Err(AppError::NotFound("no existe esa región".into()))
}

pub async fn import_regions(State(app): State<AppState>, ctx: Ctx, Path(cve): Path<String>, multipart: Multipart) -> PageResult {
    let key = state_key(&cve)?;
    let upload = Upload::read(multipart, &ctx).await?;
    let source_note = upload.field("source_note").unwrap_or_default();
    match violeta_app::regions::import(&app.store, &ctx.actor(), &key, &upload.file_name, &upload.bytes, &source_note).await {
        Ok(_) => see_other(&format!("/territorio/{key}"), "importado"),
        Err(report) => state_page(&app, &ctx, &cve, StateQuery::default(), Some(report.to_string())).await,
    }
}

// ----- AVGM declarations -----

#[derive(Template)]
#[template(path = "territory/declarations.html")]
struct DeclarationsPage {
    l: Layout,
    declarations: Vec<Declaration>,
    can_edit: bool,
    report: Option<violeta_app::ImportReport>,
}

impl DeclarationsPage {
    fn kind(&self, d: &Declaration) -> &'static str {
        AvgmKind::parse(&d.kind).map(AvgmKind::label).unwrap_or("")
    }
}

pub async fn declarations(State(state): State<AppState>, ctx: Ctx, Query(n): Query<Notice>) -> PageResult {
    render(&DeclarationsPage {
        l: Layout::new(&ctx, &state, "Declaratorias de AVGM").with_notice(n.aviso.as_deref()),
        declarations: state.store.declarations(None).await?,
        can_edit: ctx.can(Permission::EditRegistry),
        report: None,
    })
}

#[derive(Template)]
#[template(path = "territory/declaration.html")]
struct DeclarationPage {
    l: Layout,
    d: Declaration,
    kind: &'static str,
    municipalities: Vec<Municipality>,
    measures: Vec<Measure>,
    can_edit: bool,
    women: i64,
}

impl DeclarationPage {
    fn rate_note(&self) -> String {
        match rate_per_10k_women(self.municipalities.len() as u64, self.women as u64) {
            Some(_) => thousands(self.women),
            None => "—".into(),
        }
    }
}

pub async fn declaration(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(n): Query<Notice>) -> PageResult {
    let (d, municipalities, measures) = state.store.declaration(id).await?;
    let women = municipalities.iter().map(|m| m.population_women).sum();
    render(&DeclarationPage {
        l: Layout::new(&ctx, &state, d.title.clone()).with_notice(n.aviso.as_deref()),
        kind: AvgmKind::parse(&d.kind).map(AvgmKind::label).unwrap_or(""),
        d,
        municipalities,
        measures,
        can_edit: ctx.can(Permission::EditRegistry),
        women,
    })
}

#[derive(Template)]
#[template(path = "territory/declaration_form.html")]
struct DeclarationForm {
    l: Layout,
    states: Vec<StateRow>,
    kinds: [AvgmKind; 2],
    f: DeclarationInput,
    error: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
pub struct DeclarationInput {
    #[serde(default)]
    cve_ent: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    declared_on: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    source_note: String,
    #[serde(default)]
    municipalities: String,
    #[serde(default)]
    measures: String,
}

pub async fn new_declaration(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    render(&DeclarationForm {
        l: Layout::new(&ctx, &state, "Nueva declaratoria de AVGM"),
        states: state.store.states().await?,
        kinds: AvgmKind::ALL,
        f: DeclarationInput::default(),
        error: None,
    })
}

/// Measures, one per line; "Categoría: texto" sets the category.
fn parse_measures(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(':') {
            Some((c, t)) if c.chars().count() <= 40 => (c.trim().to_string(), t.trim().to_string()),
            _ => (String::new(), l.to_string()),
        })
        .collect()
}

pub async fn create_declaration(State(state): State<AppState>, ctx: Ctx, Form(f): Form<DeclarationInput>) -> PageResult {
    let result: Result<NewDeclaration, String> = async {
        let key = StateKey::parse(&f.cve_ent).map_err(|_| "elija la entidad federativa".to_string())?;
        let kind = AvgmKind::parse(&f.kind).ok_or("elija el tipo de alerta")?;
        let declared_on = NaiveDate::parse_from_str(f.declared_on.trim(), "%Y-%m-%d").map_err(|_| "la fecha de declaratoria no es válida".to_string())?;
        let municipalities = resolve_municipalities(&state, &key, &f.municipalities).await?;
        Ok(NewDeclaration {
            state: key,
            kind,
            declared_on,
            title: f.title.clone(),
            source_note: f.source_note.clone(),
            municipalities,
            measures: parse_measures(&f.measures),
        })
    }
    .await;
    let outcome = match result {
        Ok(new) => state.store.create_declaration(&ctx.actor(), &new).await.map_err(|e| AppError::from(e).to_string()),
        Err(m) => Err(m),
    };
    match outcome {
        Ok(id) => see_other(&format!("/avgm/{id}"), "creada"),
        Err(message) => render_invalid(&DeclarationForm {
            l: Layout::new(&ctx, &state, "Nueva declaratoria de AVGM"),
            states: state.store.states().await?,
            kinds: AvgmKind::ALL,
            f,
            error: Some(message),
        }),
    }
}

pub async fn import_declarations(State(state): State<AppState>, ctx: Ctx, multipart: Multipart) -> PageResult {
    let upload = Upload::read(multipart, &ctx).await?;
    match violeta_app::avgm::import(&state.store, &ctx.actor(), &upload.file_name, &upload.bytes).await {
        Ok(_) => see_other("/avgm", "importado"),
        Err(report) => render_invalid(&DeclarationsPage {
            l: Layout::new(&ctx, &state, "Declaratorias de AVGM"),
            declarations: state.store.declarations(None).await?,
            can_edit: true,
            report: Some(report),
        }),
    }
}

pub async fn add_declaration_municipalities(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<MunicipalitiesForm>) -> PageResult {
    let (d, _, _) = state.store.declaration(id).await?;
    let key = state_key(&d.cve_ent)?;
    let keys = resolve_municipalities(&state, &key, &f.municipalities).await.map_err(AppError::BadRequest)?;
    state.store.add_declaration_municipalities(&ctx.actor(), id, &keys).await?;
    see_other(&format!("/avgm/{id}"), "guardado")
}

#[derive(Deserialize)]
pub struct MeasureForm {
    #[serde(default)]
    category: String,
    text: String,
}

pub async fn add_measure(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<MeasureForm>) -> PageResult {
    state.store.add_measure(&ctx.actor(), id, &f.category, &f.text).await?;
    see_other(&format!("/avgm/{id}"), "guardado")
}

// Formatting helpers the templates call.
pub fn population(n: &i64) -> String {
    thousands(*n)
}
pub fn declared(d: &NaiveDate) -> String {
    date(d)
}
