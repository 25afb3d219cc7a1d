//! Territory endpoints.

use crate::AppState;
use crate::error::{ApiError, ApiResult, AppError};
use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use violeta_domain::territory::{AvgmKind, MunicipalityKey, StateKey};
use violeta_store::territory::{Declaration, Municipality, MunicipalityFilter};

#[derive(Serialize, ToSchema)]
pub struct StateDto {
    /// Clave INEGI de dos dígitos.
    pub clave: String,
    pub nombre: String,
    pub abreviatura: String,
    /// Código de entidad que usa la CURP.
    pub clave_renapo: String,
    pub municipios: i64,
    pub poblacion_mujeres: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MunicipalityDto {
    /// Clave INEGI de cinco dígitos (cvegeo).
    pub clave: String,
    pub entidad: String,
    pub nombre: String,
    pub cabecera: String,
    pub poblacion_total: i64,
    pub poblacion_mujeres: i64,
    pub poblacion_hombres: i64,
    pub latitud: Option<f64>,
    pub longitud: Option<f64>,
    pub region: Option<String>,
    /// Tipos de AVGM que cubren al municipio: `violencia_feminicida`, `desaparicion`.
    pub avgm: Vec<String>,
}

impl From<Municipality> for MunicipalityDto {
    fn from(m: Municipality) -> Self {
        MunicipalityDto {
            avgm: m.avgm_kinds().into_iter().map(|k| k.code().to_string()).collect(),
            clave: m.cvegeo,
            entidad: m.cve_ent,
            nombre: m.name,
            cabecera: m.head_town,
            poblacion_total: m.population_total,
            poblacion_mujeres: m.population_women,
            poblacion_hombres: m.population_men,
            latitud: m.head_lat,
            longitud: m.head_lon,
            region: m.region,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RegionDto {
    pub id: i64,
    pub nombre: String,
    pub alias: Vec<String>,
    pub municipios: i64,
    pub fuente: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeclarationDto {
    pub id: i64,
    pub entidad: String,
    pub tipo: String,
    pub fecha: NaiveDate,
    pub titulo: String,
    pub fuente: String,
    pub municipios: i64,
}

impl From<Declaration> for DeclarationDto {
    fn from(d: Declaration) -> Self {
        DeclarationDto { id: d.id, entidad: d.cve_ent, tipo: d.kind, fecha: d.declared_on, titulo: d.title, fuente: d.source_note, municipios: d.municipalities }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeclarationDetail {
    #[serde(flatten)]
    pub declaratoria: DeclarationDto,
    pub lista_municipios: Vec<MunicipalityDto>,
    /// Medidas: categoría y texto.
    pub medidas: Vec<(String, String)>,
}

fn state_key(s: &str) -> Result<StateKey, ApiError> {
    StateKey::parse(s).map_err(|e| ApiError(AppError::NotFound(e.to_string())))
}

/// Las 32 entidades federativas.
#[utoipa::path(get, path = "/api/v1/estados", tag = "territorio", responses((status = 200, body = [StateDto])))]
pub async fn states(State(state): State<AppState>) -> ApiResult<Vec<StateDto>> {
    let rows = state.store.states().await?;
    Ok(Json(
        rows.into_iter()
            .map(|s| StateDto { clave: s.cve_ent, nombre: s.name, abreviatura: s.abbreviation, clave_renapo: s.renapo_code, municipios: s.municipalities, poblacion_mujeres: s.population_women })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct MunicipalityQuery {
    /// Texto a buscar en el nombre (sin distinguir acentos ni mayúsculas).
    q: Option<String>,
    /// Solo los municipios de esta región.
    region: Option<i64>,
    /// `true`: solo municipios bajo alguna AVGM.
    avgm: Option<bool>,
}

/// Municipios de una entidad, con su región y su situación de AVGM.
#[utoipa::path(get, path = "/api/v1/estados/{cve_ent}/municipios", tag = "territorio", params(("cve_ent" = String, Path, description = "Clave INEGI de la entidad"), MunicipalityQuery), responses((status = 200, body = [MunicipalityDto]), (status = 404, body = super::ErrorBody)))]
pub async fn municipalities(State(state): State<AppState>, Path(cve): Path<String>, Query(q): Query<MunicipalityQuery>) -> ApiResult<Vec<MunicipalityDto>> {
    let key = state_key(&cve)?;
    let rows = state
        .store
        .municipalities(&MunicipalityFilter { cve_ent: Some(key.to_string()), region_id: q.region, avgm_only: q.avgm.unwrap_or(false), query: q.q })
        .await?;
    Ok(Json(rows.into_iter().map(MunicipalityDto::from).collect()))
}

/// Regiones de una entidad.
#[utoipa::path(get, path = "/api/v1/estados/{cve_ent}/regiones", tag = "territorio", params(("cve_ent" = String, Path, description = "Clave INEGI de la entidad")), responses((status = 200, body = [RegionDto])))]
pub async fn regions(State(state): State<AppState>, Path(cve): Path<String>) -> ApiResult<Vec<RegionDto>> {
    let key = state_key(&cve)?;
    let rows = state.store.regions(&key).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| RegionDto {
                id: r.id,
                alias: r.aliases.split(" | ").filter(|a| !a.is_empty()).map(str::to_string).collect(),
                nombre: r.name,
                municipios: r.municipalities,
                fuente: r.source_note,
            })
            .collect(),
    ))
}

/// Un municipio por su clave INEGI.
#[utoipa::path(get, path = "/api/v1/municipios/{cvegeo}", tag = "territorio", params(("cvegeo" = String, Path, description = "Clave INEGI de cinco dígitos")), responses((status = 200, body = MunicipalityDto), (status = 404, body = super::ErrorBody)))]
pub async fn municipality(State(state): State<AppState>, Path(cvegeo): Path<String>) -> ApiResult<MunicipalityDto> {
    let key = MunicipalityKey::parse(&cvegeo).map_err(|e| ApiError(AppError::NotFound(e.to_string())))?;
    Ok(Json(state.store.municipality(&key).await?.into()))
}

/// Declaratorias de AVGM.
#[utoipa::path(get, path = "/api/v1/avgm", tag = "territorio", responses((status = 200, body = [DeclarationDto])))]
pub async fn declarations(State(state): State<AppState>) -> ApiResult<Vec<DeclarationDto>> {
    Ok(Json(state.store.declarations(None).await?.into_iter().map(DeclarationDto::from).collect()))
}

/// Una declaratoria con sus municipios y medidas.
#[utoipa::path(get, path = "/api/v1/avgm/{id}", tag = "territorio", params(("id" = i64, Path)), responses((status = 200, body = DeclarationDetail), (status = 404, body = super::ErrorBody)))]
pub async fn declaration(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult<DeclarationDetail> {
    let (d, municipalities, measures) = state.store.declaration(id).await?;
    let _ = AvgmKind::parse(&d.kind);
    Ok(Json(DeclarationDetail {
        declaratoria: d.into(),
        lista_municipios: municipalities.into_iter().map(MunicipalityDto::from).collect(),
        medidas: measures.into_iter().map(|m| (m.category, m.text)).collect(),
    }))
}
