//! Who is asking: sessions (cookie), API tokens (bearer), CSRF protection, passwords and
//! sign-in rate limiting. What a principal may do is decided in `violeta_domain::access`.

use crate::AppState;
use crate::error::AppError;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use violeta_domain::access::{Permission, Principal};
use violeta_domain::audit::Actor;
use violeta_store::accounts::User;

pub const SESSION_COOKIE: &str = "violeta_sesion";
/// Before signing in, forms are protected by a token kept in this cookie.
pub const CSRF_COOKIE: &str = "violeta_csrf";
pub const SESSION_HOURS: i64 = 10;
/// Failed sign-ins allowed in the window, per account and per address.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
pub const MAX_FAILURES_PER_ORIGIN: i64 = 30;
pub const FAILURE_WINDOW_MINUTES: i64 = 15;

/// Public pages with a form an anonymous visitor posts: they set the pre-session CSRF cookie.
pub const ANONYMOUS_FORM_PAGES: [&str; 4] = ["/entrar", "/contrasena/{token}", "/asistencia/{id}", "/verificar"];

/// The request's context: principal, CSRF token, client address.
#[derive(Clone)]
pub struct Ctx {
    pub principal: Principal,
    pub user: Option<Arc<User>>,
    /// The token forms must carry back.
    pub csrf: String,
    pub origin: String,
    /// Authenticated by an API token (no cookies, so no CSRF check).
    pub via_token: bool,
    /// The raw session token, to close the session.
    pub session_token: Option<String>,
}

impl Ctx {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.principal.user_id,
            label: self.user.as_ref().map(|u| u.email.clone()).unwrap_or_else(|| "anónimo".into()),
            origin: self.origin.clone(),
        }
    }

    pub fn can(&self, p: Permission) -> bool {
        self.principal.can(p)
    }

    /// Fails unless the principal holds `p`.
    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        if self.principal.can(p) {
            Ok(())
        } else if self.principal.is_authenticated() {
            Err(AppError::Forbidden)
        } else {
            Err(AppError::SignIn { next: "/".into() })
        }
    }

    /// For multipart forms, whose body the CSRF middleware does not read.
    pub fn check_csrf(&self, given: &str) -> Result<(), AppError> {
        if self.via_token || constant_time_eq(given.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Ctx, AppError> {
        parts.extensions.get::<Ctx>().cloned().ok_or_else(|| AppError::Internal("falta el contexto de autenticación".into()))
    }
}

pub use violeta_app::credentials::{check_new_password, random_token, verify_password};

pub fn hash_password(password: &str) -> Result<String, AppError> {
    violeta_app::credentials::hash_password(password).map_err(AppError::Internal)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn client_origin(req: &Request, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(forwarded) = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok())
        && let Some(first) = forwarded.split(',').next()
    {
        return first.trim().to_string();
    }
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_else(|| "desconocido".into())
}

/// Middleware: works out the principal (session cookie or bearer token) and puts a
/// [`Ctx`] in the request; sets the pre-session CSRF cookie when a visitor has none.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let origin = client_origin(&req, state.config.trust_proxy);
    let headers = req.headers().clone();
    let mut ctx = Ctx { principal: Principal::anonymous(), user: None, csrf: String::new(), origin, via_token: false, session_token: None };

    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    if let Some(token) = bearer {
        match state.store.user_by_api_token(&token).await {
            Ok(Some(user)) => {
                ctx.principal = user.principal();
                ctx.user = Some(Arc::new(user));
                ctx.via_token = true;
            }
            Ok(None) => {
                return crate::error::ApiError(AppError::SignIn { next: String::new() }).into_response();
            }
            Err(e) => return AppError::from(e).into_response(),
        }
    } else if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        match state.store.session(&token).await {
            Ok(Some(session)) => {
                ctx.principal = session.user.principal();
                ctx.csrf = session.csrf_token;
                ctx.user = Some(Arc::new(session.user));
                ctx.session_token = Some(token);
            }
            Ok(None) => {}
            Err(e) => return AppError::from(e).into_response(),
        }
    }
    let mut new_csrf_cookie = None;
    if ctx.csrf.is_empty() && !ctx.via_token {
        match cookie(&headers, CSRF_COOKIE) {
            Some(t) if t.len() >= 32 => ctx.csrf = t,
            _ => {
                let t = random_token();
                ctx.csrf = t.clone();
                // Only pages that show a visitor a form hand out the cookie: the public map
                // and feeds stay cookie-free, so they can be cached and shared.
                let route = req.extensions().get::<axum::extract::MatchedPath>().map(|m| m.as_str());
                if route.is_some_and(|r| ANONYMOUS_FORM_PAGES.contains(&r)) {
                    new_csrf_cookie = Some(t);
                }
            }
        }
    }
    req.extensions_mut().insert(ctx);
    let mut response = next.run(req).await;
    if let Some(t) = new_csrf_cookie {
        response.headers_mut().append(header::SET_COOKIE, set_cookie(CSRF_COOKIE, &t, 60 * 60 * 24, state.config.secure_cookies));
    }
    response
}

