//! Audit trail endpoint.

use crate::AppState;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use violeta_store::audit::AuditFilter;

#[derive(Serialize, ToSchema)]
pub struct AuditDto {
    pub secuencia: i64,
    pub fecha: DateTime<Utc>,
    pub usuario_id: Option<i64>,
    pub quien: String,
    pub accion: String,
    pub entidad: String,
    pub entidad_id: String,
    pub origen: String,
    /// JSON con los detalles.
    pub detalle: String,
    pub hash_anterior: String,
    pub hash: String,
}

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    entidad: Option<String>,
    entidad_id: Option<String>,
    /// Máximo 1000; 100 si se omite.
    limite: Option<i64>,
    desde: Option<i64>,
}

/// Entradas de la bitácora de auditoría, de la más reciente a la más antigua.
#[utoipa::path(get, path = "/api/v1/auditoria", tag = "auditoría", params(AuditQuery), responses((status = 200, body = [AuditDto])))]
pub async fn list(State(state): State<AppState>, Query(q): Query<AuditQuery>) -> ApiResult<Vec<AuditDto>> {
    let filter = AuditFilter { entity: q.entidad, entity_id: q.entidad_id, actor_id: None };
    let rows = state.store.audit_entries(&filter, q.limite.unwrap_or(100).clamp(1, 1000), q.desde.unwrap_or(0).max(0)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|e| AuditDto {
                secuencia: e.seq,
                fecha: e.at,
                usuario_id: e.actor_id,
                quien: e.actor,
                accion: e.action,
                entidad: e.entity,
                entidad_id: e.entity_id,
                origen: e.origin,
                detalle: e.detail,
                hash_anterior: e.prev_hash,
                hash: e.hash,
            })
            .collect(),
    ))
}
