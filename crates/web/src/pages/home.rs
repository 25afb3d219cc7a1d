//! Landing page, dashboard, health check, not-found.

use super::{Notice, render};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, PageResult};
use crate::layout::{Layout, thousands};
use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use violeta_domain::access::Permission;

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    l: Layout,
}

pub async fn index(State(state): State<AppState>, ctx: Ctx, Query(n): Query<Notice>) -> PageResult {
    if ctx.principal.is_authenticated() {
        return Ok(super::redirect("/panel"));
    }
    render(&Home { l: Layout::new(&ctx, &state, "Inicio").with_notice(n.aviso.as_deref()) })
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    l: Layout,
    figures: Vec<(String, &'static str, &'static str)>,
    roles: Vec<&'static str>,
}

pub async fn dashboard(State(state): State<AppState>, ctx: Ctx, Query(n): Query<Notice>) -> PageResult {
    let mut figures = Vec::new();
    if ctx.can(Permission::ViewRegistry) {
        let declarations = state.store.declarations(None).await?;
        let covered = state
            .store
            .municipalities(&violeta_store::territory::MunicipalityFilter { avgm_only: true, ..Default::default() })
            .await?
            .len();
        figures.push((thousands(declarations.len() as i64), "declaratorias de AVGM registradas", "/avgm"));
        figures.push((thousands(covered as i64), "municipios con AVGM", "/avgm"));
        figures.push((thousands(state.store.institutions(None).await?.len() as i64), "instituciones", "/instituciones"));
    }
    if ctx.can(Permission::ViewPeople) {
        let (_, total) = state.store.people(ctx.principal.people_scope(), &Default::default(), 1, 0).await?;
        figures.push((thousands(total), "personas en el registro", "/personas"));
    }
    let roles = ctx.principal.roles.iter().map(|r| r.label()).collect();
    render(&Dashboard { l: Layout::new(&ctx, &state, "Panel").with_notice(n.aviso.as_deref()), figures, roles })
}

pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    if state.store.ping().await {
        (StatusCode::OK, Json(serde_json::json!({"estado": "ok"})))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"estado": "sin base de datos"})))
    }
}

pub async fn not_found() -> AppError {
    AppError::NotFound("la página que busca no existe".into())
}
