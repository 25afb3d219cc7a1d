//! Signing in and out, sign-in rate limiting, password links, and CSRF protection.

mod common;

use axum::body::Body;
use axum::http::header;
use chrono::Duration;
use common::{DEMO_PASSWORD, HOST, TestApp, Who, addr, curp, demo_email, test_actor};
use violeta_domain::access::Role;
use violeta_store::accounts::NewUser;

// ----- CSRF -----

/// A valid person form (without the csrf field).
fn person_fields(curp: &str) -> Vec<(&'static str, String)> {
    vec![
        ("curp", curp.to_string()),
        ("given_names", "Itzel".into()),
        ("first_surname", "Prueba".into()),
        ("second_surname", "Segura".into()),
        ("sex", "".into()),
        ("institution", "".into()),
        ("email", "itzel.prueba@ejemplo.gob.mx".into()),
    ]
}

fn refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn csrf_protects_state_changing_requests() {
    let app = TestApp::demo().await;
    let admin = app.login_demo("admin", addr(40)).await;
    let token = admin.csrf.clone().unwrap();
    let the_curp = curp("PUXI900315MOCRXT0");
    let fields = person_fields(&the_curp);
    let people = app.people_count().await;
    let audit = app.audit_count().await;

    // No token at all: the middleware refuses before the handler runs.
    let r = app.post_form_raw(&admin, "/personas", &refs(&fields)).await;
    r.expect(422).expect_contains("el formulario caducó o no viene de Violeta");
    // A wrong token, in the form or in the header.
    let mut wrong = refs(&fields);
    wrong.insert(0, ("csrf", "token-equivocado-token-equivocado-0000"));
    let r = app.post_form_raw(&admin, "/personas", &wrong).await;
    r.expect(422).expect_contains("el formulario caducó");
    let body = serde_urlencoded::to_string(refs(&fields)).unwrap();
    let req = admin
        .request("POST", "/personas")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-csrf-token", "token-equivocado")
        .body(Body::from(body))
        .unwrap();
    app.send(req).await.expect(403);
    // The pre-session token of another visitor is not this session's.
    let visitor = app.visitor(addr(41)).await;
    let mut foreign = refs(&fields);
    foreign.insert(0, ("csrf", visitor.csrf.as_deref().unwrap()));
    app.post_form_raw(&admin, "/personas", &foreign).await.expect(422);
    // A cross-site Origin is refused even with the right token.
    let mut good = refs(&fields);
    good.insert(0, ("csrf", &token));
    let body = serde_urlencoded::to_string(&good).unwrap();
    let req = admin
        .request("POST", "/personas")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "http://evil.example")
        .body(Body::from(body.clone()))
        .unwrap();
    app.send(req).await.expect(403);
    // JSON with the session cookie but no X-CSRF-Token: refused.
    let req = admin
        .request("POST", "/api/v1/personas")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::json!({"curp": the_curp, "nombres": "Itzel", "primer_apellido": "Prueba"}).to_string()))
        .unwrap();
    app.send(req).await.expect(403);
    // A state-changing request as a GET does not exist.
    let salir = app.get(&admin, "/salir").await;
    assert!(salir.status == 404 || salir.status == 405, "GET /salir: {}", salir.status);

    assert_eq!(app.people_count().await, people, "a refused request wrote a person");
    assert_eq!(app.audit_count().await, audit, "a refused request wrote to the audit trail");
    app.get(&admin, "/panel").await.expect(200); // the session survived

    // Same origin and the right token: accepted.
    let req = admin
        .request("POST", "/personas")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, format!("http://{HOST}"))
        .body(Body::from(body))
        .unwrap();
    let r = app.send(req).await;
    r.expect(303);
    assert!(r.location().unwrap().starts_with("/personas/"));
    assert_eq!(app.people_count().await, people + 1);

    // The token in the X-CSRF-Token header works for JSON calls made with the session.
    let other = curp("PUXA850720MOCRXT0");
    let r = app.post_json(&admin, "/api/v1/personas", &serde_json::json!({"curp": other, "nombres": "Ana", "primer_apellido": "Prueba"})).await;
    r.expect(201);

    // A bearer token needs no CSRF token (no cookies are involved).
    let admin_id = app.user_id(&demo_email("admin")).await;
    app.store().create_api_token(&test_actor(), admin_id, "integración", "vt_prueba_csrf_0123456789abcdef").await.unwrap();
    let api = Who::bearer("vt_prueba_csrf_0123456789abcdef", addr(42));
    let third = curp("PUXL700101HOCRXT0");
    let r = app.post_json(&api, "/api/v1/personas", &serde_json::json!({"curp": third, "nombres": "Luis", "primer_apellido": "Prueba"})).await;
    r.expect(201);
    assert_eq!(app.people_count().await, people + 3);
    app.cleanup().await;
}

