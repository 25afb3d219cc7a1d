//! Alerta Rosa dissemination: an alert's deliveries, channel by channel.

use crate::AppState;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct DisseminationDto {
    pub alerta_id: i64,
    /// Cuándo se cerró la difusión (alerta localizada o desactivada), si ya se cerró.
    pub cerrada: Option<DateTime<Utc>>,
    /// Entregas por estado: pendiente, enviando, publicada, fallida, cancelada, manual.
    pub resumen: std::collections::BTreeMap<String, usize>,
    pub publicaciones: Vec<PublicationDto>,
    pub entregas: Vec<DeliveryDto>,
}

#[derive(Serialize, ToSchema)]
pub struct PublicationDto {
    pub id: i64,
    /// alerta, actualizacion, repeticion o retiro.
    pub tipo: String,
    pub texto: String,
    pub enlace: String,
    pub con_imagen: bool,
    pub marca: String,
    pub creada: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: i64,
    pub publicacion_id: i64,
    /// publicar, borrar o editar.
    pub accion: String,
    pub canal_id: i64,
    pub canal: String,
    pub plataforma: String,
    /// pendiente, enviando, publicada, fallida, cancelada o manual.
    pub estado: String,
    pub intentos: i64,
    pub proximo_intento: DateTime<Utc>,
    pub ultimo_error: String,
    /// El comprobante: identificador y enlace de la publicación en la plataforma.
    pub id_remoto: String,
    pub enlace_remoto: String,
    pub creada: DateTime<Utc>,
    pub actualizada: DateTime<Utc>,
    pub terminada: Option<DateTime<Utc>>,
}

/// La difusión de una Alerta Rosa: cada publicación y su entrega en cada canal oficial.
#[utoipa::path(get, path = "/api/v1/alertas/{id}/difusion", tag = "alerta rosa", params(("id" = i64, Path, description = "Identificador de la alerta")), responses((status = 200, body = DisseminationDto)))]
pub async fn deliveries(State(state): State<AppState>, Path(alert_id): Path<i64>) -> ApiResult<DisseminationDto> {
    let deliveries = state.store.deliveries(alert_id).await?;
    let mut resumen = std::collections::BTreeMap::new();
    for s in violeta_domain::dissemination::DeliveryStatus::ALL {
        resumen.insert(s.code().to_string(), deliveries.iter().filter(|d| d.status == s.code()).count());
    }
    Ok(Json(DisseminationDto {
        alerta_id: alert_id,
        cerrada: state.store.alert_dissemination(alert_id).await?.and_then(|a| a.closed_at),
        resumen,
        publicaciones: state
            .store
            .publications(alert_id)
            .await?
            .into_iter()
            .map(|p| PublicationDto { id: p.id, tipo: p.kind, texto: p.text, enlace: p.link, con_imagen: p.has_image, marca: p.marker, creada: p.created_at })
            .collect(),
        entregas: deliveries
            .into_iter()
            .map(|d| DeliveryDto {
                id: d.id,
                publicacion_id: d.publication_id,
                accion: d.action,
                canal_id: d.channel_id,
                canal: d.channel,
                plataforma: d.platform,
                estado: d.status,
                intentos: d.attempts,
                proximo_intento: d.next_attempt_at,
                ultimo_error: d.last_error,
                id_remoto: d.remote_id,
                enlace_remoto: d.remote_url,
                creada: d.created_at,
                actualizada: d.updated_at,
                terminada: d.done_at,
            })
            .collect(),
    }))
}
