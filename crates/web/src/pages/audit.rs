//! The audit trail: browse and verify.

use super::render;
use crate::AppState;
use crate::auth::Ctx;
use crate::error::PageResult;
use crate::layout::{Layout, datetime};
use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;
use violeta_domain::audit::AuditEntry;
use violeta_store::audit::AuditFilter;

const PAGE: i64 = 100;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    l: Layout,
    entries: Vec<AuditEntry>,
    entity: String,
    entity_id: String,
    page: i64,
    has_more: bool,
    verification: Option<(bool, String)>,
}

impl AuditPage {
    fn when(&self, e: &AuditEntry) -> String {
        datetime(&e.at)
    }
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    entidad: Option<String>,
    id: Option<String>,
    pagina: Option<i64>,
}

pub async fn list(State(state): State<AppState>, ctx: Ctx, Query(q): Query<AuditQuery>) -> PageResult {
    page(&state, &ctx, q, None).await
}

async fn page(state: &AppState, ctx: &Ctx, q: AuditQuery, verification: Option<(bool, String)>) -> PageResult {
    let filter = AuditFilter {
        entity: q.entidad.clone().filter(|s| !s.is_empty()),
        entity_id: q.id.clone().filter(|s| !s.is_empty()),
        actor_id: None,
    };
    let page = q.pagina.unwrap_or(0).max(0);
    let mut entries = state.store.audit_entries(&filter, PAGE + 1, page * PAGE).await?;
    let has_more = entries.len() as i64 > PAGE;
    entries.truncate(PAGE as usize);
    render(&AuditPage {
        l: Layout::new(ctx, state, "Auditoría"),
        entries,
        entity: filter.entity.unwrap_or_default(),
        entity_id: filter.entity_id.unwrap_or_default(),
        page,
        has_more,
        verification,
    })
}

pub async fn verify(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let result = match state.store.verify_audit().await? {
        Ok(n) => (true, format!("La cadena está íntegra: se verificaron {n} entradas.")),
        Err(b) => (false, format!("La cadena está rota: {b}.")),
    };
    page(&state, &ctx, AuditQuery::default(), Some(result)).await
}
