//! Signing in and out, setting a password from a one-time link, the user's own account
//! and API tokens.

use super::{Notice, render, render_invalid, see_other};
use crate::AppState;
use crate::auth::{self, Ctx};
use crate::error::{AppError, PageResult};
use crate::layout::{Layout, datetime};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use chrono::Duration;
use serde::Deserialize;
use violeta_store::accounts::ApiToken;

#[derive(Template)]
#[template(path = "account/login.html")]
struct LoginPage {
    l: Layout,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    siguiente: Option<String>,
    aviso: Option<String>,
}

/// Only local paths are followed after signing in (no open redirect). Control characters
/// are refused too: browsers drop tabs and newlines from URLs ("/\t/evil" becomes
/// "//evil"), and a newline cannot go in a `Location` header at all.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.chars().any(char::is_control) => n.to_string(),
        _ => "/panel".into(),
    }
}

pub async fn login_form(State(state): State<AppState>, ctx: Ctx, Query(q): Query<LoginQuery>) -> PageResult {
    if ctx.principal.is_authenticated() {
        return Ok(super::redirect(&safe_next(q.siguiente.as_deref())));
    }
    render(&LoginPage {
        l: Layout::new(&ctx, &state, "Entrar").with_notice(q.aviso.as_deref()),
        email: String::new(),
        next: safe_next(q.siguiente.as_deref()),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    siguiente: String,
}

pub async fn login(State(state): State<AppState>, ctx: Ctx, Form(f): Form<LoginForm>) -> PageResult {
    let store = &state.store;
    let since = violeta_store::now() - Duration::minutes(auth::FAILURE_WINDOW_MINUTES);
    let (by_account, by_origin) = store.failed_logins(&f.email, &ctx.origin, since).await?;
    if by_account >= auth::MAX_FAILURES_PER_ACCOUNT || by_origin >= auth::MAX_FAILURES_PER_ORIGIN {
        return Err(AppError::TooManyRequests(format!(
            "demasiados intentos fallidos; espere {} minutos e inténtelo de nuevo",
            auth::FAILURE_WINDOW_MINUTES
        )));
    }
    let user = store.user_by_email(&f.email).await?;
    let stored = match &user {
        Some(u) if u.active => store.password_hash(u.id).await?,
        _ => None,
    };
    // Without an account, a dummy verification still takes the time a real one would.
    let ok = match &stored {
        Some(hash) => auth::verify_password(&f.password, hash),
        None => {
            let _ = auth::verify_password(&f.password, &DUMMY_HASH);
            false
        }
    };
    store.record_login_attempt(&f.email, &ctx.origin, ok).await?;
    let Some(user) = user.filter(|_| ok) else {
        let page = LoginPage {
            l: Layout::new(&ctx, &state, "Entrar"),
            email: f.email.clone(),
            next: safe_next(Some(&f.siguiente)),
            error: Some("El correo o la contraseña no son correctos.".into()),
        };
        return render_invalid(&page);
    };
    let token = auth::random_token();
    let csrf = auth::random_token();
    store.create_session(user.id, &token, &csrf, &ctx.origin, Duration::hours(auth::SESSION_HOURS)).await?;
    let cookie = auth::set_cookie(auth::SESSION_COOKIE, &token, auth::SESSION_HOURS * 3600, state.config.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&safe_next(Some(&f.siguiente)))).into_response())
}

/// A real Argon2id hash of a random string, to spend the same time when the account
/// does not exist (so response times do not reveal which emails have accounts).
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| auth::hash_password(&auth::random_token()).unwrap_or_default());

pub async fn logout(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    if let Some(token) = &ctx.session_token {
        state.store.delete_session(&ctx.actor(), token).await?;
    }
    let cookie = auth::set_cookie(auth::SESSION_COOKIE, "", 0, state.config.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/entrar?aviso=salio")).into_response())
}

#[derive(Template)]
#[template(path = "account/password.html")]
struct PasswordPage {
    l: Layout,
    token: String,
    email: String,
    error: Option<String>,
}

pub async fn password_form(State(state): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let user_id = state
        .store
        .password_link_user(&token)
        .await?
        .ok_or_else(|| AppError::NotFound("el enlace no es válido, ya se usó o caducó; pida uno nuevo a administración".into()))?;
    let user = state.store.user(user_id).await?;
    render(&PasswordPage { l: Layout::new(&ctx, &state, "Elegir contraseña"), token, email: user.email, error: None })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
    confirmation: String,
}

pub async fn set_password(State(state): State<AppState>, ctx: Ctx, Path(token): Path<String>, Form(f): Form<PasswordForm>) -> PageResult {
    if let Err(message) = auth::check_new_password(&f.password, &f.confirmation) {
        let user_id = state.store.password_link_user(&token).await?.ok_or_else(|| AppError::NotFound("el enlace no es válido".into()))?;
        let email = state.store.user(user_id).await?.email;
        return render_invalid(&PasswordPage { l: Layout::new(&ctx, &state, "Elegir contraseña"), token, email, error: Some(message) });
    }
    let hash = auth::hash_password(&f.password)?;
    state.store.use_password_link(&token, &hash, &ctx.origin).await?;
    Ok(Redirect::to("/entrar?aviso=contrasena").into_response())
}

#[derive(Template)]
#[template(path = "account/mine.html")]
struct MinePage {
    l: Layout,
    email: String,
    roles: Vec<&'static str>,
    tokens: Vec<ApiToken>,
    can_tokens: bool,
    new_token: Option<String>,
}

impl MinePage {
    fn when(&self, t: &Option<chrono::DateTime<chrono::Utc>>) -> String {
        t.as_ref().map(datetime).unwrap_or_else(|| "—".into())
    }
}

pub async fn mine(State(state): State<AppState>, ctx: Ctx, Query(n): Query<Notice>) -> PageResult {
    mine_page(&state, &ctx, n.aviso.as_deref(), None).await
}

async fn mine_page(state: &AppState, ctx: &Ctx, notice: Option<&str>, new_token: Option<String>) -> PageResult {
    let user = ctx.user.clone().ok_or(AppError::Forbidden)?;
    render(&MinePage {
        l: Layout::new(ctx, state, "Mi cuenta").with_notice(notice),
        email: user.email.clone(),
        roles: user.role_list().iter().map(|r| r.label()).collect(),
        tokens: state.store.api_tokens(user.id).await?,
        can_tokens: ctx.can(violeta_domain::access::Permission::ManageApiTokens),
        new_token,
    })
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
}

pub async fn create_token(State(state): State<AppState>, ctx: Ctx, Form(f): Form<TokenForm>) -> PageResult {
    let user_id = ctx.principal.user_id.ok_or(AppError::Forbidden)?;
    if f.name.trim().is_empty() {
        return Err(AppError::BadRequest("ponga un nombre al token (por ejemplo, el sistema que lo usará)".into()));
    }
    let raw = format!("vt_{}", auth::random_token());
    state.store.create_api_token(&ctx.actor(), user_id, &f.name, &raw).await?;
    // The token is shown this once; only its hash is kept.
    mine_page(&state, &ctx, Some("creada"), Some(raw)).await
}

pub async fn revoke_token(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let user_id = ctx.principal.user_id.ok_or(AppError::Forbidden)?;
    state.store.revoke_api_token(&ctx.actor(), user_id, id).await?;
    see_other("/cuenta", "guardado")
}
