//! The JSON API with bearer tokens, its OpenAPI document, and the operational endpoints
//! (health, metrics, static files, not found).

mod common;

use common::{TestApp, Who, addr, curp, curp_bad_check_digit, demo_email, test_actor};
use std::collections::BTreeSet;

const ADMIN_TOKEN: &str = "vt_prueba_admin_5d7c0a9e3f1b2c4d6e8f";

async fn admin_token(app: &TestApp) -> Who {
    let admin_id = app.user_id(&demo_email("admin")).await;
    app.store().create_api_token(&test_actor(), admin_id, "integración de pruebas", ADMIN_TOKEN).await.unwrap();
    Who::bearer(ADMIN_TOKEN, addr(70))
}

#[tokio::test]
async fn territory_endpoints() {
    let app = TestApp::demo().await;
    let api = admin_token(&app).await;

    let r = app.get(&api, "/api/v1/estados").await;
    r.expect(200);
    assert!(r.content_type().starts_with("application/json"), "{}", r.content_type());
    let states = r.json();
    let states = states.as_array().unwrap();
    assert_eq!(states.len(), 32);
    let oaxaca = states.iter().find(|s| s["clave"] == "20").expect("Oaxaca");
    assert_eq!(oaxaca["nombre"], "Oaxaca");
    assert_eq!(oaxaca["municipios"], 570);

    let r = app.get(&api, "/api/v1/estados/20/municipios?q=huatulco").await;
    r.expect(200);
    let found = r.json();
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["nombre"], "Santa María Huatulco");
    assert_eq!(found[0]["region"], "Costa");
    assert_eq!(found[0]["avgm"], serde_json::json!(["violencia_feminicida"]));

    let cvegeo = found[0]["clave"].as_str().unwrap().to_string();
    let r = app.get(&api, &format!("/api/v1/municipios/{cvegeo}")).await;
    r.expect(200);
    assert_eq!(r.json()["nombre"], "Santa María Huatulco");

    // Unknown keys are 404 with the JSON error body.
    for path in ["/api/v1/estados/99/municipios", "/api/v1/municipios/20999", "/api/v1/avgm/999999"] {
        let r = app.get(&api, path).await;
        r.expect(404);
        assert_eq!(r.json()["error"]["codigo"], "no_encontrado", "{path}");
    }

    let r = app.get(&api, "/api/v1/avgm").await;
    r.expect(200);
    let declarations = r.json();
    assert_eq!(declarations.as_array().unwrap().len(), 3);
    let id = declarations[0]["id"].as_i64().unwrap();
    let r = app.get(&api, &format!("/api/v1/avgm/{id}")).await;
    r.expect(200);
    assert!(!r.json()["lista_municipios"].as_array().unwrap().is_empty());
    app.get(&api, "/api/v1/estados/20/regiones").await.expect(200);
    app.get(&api, "/api/v1/instituciones").await.expect(200);
    app.cleanup().await;
}

