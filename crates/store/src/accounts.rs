//! Accounts, roles, sessions, one-time password links, API tokens and sign-in attempts.
//! Everything here lives in the store so that any number of server processes share it.
//! Bearer secrets arrive raw and are stored hashed ([`token_hash`]).

use crate::audit::{Event, append};
use crate::{Result, Store, StoreError, now, on_pool, on_tx};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use violeta_domain::access::{Principal, Role};
use violeta_domain::audit::Actor;
use violeta_domain::secret::token_hash;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub institution_id: Option<i64>,
    pub person_id: Option<i64>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// Role codes separated by commas.
    pub roles: String,
    #[serde(skip)]
    pub has_password: bool,
}

impl User {
    pub fn role_list(&self) -> Vec<Role> {
        self.roles.split(',').filter_map(Role::parse).collect()
    }
    pub fn principal(&self) -> Principal {
        Principal { user_id: Some(self.id), roles: self.role_list(), institution_id: self.institution_id }
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub institution_id: Option<i64>,
    pub person_id: Option<i64>,
}

/// A signed-in session, as the web layer needs it on every request.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const USER_SELECT: &str = "SELECT u.id, u.email, u.display_name, u.institution_id, u.person_id, u.active, u.created_at, \
    u.last_login_at, COALESCE((SELECT STRING_AGG(r.role, ',') FROM user_roles r WHERE r.user_id = u.id), '') AS roles, \
    (u.password_hash IS NOT NULL) AS has_password FROM users u";

#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: User,
    csrf_token: String,
    expires_at: DateTime<Utc>,
}

static SESSION_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let columns = USER_SELECT.strip_prefix("SELECT ").and_then(|s| s.strip_suffix(" FROM users u")).expect("USER_SELECT shape");
    format!("SELECT {columns}, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active")
});

