//! What the public map shows, cached: "cache what is public; invalidate on change, so a
//! change shows at once".
//!
//! Every change to public map data bumps a counter in the database, in the same
//! transaction as the change ([`Store::public_map_version`]). Each request reads that
//! counter (one tiny query) and serves the cached data when the entry was built at the
//! same version; otherwise it reads the data again. Because the counter lives in the
//! shared database, every server process sees a change at once.
//!
//! Only data that is time-independent is cached: whether an espacio seguro is open is
//! worked out per request, at Mexico City time, from its parsed opening hours. A rendered
//! GeoJSON body is kept per (version, filter, open flags), so it is rebuilt only when a
//! place opens or closes. The cache holds at most [`MAX_FILTERS`] filter combinations.
//!
//! This module also holds what the page and the feed share: the filter in the query
//! string, and conditional GET (`ETag`, `If-None-Match`, `Cache-Control`).

use crate::auth::Ctx;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use chrono::NaiveDateTime;
use serde::Deserialize;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use violeta_domain::hours::OpeningHours;
use violeta_domain::safety::SafeSpaceKind;
use violeta_domain::territory::{MunicipalityKey, StateKey};
use violeta_domain::text::search_key;
use violeta_store::safety::{PlaceFilter, PublicSafeSpace, PublicUnit};
use violeta_store::territory::{Region, State as StateRow};
use violeta_store::{Store, StoreError};

/// At most this many filter combinations are kept; the least recently used goes first.
pub const MAX_FILTERS: usize = 256;
/// Rendered bodies kept per filter (one per combination of "open only" and open flags).
const MAX_RENDERED: usize = 4;

// ---------------------------------------------------------------------------
// The filter

/// Which places: the cache key. Built only from validated keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PlaceKey {
    pub cve_ent: Option<String>,
    pub region_id: Option<i64>,
    pub cvegeo: Option<String>,
}

impl PlaceKey {
    pub fn filter(&self) -> PlaceFilter {
        PlaceFilter { cve_ent: self.cve_ent.clone(), region_id: self.region_id, cvegeo: self.cvegeo.clone() }
    }

    /// The same places without the municipality: what the municipality list offers.
    pub fn without_municipality(&self) -> PlaceKey {
        PlaceKey { cvegeo: None, ..self.clone() }
    }

    fn hash_into(&self, h: &mut Fnv) {
        h.write(self.cve_ent.as_deref().unwrap_or("-").as_bytes());
        h.write(b"|");
        h.write(self.region_id.map(|r| r.to_string()).unwrap_or_else(|| "-".into()).as_bytes());
        h.write(b"|");
        h.write(self.cvegeo.as_deref().unwrap_or("-").as_bytes());
    }
}

/// The query string of `/mapa` and of the GeoJSON feed. Empty values (a GET form sends
/// every field) mean "any".
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MapQuery {
    /// State key, "20".
    pub entidad: Option<String>,
    /// Region id.
    pub region: Option<String>,
    /// Municipality key (cvegeo, "20067") or, with a state, its name.
    pub municipio: Option<String>,
    /// "1": only espacios seguros open now.
    pub abierto: Option<String>,
}

/// A checked filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapFilter {
    pub key: PlaceKey,
    pub open_only: bool,
}

