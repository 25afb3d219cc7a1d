//! Shared helpers for the web layer's integration tests: an in-process app on a
//! throw-away SQLite store, requests driven through the axum `Router` with
//! `tower::ServiceExt::oneshot`, and a small "who is asking" value that carries cookies,
//! the CSRF token, an optional bearer token and the client address.

#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tower::ServiceExt;
use violeta_domain::audit::Actor;
use violeta_store::Store;
use violeta_store::audit::AuditFilter;
use violeta_store::testing::TestStore;
use violeta_web::{AppState, Config};

pub const DEMO_PASSWORD: &str = "violeta-demo";
/// The Host every request carries, so the Origin check has something to compare to.
pub const HOST: &str = "violeta.prueba";

/// `admin` → `admin@demo.violeta.mx`.
pub fn demo_email(local: &str) -> String {
    format!("{local}@demo.violeta.mx")
}

/// A client address; each test uses its own so the per-origin sign-in limit never mixes.
pub fn addr(n: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)), 40_000 + n as u16)
}

/// An actor for writes made directly through the store (fixtures).
pub fn test_actor() -> Actor {
    Actor { user_id: None, label: "pruebas".into(), origin: "pruebas".into() }
}

/// A valid CURP built from its first 17 characters (the check digit is computed).
pub fn curp(first17: &str) -> String {
    let chars: Vec<char> = first17.chars().collect();
    assert_eq!(chars.len(), 17, "{first17}");
    let full = format!("{first17}{}", violeta_domain::curp::check_digit(&chars));
    violeta_domain::Curp::parse(&full).unwrap_or_else(|e| panic!("test CURP {full} is invalid: {e}"));
    full
}

/// The same CURP with a wrong check digit.
pub fn curp_bad_check_digit(first17: &str) -> String {
    let good = curp(first17);
    let last = good.chars().last().unwrap().to_digit(10).unwrap();
    format!("{first17}{}", (last + 1) % 10)
}