impl Store {
    pub async fn create_user(&self, actor: &Actor, new: &NewUser) -> Result<i64> {
        let email = new.email.trim().to_lowercase();
        if !email.contains('@') {
            return Err(StoreError::Invalid(format!("«{email}» no es un correo electrónico válido")));
        }
        if new.roles.contains(&Role::EnlaceInstitucional) && new.institution_id.is_none() {
            return Err(StoreError::Invalid("un enlace institucional debe tener institución".into()));
        }
        let mut tx = self.begin().await?;
        let inserted: std::result::Result<i64, sqlx::Error> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "INSERT INTO users (email, display_name, institution_id, person_id, active, created_at) \
             VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING id"
        )
        .bind(&email)
        .bind(new.display_name.trim())
        .bind(new.institution_id)
        .bind(new.person_id)
        .bind(now())
        .fetch_one(c)
        .await);
        let id = inserted.map_err(|e| match StoreError::from(e) {
            e if e.is_unique_violation() => StoreError::Conflict(format!("ya existe una cuenta con el correo {email}")),
            e => e,
        })?;
        for role in &new.roles {
            on_tx!(&mut tx, |c| sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                .bind(id)
                .bind(role.code())
                .execute(c)
                .await?.rows_affected());
        }
        let roles: Vec<&str> = new.roles.iter().map(|r| r.code()).collect();
        append(&mut tx, actor, Event::new("usuario.crear", "usuario", id).with(serde_json::json!({"correo": email, "roles": roles}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn set_roles(&self, actor: &Actor, user_id: i64, roles: &[Role]) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| {
            sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
            for role in roles {
                sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)").bind(user_id).bind(role.code()).execute(&mut *c).await?;
            }
        });
        let codes: Vec<&str> = roles.iter().map(|r| r.code()).collect();
        append(&mut tx, actor, Event::new("usuario.roles", "usuario", user_id).with(serde_json::json!({"roles": codes}))).await?;
        tx.commit().await
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let sql = format!("{USER_SELECT} ORDER BY u.email");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(p).await?))
    }

    pub async fn user(&self, id: i64) -> Result<User> {
        let sql = format!("{USER_SELECT} WHERE u.id = $1");
        let u: Option<User> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?);
        u.ok_or_else(|| StoreError::NotFound("no existe esa cuenta".into()))
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let sql = format!("{USER_SELECT} WHERE u.email = $1");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(email.trim().to_lowercase())
            .fetch_optional(p)
            .await?))
    }

    /// The stored Argon2id hash, for the web layer to check a password against.
    pub async fn password_hash(&self, user_id: i64) -> Result<Option<String>> {
        Ok(on_pool!(self, |p| sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1 AND active")
            .bind(user_id)
            .fetch_optional(p)
            .await?)
        .flatten())
    }

    /// Creates a one-time link to set a password, valid for `valid_for`. Returns nothing:
    /// the caller made the raw token and keeps it; only its hash is stored.
    pub async fn create_password_link(&self, actor: &Actor, user_id: i64, raw_token: &str, valid_for: Duration) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| {
            // A new link voids the older ones.
            sqlx::query("DELETE FROM password_links WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
            sqlx::query("INSERT INTO password_links (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(token_hash(raw_token))
                .bind(user_id)
                .bind(now())
                .bind(now() + valid_for)
                .execute(&mut *c)
                .await?;
        });
        append(&mut tx, actor, Event::new("usuario.enlace_contrasena", "usuario", user_id)).await?;
        tx.commit().await
    }

    /// The account a password link belongs to, if it is still valid.
    pub async fn password_link_user(&self, raw_token: &str) -> Result<Option<i64>> {
        Ok(on_pool!(self, |p| sqlx::query_scalar(
            "SELECT user_id FROM password_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
        )
        .bind(token_hash(raw_token))
        .bind(now())
        .fetch_optional(p)
        .await?))
    }

    /// Spends a password link and sets the new hash, once: a second use fails.
    /// Every session of the account is closed.
    pub async fn use_password_link(&self, raw_token: &str, new_hash: &str, origin: &str) -> Result<i64> {
        let mut tx = self.begin().await?;
        let user_id: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "UPDATE password_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id"
        )
        .bind(now())
        .bind(token_hash(raw_token))
        .fetch_optional(c)
        .await?);
        let user_id = user_id.ok_or_else(|| StoreError::NotFound("el enlace no es válido, ya se usó o caducó; pida uno nuevo".into()))?;
        on_tx!(&mut tx, |c| {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(new_hash).bind(user_id).execute(&mut *c).await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
        });
        let actor = Actor { user_id: Some(user_id), label: format!("usuario {user_id}"), origin: origin.to_string() };
        append(&mut tx, &actor, Event::new("usuario.fijar_contrasena", "usuario", user_id)).await?;
        tx.commit().await?;
        Ok(user_id)
    }

    // ----- sessions -----

    pub async fn create_session(&self, user_id: i64, raw_token: &str, csrf_token: &str, origin: &str, valid_for: Duration) -> Result<()> {
        let user = self.user(user_id).await?;
        let actor = Actor { user_id: Some(user_id), label: user.email, origin: origin.to_string() };
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| {
            sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, origin, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(token_hash(raw_token))
            .bind(user_id)
            .bind(csrf_token)
            .bind(origin)
            .bind(now())
            .bind(now() + valid_for)
            .execute(&mut *c)
            .await?;
            sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2").bind(now()).bind(user_id).execute(&mut *c).await?;
            // Expired sessions are swept as new ones are made.
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now()).execute(&mut *c).await?;
        });
        append(&mut tx, &actor, Event::new("sesion.iniciar", "usuario", user_id)).await?;
        tx.commit().await
    }

    /// The signed-in account behind a session token, in one query (it runs on every request).
    pub async fn session(&self, raw_token: &str) -> Result<Option<Session>> {
        let found: Option<SessionRow> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(SESSION_SQL.as_str()))
            .bind(token_hash(raw_token))
            .bind(now())
            .fetch_optional(p)
            .await?);
        Ok(found.map(|r| Session { user: r.user, csrf_token: r.csrf_token, expires_at: r.expires_at }))
    }

    pub async fn delete_session(&self, actor: &Actor, raw_token: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash(raw_token)).execute(c).await?.rows_affected());
        append(&mut tx, actor, Event::new("sesion.cerrar", "usuario", actor.user_id.unwrap_or_default())).await?;
        tx.commit().await
    }

    // ----- sign-in attempts (rate limiting shared by all processes) -----

    pub async fn record_login_attempt(&self, email: &str, origin: &str, succeeded: bool) -> Result<()> {
        on_pool!(self, |p| {
            sqlx::query("INSERT INTO login_attempts (email_key, origin, at, succeeded) VALUES ($1, $2, $3, $4)")
                .bind(email.trim().to_lowercase())
                .bind(origin)
                .bind(now())
                .bind(succeeded)
                .execute(p)
                .await?;
            sqlx::query("DELETE FROM login_attempts WHERE at < $1").bind(now() - Duration::days(1)).execute(p).await?;
        });
        Ok(())
    }

    /// Failed attempts since `since`: (for this email, from this origin).
    pub async fn failed_logins(&self, email: &str, origin: &str, since: DateTime<Utc>) -> Result<(i64, i64)> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT \
               (SELECT COUNT(*) FROM login_attempts WHERE email_key = $1 AND at > $3 AND NOT succeeded), \
               (SELECT COUNT(*) FROM login_attempts WHERE origin = $2 AND at > $3 AND NOT succeeded)"
        )
        .bind(email.trim().to_lowercase())
        .bind(origin)
        .bind(since)
        .fetch_one(p)
        .await?))
    }

    // ----- API tokens -----

    pub async fn create_api_token(&self, actor: &Actor, user_id: i64, name: &str, raw_token: &str) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id"
        )
        .bind(user_id)
        .bind(name.trim())
        .bind(token_hash(raw_token))
        .bind(now())
        .fetch_one(c)
        .await?);
        append(&mut tx, actor, Event::new("token.crear", "usuario", user_id).with(serde_json::json!({"token": id, "nombre": name}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn api_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id"
        )
        .bind(user_id)
        .fetch_all(p)
        .await?))
    }

    pub async fn revoke_api_token(&self, actor: &Actor, user_id: i64, token_id: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(now())
            .bind(token_id)
            .bind(user_id)
            .execute(c)
            .await?.rows_affected());
        append(&mut tx, actor, Event::new("token.revocar", "usuario", user_id).with(serde_json::json!({"token": token_id}))).await?;
        tx.commit().await
    }

    /// The account behind a bearer token, if the token is live.
    pub async fn user_by_api_token(&self, raw_token: &str) -> Result<Option<User>> {
        let user_id: Option<i64> = on_pool!(self, |p| sqlx::query_scalar(
            "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL \
             AND user_id IN (SELECT id FROM users WHERE active) RETURNING user_id"
        )
        .bind(now())
        .bind(token_hash(raw_token))
        .fetch_optional(p)
        .await?);
        match user_id {
            Some(id) => Ok(Some(self.user(id).await?)),
            None => Ok(None),
        }
    }
}