impl MapFilter {
    /// The query string that asks for the same places (for the feed's URL and links).
    pub fn query_string(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(e) = &self.key.cve_ent {
            pairs.push(("entidad", e.clone()));
        }
        if let Some(r) = self.key.region_id {
            pairs.push(("region", r.to_string()));
        }
        if let Some(m) = &self.key.cvegeo {
            pairs.push(("municipio", m.clone()));
        }
        if self.open_only {
            pairs.push(("abierto", "1".into()));
        }
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks the query. Errors are in Spanish. A municipality given by name needs its state
/// and costs one query; keys cost none.
pub async fn parse_filter(store: &Store, q: &MapQuery) -> Result<MapFilter, String> {
    let mut key = PlaceKey::default();
    let state = match non_empty(&q.entidad) {
        Some(s) => Some(StateKey::parse(s).map_err(|e| e.to_string())?),
        None => None,
    };
    key.cve_ent = state.as_ref().map(|s| s.as_str().to_string());
    if let Some(r) = non_empty(&q.region) {
        let id = r.parse::<i64>().map_err(|_| format!("la región debe indicarse por su número; se recibió «{r}»"))?;
        key.region_id = Some(id);
    }
    if let Some(m) = non_empty(&q.municipio) {
        let found = match MunicipalityKey::parse(m) {
            Ok(k) => k,
            Err(e) => {
                let Some(state) = &state else {
                    return Err(format!("{e}; para buscar un municipio por su nombre, elija también la entidad"));
                };
                store
                    .find_municipality(state, m)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("no se encontró el municipio «{m}» en la entidad {state}"))?
            }
        };
        if key.cve_ent.is_none() {
            key.cve_ent = Some(found.state().as_str().to_string());
        }
        key.cvegeo = Some(found.as_str().to_string());
    }
    let open_only = matches!(non_empty(&q.abierto), Some("1" | "si" | "sí" | "true" | "on"));
    Ok(MapFilter { key, open_only })
}

// ---------------------------------------------------------------------------
// Cached data

/// An active espacio seguro with its hours parsed once.
pub struct Space {
    pub public: PublicSafeSpace,
    pub kind_label: &'static str,
    /// `None` when the stored text does not parse (then "open now" is unknown).
    pub hours: Option<OpeningHours>,
}

/// The public map data for one filter, at one version.
pub struct MapData {
    pub version: i64,
    pub spaces: Vec<Space>,
    pub units: Vec<PublicUnit>,
    rendered: Mutex<Vec<(u64, Bytes)>>,
}

impl MapData {
    fn new(version: i64, mut spaces: Vec<PublicSafeSpace>, mut units: Vec<PublicUnit>) -> MapData {
        // By state, municipality and name as people read them (accents do not sort last).
        spaces.sort_by_cached_key(|s| (search_key(&s.state), search_key(&s.municipality), search_key(&s.name), s.id));
        units.sort_by_cached_key(|u| (search_key(&u.state), search_key(&u.municipality), search_key(&u.name), u.id));
        let spaces = spaces
            .into_iter()
            .map(|s| Space {
                kind_label: SafeSpaceKind::parse(&s.kind).map(|k| k.label()).unwrap_or("Otro"),
                hours: OpeningHours::parse(&s.opening_hours).ok(),
                public: s,
            })
            .collect();
        MapData { version, spaces, units, rendered: Mutex::new(Vec::new()) }
    }

    /// For each espacio seguro, whether it is open at `at` (Mexico City time).
    pub fn open_flags(&self, at: NaiveDateTime) -> Vec<Option<bool>> {
        self.spaces.iter().map(|s| s.hours.as_ref().map(|h| h.is_open(at))).collect()
    }

    /// A body already rendered for `tag`, if any.
    pub fn cached(&self, tag: u64) -> Option<Bytes> {
        lock(&self.rendered).iter().find(|(t, _)| *t == tag).map(|(_, b)| b.clone())
    }

    /// Keeps a body rendered for `tag`.
    pub fn keep(&self, tag: u64, body: Bytes) {
        let mut kept = lock(&self.rendered);
        if !kept.iter().any(|(t, _)| *t == tag) {
            if kept.len() >= MAX_RENDERED {
                kept.remove(0);
            }
            kept.push((tag, body));
        }
    }

    /// A body rendered for `tag`, built once per tag.
    pub fn rendered(&self, tag: u64, build: impl FnOnce() -> Bytes) -> Bytes {
        if let Some((_, b)) = lock(&self.rendered).iter().find(|(t, _)| *t == tag) {
            return b.clone();
        }
        let body = build();
        let mut kept = lock(&self.rendered);
        if !kept.iter().any(|(t, _)| *t == tag) {
            if kept.len() >= MAX_RENDERED {
                kept.remove(0);
            }
            kept.push((tag, body.clone()));
        }
        body
    }
}

/// Counters, to see the cache work (tests and measurements).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Requests answered from cached data.
    pub hits: u64,
    /// Requests that read the data from the store.
    pub loads: u64,
    /// Bodies rendered (GeoJSON).
    pub renders: u64,
}