#[tokio::test]
async fn multipart_upload_without_csrf_is_refused() {
    let app = TestApp::demo().await;
    let admin = app.login_demo("admin", addr(43)).await;
    let csv = format!("CURP,Nombre completo\n{},Rosa Prueba Sin Token\n", curp("PURX900101MOCRXT0"));
    let people = app.people_count().await;
    let r = app.post_multipart(&admin, "/personas/importar", &[("entidad", "20")], Some(("archivo", "lista.csv", csv.as_bytes()))).await;
    r.expect(422).expect_contains("el formulario caducó");
    let r = app
        .post_multipart(&admin, "/personas/importar", &[("csrf", "otro-token-otro-token-otro-token-00"), ("entidad", "20")], Some(("archivo", "lista.csv", csv.as_bytes())))
        .await;
    r.expect(422).expect_contains("el formulario caducó");
    // The token after the file is found as well.
    let csrf = admin.csrf.clone().unwrap();
    let (content_type, mut body) = common::multipart(&[], Some(("archivo", "lista.csv", csv.as_bytes())));
    let tail = format!("------violeta-prueba-7d1f3c\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n------violeta-prueba-7d1f3c--\r\n");
    body.truncate(body.len() - "------violeta-prueba-7d1f3c--\r\n".len());
    body.extend_from_slice(tail.as_bytes());
    let req = admin.request("POST", "/personas/importar").header(header::CONTENT_TYPE, content_type).body(Body::from(body)).unwrap();
    app.send(req).await.expect(200).expect_contains("Importación terminada");
    assert_eq!(app.people_count().await, people + 1);
    // An upload over the size limit is refused in Spanish.
    let big = vec![b'x'; violeta_web::auth::MAX_UPLOAD_BYTES + 1];
    let r = app.post_multipart(&admin, "/personas/importar", &[("csrf", &csrf)], Some(("archivo", "grande.csv", &big))).await;
    r.expect(422).expect_contains("demasiado grande");
    assert_eq!(app.people_count().await, people + 1);
    app.cleanup().await;
}

#[tokio::test]
async fn sign_in_form_needs_its_csrf_token() {
    let app = TestApp::demo().await;
    let visitor = app.visitor(addr(44)).await;
    // Without the token (cookie present), and without the cookie (token present).
    let r = app.post_form_raw(&visitor, "/entrar", &[("email", &demo_email("admin")), ("password", DEMO_PASSWORD)]).await;
    r.expect(422);
    assert!(r.set_cookie("violeta_sesion").is_none());
    let mut no_cookie = visitor.clone();
    no_cookie.cookies.clear();
    let r = app.post_form(&no_cookie, "/entrar", &[("email", &demo_email("admin")), ("password", DEMO_PASSWORD)]).await;
    r.expect(422);
    assert!(r.set_cookie("violeta_sesion").is_none());
    app.cleanup().await;
}

// ----- signing in and out -----

