//! Violeta's web layer: server-rendered Spanish pages and the JSON API `/api/v1`, on axum.
//!
//! Handlers are thin: they read the request, ask [`auth::Ctx`] whether the principal may
//! act (the decision itself lives in `violeta_domain::access`), call the store or an
//! application service, and render. Every route is registered through [`routes::Routes`]
//! with its access rule, so the list of routes and who may use them is one table.

use std::net::SocketAddr;
use std::sync::Arc;

pub mod api;
pub mod assets;
pub mod auth;
pub mod course_cache;
pub mod error;
pub mod layout;
pub mod markdown;
pub mod metrics;
pub mod pages;
pub mod routes;
pub mod public_cache;
// Alerta Rosa: the public alerts' cache
pub mod alert_cache;
pub mod signatures;

pub use routes::{Access, RouteInfo};
pub use violeta_store::Store;

/// Settings that change how the server behaves.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Shows the demonstration banner on every page.
    pub demo: bool,
    /// Marks cookies `Secure` (set behind HTTPS).
    pub secure_cookies: bool,
    /// Takes the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_proxy: bool,
    /// The public origin (`https://violeta.example.gob.mx`) that signed constancias and their
    /// QR codes point at. Without it, the origin of the request that issues them.
    pub public_url: Option<String>,
    /// Opens the issuer's signing key (`VIOLETA_SECRET_KEY`); without it, no constancia is
    /// issued. Its `Debug` never shows it.
    pub credential_key: Option<violeta_domain::credential::MasterKey>,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub metrics: Arc<metrics::Metrics>,
    /// What the public map shows, until it changes.
    pub public_cache: Arc<public_cache::PublicCache>,
    /// What the public Alerta Rosa pages and feeds show, until it changes.
    pub alert_cache: Arc<alert_cache::AlertCache>,
    /// Signature checks of stored constancias, done once per process.
    pub signatures: Arc<signatures::SignatureCache>,
    /// Courses' content per revision, for learners' pages.
    pub courses: Arc<course_cache::CourseCache>,
}

impl AppState {
    pub fn new(store: Store, config: Config) -> AppState {
        AppState {
            store,
            config: Arc::new(config),
            metrics: Arc::new(metrics::Metrics::default()),
            public_cache: Arc::default(),
            alert_cache: Arc::default(),
            signatures: Arc::default(),
            courses: Arc::default(),
        }
    }
}

/// The whole application.
pub fn app(state: AppState) -> axum::Router {
    routes::build(state).0
}

/// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = app(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("apagando: se terminan las solicitudes en curso");
}
