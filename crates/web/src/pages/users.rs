//! Accounts and roles (administración).

use super::{Notice, render, render_invalid, see_other};
use crate::AppState;
use crate::auth::{self, Ctx};
use crate::error::{AppError, PageResult};
use crate::layout::{Layout, datetime};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use chrono::Duration;
use violeta_domain::access::Role;
use violeta_store::accounts::{NewUser, User};
use violeta_store::institutions::Institution;

/// How long a password link is valid.
pub const LINK_HOURS: i64 = 72;

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    l: Layout,
    users: Vec<User>,
    roles: [Role; 7],
    institutions: Vec<Institution>,
    error: Option<String>,
}

impl ListPage {
    fn role_labels(&self, u: &User) -> String {
        u.role_list().iter().map(|r| r.label()).collect::<Vec<_>>().join(", ")
    }
}

pub async fn list(State(state): State<AppState>, ctx: Ctx, Query(n): Query<Notice>) -> PageResult {
    list_page(&state, &ctx, n.aviso.as_deref(), None).await
}

async fn list_page(state: &AppState, ctx: &Ctx, notice: Option<&str>, error: Option<String>) -> PageResult {
    let page = ListPage {
        l: Layout::new(ctx, state, "Usuarios").with_notice(notice),
        users: state.store.users().await?,
        roles: Role::ALL,
        institutions: state.store.institutions(None).await?,
        error: error.clone(),
    };
    if error.is_some() { render_invalid(&page) } else { render(&page) }
}

/// Role checkboxes arrive as repeated `role` fields.
fn roles_from(fields: &[(String, String)]) -> Vec<Role> {
    fields.iter().filter(|(k, _)| k == "role").filter_map(|(_, v)| Role::parse(v)).collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

pub async fn create(State(state): State<AppState>, ctx: Ctx, Form(fields): Form<Vec<(String, String)>>) -> PageResult {
    let new = NewUser {
        email: field(&fields, "email").to_string(),
        display_name: field(&fields, "display_name").to_string(),
        roles: roles_from(&fields),
        institution_id: field(&fields, "institution_id").parse().ok(),
        person_id: None,
    };
    match state.store.create_user(&ctx.actor(), &new).await {
        Ok(id) => see_other(&format!("/usuarios/{id}"), "creada"),
        Err(e) => list_page(&state, &ctx, None, Some(AppError::from(e).to_string())).await,
    }
}

#[derive(Template)]
#[template(path = "users/show.html")]
struct ShowPage {
    l: Layout,
    u: User,
    roles: [Role; 7],
    held: Vec<Role>,
    link: Option<String>,
}

impl ShowPage {
    fn last_login(&self) -> String {
        self.u.last_login_at.as_ref().map(datetime).unwrap_or_else(|| "nunca".into())
    }
}

pub async fn show(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(n): Query<Notice>) -> PageResult {
    show_page(&state, &ctx, id, n.aviso.as_deref(), None).await
}

async fn show_page(state: &AppState, ctx: &Ctx, id: i64, notice: Option<&str>, link: Option<String>) -> PageResult {
    let u = state.store.user(id).await?;
    render(&ShowPage { l: Layout::new(ctx, state, u.email.clone()).with_notice(notice), held: u.role_list(), u, roles: Role::ALL, link })
}

pub async fn set_roles(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(fields): Form<Vec<(String, String)>>) -> PageResult {
    let roles = roles_from(&fields);
    if ctx.principal.user_id == Some(id) && !roles.contains(&Role::Administracion) {
        return Err(AppError::BadRequest("no puede quitarse a sí mismo el rol de administración".into()));
    }
    state.store.set_roles(&ctx.actor(), id, &roles).await?;
    see_other(&format!("/usuarios/{id}"), "guardado")
}

/// Issues a one-time link to set a password; shown once, to hand over in person or by
/// the institution's own channels (Violeta sends no mail).
pub async fn password_link(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let token = auth::random_token();
    state.store.create_password_link(&ctx.actor(), id, &token, Duration::hours(LINK_HOURS)).await?;
    show_page(&state, &ctx, id, None, Some(format!("/contrasena/{token}"))).await
}
