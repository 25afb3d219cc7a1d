//! The public GeoJSON feed of espacios seguros and active rapid-reaction units. No sign-in;
//! public columns only (the store's public queries never select contact people, private
//! phones or notes). Cached per filter until the public map data changes.

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, AppError};
use crate::public_cache::{MapData, MapFilter, MapQuery, cache_control, content_tag, etag, not_modified, parse_filter};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use violeta_domain::hours::mexico_city_now;

pub const GEOJSON_PATH: &str = "/api/v1/espacios-seguros.geojson";
pub const GEOJSON_TYPE: &str = "application/geo+json";

/// Filtros del mapa público (los mismos que la página `/mapa`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct GeoJsonParams {
    /// Clave INEGI de la entidad, por ejemplo `20`.
    entidad: Option<String>,
    /// Número de la región (de la entidad).
    region: Option<i64>,
    /// Clave INEGI del municipio (`20067`) o, junto con la entidad, su nombre.
    municipio: Option<String>,
    /// `1`: solo los espacios seguros abiertos ahora (hora del centro de México). Las unidades se incluyen siempre.
    abierto: Option<String>,
}

/// Una colección de elementos GeoJSON (RFC 7946).
#[derive(Serialize, ToSchema)]
pub struct FeatureCollection {
    /// Siempre `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub features: Vec<Feature>,
}

#[derive(Serialize, ToSchema)]
pub struct Feature {
    /// Siempre `Feature`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `espacio-{id}` o `unidad-{id}`.
    pub id: String,
    /// Un punto; `null` para una unidad cuyo municipio no tiene cabecera georreferenciada.
    pub geometry: Option<Point>,
    pub properties: Properties,
}

/// Un punto GeoJSON: `coordinates` es `[longitud, latitud]`.
#[derive(Serialize, ToSchema)]
pub struct Point {
    /// Siempre `Point`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub coordinates: [f64; 2],
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Properties {
    Space(SpaceProperties),
    Unit(UnitProperties),
}

/// Un espacio seguro activo.
#[derive(Serialize, ToSchema)]
pub struct SpaceProperties {
    pub id: i64,
    /// `espacio_seguro`.
    pub tipo: &'static str,
    pub nombre: String,
    /// Clase de lugar: Comercio, Institución pública, Transporte, Escuela, Centro de salud, Otro.
    pub clase: &'static str,
    pub domicilio: String,
    pub municipio: String,
    pub clave_municipio: String,
    pub entidad: String,
    pub region: Option<String>,
    pub horario: String,
    /// Si está abierto en este momento (hora del centro de México); `null` si el horario no se entiende.
    pub abierto_ahora: Option<bool>,
}

/// Una unidad de reacción inmediata activa, ubicada en la cabecera de su municipio.
#[derive(Serialize, ToSchema)]
pub struct UnitProperties {
    pub id: i64,
    /// `unidad_reaccion`.
    pub tipo: &'static str,
    pub nombre: String,
    pub municipio: String,
    pub clave_municipio: String,
    pub entidad: String,
    pub region: Option<String>,
    /// Línea pública de contacto.
    pub telefono: String,
}

/// Builds the collection: the espacios seguros (only the open ones when asked) and the units.
pub fn feature_collection(data: &MapData, flags: &[Option<bool>], open_only: bool) -> FeatureCollection {
    let mut features = Vec::with_capacity(data.spaces.len() + data.units.len());
    for (s, open) in data.spaces.iter().zip(flags) {
        if open_only && *open != Some(true) {
            continue;
        }
        let p = &s.public;
        features.push(Feature {
            kind: "Feature",
            id: format!("espacio-{}", p.id),
            geometry: Some(Point { kind: "Point", coordinates: [p.lon, p.lat] }),
            properties: Properties::Space(SpaceProperties {
                id: p.id,
                tipo: "espacio_seguro",
                nombre: p.name.clone(),
                clase: s.kind_label,
                domicilio: p.address.clone(),
                municipio: p.municipality.clone(),
                clave_municipio: p.cvegeo.clone(),
                entidad: p.state.clone(),
                region: p.region.clone(),
                horario: p.opening_hours.clone(),
                abierto_ahora: *open,
            }),
        });
    }
    for u in &data.units {
        let geometry = match (u.head_lat, u.head_lon) {
            (Some(lat), Some(lon)) => Some(Point { kind: "Point", coordinates: [lon, lat] }),
            _ => None,
        };
        features.push(Feature {
            kind: "Feature",
            id: format!("unidad-{}", u.id),
            geometry,
            properties: Properties::Unit(UnitProperties {
                id: u.id,
                tipo: "unidad_reaccion",
                nombre: u.name.clone(),
                municipio: u.municipality.clone(),
                clave_municipio: u.cvegeo.clone(),
                entidad: u.state.clone(),
                region: u.region.clone(),
                telefono: u.contact_line.clone(),
            }),
        });
    }
    FeatureCollection { kind: "FeatureCollection", features }
}

/// Espacios seguros activos y unidades de reacción activas, en GeoJSON. Público: no requiere sesión ni token.
#[utoipa::path(
    get,
    path = "/api/v1/espacios-seguros.geojson",
    tag = "mapa",
    params(GeoJsonParams),
    security(()),
    responses(
        (status = 200, description = "Colección GeoJSON; las coordenadas van en orden [longitud, latitud]", content_type = "application/geo+json", body = FeatureCollection),
        (status = 304, description = "Sin cambios desde el ETag indicado en If-None-Match"),
        (status = 422, body = super::ErrorBody),
    )
)]
pub async fn geojson(State(app): State<AppState>, ctx: Ctx, headers: HeaderMap, Query(q): Query<MapQuery>) -> Result<Response, ApiError> {
    let filter = parse_filter(&app.store, &q).await.map_err(|e| ApiError(AppError::BadRequest(e)))?;
    let cache = &app.public_cache;
    let version = cache.version(&app.store).await?;
    let data = cache.map(&app.store, &filter.key, version).await?;
    let flags = data.open_flags(mexico_city_now());
    let tag = content_tag("geojson", &filter, &flags, &[]);
    let etag = etag(version, tag);
    let cache_control = cache_control(&ctx, &headers, false);
    let etag_header = HeaderValue::from_str(&etag).map_err(|e| ApiError(AppError::Internal(e.to_string())))?;
    if not_modified(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_header), (header::CACHE_CONTROL, cache_control)]).into_response());
    }
    let body = data.rendered(tag, || {
        cache.count_render();
        Bytes::from(serde_json::to_vec(&feature_collection(&data, &flags, filter.open_only)).unwrap_or_default())
    });
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON_TYPE)),
            (header::ETAG, etag_header),
            (header::CACHE_CONTROL, cache_control),
        ],
        body,
    )
        .into_response())
}

/// The feed's address for a filter.
pub fn geojson_url(filter: &MapFilter) -> String {
    let q = filter.query_string();
    if q.is_empty() { GEOJSON_PATH.to_string() } else { format!("{GEOJSON_PATH}?{q}") }
}
