//! `/metrics` in Prometheus' text format: request counts and latencies by route pattern
//! (never by raw path, which could carry identifiers), and Alerta Rosa's deliveries to the
//! official accounts by platform, action and state (counts only), read at each scrape so every
//! server reports the same shared outbox.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub plataforma: String,
    pub accion: String,
    pub estado: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    deliveries: Family<DeliveryLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("violeta");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16)));
        registry.register("http_requests", "Solicitudes HTTP atendidas", requests.clone());
        registry.register("http_request_duration_seconds", "Duración de las solicitudes HTTP", latency.clone());
        let deliveries = Family::<DeliveryLabels, Gauge>::default();
        registry.register("alerta_rosa_entregas", "Entregas de Alerta Rosa a los canales oficiales, por plataforma, acción y estado", deliveries.clone());
        Metrics { registry, requests, latency, deliveries }
    }
}

pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "otra".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let m = &state.metrics;
    m.latency.get_or_create(&RouteLabels { route: route.clone() }).observe(start.elapsed().as_secs_f64());
    m.requests.get_or_create(&RequestLabels { method, route, status: response.status().as_u16() }).inc();
    response
}

pub async fn render(State(state): State<AppState>) -> Response {
    match state.store.delivery_totals().await {
        Ok(totals) => {
            let family = &state.metrics.deliveries;
            family.clear();
            for t in totals {
                family.get_or_create(&DeliveryLabels { plataforma: t.platform, accion: t.action, estado: t.status }).set(t.deliveries);
            }
        }
        // The request figures are still worth serving.
        Err(e) => tracing::warn!(error = %e, "no se pudieron contar las entregas de Alerta Rosa para /metrics"),
    }
    let mut body = String::new();
    if prometheus_client::encoding::text::encode(&mut body, &state.metrics.registry).is_err() {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "error").into_response();
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body).into_response()
}
