//! Public verification of a constancia by folio, for other systems.

use crate::AppState;
use crate::error::{ApiError, AppError};
use crate::pages::constancias::check;
use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use violeta_domain::credential::Folio;

/// El estado de una constancia y su documento firmado.
#[derive(Serialize, ToSchema)]
pub struct VerificationDto {
    /// `true` solo si la constancia está vigente y su firma corresponde al contenido.
    pub valida: bool,
    /// `valida`, `revocada`, `reemplazada`, `vencida`, o `alterada` si la firma no corresponde.
    pub estado: String,
    /// Motivo de la revocación o del rechazo, si lo hay.
    pub motivo: Option<String>,
    /// Folio de la constancia que reemplaza a esta, si fue reemplazada.
    pub reemplazada_por: Option<String>,
    /// La credencial Open Badges 3.0 firmada (prueba Data Integrity `eddsa-jcs-2022`).
    #[schema(value_type = Object)]
    pub credencial: serde_json::Value,
}

#[utoipa::path(
    get,
    path = "/api/v1/constancias/{folio}",
    tag = "constancias",
    params(("folio" = String, Path, description = "Folio de la constancia, por ejemplo VIO-7K2M-Q9XD-4TRB")),
    security(()),
    responses(
        (status = 200, description = "La constancia, su estado y su documento firmado", body = VerificationDto),
        (status = 404, body = super::ErrorBody),
    )
)]
pub async fn verify(State(state): State<AppState>, Path(raw): Path<String>) -> Result<Json<VerificationDto>, ApiError> {
    let folio = Folio::parse(&raw).map_err(|e| AppError::NotFound(e.to_string()))?;
    let c = state.store.credential(&folio).await?.ok_or_else(|| AppError::NotFound(format!("no existe una constancia con el folio {folio}")))?;
    let checked = check(&state, &c).await?;
    let (estado, motivo) = match (&checked.signature, &checked.state) {
        (Err(e), _) => ("alterada".to_string(), Some(e.to_string())),
        (Ok(()), s) => (s.code().to_string(), s.reason().map(str::to_string)),
    };
    Ok(Json(VerificationDto { valida: checked.valid(), estado, motivo, reemplazada_por: c.replaced_by_folio.clone(), credencial: c.document() }))
}