/// The cache; one per [`crate::AppState`], so each store has its own.
#[derive(Default)]
pub struct PublicCache {
    maps: Mutex<Lru<PlaceKey, Arc<MapData>>>,
    regions: Mutex<Lru<String, (i64, Arc<Vec<Region>>)>>,
    /// INEGI's states never change while the server runs.
    states: Mutex<Option<Arc<Vec<StateRow>>>>,
    hits: AtomicU64,
    loads: AtomicU64,
    renders: AtomicU64,
    /// On PostgreSQL, the version as pushed by the change feed, while it is known.
    pushed: Arc<PushedVersion>,
    listening: std::sync::atomic::AtomicBool,
}

/// The public data version kept current by PostgreSQL's notifications.
#[derive(Default)]
struct PushedVersion {
    known: std::sync::atomic::AtomicBool,
    version: std::sync::atomic::AtomicI64,
}

/// Keeps `pushed` current from the store's change feed; when the feed breaks, `pushed` is
/// marked unknown (requests then ask the store) and the feed is opened again.
async fn follow_changes(store: Store, pushed: Arc<PushedVersion>) {
    loop {
        match store.public_changes().await {
            Ok(None) => return,
            Ok(Some(mut feed)) => loop {
                // Read after subscribing, and after every notice: nothing is missed.
                match store.public_map_version().await {
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
            Err(e) => tracing::warn!(error = %e, "no se pudo escuchar los cambios del mapa público"),
        }
        pushed.known.store(false, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl PublicCache {
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            loads: self.loads.load(Ordering::Relaxed),
            renders: self.renders.load(Ordering::Relaxed),
        }
    }

    /// How many filter combinations are kept (at most [`MAX_FILTERS`]).
    pub fn len(&self) -> usize {
        lock(&self.maps).map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn count_render(&self) {
        self.renders.fetch_add(1, Ordering::Relaxed);
    }

    /// The current version of the public map data: one query on SQLite; on PostgreSQL, what
    /// the change feed last pushed (one query while the feed is not up).
    pub async fn version(&self, store: &Store) -> Result<i64, StoreError> {
        if self.pushed.known.load(Ordering::SeqCst) {
            return Ok(self.pushed.version.load(Ordering::SeqCst));
        }
        if store.backend() == violeta_store::Backend::Postgres && !self.listening.swap(true, Ordering::SeqCst) {
            tokio::spawn(follow_changes(store.clone(), self.pushed.clone()));
        }
        store.public_map_version().await
    }

    /// The data for `key` at `version` (read with [`PublicCache::version`] first): from the
    /// cache, or read from the store (two queries) and kept.
    pub async fn map(&self, store: &Store, key: &PlaceKey, version: i64) -> Result<Arc<MapData>, StoreError> {
        if let Some(hit) = lock(&self.maps).get(key).filter(|d| d.version == version) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit);
        }
        self.loads.fetch_add(1, Ordering::Relaxed);
        // The version was read before the data: if a change lands in between, the data is
        // newer than its version says, and the next request simply reads it again.
        let filter = key.filter();
        let spaces = store.public_safe_spaces(&filter).await?;
        let units = store.public_units(&filter).await?;
        let data = Arc::new(MapData::new(version, spaces, units));
        let mut maps = lock(&self.maps);
        // Never replace newer data with older (two requests racing across a change).
        if maps.peek(key).is_none_or(|d| d.version <= version) {
            maps.insert(key.clone(), data.clone());
        }
        Ok(data)
    }

    /// A state's regions, for the filter; kept with the map version.
    pub async fn regions(&self, store: &Store, state: &StateKey, version: i64) -> Result<Arc<Vec<Region>>, StoreError> {
        let k = state.as_str().to_string();
        if let Some((v, r)) = lock(&self.regions).get(&k)
            && v == version
        {
            return Ok(r);
        }
        let regions = Arc::new(store.regions(state).await?);
        lock(&self.regions).insert(k, (version, regions.clone()));
        Ok(regions)
    }

    /// The states, read once.
    pub async fn states(&self, store: &Store) -> Result<Arc<Vec<StateRow>>, StoreError> {
        if let Some(s) = lock(&self.states).clone() {
            return Ok(s);
        }
        let states = Arc::new(store.states().await?);
        *lock(&self.states) = Some(states.clone());
        Ok(states)
    }
}

/// A small least-recently-used map.
struct Lru<K, V> {
    map: HashMap<K, (V, u64)>,
    tick: u64,
    cap: usize,
}

impl<K, V> Default for Lru<K, V> {
    fn default() -> Self {
        Lru { map: HashMap::new(), tick: 0, cap: MAX_FILTERS }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Lru<K, V> {
    fn get(&mut self, k: &K) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(k).map(|(v, used)| {
            *used = tick;
            v.clone()
        })
    }

    fn peek(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|(v, _)| v)
    }

    fn insert(&mut self, k: K, v: V) {
        self.tick += 1;
        if self.map.len() >= self.cap
            && !self.map.contains_key(&k)
            && let Some(oldest) = self.map.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone())
        {
            self.map.remove(&oldest);
        }
        self.map.insert(k, (v, self.tick));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

// ---------------------------------------------------------------------------
// Conditional GET

/// FNV-1a: stable across processes and builds, so every server gives the same `ETag`.
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// A tag for what a response shows: which representation, the filter, and the open flags.
pub fn content_tag(what: &str, filter: &MapFilter, flags: &[Option<bool>], extra: &[&[u8]]) -> u64 {
    let mut h = Fnv::default();
    h.write(what.as_bytes());
    h.write(b"#");
    filter.key.hash_into(&mut h);
    h.write(if filter.open_only { b"#1" } else { b"#0" });
    let bits: Vec<u8> = flags.iter().map(|f| match f {
        Some(true) => b'1',
        Some(false) => b'0',
        None => b'?',
    }).collect();
    h.write(&bits);
    for e in extra {
        h.write(b"#");
        h.write(e);
    }
    h.finish()
}

/// `"m{version}-{tag}"`: changes with the data and with what the response shows.
pub fn etag(version: i64, tag: u64) -> String {
    format!("\"m{version}-{tag:016x}\"")
}

/// Whether the client's `If-None-Match` already names `etag` (weak comparison).
pub fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// `Cache-Control` for a public response. `public` lets shared caches keep it, which is
/// only safe when the response sets no cookie: the sign-in middleware gives a visitor
/// without one a fresh pre-session CSRF cookie, and a shared cache must never hand that
/// to someone else. So a request that will get a cookie is answered `private`.
pub fn cache_control(ctx: &Ctx, _headers: &HeaderMap, personal: bool) -> HeaderValue {
    // Public map pages and feeds never set a cookie (see `auth::ANONYMOUS_FORM_PAGES`), so
    // what an anonymous visitor gets may be shared.
    if personal || ctx.user.is_some() {
        HeaderValue::from_static("private, max-age=0, must-revalidate")
    } else {
        HeaderValue::from_static("public, max-age=0, must-revalidate")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_keeps_the_recently_used() {
        let mut l: Lru<u32, u32> = Lru { cap: 3, ..Default::default() };
        for i in 0..3 {
            l.insert(i, i);
        }
        assert_eq!(l.get(&0), Some(0));
        l.insert(3, 3);
        assert_eq!(l.len(), 3);
        assert_eq!(l.get(&1), None, "the least recently used left");
        assert_eq!(l.get(&0), Some(0));
        l.insert(0, 10);
        assert_eq!((l.len(), l.get(&0)), (3, Some(10)));
    }

    #[test]
    fn etags_change_with_what_is_shown() {
        let f = MapFilter::default();
        let open = MapFilter { open_only: true, ..Default::default() };
        let a = content_tag("geojson", &f, &[Some(true)], &[]);
        assert_eq!(a, content_tag("geojson", &f, &[Some(true)], &[]));
        assert_ne!(a, content_tag("geojson", &f, &[Some(false)], &[]));
        assert_ne!(a, content_tag("geojson", &open, &[Some(true)], &[]));
        assert_ne!(a, content_tag("html", &f, &[Some(true)], &[]));
        assert_ne!(etag(1, a), etag(2, a));
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&format!("\"x\", W/{}", etag(1, a))).unwrap());
        assert!(not_modified(&h, &etag(1, a)));
        assert!(!not_modified(&h, &etag(2, a)));
    }
}
