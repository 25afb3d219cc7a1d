//! Static files, embedded in the binary and served from a fixed list.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// (path under `/static/`, content type, bytes).
const FILES: &[(&str, &str, &[u8])] = &[
    ("violeta.css", "text/css; charset=utf-8", include_bytes!("../static/violeta.css")),
    ("cobertura.js", "text/javascript; charset=utf-8", include_bytes!("../static/cobertura.js")),
    ("mapa.js", "text/javascript; charset=utf-8", include_bytes!("../static/mapa.js")),
    ("leaflet/leaflet.js", "text/javascript; charset=utf-8", include_bytes!("../static/leaflet/leaflet.js")),
    ("leaflet/leaflet.css", "text/css; charset=utf-8", include_bytes!("../static/leaflet/leaflet.css")),
    ("leaflet/images/marker-icon.png", "image/png", include_bytes!("../static/leaflet/images/marker-icon.png")),
    ("leaflet/images/marker-icon-2x.png", "image/png", include_bytes!("../static/leaflet/images/marker-icon-2x.png")),
    ("leaflet/images/marker-shadow.png", "image/png", include_bytes!("../static/leaflet/images/marker-shadow.png")),
    ("leaflet/images/layers.png", "image/png", include_bytes!("../static/leaflet/images/layers.png")),
    ("leaflet/images/layers-2x.png", "image/png", include_bytes!("../static/leaflet/images/layers-2x.png")),
];

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, body)) => ([(header::CONTENT_TYPE, *mime), (header::CACHE_CONTROL, "public, max-age=3600")], *body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