#[tokio::test]
async fn people_endpoints_validate_and_audit() {
    let app = TestApp::demo().await;
    let api = admin_token(&app).await;
    let before = app.people_count().await;

    // Invalid CURP: 422 with the field and the reason.
    let bad = curp_bad_check_digit("MAXR920214MOCRNS0");
    let r = app.post_json(&api, "/api/v1/personas", &serde_json::json!({"curp": bad, "nombres": "Rosa", "primer_apellido": "Martínez"})).await;
    r.expect(422);
    let errors = r.json();
    let errors = errors["errores"].as_array().expect("errores");
    let curp_error = errors.iter().find(|e| e["campo"] == "curp").unwrap_or_else(|| panic!("no curp error: {errors:?}"));
    assert!(curp_error["mensaje"].as_str().unwrap().contains("dígito verificador"), "{curp_error}");
    assert_eq!(app.people_count().await, before);

    // Malformed JSON is refused too.
    let r = app.post_json(&api, "/api/v1/personas", &serde_json::json!({"curp": "x"})).await;
    assert!(r.status.is_client_error(), "{}", r.status);

    // Valid: 201 with the stored person (without contact data).
    let good = curp("MAXR920214MOCRNS0");
    let health = app.store().find_institution("Secretaría de Salud del Estado de México").await.unwrap().unwrap();
    let r = app
        .post_json(
            &api,
            "/api/v1/personas",
            &serde_json::json!({
                "curp": good, "nombres": "rosa", "primer_apellido": "martínez", "segundo_apellido": "ruiz",
                "institucion_id": health, "cargo": "Analista", "municipio": "15106",
                "correo": "rosa.martinez@ejemplo.gob.mx", "telefono": "7220001122"
            }),
        )
        .await;
    r.expect(201);
    let person = r.json();
    let id = person["id"].as_i64().unwrap();
    assert_eq!(person["curp"], good.as_str());
    assert_eq!(person["sexo"], "mujer", "sex taken from the CURP");
    assert_eq!(person["institucion_id"], health);
    assert!(person.get("correo").is_none(), "contact data leaks in the person record");
    assert_eq!(app.people_count().await, before + 1);

    // A well-formed municipality key the catalogue lacks: refused in Spanish, nothing written.
    let r = app
        .post_json(&api, "/api/v1/personas", &serde_json::json!({"curp": curp("LOPA880101MMCPRN0"), "nombres": "Ana", "primer_apellido": "López", "municipio": "15999"}))
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(r.json()["error"]["mensaje"].as_str().unwrap().contains("no existe el municipio con clave INEGI 15999"), "{}", r.json());
    assert_eq!(app.people_count().await, before + 1);

    // The same CURP again: 409.
    let r = app.post_json(&api, "/api/v1/personas", &serde_json::json!({"curp": good, "nombres": "Rosa", "primer_apellido": "Martínez"})).await;
    r.expect(409);
    assert_eq!(r.json()["error"]["codigo"], "conflicto");
    assert!(r.json()["error"]["mensaje"].as_str().unwrap().contains("ya existe una persona con la CURP"));

    let r = app.get(&api, &format!("/api/v1/personas/{id}")).await;
    r.expect(200);
    assert_eq!(r.json()["nombres"], person["nombres"]);
    let r = app.get(&api, &format!("/api/v1/personas?q={good}")).await;
    r.expect(200);
    assert_eq!(r.json()["total"], 1);

    // Contact data: returned and audited, with who and from where.
    let r = app.get(&api, &format!("/api/v1/personas/{id}/contacto")).await;
    r.expect(200);
    assert_eq!(r.json(), serde_json::json!({"correo": "rosa.martinez@ejemplo.gob.mx", "telefono": "7220001122"}));
    let entries = app.audit_actions("persona", &id.to_string()).await;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["persona.leer_datos_personales", "persona.crear"]);
    assert_eq!(entries[0].actor, demo_email("admin"));
    assert_eq!(entries[0].origin, "10.0.0.70");

    // The audit trail is in the API as well.
    let r = app.get(&api, &format!("/api/v1/auditoria?entidad=persona&entidad_id={id}")).await;
    r.expect(200);
    let trail: Vec<String> = r.json().as_array().unwrap().iter().map(|e| e["accion"].as_str().unwrap().to_string()).collect();
    assert_eq!(trail, ["persona.leer_datos_personales", "persona.crear"]);
    app.cleanup().await;
}

#[tokio::test]
async fn tokens_are_checked() {
    let app = TestApp::demo().await;
    let admin_id = app.user_id(&demo_email("admin")).await;
    let api = admin_token(&app).await;
    app.get(&api, "/api/v1/estados").await.expect(200);

    // Unknown token: 401 JSON, whatever the route (even a public one).
    let unknown = Who::bearer("vt_no_existe_este_token", addr(71));
    for path in ["/api/v1/estados", "/api/v1/personas", "/api/v1/openapi.json"] {
        let r = app.get(&unknown, path).await;
        r.expect(401);
        assert_eq!(r.json()["error"]["codigo"], "no_autenticado", "{path}");
    }

    // A revoked token stops working at once.
    let revoked = "vt_prueba_revocado_0a1b2c3d4e5f";
    let token_id = app.store().create_api_token(&test_actor(), admin_id, "temporal", revoked).await.unwrap();
    let who = Who::bearer(revoked, addr(72));
    app.get(&who, "/api/v1/estados").await.expect(200);
    app.store().revoke_api_token(&test_actor(), admin_id, token_id).await.unwrap();
    let r = app.get(&who, "/api/v1/estados").await;
    r.expect(401);
    assert_eq!(r.json()["error"]["codigo"], "no_autenticado");

    // A token carries its account's roles: a participant's token reads nothing.
    let participant = app.user_id(&demo_email("participante")).await;
    app.store().create_api_token(&test_actor(), participant, "participante", "vt_prueba_participante_9f8e7d").await.unwrap();
    let who = Who::bearer("vt_prueba_participante_9f8e7d", addr(73));
    let r = app.get(&who, "/api/v1/estados").await;
    r.expect(403);
    assert_eq!(r.json()["error"]["codigo"], "prohibido");

    // Without any credentials: 401 JSON, never a redirect.
    let r = app.get(&Who::nobody(addr(74)), "/api/v1/personas").await;
    r.expect(401);
    assert_eq!(r.json()["error"]["codigo"], "no_autenticado");
    assert!(r.json()["error"]["mensaje"].as_str().unwrap().contains("inicie sesión"));
    app.cleanup().await;
}

