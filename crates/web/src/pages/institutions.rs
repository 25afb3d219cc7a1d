//! Institutions: list, create.

use super::{Notice, render, render_invalid, see_other};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, PageResult};
use crate::layout::Layout;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use serde::Deserialize;
use violeta_domain::institution::{InstitutionKind, Level};
use violeta_domain::territory::MunicipalityKey;
use violeta_store::institutions::{Institution, NewInstitution};

#[derive(Template)]
#[template(path = "institutions/list.html")]
struct ListPage {
    l: Layout,
    institutions: Vec<Institution>,
    q: String,
    can_edit: bool,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    aviso: Option<String>,
}

pub async fn list(State(state): State<AppState>, ctx: Ctx, Query(q): Query<ListQuery>) -> PageResult {
    let query = q.q.clone().filter(|s| !s.trim().is_empty());
    render(&ListPage {
        l: Layout::new(&ctx, &state, "Instituciones").with_notice(q.aviso.as_deref()),
        institutions: state.store.institutions(query.as_deref()).await?,
        q: query.unwrap_or_default(),
        can_edit: ctx.can(violeta_domain::access::Permission::EditRegistry),
    })
}

#[derive(Template)]
#[template(path = "institutions/form.html")]
struct FormPage {
    l: Layout,
    /// Where the form posts: "/instituciones" or "/instituciones/{id}".
    action: String,
    f: InstitutionInput,
    kinds: [InstitutionKind; 5],
    levels: [Level; 5],
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct InstitutionInput {
    #[serde(default)]
    name: String,
    #[serde(default)]
    acronym: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    cvegeo: String,
}

pub async fn new_form(State(state): State<AppState>, ctx: Ctx, Query(_): Query<Notice>) -> PageResult {
    render(&FormPage {
        l: Layout::new(&ctx, &state, "Nueva institución"),
        action: "/instituciones".into(),
        f: InstitutionInput::default(),
        kinds: InstitutionKind::ALL,
        levels: Level::ALL,
        error: None,
    })
}

async fn parse(state: &AppState, f: &InstitutionInput) -> Result<NewInstitution, String> {
    let kind = InstitutionKind::parse(&f.kind).ok_or("elija el tipo de institución")?;
    let level = Level::parse(&f.level).ok_or("elija el nivel")?;
    let municipality = match f.cvegeo.trim() {
        "" => None,
        k => {
            let key = MunicipalityKey::parse(k).map_err(|_| "la clave de municipio debe ser la clave INEGI de 5 dígitos")?;
            let found = state.store.find_municipality(&key.state(), k).await.map_err(|e| AppError::from(e).to_string())?;
            Some(found.ok_or_else(|| format!("no existe el municipio con clave INEGI {key}"))?)
        }
    };
    Ok(NewInstitution { name: f.name.clone(), acronym: f.acronym.clone(), kind, level, municipality })
}

fn invalid(state: &AppState, ctx: &Ctx, title: &str, action: String, f: InstitutionInput, message: String) -> PageResult {
    render_invalid(&FormPage {
        l: Layout::new(ctx, state, title),
        action,
        f,
        kinds: InstitutionKind::ALL,
        levels: Level::ALL,
        error: Some(message),
    })
}

pub async fn create(State(state): State<AppState>, ctx: Ctx, Form(f): Form<InstitutionInput>) -> PageResult {
    let outcome = match parse(&state, &f).await {
        Ok(new) => state.store.create_institution(&ctx.actor(), &new).await.map_err(|e| AppError::from(e).to_string()),
        Err(m) => Err(m),
    };
    match outcome {
        Ok(_) => see_other("/instituciones", "creada"),
        Err(message) => invalid(&state, &ctx, "Nueva institución", "/instituciones".into(), f, message),
    }
}

pub async fn edit_form(State(state): State<AppState>, ctx: Ctx, axum::extract::Path(id): axum::extract::Path<i64>) -> PageResult {
    let i = state.store.institution(id).await?;
    render(&FormPage {
        l: Layout::new(&ctx, &state, "Editar institución"),
        action: format!("/instituciones/{id}"),
        f: InstitutionInput { name: i.name, acronym: i.acronym, kind: i.kind, level: i.level, cvegeo: i.cvegeo.unwrap_or_default() },
        kinds: InstitutionKind::ALL,
        levels: Level::ALL,
        error: None,
    })
}

pub async fn update(State(state): State<AppState>, ctx: Ctx, axum::extract::Path(id): axum::extract::Path<i64>, Form(f): Form<InstitutionInput>) -> PageResult {
    let outcome = match parse(&state, &f).await {
        Ok(new) => state.store.update_institution(&ctx.actor(), id, &new).await.map_err(|e| AppError::from(e).to_string()),
        Err(m) => Err(m),
    };
    match outcome {
        Ok(()) => see_other("/instituciones", "guardado"),
        Err(message) => invalid(&state, &ctx, "Editar institución", format!("/instituciones/{id}"), f, message),
    }
}
