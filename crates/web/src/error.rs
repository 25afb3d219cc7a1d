//! Errors a handler can return. [`AppError`] renders as an HTML page; [`ApiError`] wraps
//! the same error as JSON for `/api/v1`. Internal failures are logged with their details
//! and shown to users only as a generic message.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use violeta_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("no tiene permiso para ver esta página")]
    Forbidden,
    /// Not signed in: pages redirect to the sign-in form, coming back to `next`.
    #[error("inicie sesión para continuar")]
    SignIn { next: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("ocurrió un error interno; se registró para su revisión")]
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::SignIn { .. } => StatusCode::UNAUTHORIZED,
            AppError::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "no_encontrado",
            AppError::Forbidden => "prohibido",
            AppError::SignIn { .. } => "no_autenticado",
            AppError::BadRequest(_) => "solicitud_invalida",
            AppError::Conflict(_) => "conflicto",
            AppError::TooManyRequests(_) => "demasiadas_solicitudes",
            AppError::Internal(_) => "error_interno",
        }
    }

    fn log(&self) {
        if let AppError::Internal(detail) = self {
            tracing::error!(%detail, "error interno");
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::NotFound(m) => AppError::NotFound(m),
            StoreError::Invalid(m) => AppError::BadRequest(m),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> AppError {
        AppError::Internal(format!("plantilla: {e}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        if let AppError::SignIn { next } = &self {
            let target = format!("/entrar?siguiente={}", crate::layout::urlencode(next));
            return Redirect::to(&target).into_response();
        }
        let status = self.status();
        let page = crate::layout::error_page(status, &self.to_string());
        (status, Html(page)).into_response()
    }
}

/// The JSON form of [`AppError`], for `/api/v1`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> ApiError {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        let body = serde_json::json!({"error": {"codigo": self.0.code(), "mensaje": self.0.to_string()}});
        (self.0.status(), axum::Json(body)).into_response()
    }
}

pub type PageResult<T = Response> = Result<T, AppError>;
pub type ApiResult<T> = Result<axum::Json<T>, ApiError>;
