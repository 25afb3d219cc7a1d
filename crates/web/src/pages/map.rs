//! `/mapa`: the public map of espacios seguros and active rapid-reaction units. No
//! sign-in. The list of places is HTML rendered here, so the page works without
//! JavaScript, without map tiles and with a screen reader; `mapa.js` adds the Leaflet map
//! on top, from the GeoJSON feed with the same filter.

use crate::AppState;
use crate::api::map::geojson_url;
use crate::auth::Ctx;
use crate::error::{AppError, PageResult};
use crate::layout::Layout;
use crate::public_cache::{MapData, MapFilter, MapQuery, cache_control, content_tag, etag, not_modified, parse_filter};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse};
use chrono::{Datelike, NaiveDateTime, Timelike, Weekday};
use violeta_domain::hours::mexico_city_now;
use violeta_domain::territory::{MunicipalityKey, StateKey};
use violeta_domain::text::search_key;

pub const TITLE: &str = "Espacios seguros y unidades de reacción";

/// An option of a filter's `<select>`.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct SpaceView {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub address: String,
    pub cvegeo: String,
    pub municipality: String,
    pub state: String,
    pub region: Option<String>,
    pub hours: String,
    pub open: Option<bool>,
}

pub struct UnitView {
    pub id: i64,
    pub name: String,
    pub cvegeo: String,
    pub municipality: String,
    pub state: String,
    pub region: Option<String>,
    pub contact_line: String,
    /// Digits of the contact line, for a `tel:` link; empty when there are none.
    pub tel: String,
}

/// "25 espacios seguros en Oaxaca de Juárez", with a link that filters to it.
pub struct CountView {
    pub cvegeo: String,
    pub text: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "map.html")]
struct MapPage {
    l: Layout,
    error: Option<String>,
    open_only: bool,
    states: Vec<Opt>,
    regions: Vec<Opt>,
    municipalities: Vec<Opt>,
    state_chosen: bool,
    spaces: Vec<SpaceView>,
    units: Vec<UnitView>,
    counts: Vec<CountView>,
    /// Espacios seguros before the "open now" filter.
    spaces_total: usize,
    spaces_open: usize,
    place: String,
    now: String,
    geojson: String,
}

/// "1 espacio seguro", "25 espacios seguros".
pub fn plural(n: impl std::borrow::Borrow<usize>, one: &str, many: &str) -> String {
    let n = *n.borrow();
    format!("{n} {}", if n == 1 { one } else { many })
}

fn weekday(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "lunes",
        Weekday::Tue => "martes",
        Weekday::Wed => "miércoles",
        Weekday::Thu => "jueves",
        Weekday::Fri => "viernes",
        Weekday::Sat => "sábado",
        Weekday::Sun => "domingo",
    }
}

fn time_label(at: NaiveDateTime) -> String {
    format!("{} {:02}:{:02}", weekday(at.weekday()), at.hour(), at.minute())
}

/// A visitor without JavaScript who changes the state keeps the old region and
/// municipality in the form: those of another state are dropped, not combined.
fn drop_other_state(q: &mut MapQuery) {
    let state = q.entidad.as_deref().map(str::trim).filter(|s| !s.is_empty()).and_then(|s| StateKey::parse(s).ok());
    if let (Some(state), Some(m)) = (state, q.municipio.as_deref().and_then(|m| MunicipalityKey::parse(m).ok()))
        && m.state() != state
    {
        q.municipio = None;
    }
}