#[tokio::test]
async fn wrong_password_is_refused_in_spanish() {
    let app = TestApp::demo().await;
    let visitor = app.visitor(addr(50)).await;
    let r = app.submit_login(&visitor, &demo_email("evaluacion"), "no-es-la-contraseña", "/panel").await;
    r.expect(422).expect_contains("El correo o la contraseña no son correctos.");
    assert!(r.set_cookie("violeta_sesion").is_none());
    // An unknown account gets the very same answer.
    let r = app.submit_login(&visitor, "nadie@demo.violeta.mx", "no-es-la-contraseña", "/panel").await;
    r.expect(422).expect_contains("El correo o la contraseña no son correctos.");
    // The form keeps the email typed.
    assert!(r.body.contains(r#"value="nadie@demo.violeta.mx""#));
    app.cleanup().await;
}

#[tokio::test]
async fn too_many_failures_lock_the_account_for_a_while() {
    let app = TestApp::demo().await;
    let email = demo_email("participante");
    let visitor = app.visitor(addr(51)).await;
    for i in 0..5 {
        let r = app.submit_login(&visitor, &email, &format!("intento-{i}"), "/panel").await;
        r.expect(422);
    }
    // The sixth attempt is refused even with the right password, and from elsewhere too.
    let r = app.submit_login(&visitor, &email, DEMO_PASSWORD, "/panel").await;
    r.expect(429).expect_contains("demasiados intentos fallidos").expect_contains("Demasiados intentos");
    assert!(r.set_cookie("violeta_sesion").is_none());
    let elsewhere = app.visitor(addr(52)).await;
    app.submit_login(&elsewhere, &email, DEMO_PASSWORD, "/panel").await.expect(429);
    // Other accounts are not affected.
    let r = app.submit_login(&elsewhere, &demo_email("evaluacion"), DEMO_PASSWORD, "/panel").await;
    r.expect(303);
    app.cleanup().await;
}

#[tokio::test]
async fn after_sign_in_only_local_paths_are_followed() {
    let app = TestApp::demo().await;
    let visitor = app.visitor(addr(53)).await;
    // The form itself does not carry a foreign target.
    let form = app.get(&visitor, "/entrar?siguiente=//evil.example").await;
    form.expect(200);
    assert!(form.body.contains(r#"name="siguiente" value="/panel""#), "{}", form.body);
    // Browsers drop tabs and newlines inside URLs, so "/\t/evil.example" is "//evil.example";
    // a newline cannot even go in a Location header.
    for evil in ["//evil.example", "https://evil.example/", "/\\evil.example", "evil.example", "/\t/evil.example", "/\n/evil.example", "/\r\n/x"] {
        let r = app.submit_login(&visitor, &demo_email("evaluacion"), DEMO_PASSWORD, evil).await;
        r.expect(303);
        assert_eq!(r.location(), Some("/panel"), "siguiente={evil}");
    }
    // A local path is followed.
    let r = app.submit_login(&visitor, &demo_email("evaluacion"), DEMO_PASSWORD, "/territorio/20").await;
    r.expect(303);
    assert_eq!(r.location(), Some("/territorio/20"));
    // The session cookie is HttpOnly and SameSite.
    let cookie = r.set_cookie_header("violeta_sesion").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    app.cleanup().await;
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = TestApp::demo().await;
    let who = app.login_demo("coordinacion", addr(54)).await;
    app.get(&who, "/personas").await.expect(200);
    let r = app.post_form(&who, "/salir", &[]).await;
    r.expect(303);
    assert_eq!(r.location(), Some("/entrar?aviso=salio"));
    assert_eq!(r.set_cookie("violeta_sesion").as_deref(), Some(""), "the cookie is cleared");
    // The old cookie no longer opens anything.
    let r = app.get(&who, "/personas").await;
    assert!(r.is_sign_in_redirect(), "{} {:?}", r.status, r.location());
    assert_eq!(r.location(), Some("/entrar?siguiente=%2Fpersonas"));
    let r = app.get(&who, "/api/v1/personas").await;
    r.expect(401);
    assert_eq!(r.json()["error"]["codigo"], "no_autenticado");
    // The sign-out is in the audit trail.
    let id = app.user_id(&demo_email("coordinacion")).await;
    let actions: Vec<String> = app.audit_actions("usuario", &id.to_string()).await.into_iter().map(|e| e.action).collect();
    assert!(actions.contains(&"sesion.cerrar".to_string()), "{actions:?}");
    assert!(actions.contains(&"sesion.iniciar".to_string()), "{actions:?}");
    app.cleanup().await;
}

#[tokio::test]
async fn password_link_sets_a_password_once() {
    let app = TestApp::new().await;
    let email = "nueva.cuenta@prueba.violeta.mx";
    let id = app
        .store()
        .create_user(&test_actor(), &NewUser { email: email.into(), display_name: "Nueva".into(), roles: vec![Role::Evaluacion], institution_id: None, person_id: None })
        .await
        .unwrap();
    let token = "enlace-de-prueba-8f2c1d9e4b7a6c5d3e2f1a0b";
    app.store().create_password_link(&test_actor(), id, token, Duration::hours(1)).await.unwrap();
    let path = format!("/contrasena/{token}");
    let visitor = app.visitor(addr(55)).await;

    let form = app.get(&visitor, &path).await;
    form.expect(200).expect_contains(email);
    let r = app.post_form(&visitor, &path, &[("password", "una frase larga y segura"), ("confirmation", "otra frase larga y segura")]).await;
    r.expect(422).expect_contains("no coinciden");
    let r = app.post_form(&visitor, &path, &[("password", "corta"), ("confirmation", "corta")]).await;
    r.expect(422).expect_contains("al menos 12 caracteres");
    // Without an account password yet, signing in fails.
    let r = app.submit_login(&visitor, email, "una frase larga y segura", "/panel").await;
    r.expect(422);

    let r = app.post_form(&visitor, &path, &[("password", "una frase larga y segura"), ("confirmation", "una frase larga y segura")]).await;
    r.expect(303);
    assert_eq!(r.location(), Some("/entrar?aviso=contrasena"));
    app.get(&visitor, "/entrar?aviso=contrasena").await.expect(200).expect_contains("Su contraseña quedó guardada");
    let who = app.login(email, "una frase larga y segura", addr(56)).await;
    app.get(&who, "/territorio").await.expect(200);

    // The link works once.
    let again = app.get(&visitor, &path).await;
    again.expect(404).expect_contains("el enlace no es válido");
    let r = app.post_form(&visitor, &path, &[("password", "otra frase larga y segura"), ("confirmation", "otra frase larga y segura")]).await;
    r.expect(404);
    // And the password stayed the one set through it.
    let visitor2 = app.visitor(addr(57)).await;
    app.submit_login(&visitor2, email, "otra frase larga y segura", "/panel").await.expect(422);
    app.cleanup().await;
}
