//! On PostgreSQL the public map cache learns of changes by LISTEN/NOTIFY: a change made by
//! another process (here: another store, another pool) shows without a version query per
//! request. Runs when `VIOLETA_TEST_POSTGRES` names a server.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;
use violeta_domain::audit::Actor;
use violeta_domain::geo::Point;
use violeta_domain::hours::OpeningHours;
use violeta_domain::safety::{SafeSpaceKind, SafeSpaceStatus};
use violeta_domain::territory::MunicipalityKey;
use violeta_store::Store;
use violeta_store::safety::NewSafeSpace;
use violeta_store::testing::TestStore;
use violeta_web::{AppState, Config};

fn space(name: &str) -> NewSafeSpace {
    NewSafeSpace {
        name: name.into(),
        kind: SafeSpaceKind::Comercio,
        address: "Calle 1".into(),
        municipality: MunicipalityKey::parse("20067").unwrap(),
        point: Point::new(17.061, -96.726).unwrap(),
        hours: OpeningHours::parse("24 horas").unwrap(),
        contact_name: String::new(),
        contact_phone: String::new(),
        notes: String::new(),
        installed_on: None,
        status: SafeSpaceStatus::Activo,
    }
}

async fn geojson(app: &axum::Router) -> String {
    let req = Request::get("/api/v1/espacios-seguros.geojson?entidad=20").body(Body::empty()).unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_from_another_process_reaches_the_cache() {
    let Some(db) = TestStore::postgres().await.unwrap() else {
        eprintln!("VIOLETA_TEST_POSTGRES no está definida: prueba omitida");
        return;
    };
    let actor = Actor { user_id: None, label: "prueba".into(), origin: "127.0.0.1".into() };
    db.store.create_safe_space(&actor, &space("Farmacia Uno")).await.unwrap();
    let app = violeta_web::app(AppState::new(db.store.clone(), Config::default()));
    assert!(geojson(&app).await.contains("Farmacia Uno"));
    // Another "process": its own connection pool on the same database.
    let other = Store::connect(&db.url).await.unwrap();
    // Give the listener a moment to subscribe, then change from the other process.
    for _ in 0..50 {
        if geojson(&app).await.contains("Farmacia Uno") {
            break;
        }
    }
    other.create_safe_space(&actor, &space("Tienda Dos")).await.unwrap();
    let mut seen = false;
    for _ in 0..100 {
        if geojson(&app).await.contains("Tienda Dos") {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(seen, "the change from the other process reached the cache");
    other.close().await;
    db.cleanup().await;
}
