//! What the public Alerta Rosa surfaces show, cached per process: the active alerts, each
//! folio's CAP messages and translations, and the rendered bodies (CAP, Atom, the anonymous
//! pages, the fichas).
//!
//! Like the map's cache (`public_cache`), everything hangs on one version number that every
//! change to public alert data bumps in its own transaction (`public_versions.alertas`).
//! A request reads the version (one tiny query on SQLite; on PostgreSQL, what
//! `LISTEN violeta_alertas` last pushed) and serves the snapshot built at that version, or
//! builds a new one. So when an alert concludes, every cached page, feed and image that
//! showed her is dropped at once, in every server process.

use axum::body::Bytes;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use violeta_domain::alerta::{AlertFolio, Translation};
use violeta_store::alerts::{CapMessage, PublicAlert, PublicAlertState};
use violeta_store::{Store, StoreError};

/// Largest total of cached files (fichas, photos) per snapshot.
const MAX_FILE_BYTES: usize = 96 * 1024 * 1024;
/// Most folios kept per snapshot (requests for unknown folios are never kept).
const MAX_FOLIOS: usize = 1024;

/// A folio as the public may learn it.
pub struct Folio {
    pub state: PublicAlertState,
    pub messages: Vec<CapMessage>,
    pub translations: Vec<Translation>,
    /// The public documents' names (fichas).
    pub documents: Vec<String>,
}

/// Bytes held, and each file by key (`None`: known not to exist), with its content type.
type FileCache = (usize, HashMap<String, Option<(String, Bytes)>>);

/// The public alert data at one version.
pub struct Snapshot {
    pub version: i64,
    /// Active alerts that are not drills, newest first.
    pub alerts: Vec<PublicAlert>,
    folios: Mutex<HashMap<String, Arc<Folio>>>,
    bodies: Mutex<HashMap<String, Bytes>>,
    files: Mutex<FileCache>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Snapshot {
    /// A folio's public data, read once per snapshot. `None`: nothing public under it.
    pub async fn folio(&self, store: &Store, folio: &AlertFolio) -> Result<Option<Arc<Folio>>, StoreError> {
        if let Some(f) = lock(&self.folios).get(folio.as_str()) {
            return Ok(Some(f.clone()));
        }
        let Some(state) = store.public_alert(folio).await? else { return Ok(None) };
        let active = matches!(state, PublicAlertState::Active(_));
        let messages = store.public_cap_messages(folio).await?;
        let (translations, documents) = if active {
            let t = store.public_translations(folio).await?.iter().map(|t| t.translation()).collect();
            (t, store.public_document_names(folio).await?)
        } else {
            (Vec::new(), Vec::new())
        };
        let f = Arc::new(Folio { state, messages, translations, documents });
        let mut folios = lock(&self.folios);
        if folios.len() < MAX_FOLIOS {
            folios.insert(folio.to_string(), f.clone());
        }
        Ok(Some(f))
    }

    /// A body rendered once per snapshot and `key`.
    pub async fn body<F, Fut>(&self, key: &str, build: F) -> Result<Bytes, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, StoreError>>,
    {
        if let Some(b) = lock(&self.bodies).get(key) {
            return Ok(b.clone());
        }
        let b = build().await?;
        let mut bodies = lock(&self.bodies);
        if bodies.len() < MAX_FOLIOS * 4 {
            bodies.insert(key.to_string(), b.clone());
        }
        Ok(b)
    }

    /// A public file (ficha or photo) with its content type, read once per snapshot while
    /// the budget lasts. `None`: no such public file.
    pub async fn file<F, Fut>(&self, key: &str, load: F) -> Result<Option<(String, Bytes)>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<(String, Vec<u8>)>, StoreError>>,
    {
        if let Some(f) = lock(&self.files).1.get(key) {
            return Ok(f.clone());
        }
        let found = load().await?.map(|(t, b)| (t, Bytes::from(b)));
        let mut files = lock(&self.files);
        let size = found.as_ref().map(|(_, b)| b.len()).unwrap_or(0);
        if files.0 + size <= MAX_FILE_BYTES && files.1.len() < MAX_FOLIOS * 16 {
            files.0 += size;
            files.1.insert(key.to_string(), found.clone());
        }
        Ok(found)
    }
}

/// Counters, to see the cache work (tests and measurements).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertCacheStats {
    /// Snapshots built (each reads the active alerts from the store).
    pub loads: u64,
    pub hits: u64,
}

#[derive(Default)]
pub struct AlertCache {
    current: Mutex<Option<Arc<Snapshot>>>,
    pushed: Arc<Pushed>,
    listening: AtomicBool,
    loads: AtomicU64,
    hits: AtomicU64,
}

#[derive(Default)]
struct Pushed {
    known: AtomicBool,
    version: AtomicI64,
}

/// Keeps `pushed` current from PostgreSQL's notifications; marks it unknown while the
/// feed is down (requests then ask the store).
async fn follow_changes(store: Store, pushed: Arc<Pushed>) {
    loop {
        match store.public_alert_changes().await {
            Ok(None) => return,
            Ok(Some(mut feed)) => loop {
                match store.public_alerts_version().await {
                    Ok(v) => {
                        pushed.version.store(v, Ordering::SeqCst);
                        pushed.known.store(true, Ordering::SeqCst);
                    }
                    Err(_) => break,
                }
                if feed.next().await.is_err() {
                    break;
                }
            },
            Err(e) => tracing::warn!(error = %e, "no se pudo escuchar los cambios de las alertas públicas"),
        }
        pushed.known.store(false, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

impl AlertCache {
    pub fn stats(&self) -> AlertCacheStats {
        AlertCacheStats { loads: self.loads.load(Ordering::Relaxed), hits: self.hits.load(Ordering::Relaxed) }
    }

    /// The current version of public alert data.
    pub async fn version(&self, store: &Store) -> Result<i64, StoreError> {
        if self.pushed.known.load(Ordering::SeqCst) {
            return Ok(self.pushed.version.load(Ordering::SeqCst));
        }
        if store.backend() == violeta_store::Backend::Postgres && !self.listening.swap(true, Ordering::SeqCst) {
            tokio::spawn(follow_changes(store.clone(), self.pushed.clone()));
        }
        store.public_alerts_version().await
    }

    /// The snapshot at the current version, built when the version moved.
    pub async fn snapshot(&self, store: &Store) -> Result<Arc<Snapshot>, StoreError> {
        let version = self.version(store).await?;
        if let Some(s) = lock(&self.current).as_ref().filter(|s| s.version == version) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(s.clone());
        }
        self.loads.fetch_add(1, Ordering::Relaxed);
        // Read after the version: the data is at least as new as the version says.
        let alerts = store.public_alerts().await?;
        let snapshot = Arc::new(Snapshot {
            version,
            alerts,
            folios: Mutex::default(),
            bodies: Mutex::default(),
            files: Mutex::new((0, HashMap::new())),
        });
        let mut current = lock(&self.current);
        if current.as_ref().is_none_or(|s| s.version <= version) {
            *current = Some(snapshot.clone());
        }
        Ok(snapshot)
    }
}
