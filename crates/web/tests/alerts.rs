//! Alerta Rosa through the web: an operator reports, checks risk and consent, activates;
//! the public page, the fichas, the CAP message (valid against the OASIS CAP 1.2 schema,
//! checked with `xmllint`) and the Atom index show her; once she is located, every public
//! surface drops her data at once. Drills never reach the public; private reads are audited.

mod common;

use common::{TestApp, Who, addr};
use std::io::Write;
use violeta_domain::credential::MasterKey;
use violeta_web::Config;

const XSD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/cap/CAP-v1.2.xsd");
const NAME: &str = "Citlali Hernández Morales";
const REPORTER: &str = "Juana Morales Pérez";
const PHONE: &str = "951 555 0199";
const FILE_NUMBER: &str = "CI-PRUEBA-77/2026";

/// The demo app with a key for the private parts (as `violeta serve` with VIOLETA_SECRET_KEY).
async fn app() -> TestApp {
    TestApp::demo_with(Config { credential_key: Some(MasterKey::demo()), ..Default::default() }).await
}

/// Runs xmllint on `xml`; `schema`: validate against the CAP schema too.
fn xmllint(xml: &str, schema: bool) -> Result<(), String> {
    let dir = std::env::temp_dir().join("violeta-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("xml-{}-{}.xml", std::process::id(), rand_suffix()));
    std::fs::File::create(&path).unwrap().write_all(xml.as_bytes()).unwrap();
    let mut cmd = std::process::Command::new("xmllint");
    cmd.arg("--noout");
    if schema {
        cmd.args(["--schema", XSD]);
    }
    let out = cmd.arg(&path).output().unwrap_or_else(|e| panic!("xmllint is needed (Debian: libxml2-utils; scripts/test installs it): {e}"));
    let _ = std::fs::remove_file(&path);
    if out.status.success() { Ok(()) } else { Err(format!("{}\n{}", String::from_utf8_lossy(&out.stderr), xml)) }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn case_fields(drill: bool) -> Vec<(&'static str, String)> {
    let now = violeta_domain::alerta::to_local(violeta_store::now() - chrono::Duration::hours(2));
    let mut f = vec![
        ("full_name", NAME.to_string()),
        ("age", "14".into()),
        ("sex", "mujer".into()),
        ("height_cm", "150".into()),
        ("clothing", "Sudadera morada y pantalón negro".into()),
        ("marks", "Cicatriz en la ceja derecha".into()),
        ("last_seen_date", now.format("%Y-%m-%d").to_string()),
        ("last_seen_time", now.format("%H:%M").to_string()),
        ("last_seen_place", "Mercado 20 de Noviembre".into()),
        ("state", "20".into()),
        ("municipality", "Oaxaca de Juárez".into()),
        ("lat", "17.0588".into()),
        ("lon", "-96.7265".into()),
        ("authority", "Fiscalía General del Estado de Oaxaca".into()),
        ("reporter_name", REPORTER.into()),
        ("reporter_relationship", "Madre".into()),
        ("reporter_phone", PHONE.into()),
        ("file_number", FILE_NUMBER.into()),
        ("health", "Diabetes tipo 1".into()),
    ];
    if drill {
        f.push(("drill", "si".into()));
    }
    f
}

/// Creates a case through the form; returns its id.
async fn create(app: &TestApp, who: &Who, drill: bool) -> i64 {
    let fields = case_fields(drill);
    let csrf = who.csrf.clone().unwrap();
    let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    all.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
    let photo = violeta_app::alerta::photo::demo_silhouette(4);
    let r = app.post_multipart(who, "/alerta-rosa", &all, Some(("photo", "foto.jpg", &photo))).await;
    r.expect(303);
    let location = r.location().unwrap().to_string();
    location.trim_start_matches("/alerta-rosa/").split('?').next().unwrap().parse().unwrap()
}

async fn approve(app: &TestApp, who: &Who, id: i64) {
    app.post_form(
        who,
        &format!("/alerta-rosa/{id}/riesgo"),
        &[
            ("level", "bajo"),
            ("publish", "si"),
            ("notes", "Sin indicios de persona agresora"),
            ("consent", "otorgado"),
            ("consent_by", REPORTER),
            ("consent_relationship", "Madre"),
        ],
    )
    .await
    .expect(303);
}

async fn folio_of(app: &TestApp, id: i64) -> String {
    app.store().alert(id).await.unwrap().folio
}

#[tokio::test]
async fn from_report_to_localization_through_every_public_surface() {
    let app = app().await;
    let op = app.login_demo("alerta", addr(60)).await;
    let public = Who::nobody(addr(61));

    // The form refuses an incomplete case with every reason, keeping what was typed.
    let csrf = op.csrf.clone().unwrap();
    let r = app.post_multipart(&op, "/alerta-rosa", &[("csrf", &csrf), ("full_name", NAME), ("age", "abc")], None).await;
    r.expect(422).expect_contains("la edad «abc» no es válida").expect_contains("indique el nombre de quien reporta").expect_contains(NAME);
    let bad_photo = app.post_multipart(&op, "/alerta-rosa", &[("csrf", &csrf)], Some(("photo", "x.gif", b"GIF89a"))).await;
    bad_photo.expect(422).expect_contains("JPEG o PNG");

    let id = create(&app, &op, false).await;
    let folio = folio_of(&app, id).await;
    let page = app.get(&op, &format!("/alerta-rosa/{id}")).await;
    page.expect(200).expect_contains("falta registrar la evaluación de riesgo");
    assert!(!page.body.contains(REPORTER) && !page.body.contains(PHONE), "the private part needs its own, audited, request");
    app.get(&public, &format!("/alertas/{folio}")).await.expect(404);

    // Activation waits for the risk check and the explicit confirmation.
    let r = app.post_form(&op, &format!("/alerta-rosa/{id}/activar"), &[("confirmo", "si")]).await;
    r.expect(422).expect_contains("falta registrar la evaluación de riesgo");
    approve(&app, &op, id).await;
    let r = app.post_form(&op, &format!("/alerta-rosa/{id}/activar"), &[]).await;
    r.expect(422).expect_contains("confirme expresamente");
    let before = app.get(&public, "/alertas").await;
    before.expect(200);
    assert!(!before.body.contains(NAME));
    app.post_form(&op, &format!("/alerta-rosa/{id}/activar"), &[("confirmo", "si")]).await.expect(303);

    // Public at once: list, page, fichas, photo, CAP, Atom.
    let list = app.get(&public, "/alertas").await;
    list.expect(200).expect_contains(NAME).expect_contains(&folio);
    assert!(list.set_cookie("violeta_csrf").is_none(), "public pages set no cookie, so they can be shared by caches");
    let page = app.get(&public, &format!("/alertas/{folio}")).await;
    page.expect(200).expect_contains(NAME).expect_contains("Sudadera morada").expect_contains("tel:911").expect_contains("ficha-1080x1080.png");
    for private in [REPORTER, PHONE, FILE_NUMBER, "Diabetes", "Fiscalía General"] {
        assert!(!page.body.contains(private), "{private} on the public page");
    }
    let png = app.get(&public, &format!("/alertas/{folio}/ficha-1080x1080.png")).await;
    png.expect(200);
    assert_eq!(png.content_type(), "image/png");
    assert!(png.body.starts_with("\u{fffd}PNG"), "a PNG file");
    app.get(&public, &format!("/alertas/{folio}/ficha-1200x630.png")).await.expect(200);
    let pdf = app.get(&public, &format!("/alertas/{folio}/ficha.pdf")).await;
    pdf.expect(200);
    assert!(pdf.body.starts_with("%PDF-"));
    app.get(&public, &format!("/alertas/{folio}/foto.jpg")).await.expect(200);
    app.get(&public, &format!("/alertas/{folio}/no-existe.png")).await.expect(404);

    let cap = app.get(&public, &format!("/alertas/{folio}/cap.xml")).await;
    cap.expect(200);
    assert!(cap.content_type().starts_with("application/cap+xml"));
    xmllint(&cap.body, true).unwrap_or_else(|e| panic!("the CAP Alert does not validate: {e}"));
    for part in ["<msgType>Alert</msgType>", NAME, "<valueName>INEGI</valueName>", "<value>20067</value>", "<circle>17.05880,-96.72650 10.0</circle>", "/foto.jpg</uri>"] {
        assert!(cap.body.contains(part), "«{part}» missing from the CAP message:\n{}", cap.body);
    }
    let atom = app.get(&public, "/alertas.atom").await;
    atom.expect(200);
    xmllint(&atom.body, false).unwrap_or_else(|e| panic!("the Atom index is not well-formed: {e}"));
    assert!(atom.body.contains(&format!("/alertas/{folio}/cap.xml")) && atom.body.contains(NAME));

    // Conditional GET: the same version answers 304.
    let etag = cap.headers.get("etag").unwrap().to_str().unwrap().to_string();
    let again = app.send(public.request("GET", &format!("/alertas/{folio}/cap.xml")).header("if-none-match", &etag).body(axum::body::Body::empty()).unwrap()).await;
    again.expect(304);

    // A translation: a second <info> in the CAP message, an Update referencing the Alert.
    let expected = app.store().alert(id).await.unwrap().updated_at.timestamp_micros().to_string();
    app.post_form(
        &op,
        &format!("/alerta-rosa/{id}/traducciones"),
        &[("expected", &expected), ("language", "zap"), ("language_name", "Zapoteco del Istmo"), ("heading", "¡Gacanenu!"), ("body", "Texto en zapoteco aportado por el personal")],
    )
    .await
    .expect(303);
    let cap = app.get(&public, &format!("/alertas/{folio}/cap.xml")).await;
    xmllint(&cap.body, true).unwrap_or_else(|e| panic!("the CAP Update does not validate: {e}"));
    assert!(cap.body.contains("<msgType>Update</msgType>") && cap.body.contains("<language>zap</language>"));
    assert!(cap.body.contains(&format!("{folio}-M1")), "the Update references the Alert");
    assert_ne!(cap.headers.get("etag").unwrap().to_str().unwrap(), etag, "the change shows at once");
    app.get(&public, &format!("/alertas/{folio}/ficha-1080x1080.zap.png")).await.expect(200);
    app.get(&public, &format!("/alertas/{folio}")).await.expect_contains("Zapoteco del Istmo");

    // Located: her data leaves every public surface at once; the file keeps it.
    app.post_form(&op, &format!("/alerta-rosa/{id}/concluir"), &[("cierre", "localizada_con_vida"), ("nota", "Localizada en buen estado")]).await.expect(303);
    let page = app.get(&public, &format!("/alertas/{folio}")).await;
    page.expect(200).expect_contains("concluyó");
    assert_eq!(page.headers.get("x-robots-tag").map(|v| v.to_str().unwrap()), Some("noindex"));
    for gone in [NAME, "Sudadera", "Mercado 20 de Noviembre", "foto.jpg", "ficha-1080x1080"] {
        assert!(!page.body.contains(gone), "«{gone}» still on the public page of a concluded alert");
    }
    for file in ["foto.jpg", "ficha-1080x1080.png", "ficha.pdf", "ficha-1080x1080.zap.png"] {
        app.get(&public, &format!("/alertas/{folio}/{file}")).await.expect(410);
    }
    let list = app.get(&public, "/alertas").await;
    assert!(!list.body.contains(NAME));
    let atom = app.get(&public, "/alertas.atom").await;
    assert!(!atom.body.contains(NAME) && !atom.body.contains(&folio));
    let cap = app.get(&public, &format!("/alertas/{folio}/cap.xml")).await;
    cap.expect(200);
    xmllint(&cap.body, true).unwrap_or_else(|e| panic!("the closing CAP message does not validate: {e}"));
    assert!(cap.body.contains("<msgType>Update</msgType>") && cap.body.contains("<responseType>AllClear</responseType>"));
    for gone in [NAME, "Sudadera", "<resource>", "<circle>", "zap"] {
        assert!(!cap.body.contains(gone), "«{gone}» in the closing CAP message:\n{}", cap.body);
    }
    let staff = app.get(&op, &format!("/alerta-rosa/{id}")).await;
    staff.expect(200).expect_contains(NAME).expect_contains("Localizada con vida").expect_contains("Localizada en buen estado");
    app.post_form(&op, &format!("/alerta-rosa/{id}/activar"), &[("confirmo", "si")]).await.expect(422);
    app.cleanup().await;
}

#[tokio::test]
async fn drills_never_reach_the_public() {
    let app = app().await;
    let op = app.login_demo("alerta", addr(62)).await;
    let public = Who::nobody(addr(63));
    let id = create(&app, &op, true).await;
    let folio = folio_of(&app, id).await;
    assert!(folio.starts_with("SIM-"));
    approve(&app, &op, id).await;
    app.post_form(&op, &format!("/alerta-rosa/{id}/activar"), &[("confirmo", "si")]).await.expect(303);
    let staff = app.get(&op, &format!("/alerta-rosa/{id}")).await;
    staff.expect(200).expect_contains("Activada").expect_contains("Simulacro: nunca se publica");
    let ficha = app.get(&op, &format!("/alerta-rosa/{id}/ficha/ficha-1080x1080.png")).await;
    ficha.expect(200);
    assert_eq!(ficha.headers.get("cache-control").unwrap(), "private, no-store");
    for path in [format!("/alertas/{folio}"), format!("/alertas/{folio}/cap.xml"), format!("/alertas/{folio}/foto.jpg"), format!("/alertas/{folio}/ficha.pdf")] {
        app.get(&public, &path).await.expect(404);
    }
    assert!(!app.get(&public, "/alertas").await.body.contains(NAME));
    assert!(!app.get(&public, "/alertas.atom").await.body.contains(NAME));
    app.cleanup().await;
}

#[tokio::test]
async fn private_part_is_for_operators_and_every_read_is_audited() {
    let app = app().await;
    let op = app.login_demo("alerta", addr(64)).await;
    let admin = app.login_demo("admin", addr(65)).await;
    let id = create(&app, &op, false).await;
    let reads = || async {
        app.audit_actions("alerta", &id.to_string()).await.into_iter().filter(|e| e.action == "alerta.leer_datos_privados").count()
    };
    assert_eq!(reads().await, 0);
    let p = app.get(&op, &format!("/alerta-rosa/{id}/privado")).await;
    p.expect(200).expect_contains(REPORTER).expect_contains(PHONE).expect_contains(FILE_NUMBER).expect_contains("Diabetes tipo 1");
    assert_eq!(p.headers.get("cache-control").unwrap(), "no-store");
    assert_eq!(reads().await, 1);
    let api = app.get(&op, &format!("/api/v1/alertas/{id}/privado")).await;
    api.expect(200);
    assert_eq!(api.json()["telefono"], PHONE);
    assert_eq!(reads().await, 2);
    // The edit form shows the private part: it is a read too.
    app.get(&op, &format!("/alerta-rosa/{id}/editar")).await.expect(200).expect_contains(REPORTER);
    assert_eq!(reads().await, 3);
    // The administrator runs the cases but does not read who reported them.
    app.get(&admin, &format!("/alerta-rosa/{id}")).await.expect(200);
    app.get(&admin, &format!("/alerta-rosa/{id}/privado")).await.expect(403);
    app.get(&admin, &format!("/api/v1/alertas/{id}/privado")).await.expect(403);
    let case = app.get(&admin, &format!("/api/v1/alertas/{id}")).await;
    case.expect(200);
    assert!(!case.body.contains(REPORTER) && !case.body.contains(PHONE));
    assert_eq!(reads().await, 3);
    // No audit entry carries the values read.
    for e in app.audit_actions("alerta", &id.to_string()).await {
        assert!(!e.detail.contains(PHONE) && !e.detail.contains(REPORTER), "{}: {}", e.action, e.detail);
    }
    app.cleanup().await;
}

#[tokio::test]
async fn the_public_cache_reads_the_alerts_once_per_change() {
    let app = app().await;
    let op = app.login_demo("alerta", addr(66)).await;
    let public = Who::nobody(addr(67));
    for _ in 0..5 {
        app.get(&public, "/alertas.atom").await.expect(200);
        app.get(&public, "/alertas").await.expect(200);
    }
    let stats = app.state.alert_cache.stats();
    assert_eq!(stats.loads, 1, "{stats:?}");
    // A change the public does not see (a new report) does not disturb the cache.
    let id = create(&app, &op, false).await;
    app.get(&public, "/alertas.atom").await.expect(200);
    assert_eq!(app.state.alert_cache.stats().loads, 1);
    // An activation does, at once.
    approve(&app, &op, id).await;
    app.post_form(&op, &format!("/alerta-rosa/{id}/activar"), &[("confirmo", "si")]).await.expect(303);
    assert!(app.get(&public, "/alertas.atom").await.body.contains(NAME));
    assert_eq!(app.state.alert_cache.stats().loads, 2);
    app.cleanup().await;
}

#[tokio::test]
async fn demo_alerts_and_the_report() {
    let app = app().await;
    let op = app.login_demo("alerta", addr(68)).await;
    let report = app.get(&op, "/alerta-rosa/informe?desde=2018&hasta=2019").await;
    report.expect(200).expect_contains("<strong>28</strong> alertas").expect_contains("Oaxaca de Juárez");
    let csv = app.get(&op, "/alerta-rosa/informe.csv?desde=2018&hasta=2019").await;
    csv.expect(200);
    assert_eq!(csv.body.lines().count(), 29, "a header and 28 alerts");
    assert!(csv.body.contains("AR-2018-0001"));
    let api = app.get(&op, "/api/v1/alertas/informe?desde=2018&hasta=2019").await;
    api.expect(200);
    let j = api.json();
    assert_eq!(j["alertas"], 28);
    assert_eq!(j["localizadas_con_vida"].as_i64().unwrap() + j["localizadas_sin_vida"].as_i64().unwrap() + j["desactivadas"].as_i64().unwrap(), 28);
    assert!(j["reporte_a_activacion"]["mediana"].as_i64().unwrap() > 0);
    app.get(&op, "/alerta-rosa/informe?desde=2019&hasta=2018").await.expect(422);
    // All concluded: nothing of them is public.
    let public = Who::nobody(addr(69));
    let list = app.get(&public, "/alertas").await;
    list.expect(200).expect_contains("No hay alertas activas");
    let page = app.get(&public, "/alertas/AR-2018-0001").await;
    page.expect(200).expect_contains("concluyó");
    // The case reported for the demonstration is ready to activate, its ficha labelled.
    let open = app.store().alerts(&violeta_store::alerts::AlertFilter { open_only: true, query: None }).await.unwrap();
    assert_eq!(open.len(), 1);
    let case = app.get(&op, &format!("/alerta-rosa/{}", open[0].id)).await;
    case.expect(200).expect_contains("Activar la alerta");
    app.cleanup().await;
}

#[tokio::test]
async fn api_creates_checks_activates_and_closes() {
    let app = app().await;
    let store = app.store();
    let admin = app.login_demo("admin", addr(70)).await;
    let token = "token-de-prueba-de-alerta-rosa-0123456789";
    store.create_api_token(&common::test_actor(), app.user_id("alerta@demo.violeta.mx").await, "pruebas", token).await.unwrap();
    let bot = Who::bearer(token, addr(71));
    let bad = app.post_json(&bot, "/api/v1/alertas", &serde_json::json!({"nombre": "Ana"})).await;
    bad.expect(422);
    assert!(bad.json()["errores"].as_array().unwrap().iter().any(|e| e["campo"] == "age"));
    let now = violeta_domain::alerta::to_local(violeta_store::now() - chrono::Duration::hours(1));
    let created = app
        .post_json(
            &bot,
            "/api/v1/alertas",
            &serde_json::json!({
                "nombre": "Ximena Cruz Reyes", "edad": "19", "sexo": "mujer", "vestimenta": "Vestido azul",
                "fecha": now.format("%Y-%m-%d").to_string(), "hora": now.format("%H:%M").to_string(), "lugar": "Centro",
                "municipio": "20067", "autoridad": "Fiscalía", "quien_reporta": "Ana Reyes", "telefono_de_quien_reporta": "9510000000"
            }),
        )
        .await;
    created.expect(201);
    let id = created.json()["id"].as_i64().unwrap();
    assert_eq!(created.json()["estado"], "reportada");
    let r = app.post_json(&bot, &format!("/api/v1/alertas/{id}/activar"), &serde_json::json!({"confirmo": true})).await;
    r.expect(422);
    assert!(r.json()["error"]["mensaje"].as_str().unwrap().contains("fotografía"));
    app.post_json(&bot, &format!("/api/v1/alertas/{id}/riesgo"), &serde_json::json!({"nivel": "bajo", "procede": "si", "fundamento": "x", "consentimiento": "no_requerido", "nota": "Mayor de edad; lo pide la fiscalía"})).await.expect(204);
    let closed = app.post_json(&bot, &format!("/api/v1/alertas/{id}/concluir"), &serde_json::json!({"cierre": "desactivada", "nota": "Duplicado"})).await;
    closed.expect(200);
    assert_eq!(closed.json()["estado"], "desactivada");
    let list = app.get(&admin, "/api/v1/alertas?q=ximena%20cruz%20reyes").await;
    list.expect(200);
    assert_eq!(list.json().as_array().unwrap().len(), 1);
    let spec = app.get(&Who::nobody(addr(72)), "/api/v1/openapi.json").await;
    assert!(spec.json()["paths"]["/api/v1/alertas/{id}/activar"].is_object());
    app.cleanup().await;
}
