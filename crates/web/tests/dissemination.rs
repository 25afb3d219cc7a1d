//! Alerta Rosa dissemination through the web: the operator registers the unit's accounts
//! (credentials sealed, never shown again, never in the audit trail), groups them, sets
//! the repeat interval, and follows an alert's deliveries on a page that reloads itself
//! and in JSON; a manual post is recorded by hand, a failed one retried.

mod common;

use common::{TestApp, addr, test_actor};
use violeta_domain::credential::MasterKey;
use violeta_domain::dissemination::{PublicationKind, Takedown};
use violeta_store::dissemination::{Publication, Receipt};
use violeta_web::Config;

const TOKEN: &str = "123456:bot-token-que-nunca-debe-verse";

async fn app_with_key() -> TestApp {
    TestApp::demo_with(Config { credential_key: Some(MasterKey::demo()), ..Default::default() }).await
}

fn alert(id: i64) -> Publication {
    Publication {
        alert_id: id,
        kind: PublicationKind::Alerta,
        text: "ALERTA ROSA: se busca a Ana N., 15 años.".into(),
        link: "https://violeta.example.gob.mx/alerta-rosa/41".into(),
        image_png: None,
        image_alt: String::new(),
    }
}

#[tokio::test]
async fn operator_registers_channels_and_follows_deliveries() {
    let app = app_with_key().await;
    let op = app.login_demo("alerta", addr(60)).await;
    let store = app.store();

    // A channel with its token: stored sealed, never shown back.
    let r = app
        .post_form(&op, "/canales", &[("platform", "telegram"), ("name", "Telegram Unidad de Género"), ("handle", "@ug_oaxaca"), ("remote_id", "@ug_oaxaca"), ("credential", TOKEN), ("enabled", "on")])
        .await;
    r.expect(303);
    app.post_form(&op, "/canales", &[("platform", "manual"), ("name", "Instagram (a mano)"), ("handle", "@ug_oax"), ("enabled", "on")]).await.expect(303);
    let list = app.get(&op, "/canales").await;
    list.expect(200).expect_contains("Telegram Unidad de Género").expect_contains("https://api.telegram.org").expect_contains("guardada");
    assert!(!list.body.contains(TOKEN));
    let channels = store.channels().await.unwrap();
    let tg = channels.iter().find(|c| c.platform == "telegram").unwrap().id;
    let edit = app.get(&op, &format!("/canales/{tg}")).await;
    edit.expect(200).expect_contains("Hay una credencial guardada");
    assert!(!edit.body.contains(TOKEN));

    // A bad form comes back with a Spanish error and without the typed secret.
    let bad = app.post_form(&op, "/canales", &[("platform", "facebook"), ("name", "Facebook"), ("credential", "secreto-tecleado")]).await;
    bad.expect(422).expect_contains("falta el dato");
    assert!(!bad.body.contains("secreto-tecleado"));

    // Renaming keeps the credential when the field is left empty.
    app.post_form(&op, &format!("/canales/{tg}"), &[("platform", "telegram"), ("name", "Telegram UG Oaxaca"), ("remote_id", "@ug_oaxaca"), ("enabled", "on")]).await.expect(303);
    assert!(store.channel(tg).await.unwrap().has_credential);

    // Groups and the repeat interval.
    app.post_form(&op, "/canales/grupos", &[("name", "Región Valles Centrales"), ("canal", &tg.to_string())]).await.expect(303);
    assert_eq!(store.channel_groups().await.unwrap()[0].channel_ids, vec![tg]);
    app.post_form(&op, "/canales/repeticion", &[("hours", "6")]).await.expect(303);
    assert_eq!(store.repeat_hours().await.unwrap(), Some(6));
    app.post_form(&op, "/canales/repeticion", &[("hours", "media hora")]).await.expect(422).expect_contains("horas enteras");

    // The audit trail names the changes, never the token.
    let audit = app.audit_actions("canal", &tg.to_string()).await;
    assert!(audit.iter().any(|e| e.action == "canal.crear") && audit.iter().any(|e| e.action == "canal.editar"));
    assert!(audit.iter().all(|e| !e.detail.contains(TOKEN)));

    // An alert goes out: the page reloads itself while deliveries are on their way.
    store.publish(&alert(41), &test_actor()).await.unwrap();
    let page = app.get(&op, "/alerta-rosa/41/difusion").await;
    page.expect(200).expect_contains("Telegram UG Oaxaca").expect_contains("Pendiente").expect_contains("Por publicar a mano");
    assert_eq!(page.headers.get("refresh").and_then(|v| v.to_str().ok()), Some("5"));
    // /metrics counts the outbox by platform, action and state (nothing of the alert).
    let nobody = app.visitor(addr(61)).await;
    let metrics = app.get(&nobody, "/metrics").await;
    metrics.expect(200).expect_contains(r#"violeta_alerta_rosa_entregas{plataforma="telegram",accion="publicar",estado="pendiente"} 1"#);
    metrics.expect_contains(r#"violeta_alerta_rosa_entregas{plataforma="manual",accion="publicar",estado="manual"} 1"#);
    assert!(!metrics.body.contains("Ana N."), "an alert's text leaked into the metrics");
    let json = app.get(&op, "/api/v1/alertas/41/difusion").await;
    json.expect(200);
    let v = json.json();
    assert_eq!(v["resumen"]["pendiente"], 1);
    assert_eq!(v["resumen"]["manual"], 1);
    assert_eq!(v["entregas"].as_array().unwrap().len(), 2);

    // The worker posts it (played here through the store); staff record the manual post.
    let job = store.claim_deliveries("w", chrono::Duration::seconds(60), 10).await.unwrap().remove(0);
    store.delivery_done(job.id, "w", &Receipt { remote_id: "77".into(), remote_url: "https://t.me/ug_oaxaca/77".into(), proof: "{}".into() }, false).await.unwrap();
    let manual = store.deliveries(41).await.unwrap().into_iter().find(|d| d.status == "manual").unwrap();
    app.post_form(&op, &format!("/difusion/{}/manual", manual.id), &[("url", "https://www.instagram.com/p/xyz/")]).await.expect(303);
    let page = app.get(&op, "/alerta-rosa/41/difusion").await;
    page.expect(200).expect_contains("https://t.me/ug_oaxaca/77").expect_contains("https://www.instagram.com/p/xyz/");
    assert!(page.headers.get("refresh").is_none(), "nothing on its way: no reload");

    // Closing shows on the page.
    store.close_alert(41, &Publication { kind: PublicationKind::Actualizacion, text: "Ana N. fue localizada.".into(), link: String::new(), ..alert(41) }, Takedown::Borrar, &test_actor()).await.unwrap();
    let page = app.get(&op, "/alerta-rosa/41/difusion").await;
    page.expect(200).expect_contains("se cerró").expect_contains("Borrar la publicación original");
    let v = app.get(&op, "/api/v1/alertas/41/difusion").await.json();
    assert!(v["cerrada"].is_string());

    // Other roles are kept out.
    let coordinacion = app.login_demo("coordinacion", addr(61)).await;
    app.get(&coordinacion, "/alerta-rosa/41/difusion").await.expect(403);
    app.cleanup().await;
}
