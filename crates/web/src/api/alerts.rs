//! Alerta Rosa endpoints for staff systems: cases, their private part (audited), the risk
//! check, activation, closing, and the report. The public surfaces (page, CAP, Atom) are
//! not here: they need no token.

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult, AppError};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use violeta_app::alerta::{self as app, Rendering, report};
use violeta_domain::alerta::{AlertInput, Closing, FieldErrors, RiskCheckInput};
use violeta_store::alerts::{AlertFilter, AlertRecord, AlertSummary};

#[derive(Serialize, ToSchema)]
pub struct AlertSummaryDto {
    pub id: i64,
    pub folio: String,
    pub simulacro: bool,
    /// `reportada`, `activada`, `difundida`, `localizada_con_vida`, `localizada_sin_vida` o `desactivada`.
    pub estado: String,
    pub nombre: String,
    pub edad: i64,
    pub municipio: String,
    pub vista_por_ultima_vez: DateTime<Utc>,
    pub reportada: DateTime<Utc>,
    pub activada: Option<DateTime<Utc>>,
    pub concluida: Option<DateTime<Utc>>,
}

impl From<AlertSummary> for AlertSummaryDto {
    fn from(a: AlertSummary) -> Self {
        AlertSummaryDto {
            id: a.id,
            folio: a.folio,
            simulacro: a.drill,
            estado: a.status,
            nombre: a.full_name,
            edad: a.age,
            municipio: a.municipality,
            vista_por_ultima_vez: a.last_seen_at,
            reportada: a.reported_at,
            activada: a.activated_at,
            concluida: a.closed_at,
        }
    }
}

/// Un caso, sin su parte privada.
#[derive(Serialize, ToSchema)]
pub struct AlertDto {
    pub id: i64,
    pub folio: String,
    pub simulacro: bool,
    pub estado: String,
    pub nombre: String,
    pub edad: i64,
    /// `mujer`, `hombre` o `intersexual`.
    pub sexo: String,
    pub identidad_de_genero: String,
    pub estatura_cm: Option<i64>,
    pub complexion: String,
    pub tez: String,
    pub cabello: String,
    pub ojos: String,
    pub senas_particulares: String,
    pub vestimenta: String,
    pub vista_por_ultima_vez: DateTime<Utc>,
    pub lugar: String,
    /// Clave INEGI del municipio.
    pub municipio_clave: String,
    pub municipio: String,
    pub entidad: String,
    pub latitud: Option<f64>,
    pub longitud: Option<f64>,
    pub radio_km: f64,
    pub circunstancias: String,
    pub autoridad: String,
    pub telefonos: String,
    pub tiene_fotografia: bool,
    /// Si está publicada ahora (activa y no es simulacro).
    pub publica: bool,
    pub reportada: DateTime<Utc>,
    pub activada: Option<DateTime<Utc>>,
    pub difundida: Option<DateTime<Utc>>,
    pub concluida: Option<DateTime<Utc>>,
    pub nota_de_cierre: String,
}