/// Every state-changing request made with cookies must prove it comes from Violeta's own
/// pages: a same-origin `Origin` header when the browser sends one, and the CSRF token in
/// the `X-CSRF-Token` header or the form's `csrf` field (urlencoded or multipart). Called
/// by the route guard once access is granted, so nobody's body is read before that.
/// `limit` caps how much of the body is read. Returns the request, its body intact.
pub async fn verify_csrf(req: Request, limit: usize) -> Result<Request, Response> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(req);
    }
    let Some(ctx) = req.extensions().get::<Ctx>().cloned() else {
        return Err(AppError::Internal("falta el contexto de autenticación".into()).into_response());
    };
    if ctx.via_token {
        return Ok(req);
    }
    let headers = req.headers();
    if let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        let origin = origin.to_str().unwrap_or("");
        let origin_host = origin.split("://").nth(1).unwrap_or("");
        if origin_host != host.to_str().unwrap_or("") {
            return Err(AppError::Forbidden.into_response());
        }
    }
    if let Some(given) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return if constant_time_eq(given.as_bytes(), ctx.csrf.as_bytes()) { Ok(req) } else { Err(AppError::Forbidden.into_response()) };
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let multipart = content_type.starts_with("multipart/form-data");
    if !multipart && !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(AppError::Forbidden.into_response());
    }
    // Multipart bodies are read here too: a POST route that reads no body at all must not
    // take a multipart request without the token.
    let limit = if multipart { limit } else { limit.min(FORM_BYTES) };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return Err(AppError::BadRequest("el formulario o el archivo es demasiado grande".into()).into_response()),
    };
    let given = if multipart {
        multipart_field(&content_type, bytes.clone(), "csrf").await
    } else {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|fields| fields.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v))
    };
    match given {
        Some(g) if constant_time_eq(g.as_bytes(), ctx.csrf.as_bytes()) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(AppError::BadRequest("el formulario caducó o no viene de Violeta; recargue la página e inténtelo de nuevo".into())
            .into_response()),
    }
}

/// Largest multipart form the CSRF check reads (axum's default body limit, which the
/// upload handlers' `Multipart` extractor applies as well).
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;
/// Largest plain form, and largest body an anonymous visitor may send.
pub const FORM_BYTES: usize = 1024 * 1024;

/// The text of one field of a multipart body, if present.
async fn multipart_field(content_type: &str, bytes: axum::body::Bytes, name: &str) -> Option<String> {
    use axum::extract::FromRequest;
    let req = axum::http::Request::builder().header(header::CONTENT_TYPE, content_type).body(Body::from(bytes)).ok()?;
    let mut multipart = axum::extract::Multipart::from_request(req, &()).await.ok()?;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}