#[tokio::test]
async fn openapi_describes_every_api_route() {
    let app = TestApp::new().await;
    let r = app.get(&Who::nobody(addr(75)), "/api/v1/openapi.json").await;
    r.expect(200);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with('3'), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().expect("paths");
    let mut missing = BTreeSet::new();
    for route in violeta_web::routes::catalog(app.state.clone()) {
        if !route.path.starts_with("/api/v1/") || route.path == "/api/v1/openapi.json" {
            continue;
        }
        // axum and utoipa both write parameters as {name}.
        let method = route.method.to_lowercase();
        if paths.get(route.path).and_then(|p| p.get(&method)).is_none() {
            missing.insert(format!("{} {}", route.method, route.path));
        }
    }
    assert!(missing.is_empty(), "API routes missing from openapi.json: {missing:?}");
    // And the document describes no route that does not exist.
    let catalog: BTreeSet<String> = violeta_web::routes::catalog(app.state.clone()).into_iter().map(|r| r.path.to_string()).collect();
    let extra: Vec<&String> = paths.keys().filter(|p| !catalog.contains(*p)).collect();
    assert!(extra.is_empty(), "openapi.json describes routes that do not exist: {extra:?}");
    assert!(doc["components"]["securitySchemes"]["token"].is_object(), "bearer scheme documented");
    app.cleanup().await;
}

// ----- operations -----

#[tokio::test]
async fn health_metrics_static_and_not_found() {
    let app = TestApp::new().await;
    let nobody = Who::nobody(addr(76));

    let r = app.get(&nobody, "/healthz").await;
    r.expect(200);
    assert_eq!(r.json(), serde_json::json!({"estado": "ok"}));

    let r = app.get(&nobody, "/ruta/que/no/existe").await;
    r.expect(404).expect_contains("No encontrado").expect_contains("la página que busca no existe");
    assert!(r.content_type().starts_with("text/html"), "{}", r.content_type());
    assert!(r.body.contains(r#"lang="es-MX""#));

    let r = app.get(&nobody, "/static/violeta.css").await;
    r.expect(200);
    assert!(r.content_type().starts_with("text/css"), "{}", r.content_type());
    assert!(!r.body.is_empty());
    app.get(&nobody, "/static/no-existe.js").await.expect(404);
    app.get(&nobody, "/static/..%2FCargo.toml").await.expect(404);

    let r = app.get(&nobody, "/metrics").await;
    r.expect(200);
    // Counters by route pattern (never the raw path), method and status.
    r.expect_contains("violeta_http_requests_total");
    r.expect_contains(r#"violeta_http_requests_total{method="GET",route="/healthz",status="200"} 1"#);
    assert!(
        r.body.lines().any(|l| l.starts_with(r#"violeta_http_requests_total{method="GET",route="/static/"#) && l.contains(r#"status="200""#)),
        "static file requests are counted by their route pattern:\n{}",
        r.body
    );
    r.expect_contains("violeta_http_request_duration_seconds");
    assert!(!r.body.contains("/ruta/que/no/existe"), "a raw path leaked into the metrics");
    assert!(!r.body.contains("violeta.css"), "a raw path leaked into the metrics");

    // The landing page is public and in Spanish.
    let r = app.get(&nobody, "/").await;
    r.expect(200);
    assert!(r.body.contains(r#"lang="es-MX""#));
    app.cleanup().await;
}
