//! Server-rendered pages, one module per area. Each handler: check, call, render.

pub mod account;
pub mod audit;
pub mod certification;
pub mod constancias;
pub mod courses;
pub mod learn;
pub mod home;
pub mod institutions;
pub mod people;
pub mod safety;
pub mod territory;
pub mod trainings;
pub mod users;
pub mod map;
// Alerta Rosa
pub mod alerts;
// Alerta Rosa dissemination (branch alerta-difusion)
pub mod channels;

use crate::error::{AppError, PageResult};
use askama::Template;
use axum::response::{Html, IntoResponse, Redirect, Response};

/// Renders a template as a 200 page.
pub fn render(t: &impl Template) -> PageResult {
    Ok(Html(t.render()?).into_response())
}

/// Renders a form again with its errors (422), so the browser keeps what was typed.
pub fn render_invalid(t: &impl Template) -> PageResult {
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Html(t.render()?)).into_response())
}

/// After a successful POST: see-other to a page, with a notice code.
pub fn see_other(path: &str, notice: &str) -> PageResult {
    let sep = if path.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{path}{sep}aviso={notice}")).into_response())
}

/// Query-string notice code, common to every page.
#[derive(serde::Deserialize, Default)]
pub struct Notice {
    pub aviso: Option<String>,
}

/// Reads a multipart upload: the CSRF field, other text fields and one file.
pub struct Upload {
    pub fields: Vec<(String, String)>,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl Upload {
    pub async fn read(mut multipart: axum::extract::Multipart, ctx: &crate::auth::Ctx) -> Result<Upload, AppError> {
        let mut up = Upload { fields: Vec::new(), file_name: String::new(), bytes: Vec::new() };
        let bad = |e: axum::extract::multipart::MultipartError| AppError::BadRequest(format!("no se pudo leer el archivo enviado: {e}"));
        while let Some(field) = multipart.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or("").to_string();
            if let Some(file_name) = field.file_name() {
                up.file_name = file_name.to_string();
                up.bytes = field.bytes().await.map_err(bad)?.to_vec();
            } else {
                let value = field.text().await.map_err(bad)?;
                up.fields.push((name, value));
            }
        }
        let csrf = up.field("csrf").unwrap_or_default();
        ctx.check_csrf(&csrf)?;
        if up.bytes.is_empty() {
            return Err(AppError::BadRequest("no se recibió ningún archivo, o está vacío".into()));
        }
        Ok(up)
    }

    pub fn field(&self, name: &str) -> Option<String> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
}

pub fn redirect(path: &str) -> Response {
    Redirect::to(path).into_response()
}
