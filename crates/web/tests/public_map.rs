//! The public map `/mapa` and its GeoJSON feed: valid GeoJSON with [lon, lat] points,
//! filters, no private field ever, changes shown at once (cache invalidation), ETag and
//! 304, a page that works without JavaScript, and one query per cached request.

// The fixture holds a lock for the whole test, across awaits, on purpose: each test has
// its own runtime and thread, and the lock makes the tests run one at a time.
#![allow(clippy::await_holding_lock)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use chrono::{Datelike, NaiveDate};
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use tower::ServiceExt;
use violeta_domain::audit::Actor;
use violeta_domain::geo::Point;
use violeta_domain::hours::{OpeningHours, mexico_city_now};
use violeta_domain::safety::{SafeSpaceKind, SafeSpaceStatus, UnitStatus};
use violeta_domain::territory::{MunicipalityKey, StateKey};
use violeta_store::safety::{NewSafeSpace, NewUnit};
use violeta_store::testing::TestStore;
use violeta_web::{AppState, Config};

const GEOJSON: &str = "/api/v1/espacios-seguros.geojson";
/// A pre-session CSRF cookie as a browser that opened any page holds it.
const CSRF_COOKIE: &str = "violeta_csrf=0123456789abcdef0123456789abcdef0123";

const PRIVATE: [&str; 5] = ["Contacto Privado Secreto", "9519999999", "Nota interna secreta", "Convenio secreto", "Nota de la unidad secreta"];

struct App {
    ts: TestStore,
    state: AppState,
    router: Router,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
    bytes: Vec<u8>,
}

impl Resp {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    #[track_caller]
    fn json(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    #[track_caller]
    fn ok(&self) -> &str {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        &self.body
    }
}

impl App {
    async fn new() -> App {
        let ts = TestStore::sqlite().await.expect("test store");
        let state = AppState::new(ts.store.clone(), Config::default());
        let router = violeta_web::app(state.clone());
        App { ts, state, router }
    }