pub async fn page(State(app): State<AppState>, ctx: Ctx, headers: HeaderMap, Query(mut q): Query<MapQuery>) -> PageResult {
    drop_other_state(&mut q);
    let (mut filter, error) = match parse_filter(&app.store, &q).await {
        Ok(f) => (f, None),
        Err(e) => (MapFilter::default(), Some(e)),
    };
    let cache = &app.public_cache;
    let store = &app.store;
    let version = cache.version(store).await?;

    let state_key = filter.key.cve_ent.as_deref().and_then(|s| StateKey::parse(s).ok());
    let regions = match &state_key {
        Some(s) => Some(cache.regions(store, s, version).await?),
        None => None,
    };
    if let (Some(regions), Some(id)) = (&regions, filter.key.region_id)
        && !regions.iter().any(|r| r.id == id)
    {
        filter.key.region_id = None; // a region of another state
    }

    let data = cache.map(store, &filter.key, version).await?;
    let now = mexico_city_now();
    let flags = data.open_flags(now);
    let now_label = time_label(now);

    // Conditional GET for anonymous visitors: what they see depends only on the data, the
    // filter, the open flags and the minute shown.
    let personal = ctx.user.is_some() || error.is_some();
    let tag = content_tag("html", &filter, &flags, &[now_label.as_bytes(), if app.config.demo { b"demo" } else { b"" }]);
    let etag = etag(version, tag);
    let cache_control = cache_control(&ctx, &headers, personal);
    if !personal && not_modified(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, header_value(&etag)?), (header::CACHE_CONTROL, cache_control)]).into_response());
    }

    // Anonymous pages carry nothing personal (no form, no token): the same filter, data,
    // open flags and minute give the same bytes, rendered once.
    if !personal && let Some(body) = data.cached(tag) {
        let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
        let h = response.headers_mut();
        h.insert(header::CACHE_CONTROL, cache_control);
        h.insert(header::VARY, HeaderValue::from_static("Cookie"));
        h.insert(header::ETAG, header_value(&etag)?);
        return Ok(response);
    }

    let all_states = cache.states(store).await?;
    let states = all_states
        .iter()
        .map(|s| Opt { selected: filter.key.cve_ent.as_deref() == Some(s.cve_ent.as_str()), value: s.cve_ent.clone(), label: s.name.clone() })
        .collect();
    let region_opts = regions
        .as_deref()
        .map(|rs| {
            rs.iter().map(|r| Opt { value: r.id.to_string(), label: r.name.clone(), selected: filter.key.region_id == Some(r.id) }).collect()
        })
        .unwrap_or_default();
    let municipalities = match &state_key {
        Some(_) => {
            let wider = if filter.key.cvegeo.is_some() { cache.map(store, &filter.key.without_municipality(), version).await? } else { data.clone() };
            municipality_options(&app, &wider, filter.key.cvegeo.as_deref()).await?
        }
        None => Vec::new(),
    };

    let state_name = state_key.as_ref().and_then(|k| all_states.iter().find(|s| s.cve_ent == k.as_str())).map(|s| s.name.clone());
    let place = place_label(&filter, &data, state_name);
    let spaces_total = data.spaces.len();
    let spaces_open = flags.iter().filter(|f| **f == Some(true)).count();
    let spaces: Vec<SpaceView> = data
        .spaces
        .iter()
        .zip(&flags)
        .filter(|(_, open)| !filter.open_only || **open == Some(true))
        .map(|(s, open)| {
            let p = &s.public;
            SpaceView {
                id: p.id,
                name: p.name.clone(),
                kind: s.kind_label,
                address: p.address.clone(),
                cvegeo: p.cvegeo.clone(),
                municipality: p.municipality.clone(),
                state: p.state.clone(),
                region: p.region.clone(),
                hours: p.opening_hours.clone(),
                open: *open,
            }
        })
        .collect();
    let units: Vec<UnitView> = data
        .units
        .iter()
        .map(|u| UnitView {
            id: u.id,
            name: u.name.clone(),
            cvegeo: u.cvegeo.clone(),
            municipality: u.municipality.clone(),
            state: u.state.clone(),
            region: u.region.clone(),
            contact_line: u.contact_line.clone(),
            tel: u.contact_line.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect(),
        })
        .collect();
    let counts = counts(&filter, &spaces, &units);

    let page = MapPage {
        l: Layout::new(&ctx, &app, TITLE),
        error,
        open_only: filter.open_only,
        state_chosen: state_key.is_some(),
        states,
        regions: region_opts,
        municipalities,
        spaces,
        units,
        counts,
        spaces_total,
        spaces_open,
        place,
        now: now_label,
        geojson: geojson_url(&filter),
    };
    let status = if page.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let html = page.render()?;
    if !personal {
        data.keep(tag, Bytes::from(html.clone()));
    }
    let mut response = (status, Html(html)).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, cache_control);
    h.insert(header::VARY, HeaderValue::from_static("Cookie"));
    if !personal {
        h.insert(header::ETAG, header_value(&etag)?);
    }
    Ok(response)
}

fn header_value(s: &str) -> Result<HeaderValue, AppError> {
    HeaderValue::from_str(s).map_err(|e| AppError::Internal(e.to_string()))
}

/// "en Oaxaca de Juárez, Oaxaca", "en la región Valles Centrales", "en Oaxaca", "en todo el país".
fn place_label(filter: &MapFilter, data: &MapData, state_name: Option<String>) -> String {
    let k = &filter.key;
    if k.cvegeo.is_some() {
        let muni = data.spaces.first().map(|s| s.public.municipality.clone()).or_else(|| data.units.first().map(|u| u.municipality.clone()));
        return match (muni, state_name) {
            (Some(m), Some(s)) => format!("en {m}, {s}"),
            _ => "en el municipio elegido".into(),
        };
    }
    if k.region_id.is_some() {
        let region = data.spaces.first().and_then(|s| s.public.region.clone()).or_else(|| data.units.first().and_then(|u| u.region.clone()));
        return match region {
            Some(r) => format!("en la región {r}"),
            None => "en la región elegida".into(),
        };
    }
    if k.cve_ent.is_some() {
        return match state_name {
            Some(s) => format!("en {s}"),
            None => "en la entidad elegida".into(),
        };
    }
    "en todo el país".into()
}