/// Who is asking: a session (or pre-session CSRF) cookie, the token forms carry back,
/// a bearer token, and the client address.
#[derive(Clone, Debug)]
pub struct Who {
    pub label: String,
    pub addr: SocketAddr,
    /// `name=value` pairs sent in the Cookie header.
    pub cookies: Vec<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Who {
    /// Nobody: no cookies, no token.
    pub fn nobody(addr: SocketAddr) -> Who {
        Who { label: "anónimo".into(), addr, cookies: vec![], csrf: None, bearer: None }
    }

    pub fn bearer(token: &str, addr: SocketAddr) -> Who {
        Who { label: format!("token {token}"), addr, cookies: vec![], csrf: None, bearer: Some(token.to_string()) }
    }

    pub fn session_cookie(&self) -> Option<&str> {
        self.cookies.iter().find(|c| c.starts_with("violeta_sesion=")).map(String::as_str)
    }

    /// A request builder carrying this principal's cookies, bearer token, address and Host.
    pub fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let mut b = Request::builder().method(method).uri(path).header(header::HOST, HOST).extension(ConnectInfo(self.addr));
        if !self.cookies.is_empty() {
            b = b.header(header::COOKIE, self.cookies.join("; "));
        }
        if let Some(t) = &self.bearer {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        b
    }
}

/// A response with its body read.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body as sent (files: PDF, ZIP, XLSX).
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }

    pub fn is_redirect(&self) -> bool {
        matches!(self.status.as_u16(), 301 | 302 | 303 | 307 | 308)
    }

    /// Redirects to the sign-in form (what an anonymous visitor gets on a private page).
    pub fn is_sign_in_redirect(&self) -> bool {
        self.is_redirect() && self.location().is_some_and(|l| l.starts_with("/entrar?siguiente="))
    }

    pub fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value a `Set-Cookie` header gives to `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// The full `Set-Cookie` header for `name`, attributes included.
    pub fn set_cookie_header(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }

    /// The hidden `csrf` field of a form on the page.
    pub fn csrf_field(&self) -> Option<String> {
        let marker = r#"name="csrf" value=""#;
        let start = self.body.find(marker)? + marker.len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_string())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Panics with the body when the status is not `expected`.
    #[track_caller]
    pub fn expect(&self, expected: u16) -> &Resp {
        assert_eq!(self.status.as_u16(), expected, "unexpected status; location {:?}; body:\n{}", self.location(), self.body);
        self
    }

    #[track_caller]
    pub fn expect_contains(&self, text: &str) -> &Resp {
        assert!(self.body.contains(text), "body lacks «{text}» (status {}):\n{}", self.status, self.body);
        self
    }
}

/// The application on its own throw-away store.
pub struct TestApp {
    pub ts: TestStore,
    pub state: AppState,
    pub router: Router,
}

impl TestApp {
    /// An empty (migrated, with INEGI territory) store.
    pub async fn new() -> TestApp {
        let ts = TestStore::sqlite().await.expect("test store");
        let state = AppState::new(ts.store.clone(), Config::default());
        let router = violeta_web::app(state.clone());
        TestApp { ts, state, router }
    }

    /// With the demonstration data: accounts per role, institutions, people, regions,
    /// AVGM declarations.
    pub async fn demo() -> TestApp {
        TestApp::demo_with(Config::default()).await
    }

    /// The demonstration data, served with `config` (a credential key, a public URL…).
    pub async fn demo_with(config: Config) -> TestApp {
        let ts = TestStore::sqlite().await.expect("test store");
        violeta_app::demo::load(&ts.store).await.expect("demo data");
        let state = AppState::new(ts.store.clone(), config);
        let router = violeta_web::app(state.clone());
        TestApp { ts, state, router }
    }

    pub fn store(&self) -> &Store {
        &self.ts.store
    }

    pub async fn cleanup(self) {
        self.ts.cleanup().await;
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let response = self.router.clone().oneshot(req).await.expect("router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        Resp { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes: bytes.to_vec() }
    }

    pub async fn get(&self, who: &Who, path: &str) -> Resp {
        self.send(who.request("GET", path).body(Body::empty()).unwrap()).await
    }

    /// A form POST; the principal's CSRF token is added as the `csrf` field when it has one.
    pub async fn post_form(&self, who: &Who, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut all: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = &who.csrf {
            all.push(("csrf", t.as_str()));
        }
        all.extend_from_slice(fields);
        self.post_form_raw(who, path, &all).await
    }

    /// A form POST with exactly these fields (no CSRF token added).
    pub async fn post_form_raw(&self, who: &Who, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let req = who
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// A multipart POST: text fields and at most one file (field name, file name, bytes).
    pub async fn post_multipart(&self, who: &Who, path: &str, fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> Resp {
        let (content_type, body) = multipart(fields, file);
        let req = who.request("POST", path).header(header::CONTENT_TYPE, content_type).body(Body::from(body)).unwrap();
        self.send(req).await
    }

    /// A JSON POST; with a session, the CSRF token goes in `X-CSRF-Token`.
    pub async fn post_json(&self, who: &Who, path: &str, json: &serde_json::Value) -> Resp {
        let mut b = who.request("POST", path).header(header::CONTENT_TYPE, "application/json");
        if who.bearer.is_none()
            && let Some(t) = &who.csrf
        {
            b = b.header("x-csrf-token", t);
        }
        self.send(b.body(Body::from(json.to_string())).unwrap()).await
    }

    /// An anonymous visitor who opened the sign-in form: holds the pre-session CSRF
    /// cookie and its token.
    pub async fn visitor(&self, addr: SocketAddr) -> Who {
        let mut who = Who::nobody(addr);
        let r = self.get(&who, "/entrar").await;
        r.expect(200);
        let cookie = r.set_cookie("violeta_csrf").expect("pre-session CSRF cookie");
        let field = r.csrf_field().expect("csrf field on the sign-in form");
        assert_eq!(cookie, field, "the form carries the cookie's token");
        who.cookies.push(format!("violeta_csrf={cookie}"));
        who.csrf = Some(field);
        who
    }

    /// Posts the sign-in form as `visitor`.
    pub async fn submit_login(&self, visitor: &Who, email: &str, password: &str, next: &str) -> Resp {
        self.post_form(visitor, "/entrar", &[("email", email), ("password", password), ("siguiente", next)]).await
    }

    /// Signs in (panics if it fails) and returns the signed-in principal, with the
    /// session's CSRF token read from the dashboard.
    pub async fn login(&self, email: &str, password: &str, addr: SocketAddr) -> Who {
        let visitor = self.visitor(addr).await;
        let r = self.submit_login(&visitor, email, password, "/panel").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "sign-in of {email} failed: {}", r.body);
        let session = r.set_cookie("violeta_sesion").expect("session cookie");
        let mut who = Who { label: email.to_string(), addr, cookies: vec![format!("violeta_sesion={session}")], csrf: None, bearer: None };
        let panel = self.get(&who, "/panel").await;
        panel.expect(200);
        let csrf = panel.csrf_field().expect("csrf field on the dashboard");
        assert_ne!(Some(&csrf), visitor.csrf.as_ref(), "a session has its own CSRF token");
        who.csrf = Some(csrf);
        who
    }

    pub async fn login_demo(&self, local: &str, addr: SocketAddr) -> Who {
        self.login(&demo_email(local), DEMO_PASSWORD, addr).await
    }

    pub async fn people_count(&self) -> i64 {
        self.store().count_people().await.expect("count people")
    }

    pub async fn audit_count(&self) -> usize {
        self.store().audit_entries(&AuditFilter::default(), 1_000_000, 0).await.expect("audit entries").len()
    }

    /// Audit actions recorded about one entity, newest first.
    pub async fn audit_actions(&self, entity: &str, id: &str) -> Vec<violeta_domain::audit::AuditEntry> {
        let filter = AuditFilter { entity: Some(entity.into()), entity_id: Some(id.into()), actor_id: None };
        self.store().audit_entries(&filter, 1000, 0).await.expect("audit entries")
    }

    pub async fn user_id(&self, email: &str) -> i64 {
        self.store().user_by_email(email).await.expect("user").expect("user exists").id
    }
}

/// Builds a `multipart/form-data` body by hand: returns (content type, body).
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----violeta-prueba-7d1f3c";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    if let Some((name, file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Percent-encodes a path for `?siguiente=` the way the server does.
pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_string()
}