    async fn send(&self, path: &str, headers: &[(header::HeaderName, &str)]) -> Resp {
        let mut b = Request::builder().uri(path).header(header::HOST, "violeta.prueba");
        for (k, v) in headers {
            b = b.header(k, *v);
        }
        let response = self.router.clone().oneshot(b.body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Resp { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes: bytes.to_vec() }
    }

    async fn get(&self, path: &str) -> Resp {
        self.send(path, &[(header::COOKIE, CSRF_COOKIE)]).await
    }

    async fn geojson(&self, query: &str) -> Value {
        self.get(&format!("{GEOJSON}{query}")).await.json()
    }
}

fn actor() -> Actor {
    Actor { user_id: None, label: "pruebas".into(), origin: "pruebas".into() }
}

fn key(s: &str) -> MunicipalityKey {
    MunicipalityKey::parse(s).unwrap()
}

/// Hours that are never open today (one hour on a day three days away).
fn closed_today() -> OpeningHours {
    const DAYS: [&str; 7] = ["lun", "mar", "mie", "jue", "vie", "sab", "dom"];
    let today = mexico_city_now().weekday().num_days_from_monday() as usize;
    OpeningHours::parse(&format!("{} 09:00-10:00", DAYS[(today + 3) % 7])).unwrap()
}

fn space(name: &str, muni: &str, lat: f64, lon: f64, hours: OpeningHours) -> NewSafeSpace {
    NewSafeSpace {
        name: name.into(),
        kind: SafeSpaceKind::Comercio,
        address: format!("Calle {name} 1"),
        municipality: key(muni),
        point: Point::new(lat, lon).unwrap(),
        hours,
        contact_name: "Contacto Privado Secreto".into(),
        contact_phone: "9519999999".into(),
        notes: "Nota interna secreta".into(),
        installed_on: Some(NaiveDate::from_ymd_opt(2019, 5, 1).unwrap()),
        status: SafeSpaceStatus::Activo,
    }
}

fn unit(name: &str, muni: &str, status: UnitStatus) -> NewUnit {
    NewUnit {
        state: key(muni).state(),
        name: name.into(),
        municipality: key(muni),
        status,
        activated_on: Some(NaiveDate::from_ymd_opt(2019, 3, 8).unwrap()),
        agreement: "Convenio secreto".into(),
        contact_line: "951 555 0100".into(),
        notes: "Nota de la unidad secreta".into(),
    }
}

/// Tests here run one at a time, so that [`queries`] counts one test's queries only.
static SERIAL: Mutex<()> = Mutex::new(());

/// SQL statements run so far in this test binary (sqlx logs each at target `sqlx::query`).
static QUERIES: AtomicUsize = AtomicUsize::new(0);

struct CountQueries;

impl tracing::Subscriber for CountQueries {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query"
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == "sqlx::query" {
            // A connection the pool opens mid-test runs its set-up PRAGMAs: not the page's work.
            let mut statement = Statement(String::new());
            event.record(&mut statement);
            if !statement.0.trim_start_matches(['"', ' ']).to_ascii_uppercase().starts_with("PRAGMA") {
                QUERIES.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The text of a logged statement (sqlx's `summary` and `db.statement` fields).
struct Statement(String);

impl tracing::field::Visit for Statement {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "summary" || field.name() == "db.statement" {
            self.0.push_str(value);
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" || field.name() == "db.statement" {
            self.0.push_str(&format!("{value:?}"));
        }
    }
}

fn queries() -> usize {
    QUERIES.load(Ordering::SeqCst)
}

struct Fixture {
    _serial: MutexGuard<'static, ()>,
    app: App,
    region: i64,
    farmacia: i64,
    tienda: i64,
    mercado: i64,
    unit_oaxaca: i64,
}

/// Oaxaca de Juárez (in region Valles Centrales): Farmacia Centro (24 horas), Tienda
/// Reforma (closed today); Santa Lucía del Camino: Mercado Sur (24 horas); Toluca:
/// Papelería Toluca (24 horas). Units: Oaxaca de Juárez and Toluca active, Santa María
/// Huatulco in formation (never public).
async fn fixture() -> Fixture {
    let serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    static COUNTER: OnceLock<()> = OnceLock::new();
    COUNTER.get_or_init(|| tracing::subscriber::set_global_default(CountQueries).expect("no other subscriber"));
    let app = App::new().await;
    let s = &app.ts.store;
    let oax = StateKey::parse("20").unwrap();
    let region = s.create_region(&actor(), &oax, "Valles Centrales", &[], "prueba").await.unwrap();
    s.assign_to_region(&actor(), region, &[key("20067")]).await.unwrap();
    let always = OpeningHours::parse("24 horas").unwrap();
    let farmacia = s.create_safe_space(&actor(), &space("Farmacia Centro", "20067", 17.0601, -96.7254, always.clone())).await.unwrap();
    let tienda = s.create_safe_space(&actor(), &space("Tienda Reforma", "20067", 17.0650, -96.7200, closed_today())).await.unwrap();
    let mercado = s.create_safe_space(&actor(), &space("Mercado Sur", "20390", 17.0641, -96.6947, always.clone())).await.unwrap();
    s.create_safe_space(&actor(), &space("Papelería Toluca", "15106", 19.2935, -99.6573, always)).await.unwrap();
    let unit_oaxaca = s.create_unit(&actor(), &unit("Unidad Oaxaca de Juárez", "20067", UnitStatus::Activa)).await.unwrap();
    s.create_unit(&actor(), &unit("Unidad Toluca", "15106", UnitStatus::Activa)).await.unwrap();
    s.create_unit(&actor(), &unit("Unidad Huatulco", "20413", UnitStatus::EnFormacion)).await.unwrap();
    Fixture { _serial: serial, app, region, farmacia, tienda, mercado, unit_oaxaca }
}

fn names(doc: &Value, tipo: &str) -> Vec<String> {
    let mut v: Vec<String> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["tipo"] == tipo)
        .map(|f| f["properties"]["nombre"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// How many `<li class="…">` the page lists.
fn count_items(html: &str, class: &str) -> usize {
    html.matches(&format!("<li class=\"{class}\"")).count()
}

#[tokio::test]
async fn geojson_is_valid_and_filtered() {
    let f = fixture().await;
    let app = &f.app;

    let r = app.get(GEOJSON).await;
    assert_eq!(r.header(header::CONTENT_TYPE), "application/geo+json");
    let doc = r.json();
    assert_eq!(doc["type"], "FeatureCollection");
    let features = doc["features"].as_array().unwrap();
    assert_eq!(features.len(), 6, "4 espacios seguros and 2 active units: {doc}");
    for feature in features {
        assert_eq!(feature["type"], "Feature");
        let point = &feature["geometry"];
        assert_eq!(point["type"], "Point");
        let c = point["coordinates"].as_array().unwrap();
        assert_eq!(c.len(), 2);
        let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        assert!((-118.0..=-86.0).contains(&lon) && (14.0..=33.0).contains(&lat), "[lon, lat] order: {c:?}");
    }
    let farmacia = features.iter().find(|f| f["properties"]["nombre"] == "Farmacia Centro").unwrap();
    assert_eq!(farmacia["geometry"]["coordinates"], serde_json::json!([-96.7254, 17.0601]));
    let mut keys: Vec<&str> = farmacia["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["abierto_ahora", "clase", "clave_municipio", "domicilio", "entidad", "horario", "id", "municipio", "nombre", "region", "tipo"]
    );
    let p = &farmacia["properties"];
    assert_eq!(
        (p["tipo"].as_str(), p["clase"].as_str(), p["municipio"].as_str(), p["clave_municipio"].as_str(), p["entidad"].as_str()),
        (Some("espacio_seguro"), Some("Comercio"), Some("Oaxaca de Juárez"), Some("20067"), Some("Oaxaca"))
    );
    assert_eq!((p["region"].as_str(), p["horario"].as_str(), p["abierto_ahora"].as_bool()), (Some("Valles Centrales"), Some("24 horas"), Some(true)));
    assert_eq!(p["id"].as_i64(), Some(f.farmacia));
    let unit = features.iter().find(|f| f["properties"]["tipo"] == "unidad_reaccion").unwrap();
    let mut keys: Vec<&str> = unit["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["clave_municipio", "entidad", "id", "municipio", "nombre", "region", "telefono", "tipo"]);
    assert_eq!(unit["properties"]["telefono"], "951 555 0100");
    // Units stand at their municipality's head town (INEGI: 17.059993, -96.72545).
    let oaxaca_unit = features.iter().find(|f| f["properties"]["nombre"] == "Unidad Oaxaca de Juárez").unwrap();
    assert_eq!(oaxaca_unit["geometry"]["coordinates"], serde_json::json!([-96.72545, 17.059993]));

    // Filters.
    let doc = app.geojson("?entidad=20").await;
    assert_eq!(names(&doc, "espacio_seguro"), ["Farmacia Centro", "Mercado Sur", "Tienda Reforma"]);
    assert_eq!(names(&doc, "unidad_reaccion"), ["Unidad Oaxaca de Juárez"], "units in formation are not public");
    let doc = app.geojson("?municipio=20067").await;
    assert_eq!(names(&doc, "espacio_seguro"), ["Farmacia Centro", "Tienda Reforma"]);
    assert_eq!(names(&doc, "unidad_reaccion"), ["Unidad Oaxaca de Juárez"]);
    let doc = app.geojson(&format!("?entidad=20&region={}", f.region)).await;
    assert_eq!(names(&doc, "espacio_seguro"), ["Farmacia Centro", "Tienda Reforma"]);
    let doc = app.geojson("?entidad=20&municipio=Santa%20Luc%C3%ADa%20del%20Camino").await;
    assert_eq!(names(&doc, "espacio_seguro"), ["Mercado Sur"], "a municipality by name, with its state");
    let doc = app.geojson("?entidad=15").await;
    assert_eq!((names(&doc, "espacio_seguro"), names(&doc, "unidad_reaccion")), (vec!["Papelería Toluca".to_string()], vec!["Unidad Toluca".to_string()]));
    // Empty values (a GET form sends every field) mean "any".
    assert_eq!(app.geojson("?entidad=&region=&municipio=").await["features"].as_array().unwrap().len(), 6);
    // Open now: Tienda Reforma is closed today; units are always listed.
    let doc = app.geojson("?entidad=20&abierto=1").await;
    assert_eq!(names(&doc, "espacio_seguro"), ["Farmacia Centro", "Mercado Sur"]);
    assert_eq!(names(&doc, "unidad_reaccion"), ["Unidad Oaxaca de Juárez"]);
    let doc = app.geojson("?municipio=20067").await;
    let tienda = doc["features"].as_array().unwrap().iter().find(|x| x["properties"]["id"] == f.tienda).unwrap();
    assert_eq!(tienda["properties"]["abierto_ahora"], false);

    // Described in the OpenAPI document, as public.
    let doc = app.get("/api/v1/openapi.json").await.json();
    let op = &doc["paths"][GEOJSON]["get"];
    assert!(op.is_object(), "{GEOJSON} is missing from openapi.json");
    assert_eq!(op["security"], serde_json::json!([{}]), "public: no token needed");

    // Bad filters are refused in Spanish.
    for bad in ["?entidad=99", "?municipio=abc", "?region=norte", "?entidad=20&municipio=Atlantis"] {
        let r = app.get(&format!("{GEOJSON}{bad}")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", r.body);
        let e: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(e["error"]["codigo"], "solicitud_invalida", "{bad}");
    }
    f.app.ts.cleanup().await;
}

#[tokio::test]
async fn private_fields_never_reach_the_public() {
    let f = fixture().await;
    let app = &f.app;
    let queries = [
        String::new(),
        "?entidad=20".into(),
        "?municipio=20067".into(),
        "?entidad=20&abierto=1".into(),
        format!("?entidad=20&region={}", f.region),
        "?entidad=15".into(),
    ];
    for q in &queries {
        for path in [format!("/mapa{q}"), format!("{GEOJSON}{q}")] {
            // Twice: from the store, then from the cache.
            for _ in 0..2 {
                let r = app.get(&path).await;
                let body = r.ok();
                assert!(body.contains("Farmacia Centro") || q.contains("entidad=15"), "{path} shows the places");
                for secret in PRIVATE {
                    assert!(!body.contains(secret), "{path} shows the private «{secret}»");
                }
            }
        }
    }
    f.app.ts.cleanup().await;
}

#[tokio::test]
async fn changes_show_at_once() {
    let f = fixture().await;
    let app = &f.app;
    let s = &app.ts.store;
    let cache = &app.state.public_cache;

    let doc = app.geojson("?entidad=20").await;
    assert_eq!(names(&doc, "espacio_seguro").len(), 3);
    let before = cache.stats();
    let again = app.geojson("?entidad=20").await;
    assert_eq!(doc, again);
    let after = cache.stats();
    assert_eq!((after.loads, after.hits, after.renders), (before.loads, before.hits + 1, before.renders), "served from the cache");
    let page = app.get("/mapa?entidad=20").await;
    assert_eq!(count_items(page.ok(), "espacio"), 3);

    // Suspended: gone from the feed and the page at once.
    s.set_safe_space_status(&actor(), f.farmacia, SafeSpaceStatus::Suspendido).await.unwrap();
    let doc = app.geojson("?entidad=20").await;
    assert_eq!(names(&doc, "espacio_seguro"), ["Mercado Sur", "Tienda Reforma"]);
    assert_eq!(cache.stats().loads, after.loads + 1, "the change invalidated the entry");
    let page = app.get("/mapa?entidad=20").await;
    assert!(!page.ok().contains("Farmacia Centro"));
    assert_eq!(count_items(&page.body, "espacio"), 2);
    let page = app.get("/mapa").await;
    assert!(!page.ok().contains("Farmacia Centro"));

    // Retired: gone too.
    s.set_safe_space_status(&actor(), f.mercado, SafeSpaceStatus::Retirado).await.unwrap();
    assert_eq!(names(&app.geojson("?entidad=20").await, "espacio_seguro"), ["Tienda Reforma"]);
    assert!(!app.get("/mapa?entidad=20").await.ok().contains("Mercado Sur"));

    // A suspended unit leaves both; reactivated, it comes back.
    assert!(app.get("/mapa?entidad=20").await.ok().contains("Unidad Oaxaca de Juárez"));
    let on = NaiveDate::from_ymd_opt(2024, 1, 10).unwrap();
    s.change_unit_status(&actor(), f.unit_oaxaca, UnitStatus::Suspendida, on, "sin patrulla").await.unwrap();
    assert!(names(&app.geojson("?entidad=20").await, "unidad_reaccion").is_empty());
    let page = app.get("/mapa?entidad=20").await;
    assert!(!page.ok().contains("Unidad Oaxaca de Juárez"));
    assert_eq!(count_items(&page.body, "unidad"), 0);
    s.change_unit_status(&actor(), f.unit_oaxaca, UnitStatus::Activa, on, "de vuelta").await.unwrap();
    assert_eq!(names(&app.geojson("?entidad=20").await, "unidad_reaccion"), ["Unidad Oaxaca de Juárez"]);
    assert_eq!(count_items(app.get("/mapa?entidad=20").await.ok(), "unidad"), 1);

    // A new space shows at once, also in a filter cached before.
    s.create_safe_space(&actor(), &space("Consultorio Nuevo", "20067", 17.061, -96.726, OpeningHours::parse("24 horas").unwrap())).await.unwrap();
    assert_eq!(names(&app.geojson("?municipio=20067").await, "espacio_seguro"), ["Consultorio Nuevo", "Tienda Reforma"]);
    assert!(app.get("/mapa?entidad=20").await.ok().contains("Consultorio Nuevo"));
    f.app.ts.cleanup().await;
}

#[tokio::test]
async fn etag_answers_304_until_a_change() {
    let f = fixture().await;
    let app = &f.app;

    for path in [format!("{GEOJSON}?entidad=20"), "/mapa?entidad=20".to_string()] {
        let first = app.get(&path).await;
        first.ok();
        let etag = first.header(header::ETAG).to_string();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{path}: ETag {etag:?}");
        assert_eq!(first.header(header::CACHE_CONTROL), "public, max-age=0, must-revalidate", "{path}");
        let same = app.send(&path, &[(header::COOKIE, CSRF_COOKIE), (header::IF_NONE_MATCH, &etag)]).await;
        assert_eq!(same.status, StatusCode::NOT_MODIFIED, "{path}: {}", same.body);
        assert!(same.body.is_empty());
        assert_eq!(same.header(header::ETAG), etag);
        let other = app.send(&path, &[(header::COOKIE, CSRF_COOKIE), (header::IF_NONE_MATCH, "\"m0-0000000000000000\"")]).await;
        assert_eq!(other.status, StatusCode::OK, "{path}");
        // Another filter has another tag.
        let wider = app.get(if path.starts_with("/mapa") { "/mapa" } else { GEOJSON }).await;
        assert_ne!(wider.header(header::ETAG), etag, "{path}");
    }

    // After a change the old tag no longer matches.
    let path = format!("{GEOJSON}?entidad=20");
    let etag = app.get(&path).await.header(header::ETAG).to_string();
    app.ts.store.set_safe_space_status(&actor(), f.tienda, SafeSpaceStatus::Suspendido).await.unwrap();
    let r = app.send(&path, &[(header::COOKIE, CSRF_COOKIE), (header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(r.header(header::ETAG), etag);
    assert!(!r.body.contains("Tienda Reforma"));

    // A visitor without any cookie gets none: the public map and feed stay shareable.
    let r = app.send(&path, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    assert_eq!(r.header(header::CACHE_CONTROL), "public, max-age=0, must-revalidate");
    let r = app.send("/mapa?entidad=20", &[]).await;
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    f.app.ts.cleanup().await;
}

#[tokio::test]
async fn the_page_works_without_javascript() {
    let f = fixture().await;
    let app = &f.app;

    let page = app.get("/mapa?entidad=20").await;
    let html = page.ok();
    assert!(page.header(header::CONTENT_TYPE).starts_with("text/html"));
    assert!(html.contains("<h1>Espacios seguros y unidades de reacción</h1>"));
    // The list is HTML: every place with its details and an open/closed badge.
    assert_eq!(count_items(html, "espacio"), 3);
    assert_eq!(count_items(html, "unidad"), 1);
    for text in ["Farmacia Centro", "Calle Farmacia Centro 1", "Comercio", "Oaxaca de Juárez", "Región Valles Centrales", "Horario: 24 horas", "Abierto ahora", "Cerrado ahora", "Unidad Oaxaca de Juárez", "951 555 0100", "tel:9515550100"] {
        assert!(html.contains(text), "the page lacks «{text}»");
    }
    assert!(html.contains("2 espacios seguros y 1 unidad de reacción en Oaxaca de Juárez"), "counts per municipality");
    assert!(html.contains("1 espacio seguro en Santa Lucía del Camino"));
    assert!(!html.contains("Papelería Toluca"), "Toluca is not in Oaxaca");
    assert!(!html.contains("Unidad Huatulco"), "units in formation are not public");
    // Every control has a label; the form is GET.
    assert!(html.contains(r#"<form method="get" action="/mapa""#));
    for id in ["entidad", "region", "municipio", "abierto"] {
        assert!(html.contains(&format!(r#"<label for="{id}""#)) || html.contains(&format!(r#"<label class="casilla" for="{id}""#)), "no label for #{id}");
        assert!(html.contains(&format!(r#"id="{id}" name="{id}""#)), "no control #{id}");
    }
    assert!(html.contains(r#"<option value="20" selected>Oaxaca</option>"#));
    assert!(html.contains(&format!(r#"<option value="{}">Valles Centrales</option>"#, f.region)));
    assert!(html.contains(r#"<option value="20067">Oaxaca de Juárez (2 espacios, 1 unidad)</option>"#));
    // The map: a div the script fills from the feed with the same filter; Leaflet is ours.
    assert!(html.contains(r#"<div id="mapa""#));
    assert!(html.contains(r#"data-geojson="/api/v1/espacios-seguros.geojson?entidad=20""#));
    assert!(html.contains("El mapa necesita JavaScript"), "a note for when the map cannot load");
    assert!(html.contains(r#"src="/static/leaflet/leaflet.js""#) && html.contains(r#"href="/static/leaflet/leaflet.css""#));
    assert!(html.contains(r#"src="/static/mapa.js""#));
    for cdn in ["unpkg", "cdnjs", "jsdelivr", "googleapis"] {
        assert!(!html.contains(cdn), "no CDN: {cdn}");
    }

    // Open now.
    let html = app.get("/mapa?entidad=20&abierto=1").await.ok().to_string();
    assert_eq!(count_items(&html, "espacio"), 2);
    assert!(!html.contains("Tienda Reforma"));
    assert!(html.contains(r#"name="abierto" value="1" checked"#));
    assert!(html.contains("abierto=1"), "the feed gets the same filter");

    // Municipality and region.
    let html = app.get("/mapa?entidad=20&municipio=20390").await.ok().to_string();
    assert_eq!(count_items(&html, "espacio"), 1);
    assert!(html.contains(r#"<option value="20390" selected>"#));
    let html = app.get(&format!("/mapa?entidad=20&region={}", f.region)).await.ok().to_string();
    assert_eq!(count_items(&html, "espacio"), 2);
    // Without JavaScript the old municipality stays in the form when the state changes:
    // it is dropped, not combined into an empty result.
    let html = app.get(&format!("/mapa?entidad=15&region={}&municipio=20067", f.region)).await.ok().to_string();
    assert_eq!(count_items(&html, "espacio"), 1);
    assert!(html.contains("Papelería Toluca"));
    // A bad filter shows a Spanish error and everything.
    let r = app.get("/mapa?entidad=99").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("role=\"alert\"") && r.body.contains("la clave de entidad debe tener 2 dígitos"));
    assert_eq!(count_items(&r.body, "espacio"), 4);

    // The static files the page needs, from this server.
    for (path, mime) in [
        ("/static/mapa.js", "text/javascript"),
        ("/static/leaflet/leaflet.js", "text/javascript"),
        ("/static/leaflet/leaflet.css", "text/css"),
        ("/static/leaflet/images/marker-icon.png", "image/png"),
        ("/static/leaflet/images/marker-shadow.png", "image/png"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.header(header::CONTENT_TYPE).starts_with(mime), "{path}: {}", r.header(header::CONTENT_TYPE));
    }
    let r = app.get("/static/leaflet/images/marker-icon.png").await;
    assert!(r.bytes.starts_with(b"\x89PNG\r\n"), "PNG served as bytes");
    assert_eq!(app.get("/static/leaflet/../violeta.css").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/static/nada.js").await.status, StatusCode::NOT_FOUND);
    f.app.ts.cleanup().await;
}

#[tokio::test]
async fn the_cache_is_bounded() {
    let f = fixture().await;
    let app = &f.app;
    let cache = &app.state.public_cache;
    // Every municipality of Oaxaca is a filter of its own: more than the cache keeps.
    let munis = app.ts.store.municipalities(&violeta_store::territory::MunicipalityFilter { cve_ent: Some("20".into()), ..Default::default() }).await.unwrap();
    assert!(munis.len() > violeta_web::public_cache::MAX_FILTERS);
    for m in &munis {
        app.get(&format!("{GEOJSON}?municipio={}", m.cvegeo)).await.json();
        assert!(cache.len() <= violeta_web::public_cache::MAX_FILTERS);
    }
    assert_eq!(cache.len(), violeta_web::public_cache::MAX_FILTERS);
    // The most recent ones are still there; the first ones were let go.
    let before = cache.stats();
    app.geojson(&format!("?municipio={}", munis.last().unwrap().cvegeo)).await;
    assert_eq!(cache.stats().hits, before.hits + 1);
    app.geojson(&format!("?municipio={}", munis[0].cvegeo)).await;
    assert_eq!(cache.stats().loads, before.loads + 1);
    f.app.ts.cleanup().await;
}

#[tokio::test]
async fn a_cached_request_costs_one_query() {
    let f = fixture().await;
    let app = &f.app;
    let paths = [
        format!("{GEOJSON}?entidad=20"),
        format!("{GEOJSON}?entidad=20&abierto=1"),
        "/mapa?entidad=20".to_string(),
        "/mapa?entidad=20&municipio=20067&abierto=1".to_string(),
        format!("/mapa?entidad=20&region={}", f.region),
        "/mapa".to_string(),
    ];
    for path in &paths {
        app.get(path).await.ok(); // fills the cache
        let before = queries();
        let body = app.get(path).await.ok().to_string();
        let used = queries() - before;
        eprintln!("{path}: {used} query(ies) when cached, {} bytes", body.len());
        assert_eq!(used, 1, "{path}: only the version is read");
    }
    // A change: the next request reads the version, the espacios seguros and the units.
    f.app.ts.store.set_safe_space_status(&actor(), f.tienda, SafeSpaceStatus::Suspendido).await.unwrap();
    let before = queries();
    app.get(&paths[0]).await.ok();
    let used = queries() - before;
    eprintln!("{}: {used} queries after a change", paths[0]);
    assert_eq!(used, 3);
    f.app.ts.cleanup().await;
}