impl From<AlertRecord> for AlertDto {
    fn from(a: AlertRecord) -> Self {
        AlertDto {
            publica: a.is_public(),
            id: a.id,
            folio: a.folio,
            simulacro: a.drill,
            estado: a.status,
            nombre: a.full_name,
            edad: a.age,
            sexo: a.sex,
            identidad_de_genero: a.gender_identity,
            estatura_cm: a.height_cm,
            complexion: a.complexion,
            tez: a.skin,
            cabello: a.hair,
            ojos: a.eyes,
            senas_particulares: a.marks,
            vestimenta: a.clothing,
            vista_por_ultima_vez: a.last_seen_at,
            lugar: a.last_seen_place,
            municipio_clave: a.cvegeo,
            municipio: a.municipality,
            entidad: a.state,
            latitud: a.lat,
            longitud: a.lon,
            radio_km: a.radius_km,
            circunstancias: a.circumstances,
            autoridad: a.authority,
            telefonos: a.hotline,
            tiene_fotografia: a.has_photo,
            reportada: a.reported_at,
            activada: a.activated_at,
            difundida: a.disseminated_at,
            concluida: a.closed_at,
            nota_de_cierre: a.close_note,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct AlertsQuery {
    /// Folio o parte del nombre.
    q: Option<String>,
    /// `true`: solo casos sin concluir.
    abiertas: Option<bool>,
}

/// Casos de Alerta Rosa, los más recientes primero (hasta 500).
#[utoipa::path(get, path = "/api/v1/alertas", tag = "alerta rosa", params(AlertsQuery), responses((status = 200, body = [AlertSummaryDto])))]
pub async fn list(State(state): State<AppState>, Query(q): Query<AlertsQuery>) -> ApiResult<Vec<AlertSummaryDto>> {
    let rows = state.store.alerts(&AlertFilter { open_only: q.abiertas.unwrap_or(false), query: q.q }).await?;
    Ok(Json(rows.into_iter().map(AlertSummaryDto::from).collect()))
}

/// Un caso nuevo. La fotografía se agrega desde la página del caso.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct NewAlert {
    pub nombre: String,
    pub edad: String,
    /// `mujer`, `hombre` o `intersexual`.
    pub sexo: String,
    pub identidad_de_genero: String,
    pub estatura_cm: String,
    pub complexion: String,
    pub tez: String,
    pub cabello: String,
    pub ojos: String,
    pub senas_particulares: String,
    pub vestimenta: String,
    /// `2026-03-03`.
    pub fecha: String,
    /// `18:40`, hora del centro de México.
    pub hora: String,
    pub lugar: String,
    /// Clave INEGI del municipio, por ejemplo `20067`.
    pub municipio: String,
    pub latitud: String,
    pub longitud: String,
    pub radio_km: String,
    pub circunstancias: String,
    pub autoridad: String,
    pub telefonos: String,
    pub quien_reporta: String,
    pub parentesco: String,
    pub telefono_de_quien_reporta: String,
    pub correo_de_quien_reporta: String,
    pub carpeta_de_investigacion: String,
    pub salud: String,
    pub simulacro: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ValidationErrors {
    pub errores: Vec<FieldErrorDto>,
}

#[derive(Serialize, ToSchema)]
pub struct FieldErrorDto {
    pub campo: String,
    pub mensaje: String,
}

fn invalid(errors: FieldErrors) -> Response {
    let body = ValidationErrors { errores: errors.into_iter().map(|(f, m)| FieldErrorDto { campo: f.to_string(), mensaje: m }).collect() };
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// Registra un caso (estado `reportada`) y le da su folio.
#[utoipa::path(post, path = "/api/v1/alertas", tag = "alerta rosa", request_body = NewAlert,
    responses((status = 201, body = AlertDto), (status = 422, body = ValidationErrors), (status = 409, body = super::ErrorBody)))]
pub async fn create(State(state): State<AppState>, ctx: Ctx, Json(n): Json<NewAlert>) -> Result<Response, ApiError> {
    let input = AlertInput {
        full_name: n.nombre,
        age: n.edad,
        sex: n.sexo,
        gender_identity: n.identidad_de_genero,
        height_cm: n.estatura_cm,
        complexion: n.complexion,
        skin: n.tez,
        hair: n.cabello,
        eyes: n.ojos,
        marks: n.senas_particulares,
        clothing: n.vestimenta,
        last_seen_date: n.fecha,
        last_seen_time: n.hora,
        last_seen_place: n.lugar,
        municipality: n.municipio,
        lat: n.latitud,
        lon: n.longitud,
        radius_km: n.radio_km,
        circumstances: n.circunstancias,
        authority: n.autoridad,
        hotline: n.telefonos,
        reporter_name: n.quien_reporta,
        reporter_relationship: n.parentesco,
        reporter_phone: n.telefono_de_quien_reporta,
        reporter_email: n.correo_de_quien_reporta,
        file_number: n.carpeta_de_investigacion,
        health: n.salud,
        drill: if n.simulacro { "si".into() } else { String::new() },
    };
    let draft = match input.validate(violeta_store::now()) {
        Ok(d) => d,
        Err(errors) => return Ok(invalid(errors)),
    };
    let (id, _) = state.store.create_alert(&ctx.actor(), &draft, None, state.config.credential_key.as_ref()).await?;
    Ok((StatusCode::CREATED, Json(AlertDto::from(state.store.alert(id).await?))).into_response())
}

/// Un caso (sin su parte privada).
#[utoipa::path(get, path = "/api/v1/alertas/{id}", tag = "alerta rosa", params(("id" = i64, Path)), responses((status = 200, body = AlertDto), (status = 404, body = super::ErrorBody)))]
pub async fn show(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult<AlertDto> {
    Ok(Json(state.store.alert(id).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct PrivateDto {
    pub quien_reporta: String,
    pub parentesco: String,
    pub telefono: String,
    pub correo: String,
    pub carpeta_de_investigacion: String,
    pub salud: String,
}

/// La parte privada de un caso. Cada consulta queda en la bitácora de auditoría.
#[utoipa::path(get, path = "/api/v1/alertas/{id}/privado", tag = "alerta rosa", params(("id" = i64, Path)), responses((status = 200, body = PrivateDto), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn private(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult<PrivateDto> {
    let p = state.store.alert_private(&ctx.actor(), id, state.config.credential_key.as_ref()).await?;
    Ok(Json(PrivateDto {
        quien_reporta: p.reporter_name,
        parentesco: p.reporter_relationship,
        telefono: p.reporter_phone,
        correo: p.reporter_email,
        carpeta_de_investigacion: p.file_number,
        salud: p.health,
    }))
}

/// La evaluación de riesgo y el consentimiento.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct RiskDto {
    /// `bajo`, `medio` o `alto`.
    pub nivel: String,
    /// `si` o `no`: si la difusión pública es procedente.
    pub procede: String,
    pub fundamento: String,
    /// `otorgado`, `negado` o `no_requerido`.
    pub consentimiento: String,
    pub otorgado_por: String,
    pub parentesco: String,
    /// Cómo se dio, o por qué el protocolo no lo requiere.
    pub nota: String,
}

/// Registra la evaluación de riesgo y el consentimiento (antes de activar).
#[utoipa::path(post, path = "/api/v1/alertas/{id}/riesgo", tag = "alerta rosa", params(("id" = i64, Path)), request_body = RiskDto,
    responses((status = 204), (status = 422, body = ValidationErrors), (status = 409, body = super::ErrorBody)))]
pub async fn risk(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Json(r): Json<RiskDto>) -> Result<Response, ApiError> {
    let input = RiskCheckInput {
        level: r.nivel,
        publish: r.procede,
        notes: r.fundamento,
        consent: r.consentimiento,
        consent_by: r.otorgado_por,
        consent_relationship: r.parentesco,
        consent_note: r.nota,
    };
    let check = match input.validate() {
        Ok(c) => c,
        Err(errors) => return Ok(invalid(errors)),
    };
    state.store.record_risk_check(&ctx.actor(), id, &check).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ActivateDto {
    /// Debe ser `true`: la operadora confirma que revisó la evaluación de riesgo y el consentimiento.
    pub confirmo: bool,
}

/// Activa la alerta: genera sus fichas y la publica (salvo un simulacro).
#[utoipa::path(post, path = "/api/v1/alertas/{id}/activar", tag = "alerta rosa", params(("id" = i64, Path)), request_body = ActivateDto,
    responses((status = 200, body = AlertDto), (status = 422, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn activate(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>, Json(a): Json<ActivateDto>) -> ApiResult<AlertDto> {
    let base = crate::pages::constancias::base_url(&state, &headers);
    app::activate(&state.store, &ctx.actor(), id, a.confirmo, Rendering { base_url: &base, demo: state.config.demo }).await?;
    Ok(Json(state.store.alert(id).await?.into()))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct CloseDto {
    /// `localizada_con_vida`, `localizada_sin_vida` o `desactivada`.
    pub cierre: String,
    /// Obligatoria para desactivar.
    pub nota: String,
    /// Qué pasa con lo publicado en los canales oficiales: `borrar` (si se omite), `editar` o `conservar`.
    pub retiro: String,
}

/// Concluye la alerta: sus datos y su fotografía se retiran de todo lo público al instante.
#[utoipa::path(post, path = "/api/v1/alertas/{id}/concluir", tag = "alerta rosa", params(("id" = i64, Path)), request_body = CloseDto,
    responses((status = 200, body = AlertDto), (status = 422, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn close(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>, Json(c): Json<CloseDto>) -> ApiResult<AlertDto> {
    let closing = Closing::parse(&c.cierre)
        .ok_or_else(|| ApiError(AppError::BadRequest("indique el cierre: localizada_con_vida, localizada_sin_vida o desactivada".into())))?;
    let takedown = crate::pages::alerts::takedown(&c.retiro)?;
    let base = crate::pages::constancias::base_url(&state, &headers);
    app::close(&state.store, &ctx.actor(), id, closing, &c.nota, takedown, Rendering { base_url: &base, demo: state.config.demo }).await?;
    Ok(Json(state.store.alert(id).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct MetricDto {
    pub casos: usize,
    /// Minutos.
    pub mediana: Option<i64>,
    pub minimo: Option<i64>,
    pub maximo: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ReportDto {
    pub desde: i32,
    pub hasta: i32,
    pub alertas: usize,
    pub localizadas_con_vida: usize,
    pub localizadas_sin_vida: usize,
    pub desactivadas: usize,
    pub sin_concluir: usize,
    pub reporte_a_activacion: MetricDto,
    pub activacion_a_todos_los_canales: MetricDto,
    pub activacion_a_localizacion: MetricDto,
}

#[derive(Deserialize, IntoParams)]
pub struct ReportQuery {
    /// Año inicial (por omisión, hace nueve años).
    desde: Option<i32>,
    /// Año final (por omisión, el actual).
    hasta: Option<i32>,
}

fn metric(s: violeta_domain::alerta::Spread) -> MetricDto {
    MetricDto { casos: s.count, mediana: s.median, minimo: s.min, maximo: s.max }
}

/// Cifras del periodo: alertas por desenlace y tiempos (sin simulacros).
#[utoipa::path(get, path = "/api/v1/alertas/informe", tag = "alerta rosa", params(ReportQuery), responses((status = 200, body = ReportDto), (status = 422, body = super::ErrorBody)))]
pub async fn report(State(state): State<AppState>, Query(q): Query<ReportQuery>) -> ApiResult<ReportDto> {
    let query = crate::pages::alerts::ReportQuery::years(q.desde, q.hasta);
    let (from, to, start, end) = crate::pages::alerts::report_period(&query)?;
    let r = report::build(&state.store.alert_timings(start, end).await?);
    Ok(Json(ReportDto {
        desde: from,
        hasta: to,
        alertas: r.total.total,
        localizadas_con_vida: r.total.alive,
        localizadas_sin_vida: r.total.dead,
        desactivadas: r.total.deactivated,
        sin_concluir: r.total.open,
        reporte_a_activacion: metric(r.report_to_activation),
        activacion_a_todos_los_canales: metric(r.activation_to_all_posted),
        activacion_a_localizacion: metric(r.activation_to_localization),
    }))
}
