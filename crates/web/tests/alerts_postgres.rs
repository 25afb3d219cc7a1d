//! On PostgreSQL the public Alerta Rosa cache learns of changes by LISTEN/NOTIFY: when
//! another server process concludes an alert, her data leaves this process's pages and
//! feeds at once. Runs when `VIOLETA_TEST_POSTGRES` names a server.

use axum::body::Body;
use axum::http::Request;
use chrono::Duration;
use http_body_util::BodyExt;
use tower::ServiceExt;
use violeta_domain::alerta::{AlertInput, Closing, RiskCheckInput};
use violeta_domain::audit::Actor;
use violeta_domain::credential::MasterKey;
use violeta_store::Store;
use violeta_domain::dissemination::{PublicationKind, Takedown};
use violeta_store::alerts::Document;
use violeta_store::dissemination::Publication;
use violeta_store::testing::TestStore;
use violeta_web::{AppState, Config};

const NAME: &str = "Yesenia Flores Díaz";

async fn get(app: &axum::Router, path: &str) -> String {
    let req = Request::get(path).header("host", "violeta.prueba").body(Body::empty()).unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_localization_in_another_process_takes_her_off_this_one() {
    let Some(db) = TestStore::postgres().await.unwrap() else {
        eprintln!("VIOLETA_TEST_POSTGRES no está definida: prueba omitida");
        return;
    };
    let actor = Actor { user_id: None, label: "prueba".into(), origin: "127.0.0.1".into() };
    let seen = violeta_domain::alerta::to_local(violeta_store::now() - Duration::hours(2));
    let draft = AlertInput {
        full_name: NAME.into(),
        age: "17".into(),
        sex: "mujer".into(),
        clothing: "Blusa verde".into(),
        last_seen_date: seen.format("%Y-%m-%d").to_string(),
        last_seen_time: seen.format("%H:%M").to_string(),
        last_seen_place: "Centro".into(),
        municipality: "20067".into(),
        authority: "Fiscalía".into(),
        reporter_name: "Ana Díaz".into(),
        reporter_phone: "9510000000".into(),
        ..Default::default()
    }
    .validate(violeta_store::now())
    .unwrap();
    let (id, folio) = db.store.create_alert(&actor, &draft, Some(b"jpeg"), Some(&MasterKey::demo())).await.unwrap();
    let risk = RiskCheckInput { level: "bajo".into(), publish: "si".into(), notes: "x".into(), consent: "no_requerido".into(), consent_note: "Lo pide la fiscalía".into(), ..Default::default() };
    db.store.record_risk_check(&actor, id, &risk.validate().unwrap()).await.unwrap();
    let doc = Document { name: "ficha.pdf".into(), content_type: "application/pdf".into(), bytes: b"%PDF-".to_vec() };
    let expected = db.store.alert(id).await.unwrap().updated_at;
    let post = |kind| Publication { alert_id: id, kind, text: "ALERTA ROSA".into(), link: String::new(), image_png: None, image_alt: String::new() };
    db.store.activate_alert(&actor, id, expected, true, &[doc], "alerta-rosa@violeta.prueba", Some(&post(PublicationKind::Alerta))).await.unwrap();

    let app = violeta_web::app(AppState::new(db.store.clone(), Config::default()));
    // Let the listener subscribe while the cache serves her.
    for _ in 0..50 {
        assert!(get(&app, "/alertas.atom").await.contains(NAME));
    }
    let other = Store::connect(&db.url).await.unwrap();
    other.conclude_alert(&actor, id, Closing::LocalizadaConVida, "", "alerta-rosa@violeta.prueba", Some(&post(PublicationKind::Retiro)), Takedown::Borrar).await.unwrap();
    let mut gone = false;
    for _ in 0..100 {
        if !get(&app, "/alertas.atom").await.contains(NAME) {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "the localization in the other process reached this one's cache");
    let page = get(&app, &format!("/alertas/{folio}")).await;
    assert!(page.contains("concluyó") && !page.contains(NAME));
    other.close().await;
    db.cleanup().await;
}