/// The municipalities of the state (and region) that have something on the map, with
/// their counts; plus the chosen one if it has nothing.
async fn municipality_options(app: &AppState, wider: &MapData, chosen: Option<&str>) -> Result<Vec<Opt>, AppError> {
    let mut by: Vec<(String, String, usize, usize)> = Vec::new(); // cvegeo, name, spaces, units
    let mut add = |cvegeo: &str, name: &str, space: bool| {
        let i = match by.iter().position(|(c, ..)| c == cvegeo) {
            Some(i) => i,
            None => {
                by.push((cvegeo.to_string(), name.to_string(), 0, 0));
                by.len() - 1
            }
        };
        if space { by[i].2 += 1 } else { by[i].3 += 1 }
    };
    for s in &wider.spaces {
        add(&s.public.cvegeo, &s.public.municipality, true);
    }
    for u in &wider.units {
        add(&u.cvegeo, &u.municipality, false);
    }
    if let Some(c) = chosen
        && !by.iter().any(|(k, ..)| k == c)
        && let Ok(key) = MunicipalityKey::parse(c)
    {
        let name = app.store.municipality(&key).await.map(|m| m.name).unwrap_or_else(|_| c.to_string());
        by.push((c.to_string(), name, 0, 0));
    }
    by.sort_by_cached_key(|(_, name, ..)| search_key(name));
    Ok(by
        .into_iter()
        .map(|(cvegeo, name, spaces, units)| {
            let mut detail = Vec::new();
            if spaces > 0 {
                detail.push(plural(spaces, "espacio", "espacios"));
            }
            if units > 0 {
                detail.push(plural(units, "unidad", "unidades"));
            }
            let label = if detail.is_empty() { format!("{name} (sin lugares registrados)") } else { format!("{name} ({})", detail.join(", ")) };
            Opt { selected: chosen == Some(cvegeo.as_str()), value: cvegeo, label }
        })
        .collect())
}

/// Per municipality: "25 espacios seguros en Oaxaca de Juárez", with units when it has them.
fn counts(filter: &MapFilter, spaces: &[SpaceView], units: &[UnitView]) -> Vec<CountView> {
    // (cvegeo, municipality, state, spaces, units)
    let mut by: Vec<(String, String, String, usize, usize)> = Vec::new();
    let mut add = |cvegeo: &str, name: &str, state: &str, space: bool| {
        let i = match by.iter().position(|(c, ..)| c == cvegeo) {
            Some(i) => i,
            None => {
                by.push((cvegeo.to_string(), name.to_string(), state.to_string(), 0, 0));
                by.len() - 1
            }
        };
        if space { by[i].3 += 1 } else { by[i].4 += 1 }
    };
    for s in spaces {
        add(&s.cvegeo, &s.municipality, &s.state, true);
    }
    for u in units {
        add(&u.cvegeo, &u.municipality, &u.state, false);
    }
    by.sort_by_cached_key(|(_, name, state, ..)| (search_key(state), search_key(name)));
    let several_states = by.iter().any(|b| b.2 != by[0].2);
    let kind = if filter.open_only { ("espacio seguro abierto ahora", "espacios seguros abiertos ahora") } else { ("espacio seguro", "espacios seguros") };
    by.into_iter()
        .map(|(cvegeo, name, state, n_spaces, n_units)| {
            let place = if several_states { format!("{name}, {state}") } else { name };
            let text = match (n_spaces, n_units) {
                (s, 0) => format!("{} en {place}", plural(s, kind.0, kind.1)),
                (0, u) => format!("{} en {place}", plural(u, "unidad de reacción", "unidades de reacción")),
                (s, u) => format!("{} y {} en {place}", plural(s, kind.0, kind.1), plural(u, "unidad de reacción", "unidades de reacción")),
            };
            let mut f = filter.clone();
            f.key.cvegeo = Some(cvegeo.clone());
            f.key.cve_ent = Some(cvegeo[..2].to_string());
            f.key.region_id = None;
            CountView { href: format!("/mapa?{}", f.query_string()), cvegeo, text }
        })
        .collect()
}

impl SpaceView {
    /// The badge's class.
    pub fn open_class(&self) -> &'static str {
        match self.open {
            Some(true) => "abierto",
            Some(false) => "cerrado",
            None => "sin-horario",
        }
    }

    /// The badge's text.
    pub fn open_text(&self) -> &'static str {
        match self.open {
            Some(true) => "Abierto ahora",
            Some(false) => "Cerrado ahora",
            None => "Horario por confirmar",
        }
    }
}
