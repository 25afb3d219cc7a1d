//! Alerta Rosa dissemination in the store: the unit's official accounts (channels and
//! their groups), and a durable outbox — a publication stored once, one delivery per
//! publication and channel — that any number of server processes work through with
//! leases.
//!
//! # For the case side (alerts)
//!
//! Inside the store crate, in the caller's own transaction (so an alert's change of
//! state and its publication commit together or not at all):
//!
//! ```ignore
//! pub(crate) async fn publish(tx: &mut Tx, publication: &Publication, actor: &Actor) -> Result<PublicationId>
//! pub(crate) async fn publish_to(tx: &mut Tx, publication: &Publication, group_id: Option<i64>, actor: &Actor) -> Result<PublicationId>
//! pub(crate) async fn close_alert(tx: &mut Tx, alert_id: i64, update: &Publication, takedown: Takedown, actor: &Actor) -> Result<PublicationId>
//! pub(crate) async fn set_alert_repeat(tx: &mut Tx, alert_id: i64, repeat: Repeat, actor: &Actor) -> Result<()>
//! ```
//!
//! and, from anywhere, each in a transaction of its own:
//!
//! ```ignore
//! impl Store {
//!     pub async fn publish(&self, publication: &Publication, actor: &Actor) -> Result<PublicationId>
//!     pub async fn publish_to(&self, publication: &Publication, group_id: Option<i64>, actor: &Actor) -> Result<PublicationId>
//!     pub async fn close_alert(&self, alert_id: i64, update: &Publication, takedown: Takedown, actor: &Actor) -> Result<PublicationId>
//!     pub async fn set_alert_repeat(&self, alert_id: i64, repeat: Repeat, actor: &Actor) -> Result<()>
//!     pub async fn deliveries(&self, alert_id: i64) -> Result<Vec<DeliveryView>>
//!     pub async fn publications(&self, alert_id: i64) -> Result<Vec<PublicationView>>
//!     pub async fn alert_dissemination(&self, alert_id: i64) -> Result<Option<AlertDissemination>>
//! }
//! ```
//!
//! `publish` makes one delivery per enabled channel (`publish_to`: per enabled channel of
//! a group); `manual` channels get a delivery for staff to post by hand. Publishing wakes
//! the workers at once: an in-process signal, and on PostgreSQL a NOTIFY delivered at
//! commit to every server process.
//!
//! `close_alert` (the alert was located or deactivated) cancels every original or repeat
//! not yet sent, queues `update` on every channel where the alert actually went out, and
//! by `takedown` deletes or edits the posts where the platform allows it; a post that
//! lands after the closing (it was in flight) gets the same follow-ups when it lands.
//!
//! # Exactly once
//!
//! A worker leases a delivery by setting it `enviando` before any HTTP call: that row is
//! the recorded intent. If the worker dies, the lease runs out and the next worker finds
//! the row still `enviando`, so it knows a post may exist (`uncertain`) and reconciles
//! before posting again (see `violeta_app::dissemination`).

use crate::audit::{Event, append};
use crate::{Backend, Result, Store, StoreError, Tx, now, on_pool, on_tx};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use violeta_domain::audit::Actor;
use violeta_domain::credential::{MasterKey, seal, unseal};
use violeta_domain::dissemination::{DeliveryAction, DeliveryStatus, Platform, PublicationKind, Takedown, check_repeat_hours, marker};
use violeta_domain::secret::Secret;

/// The PostgreSQL channel that announces new deliveries to every server process.
pub const NOTIFY_CHANNEL: &str = "violeta_difusion";

/// Largest image a publication may carry (X's limit for images).
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// What to publish about an alert. The image, when there is one, is a PNG (the ficha)
/// and needs its text alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub alert_id: i64,
    pub kind: PublicationKind,
    pub text: String,
    pub link: String,
    pub image_png: Option<Vec<u8>>,
    pub image_alt: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PublicationId(pub i64);

/// How often an active alert is posted again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// The global setting (`dissemination_settings`).
    Global,
    Never,
    EveryHours(i64),
}

/// A channel as staff see it. Its credential never leaves the store: only whether it has one.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Channel {
    pub id: i64,
    pub platform: String,
    pub name: String,
    pub handle: String,
    pub api_base: String,
    pub remote_id: String,
    pub has_credential: bool,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Channel {
    pub fn platform(&self) -> Option<Platform> {
        Platform::parse(&self.platform)
    }
    pub fn platform_label(&self) -> &'static str {
        self.platform().map(Platform::label).unwrap_or("")
    }
}

/// A channel as staff enter it. `credential: None` on an update keeps the stored one.
#[derive(Debug, Clone)]
pub struct ChannelInput {
    pub platform: Platform,
    pub name: String,
    pub handle: String,
    /// Empty: the platform's real API.
    pub api_base: String,
    pub remote_id: String,
    pub credential: Option<Secret>,
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChannelGroup {
    pub id: i64,
    pub name: String,
    pub channel_ids: Vec<i64>,
}

/// One delivery, for pages and the API.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DeliveryView {
    pub id: i64,
    pub alert_id: i64,
    pub publication_id: i64,
    pub kind: String,
    pub action: String,
    pub target_id: Option<i64>,
    pub channel_id: i64,
    pub channel: String,
    pub platform: String,
    pub handle: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: String,
    pub remote_id: String,
    pub remote_url: String,
    pub proof: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

/// A count of deliveries (see [`Store::delivery_totals`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryTotal {
    pub platform: String,
    pub action: String,
    pub status: String,
    pub deliveries: i64,
}

impl DeliveryView {
    pub fn status_label(&self) -> &'static str {
        let status = DeliveryStatus::parse(&self.status);
        match (DeliveryAction::parse(&self.action), status) {
            (Some(DeliveryAction::Borrar), Some(DeliveryStatus::Publicada)) => "Borrada",
            (Some(DeliveryAction::Editar), Some(DeliveryStatus::Publicada)) => "Editada",
            (_, Some(s)) => s.label(),
            _ => "",
        }
    }
    pub fn kind_label(&self) -> &'static str {
        PublicationKind::parse(&self.kind).map(PublicationKind::label).unwrap_or("")
    }
    pub fn action_label(&self) -> &'static str {
        DeliveryAction::parse(&self.action).map(DeliveryAction::label).unwrap_or("")
    }
    pub fn platform_label(&self) -> &'static str {
        Platform::parse(&self.platform).map(Platform::label).unwrap_or("")
    }
    /// Still to be done (by a worker, or by hand).
    pub fn is_open(&self) -> bool {
        matches!(self.status.as_str(), "pendiente" | "enviando" | "manual")
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PublicationView {
    pub id: i64,
    pub alert_id: i64,
    pub kind: String,
    pub text: String,
    pub link: String,
    pub has_image: bool,
    pub image_alt: String,
    pub marker: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl PublicationView {
    pub fn kind_label(&self) -> &'static str {
        PublicationKind::parse(&self.kind).map(PublicationKind::label).unwrap_or("")
    }
}

/// An alert's dissemination state.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AlertDissemination {
    pub alert_id: i64,
    pub source_publication_id: i64,
    /// NULL: the global setting; 0: never.
    pub repeat_hours: Option<i64>,
    pub last_spread_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub takedown: Option<String>,
    pub update_publication_id: Option<i64>,
}

/// What a worker needs to carry out one leased delivery.
#[derive(Clone, sqlx::FromRow)]
pub struct DeliveryJob {
    pub id: i64,
    pub alert_id: i64,
    pub action: String,
    pub attempts: i64,
    /// An earlier attempt may have posted: reconcile first.
    pub uncertain: bool,
    pub idempotency_key: String,
    pub lease_until: DateTime<Utc>,
    pub channel_id: i64,
    pub platform: String,
    pub channel_name: String,
    pub handle: String,
    pub api_base: String,
    pub remote_id: String,
    pub enabled: bool,
    #[sqlx(rename = "credential")]
    sealed_credential: String,
    pub publication_id: i64,
    pub kind: String,
    pub text: String,
    pub link: String,
    pub image_png: Option<Vec<u8>>,
    pub image_alt: String,
    pub marker: String,
    /// For borrar / editar: the post acted on.
    pub target_remote_id: Option<String>,
    pub target_remote_url: Option<String>,
    /// The post acted on carries an image (Telegram edits a photo's caption, not a text).
    pub target_has_image: bool,
    /// The alert closed: publish nothing new of it.
    pub alert_closed: bool,
}

impl std::fmt::Debug for DeliveryJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryJob").field("id", &self.id).field("channel_id", &self.channel_id).field("action", &self.action).finish_non_exhaustive()
    }
}

impl DeliveryJob {
    pub fn platform(&self) -> Option<Platform> {
        Platform::parse(&self.platform)
    }
    pub fn action(&self) -> DeliveryAction {
        DeliveryAction::parse(&self.action).unwrap_or(DeliveryAction::Publicar)
    }
    pub fn kind(&self) -> PublicationKind {
        PublicationKind::parse(&self.kind).unwrap_or(PublicationKind::Alerta)
    }
    /// The channel's credential, opened with the master key.
    pub fn credential(&self, master: Option<&MasterKey>) -> Result<Option<Secret>> {
        open_credential(&self.sealed_credential, master)
    }
}

/// The platform's receipt for a post (or for its deletion or edit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    pub remote_id: String,
    pub remote_url: String,
    /// The platform's answer, shortened: proof of what was done and when.
    pub proof: String,
}

fn open_credential(sealed: &str, master: Option<&MasterKey>) -> Result<Option<Secret>> {
    if sealed.is_empty() {
        return Ok(None);
    }
    let master = master.ok_or_else(|| StoreError::Invalid("falta VIOLETA_SECRET_KEY: sin ella no se pueden abrir las credenciales de los canales".into()))?;
    let bytes = unseal(master, sealed).map_err(|_| {
        StoreError::Invalid("no se pudo abrir la credencial del canal: VIOLETA_SECRET_KEY no es la misma con la que se guardó; capture la credencial de nuevo".into())
    })?;
    String::from_utf8(bytes).map(|s| Some(Secret::new(s))).map_err(|_| StoreError::Invalid("la credencial guardada del canal está dañada".into()))
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("el sistema operativo no dio aleatoriedad");
    bytes
}

/// The process's signal that deliveries were queued: every worker in this process
/// watches it (PostgreSQL's NOTIFY reaches the other processes).
fn enqueued() -> &'static tokio::sync::watch::Sender<u64> {
    static SENDER: std::sync::OnceLock<tokio::sync::watch::Sender<u64>> = std::sync::OnceLock::new();
    SENDER.get_or_init(|| tokio::sync::watch::channel(0).0)
}

/// Wakes this process's workers. Sent inside the writer's transaction: on SQLite a
/// worker's claim waits for the write turn, so it sees the rows once they commit.
async fn announce(tx: &mut Tx) -> Result<()> {
    enqueued().send_modify(|n| *n = n.wrapping_add(1));
    if let Tx::Postgres(t) = tx {
        // Delivered at commit to every listening process.
        sqlx::query("SELECT pg_notify($1, '')").bind(NOTIFY_CHANNEL).execute(&mut **t).await?;
    }
    Ok(())
}

/// A receiver for this process's "deliveries queued" signal.
pub fn wake_signal() -> tokio::sync::watch::Receiver<u64> {
    enqueued().subscribe()
}

/// PostgreSQL's word that deliveries were queued, from any server process.
pub struct DeliveryFeed(sqlx::postgres::PgListener);

impl DeliveryFeed {
    /// Waits for the next notice. `Ok(false)`: the connection was lost and made again.
    pub async fn next(&mut self) -> Result<bool> {
        Ok(self.0.try_recv().await?.is_some())
    }
}

fn clean(s: &str) -> String {
    violeta_domain::text::clean(s)
}

/// Plain HTTP only to this machine (tests, the demo's fakes); anything else over HTTPS,
/// so a credential never crosses a network in clear.
fn check_api_base(url: &str) -> Result<()> {
    let bad = || StoreError::Invalid(format!("la dirección de la API «{url}» no es válida: use https://… (http:// solo para 127.0.0.1 o localhost)"));
    if let Some(rest) = url.strip_prefix("https://") {
        if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
            return Err(bad());
        }
        return Ok(());
    }
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').filter(|(h, p)| !h.ends_with(']') || p.is_empty()).map(|(h, _)| h).unwrap_or(host);
    let local = host == "localhost" || host == "[::1]" || host.starts_with("127.");
    if local { Ok(()) } else { Err(bad()) }
}

impl ChannelInput {
    /// Checked and cleaned, with the API base resolved.
    fn cleaned(&self, creating: bool) -> Result<ChannelInput> {
        let name = clean(&self.name);
        if name.is_empty() {
            return Err(StoreError::Invalid("el canal necesita un nombre".into()));
        }
        let mut api_base = self.api_base.trim().trim_end_matches('/').to_string();
        if api_base.is_empty() {
            api_base = self.platform.default_api_base().unwrap_or("").to_string();
        }
        match self.platform {
            Platform::Manual => api_base.clear(),
            Platform::Mastodon if api_base.is_empty() => {
                return Err(StoreError::Invalid("indique la dirección de la instancia de Mastodon (por ejemplo https://mastodon.social)".into()));
            }
            Platform::Webhook if api_base.is_empty() => {
                return Err(StoreError::Invalid("indique la dirección (URL) que recibe el webhook".into()));
            }
            _ => check_api_base(&api_base)?,
        }
        let remote_id = self.remote_id.trim().to_string();
        if matches!(self.platform, Platform::Telegram | Platform::Facebook | Platform::X) && remote_id.is_empty() {
            let what = self.platform.remote_id_label().unwrap_or("el identificador");
            return Err(StoreError::Invalid(format!("falta el dato «{what}» del canal de {}", self.platform.label())));
        }
        let credential = self.credential.as_ref().filter(|c| !c.expose().trim().is_empty()).map(|c| Secret::new(c.expose().trim()));
        if creating && self.platform.automatic() && credential.is_none() {
            let what = self.platform.credential_label().unwrap_or("la credencial");
            return Err(StoreError::Invalid(format!("falta la credencial del canal: {what}")));
        }
        Ok(ChannelInput {
            platform: self.platform,
            name,
            handle: self.handle.trim().to_string(),
            api_base,
            remote_id,
            credential: if self.platform.automatic() { credential } else { None },
            enabled: self.enabled,
        })
    }
}

fn seal_credential(credential: &Secret, master: Option<&MasterKey>) -> Result<String> {
    let master = master.ok_or_else(|| {
        StoreError::Invalid("defina VIOLETA_SECRET_KEY en el servidor para guardar credenciales de canales: se guardan cifradas con ella".into())
    })?;
    Ok(seal(master, credential.expose().as_bytes(), random()))
}

const CHANNEL_SELECT: &str = "SELECT id, platform, name, handle, api_base, remote_id, credential <> '' AS has_credential, enabled, created_at, updated_at FROM channels";

const DELIVERY_SELECT: &str = "SELECT d.id, d.alert_id, d.publication_id, p.kind, d.action, d.target_id, d.channel_id, c.name AS channel, c.platform, c.handle, \
    d.status, d.attempts, d.next_attempt_at, d.last_error, d.remote_id, d.remote_url, d.proof, d.created_at, d.updated_at, d.done_at \
    FROM deliveries d JOIN publications p ON p.id = d.publication_id JOIN channels c ON c.id = d.channel_id";

const JOB_SELECT: &str = "SELECT d.id, d.alert_id, d.action, d.attempts, d.uncertain, d.idempotency_key, d.lease_until, \
    c.id AS channel_id, c.platform, c.name AS channel_name, c.handle, c.api_base, c.remote_id, c.enabled, c.credential, \
    p.id AS publication_id, p.kind, p.text, p.link, p.image_png, p.image_alt, p.marker, \
    t.remote_id AS target_remote_id, t.remote_url AS target_remote_url, (tp.image_png IS NOT NULL) AS target_has_image, \
    (a.closed_at IS NOT NULL) AS alert_closed \
    FROM deliveries d JOIN channels c ON c.id = d.channel_id JOIN publications p ON p.id = d.publication_id \
    LEFT JOIN deliveries t ON t.id = d.target_id LEFT JOIN publications tp ON tp.id = t.publication_id \
    LEFT JOIN alert_dissemination a ON a.alert_id = d.alert_id";

/// Kinds that spread the alert itself, as SQL.
const SPREADING: &str = "('alerta', 'repeticion')";

// ----- the API for the case side, in the caller's transaction -----

/// Stores `publication` and queues one delivery per enabled channel.
pub(crate) async fn publish(tx: &mut Tx, publication: &Publication, actor: &Actor) -> Result<PublicationId> {
    publish_to(tx, publication, None, actor).await
}

/// Stores `publication` and queues one delivery per enabled channel of `group_id`
/// (every enabled channel when `None`).
pub(crate) async fn publish_to(tx: &mut Tx, publication: &Publication, group_id: Option<i64>, actor: &Actor) -> Result<PublicationId> {
    let state = alert_state(tx, publication.alert_id).await?;
    if publication.kind.spreads_alert() && state.as_ref().is_some_and(|s| s.closed_at.is_some()) {
        return Err(StoreError::Conflict("la difusión de esta alerta ya se cerró: no se puede volver a publicar como activa".into()));
    }
    if let Some(g) = group_id {
        let exists: Option<i64> = on_tx!(tx, |c| sqlx::query_scalar("SELECT id FROM channel_groups WHERE id = $1").bind(g).fetch_optional(&mut *c).await?);
        exists.ok_or_else(|| StoreError::NotFound("no existe ese grupo de canales".into()))?;
    }
    let id = insert_publication(tx, publication, group_id, &actor.label).await?;
    let at = now();
    let key = hex_key();
    let queued = on_tx!(tx, |c| sqlx::query(
        "INSERT INTO deliveries (publication_id, channel_id, alert_id, action, status, next_attempt_at, idempotency_key, created_at, updated_at) \
         SELECT $1, c.id, $2, 'publicar', CASE WHEN c.platform = 'manual' THEN 'manual' ELSE 'pendiente' END, $3, $4 || '-' || CAST(c.id AS TEXT), $3, $3 \
         FROM channels c WHERE c.enabled AND ($5 IS NULL OR c.id IN (SELECT m.channel_id FROM channel_group_members m WHERE m.group_id = $5))"
    )
    .bind(id.0)
    .bind(publication.alert_id)
    .bind(at)
    .bind(&key)
    .bind(group_id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if publication.kind == PublicationKind::Alerta {
        on_tx!(tx, |c| sqlx::query(
            "INSERT INTO alert_dissemination (alert_id, source_publication_id, last_spread_at) VALUES ($1, $2, $3) \
             ON CONFLICT (alert_id) DO UPDATE SET source_publication_id = excluded.source_publication_id, last_spread_at = excluded.last_spread_at"
        )
        .bind(publication.alert_id)
        .bind(id.0)
        .bind(at)
        .execute(&mut *c)
        .await?
        .rows_affected());
    } else if publication.kind == PublicationKind::Repeticion {
        on_tx!(tx, |c| sqlx::query("UPDATE alert_dissemination SET last_spread_at = $1 WHERE alert_id = $2")
            .bind(at)
            .bind(publication.alert_id)
            .execute(&mut *c)
            .await?
            .rows_affected());
    }
    append(
        tx,
        actor,
        Event::new("difusion.publicar", "alerta", publication.alert_id).with(serde_json::json!({
            "publicacion": id.0, "tipo": publication.kind.code(), "grupo": group_id, "entregas": queued,
        })),
    )
    .await?;
    announce(tx).await?;
    Ok(id)
}

/// Closes an alert's dissemination (it was located or deactivated): cancels what was
/// not sent yet, queues `update` (an `actualizacion` or `retiro`) where the alert went
/// out, and takes the posts down by `takedown`. Refused if it was closed already.
pub(crate) async fn close_alert(tx: &mut Tx, alert_id: i64, update: &Publication, takedown: Takedown, actor: &Actor) -> Result<PublicationId> {
    if update.alert_id != alert_id {
        return Err(StoreError::Invalid("la publicación de cierre es de otra alerta".into()));
    }
    if update.kind.spreads_alert() {
        return Err(StoreError::Invalid("el cierre de una alerta se difunde como actualización o retiro".into()));
    }
    let at = now();
    let state = alert_state(tx, alert_id).await?;
    if state.as_ref().is_some_and(|s| s.closed_at.is_some()) {
        return Err(StoreError::Conflict("la difusión de esta alerta ya se cerró".into()));
    }
    let update_id = insert_publication(tx, update, None, &actor.label).await?;
    if state.is_some() {
        on_tx!(tx, |c| sqlx::query("UPDATE alert_dissemination SET closed_at = $1, takedown = $2, update_publication_id = $3 WHERE alert_id = $4")
            .bind(at)
            .bind(takedown.code())
            .bind(update_id.0)
            .bind(alert_id)
            .execute(&mut *c)
            .await?
            .rows_affected());
    } else {
        // Never disseminated: record the closing, so a late publication is refused.
        on_tx!(tx, |c| sqlx::query(
            "INSERT INTO alert_dissemination (alert_id, source_publication_id, last_spread_at, closed_at, takedown, update_publication_id) \
             VALUES ($1, $2, $3, $3, $4, $2)"
        )
        .bind(alert_id)
        .bind(update_id.0)
        .bind(at)
        .bind(takedown.code())
        .execute(&mut *c)
        .await?
        .rows_affected());
    }
    // Not sent yet, and certainly not posted: cancelled. Uncertain ones stay for a worker
    // to reconcile (it posts nothing new of a closed alert).
    let cancel_sql = format!(
        "UPDATE deliveries SET status = 'cancelada', last_error = 'la alerta se cerró antes de publicarse en este canal', \
         leased_by = NULL, lease_until = NULL, updated_at = $1, done_at = $1 \
         WHERE alert_id = $2 AND action = 'publicar' AND NOT uncertain AND status IN ('pendiente', 'fallida', 'manual') \
         AND publication_id IN (SELECT id FROM publications WHERE alert_id = $2 AND kind IN {SPREADING})"
    );
    let cancelled = on_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(cancel_sql.clone())).bind(at).bind(alert_id).execute(&mut *c).await?.rows_affected());
    let follow = follow_ups(tx, alert_id, update_id, takedown, None).await?;
    append(
        tx,
        actor,
        Event::new("difusion.cerrar", "alerta", alert_id).with(serde_json::json!({
            "publicacion": update_id.0, "tipo": update.kind.code(), "retiro": takedown.code(),
            "canceladas": cancelled, "actualizaciones": follow.0, "retiros": follow.1,
        })),
    )
    .await?;
    announce(tx).await?;
    Ok(update_id)
}

/// Sets how often an alert is posted again while active.
pub(crate) async fn set_alert_repeat(tx: &mut Tx, alert_id: i64, repeat: Repeat, actor: &Actor) -> Result<()> {
    let hours = match repeat {
        Repeat::Global => None,
        Repeat::Never => Some(0),
        Repeat::EveryHours(h) => Some(check_repeat_hours(h).map_err(StoreError::Invalid)?),
    };
    let n = on_tx!(tx, |c| sqlx::query("UPDATE alert_dissemination SET repeat_hours = $1 WHERE alert_id = $2")
        .bind(hours)
        .bind(alert_id)
        .execute(&mut *c)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(StoreError::NotFound("esa alerta todavía no se ha difundido".into()));
    }
    append(tx, actor, Event::new("difusion.repeticion", "alerta", alert_id).with(serde_json::json!({"horas": hours}))).await
}

/// A random key; a channel's id is appended to make each delivery's idempotency key.
fn hex_key() -> String {
    random::<12>().iter().map(|b| format!("{b:02x}")).collect()
}

async fn alert_state(tx: &mut Tx, alert_id: i64) -> Result<Option<AlertDissemination>> {
    Ok(on_tx!(tx, |c| sqlx::query_as(
        "SELECT alert_id, source_publication_id, repeat_hours, last_spread_at, closed_at, takedown, update_publication_id \
         FROM alert_dissemination WHERE alert_id = $1"
    )
    .bind(alert_id)
    .fetch_optional(&mut *c)
    .await?))
}

async fn insert_publication(tx: &mut Tx, p: &Publication, group_id: Option<i64>, by: &str) -> Result<PublicationId> {
    let text = p.text.trim();
    if text.is_empty() {
        return Err(StoreError::Invalid("la publicación necesita un texto".into()));
    }
    let link = p.link.trim();
    if !link.is_empty() && !link.starts_with("https://") && !link.starts_with("http://") {
        return Err(StoreError::Invalid("el enlace de la publicación debe empezar con https://".into()));
    }
    if let Some(png) = &p.image_png {
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(StoreError::Invalid("la imagen de la publicación debe ser PNG".into()));
        }
        if png.len() > MAX_IMAGE_BYTES {
            return Err(StoreError::Invalid("la imagen de la publicación pasa de 5 MB, el máximo que admiten las plataformas".into()));
        }
        if p.image_alt.trim().is_empty() {
            return Err(StoreError::Invalid("la imagen necesita un texto alternativo para quien no puede verla".into()));
        }
    }
    let id: i64 = on_tx!(tx, |c| sqlx::query_scalar(
        "INSERT INTO publications (alert_id, kind, text, link, image_png, image_alt, marker, group_id, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id"
    )
    .bind(p.alert_id)
    .bind(p.kind.code())
    .bind(text)
    .bind(link)
    .bind(&p.image_png)
    .bind(p.image_alt.trim())
    .bind(marker(p.alert_id, random()))
    .bind(group_id)
    .bind(by)
    .bind(now())
    .fetch_one(&mut *c)
    .await?);
    Ok(PublicationId(id))
}

/// After an alert closed: queue `update_id` on the channels where the alert went out,
/// and the takedown of those posts. `only`: just the follow-ups of that one delivery
/// (a post that landed after the closing). Returns (updates, takedowns) queued.
async fn follow_ups(tx: &mut Tx, alert_id: i64, update_id: PublicationId, takedown: Takedown, only: Option<i64>) -> Result<(u64, u64)> {
    let originals_sql = format!(
        "SELECT d.id, d.channel_id, c.platform FROM deliveries d JOIN publications p ON p.id = d.publication_id JOIN channels c ON c.id = d.channel_id \
         WHERE d.alert_id = $1 AND d.action = 'publicar' AND d.status = 'publicada' AND p.kind IN {SPREADING} AND ($2 IS NULL OR d.id = $2) \
         ORDER BY d.id"
    );
    let originals: Vec<(i64, i64, String)> =
        on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(originals_sql.clone())).bind(alert_id).bind(only).fetch_all(&mut *c).await?);
    let at = now();
    let key = hex_key();
    let (mut updates, mut takedowns) = (0, 0);
    let mut seen_channels = std::collections::BTreeSet::new();
    for (original, channel_id, platform) in originals {
        let Some(platform) = Platform::parse(&platform) else { continue };
        if seen_channels.insert(channel_id) {
            let status = if platform.automatic() { "pendiente" } else { "manual" };
            updates += on_tx!(tx, |c| sqlx::query(
                "INSERT INTO deliveries (publication_id, channel_id, alert_id, action, status, next_attempt_at, idempotency_key, created_at, updated_at) \
                 SELECT $1, c.id, $2, 'publicar', $3, $4, $5 || '-' || CAST(c.id AS TEXT), $4, $4 FROM channels c WHERE c.id = $6 AND c.enabled \
                 ON CONFLICT DO NOTHING"
            )
            .bind(update_id.0)
            .bind(alert_id)
            .bind(status)
            .bind(at)
            .bind(&key)
            .bind(channel_id)
            .execute(&mut *c)
            .await?
            .rows_affected());
        }
        if let Some(action) = takedown.action_on(platform) {
            takedowns += on_tx!(tx, |c| sqlx::query(
                "INSERT INTO deliveries (publication_id, channel_id, alert_id, action, target_id, status, next_attempt_at, idempotency_key, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'pendiente', $6, $7, $6, $6) ON CONFLICT DO NOTHING"
            )
            .bind(update_id.0)
            .bind(channel_id)
            .bind(alert_id)
            .bind(action.code())
            .bind(original)
            .bind(at)
            .bind(format!("{key}-{channel_id}-{original}"))
            .execute(&mut *c)
            .await?
            .rows_affected());
        }
    }
    Ok((updates, takedowns))
}

impl Store {
    // ----- the API for the case side, each in its own transaction -----

    /// [`publish`] in a transaction of its own.
    pub async fn publish(&self, publication: &Publication, actor: &Actor) -> Result<PublicationId> {
        let mut tx = self.begin().await?;
        let id = publish(&mut tx, publication, actor).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// [`publish_to`] in a transaction of its own.
    pub async fn publish_to(&self, publication: &Publication, group_id: Option<i64>, actor: &Actor) -> Result<PublicationId> {
        let mut tx = self.begin().await?;
        let id = publish_to(&mut tx, publication, group_id, actor).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// [`close_alert`] in a transaction of its own.
    pub async fn close_alert(&self, alert_id: i64, update: &Publication, takedown: Takedown, actor: &Actor) -> Result<PublicationId> {
        let mut tx = self.begin().await?;
        let id = close_alert(&mut tx, alert_id, update, takedown, actor).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// [`set_alert_repeat`] in a transaction of its own.
    pub async fn set_alert_repeat(&self, alert_id: i64, repeat: Repeat, actor: &Actor) -> Result<()> {
        let mut tx = self.begin().await?;
        set_alert_repeat(&mut tx, alert_id, repeat, actor).await?;
        tx.commit().await
    }

    /// Every delivery of an alert, publication by publication.
    pub async fn deliveries(&self, alert_id: i64) -> Result<Vec<DeliveryView>> {
        let sql = format!("{DELIVERY_SELECT} WHERE d.alert_id = $1 ORDER BY d.publication_id, c.name, d.id");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(alert_id).fetch_all(p).await?))
    }

    /// How many deliveries there are per platform, action and state: for `/metrics` (counts
    /// only, nothing of any alert).
    pub async fn delivery_totals(&self) -> Result<Vec<DeliveryTotal>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT c.platform, d.action, d.status, COUNT(*) AS deliveries FROM deliveries d JOIN channels c ON c.id = d.channel_id \
             GROUP BY c.platform, d.action, d.status ORDER BY c.platform, d.action, d.status"
        )
        .fetch_all(p)
        .await?))
    }

    pub async fn delivery(&self, id: i64) -> Result<DeliveryView> {
        let sql = format!("{DELIVERY_SELECT} WHERE d.id = $1");
        let found: Option<DeliveryView> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?);
        found.ok_or_else(|| StoreError::NotFound("no existe esa entrega".into()))
    }

    /// An alert's publications, oldest first (without the image bytes).
    pub async fn publications(&self, alert_id: i64) -> Result<Vec<PublicationView>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT id, alert_id, kind, text, link, image_png IS NOT NULL AS has_image, image_alt, marker, created_by, created_at \
             FROM publications WHERE alert_id = $1 ORDER BY id"
        )
        .bind(alert_id)
        .fetch_all(p)
        .await?))
    }

    pub async fn alert_dissemination(&self, alert_id: i64) -> Result<Option<AlertDissemination>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT alert_id, source_publication_id, repeat_hours, last_spread_at, closed_at, takedown, update_publication_id \
             FROM alert_dissemination WHERE alert_id = $1"
        )
        .bind(alert_id)
        .fetch_optional(p)
        .await?))
    }

    // ----- channels -----

    /// Registers an official account. Its credential is sealed with `master` before it
    /// is stored, and never shown again.
    pub async fn create_channel(&self, actor: &Actor, input: &ChannelInput, master: Option<&MasterKey>) -> Result<i64> {
        let c = input.cleaned(true)?;
        let sealed = c.credential.as_ref().map(|s| seal_credential(s, master)).transpose()?.unwrap_or_default();
        let mut tx = self.begin().await?;
        let at = now();
        let id: std::result::Result<i64, sqlx::Error> = on_tx!(&mut tx, |conn| sqlx::query_scalar(
            "INSERT INTO channels (platform, name, handle, api_base, remote_id, credential, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id"
        )
        .bind(c.platform.code())
        .bind(&c.name)
        .bind(&c.handle)
        .bind(&c.api_base)
        .bind(&c.remote_id)
        .bind(&sealed)
        .bind(c.enabled)
        .bind(at)
        .fetch_one(conn)
        .await);
        let id = id.map_err(|e| match StoreError::from(e) {
            e if e.is_unique_violation() => StoreError::Conflict(format!("ya existe un canal llamado «{}»", c.name)),
            e => e,
        })?;
        append(
            &mut tx,
            actor,
            Event::new("canal.crear", "canal", id).with(serde_json::json!({
                "plataforma": c.platform.code(), "nombre": c.name, "api": c.api_base, "credencial": !sealed.is_empty(), "activo": c.enabled,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a channel. `credential: None` keeps the stored one; a new one replaces it.
    pub async fn update_channel(&self, actor: &Actor, id: i64, input: &ChannelInput, master: Option<&MasterKey>) -> Result<()> {
        let c = input.cleaned(false)?;
        let sealed = c.credential.as_ref().map(|s| seal_credential(s, master)).transpose()?;
        let mut tx = self.begin().await?;
        let old: Option<(String, String)> =
            on_tx!(&mut tx, |conn| sqlx::query_as("SELECT platform, credential FROM channels WHERE id = $1").bind(id).fetch_optional(conn).await?);
        let (old_platform, old_sealed) = old.ok_or_else(|| StoreError::NotFound("no existe ese canal".into()))?;
        if old_platform != c.platform.code() && sealed.is_none() && c.platform.automatic() {
            return Err(StoreError::Invalid("al cambiar de plataforma, capture también la credencial nueva".into()));
        }
        let keep = if c.platform.automatic() { old_sealed } else { String::new() };
        let credential = sealed.clone().unwrap_or(keep);
        let updated: std::result::Result<u64, sqlx::Error> = on_tx!(&mut tx, |conn| sqlx::query(
            "UPDATE channels SET platform = $1, name = $2, handle = $3, api_base = $4, remote_id = $5, credential = $6, enabled = $7, updated_at = $8 \
             WHERE id = $9"
        )
        .bind(c.platform.code())
        .bind(&c.name)
        .bind(&c.handle)
        .bind(&c.api_base)
        .bind(&c.remote_id)
        .bind(&credential)
        .bind(c.enabled)
        .bind(now())
        .bind(id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()));
        updated.map_err(|e| match StoreError::from(e) {
            e if e.is_unique_violation() => StoreError::Conflict(format!("ya existe un canal llamado «{}»", c.name)),
            e => e,
        })?;
        append(
            &mut tx,
            actor,
            Event::new("canal.editar", "canal", id).with(serde_json::json!({
                "plataforma": c.platform.code(), "nombre": c.name, "api": c.api_base, "credencial_reemplazada": sealed.is_some(), "activo": c.enabled,
            })),
        )
        .await?;
        tx.commit().await
    }

    pub async fn channels(&self) -> Result<Vec<Channel>> {
        let sql = format!("{CHANNEL_SELECT} ORDER BY name");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(p).await?))
    }

    pub async fn channel(&self, id: i64) -> Result<Channel> {
        let sql = format!("{CHANNEL_SELECT} WHERE id = $1");
        let found: Option<Channel> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?);
        found.ok_or_else(|| StoreError::NotFound("no existe ese canal".into()))
    }

    /// Creates a group of channels (e.g. "Cuentas de Facebook", "Región Costa").
    pub async fn create_channel_group(&self, actor: &Actor, name: &str, channel_ids: &[i64]) -> Result<i64> {
        let name = clean(name);
        if name.is_empty() {
            return Err(StoreError::Invalid("el grupo necesita un nombre".into()));
        }
        let mut tx = self.begin().await?;
        let id: std::result::Result<i64, sqlx::Error> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "INSERT INTO channel_groups (name, created_at) VALUES ($1, $2) RETURNING id"
        )
        .bind(&name)
        .bind(now())
        .fetch_one(c)
        .await);
        let id = id.map_err(|e| match StoreError::from(e) {
            e if e.is_unique_violation() => StoreError::Conflict(format!("ya existe el grupo «{name}»")),
            e => e,
        })?;
        set_members(&mut tx, id, channel_ids).await?;
        append(&mut tx, actor, Event::new("canal.grupo_crear", "grupo_canales", id).with(serde_json::json!({"nombre": name, "canales": channel_ids})))
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Replaces a group's channels.
    pub async fn set_channel_group(&self, actor: &Actor, id: i64, channel_ids: &[i64]) -> Result<()> {
        let mut tx = self.begin().await?;
        let exists: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT id FROM channel_groups WHERE id = $1").bind(id).fetch_optional(c).await?);
        exists.ok_or_else(|| StoreError::NotFound("no existe ese grupo de canales".into()))?;
        on_tx!(&mut tx, |c| sqlx::query("DELETE FROM channel_group_members WHERE group_id = $1").bind(id).execute(c).await?.rows_affected());
        set_members(&mut tx, id, channel_ids).await?;
        append(&mut tx, actor, Event::new("canal.grupo_editar", "grupo_canales", id).with(serde_json::json!({"canales": channel_ids}))).await?;
        tx.commit().await
    }

    pub async fn channel_groups(&self) -> Result<Vec<ChannelGroup>> {
        let groups: Vec<(i64, String)> = on_pool!(self, |p| sqlx::query_as("SELECT id, name FROM channel_groups ORDER BY name").fetch_all(p).await?);
        let members: Vec<(i64, i64)> =
            on_pool!(self, |p| sqlx::query_as("SELECT group_id, channel_id FROM channel_group_members ORDER BY channel_id").fetch_all(p).await?);
        Ok(groups
            .into_iter()
            .map(|(id, name)| ChannelGroup { id, name, channel_ids: members.iter().filter(|(g, _)| *g == id).map(|(_, c)| *c).collect() })
            .collect())
    }

    /// The global repeat interval in hours (`None`: active alerts are not repeated).
    pub async fn repeat_hours(&self) -> Result<Option<i64>> {
        Ok(on_pool!(self, |p| sqlx::query_scalar("SELECT repeat_hours FROM dissemination_settings WHERE id = 1").fetch_one(p).await?))
    }

    pub async fn set_repeat_hours(&self, actor: &Actor, hours: Option<i64>) -> Result<()> {
        if let Some(h) = hours {
            check_repeat_hours(h).map_err(StoreError::Invalid)?;
        }
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| sqlx::query("UPDATE dissemination_settings SET repeat_hours = $1 WHERE id = 1").bind(hours).execute(c).await?.rows_affected());
        append(&mut tx, actor, Event::new("difusion.repeticion_global", "difusion", 1).with(serde_json::json!({"horas": hours}))).await?;
        tx.commit().await
    }

    // ----- what staff do to deliveries -----

    /// Records a post that staff made by hand on a channel without an API.
    pub async fn record_manual_post(&self, actor: &Actor, delivery_id: i64, url: &str) -> Result<()> {
        let url = url.trim();
        if !url.starts_with("https://") && !url.starts_with("http://") {
            return Err(StoreError::Invalid("pegue el enlace de la publicación (https://…)".into()));
        }
        let mut tx = self.begin().await?;
        let at = now();
        let n = on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE deliveries SET status = 'publicada', remote_url = $1, proof = $2, last_error = '', updated_at = $3, done_at = $3 \
             WHERE id = $4 AND status = 'manual'"
        )
        .bind(url)
        .bind(format!("publicado a mano por {}", actor.label))
        .bind(at)
        .bind(delivery_id)
        .execute(c)
        .await?
        .rows_affected());
        if n == 0 {
            return Err(StoreError::Conflict("esa entrega no está esperando una publicación a mano (quizá la alerta ya se cerró)".into()));
        }
        let alert_id = delivery_alert(&mut tx, delivery_id).await?;
        append(&mut tx, actor, Event::new("difusion.manual", "entrega", delivery_id).with(serde_json::json!({"alerta": alert_id, "enlace": url}))).await?;
        closed_follow_ups(&mut tx, alert_id, delivery_id).await?;
        // Alerta Rosa: the case becomes «difundida» once every channel posted it.
        crate::alerts::after_delivery(&mut tx, alert_id).await?;
        tx.commit().await
    }

    /// Queues a failed delivery again, now (after its channel was fixed).
    pub async fn retry_delivery(&self, actor: &Actor, delivery_id: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let alert_id = delivery_alert(&mut tx, delivery_id).await?;
        let closed = alert_state(&mut tx, alert_id).await?.is_some_and(|s| s.closed_at.is_some());
        let sql = format!(
            "UPDATE deliveries SET status = 'pendiente', next_attempt_at = $1, updated_at = $1 WHERE id = $2 AND status = 'fallida' \
             AND NOT ($3 AND action = 'publicar' AND publication_id IN (SELECT id FROM publications WHERE kind IN {SPREADING}))"
        );
        let n = on_tx!(&mut tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(now()).bind(delivery_id).bind(closed).execute(c).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::Conflict("solo se reintenta una entrega fallida de una alerta que sigue activa".into()));
        }
        append(&mut tx, actor, Event::new("difusion.reintentar", "entrega", delivery_id).with(serde_json::json!({"alerta": alert_id}))).await?;
        announce(&mut tx).await?;
        tx.commit().await
    }

    // ----- the worker's side -----

    /// Leases up to `limit` due deliveries for `worker` until `now + lease`, marking
    /// them `enviando` (the intent, recorded before any call to a platform). A row found
    /// still `enviando` (its worker died) comes back `uncertain`.
    pub async fn claim_deliveries(&self, worker: &str, lease: Duration, limit: i64) -> Result<Vec<DeliveryJob>> {
        let skip_locked = if self.backend() == Backend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE deliveries SET uncertain = CASE WHEN status = 'enviando' THEN TRUE ELSE uncertain END, status = 'enviando', \
             leased_by = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3 \
             WHERE id IN (SELECT id FROM deliveries WHERE status IN ('pendiente', 'enviando') AND next_attempt_at <= $3 \
               AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at, id LIMIT $4 {skip_locked})"
        );
        let at = now();
        let until = at + lease;
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(worker)
            .bind(until)
            .bind(at)
            .bind(limit)
            .execute(c)
            .await?
            .rows_affected());
        tx.commit().await?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let jobs_sql = format!("{JOB_SELECT} WHERE d.leased_by = $1 AND d.lease_until = $2 AND d.status = 'enviando' ORDER BY d.id");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(jobs_sql.clone())).bind(worker).bind(until).fetch_all(p).await?))
    }

    /// The delivery went out (or was deleted or edited): its receipt is the proof.
    /// `false` if `worker` no longer held it. A post of an alert that closed meanwhile
    /// gets its closing follow-ups at once.
    pub async fn delivery_done(&self, id: i64, worker: &str, receipt: &Receipt, reconciled: bool) -> Result<bool> {
        let mut tx = self.begin().await?;
        let at = now();
        let n = on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE deliveries SET status = 'publicada', remote_id = $1, remote_url = $2, proof = $3, last_error = '', uncertain = FALSE, \
             leased_by = NULL, lease_until = NULL, updated_at = $4, done_at = $4 WHERE id = $5 AND leased_by = $6 AND status = 'enviando'"
        )
        .bind(&receipt.remote_id)
        .bind(&receipt.remote_url)
        .bind(shorten(&receipt.proof, 2000))
        .bind(at)
        .bind(id)
        .bind(worker)
        .execute(c)
        .await?
        .rows_affected());
        if n == 0 {
            return Ok(false);
        }
        let (alert_id, action): (i64, String) =
            on_tx!(&mut tx, |c| sqlx::query_as("SELECT alert_id, action FROM deliveries WHERE id = $1").bind(id).fetch_one(c).await?);
        let verb = match DeliveryAction::parse(&action) {
            Some(DeliveryAction::Borrar) => "difusion.borrada",
            Some(DeliveryAction::Editar) => "difusion.editada",
            _ if reconciled => "difusion.conciliada",
            _ => "difusion.publicada",
        };
        append(
            &mut tx,
            &worker_actor(),
            Event::new(verb, "entrega", id).with(serde_json::json!({"alerta": alert_id, "id_remoto": receipt.remote_id, "enlace": receipt.remote_url})),
        )
        .await?;
        let queued = closed_follow_ups(&mut tx, alert_id, id).await?;
        // Alerta Rosa: the case becomes «difundida» once every channel posted it.
        crate::alerts::after_delivery(&mut tx, alert_id).await?;
        if queued {
            announce(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The attempt failed but may succeed later: back to `pendiente` until `retry_at`.
    /// `uncertain`: the platform may have posted it (a timeout, a 5xx).
    pub async fn delivery_retry(&self, id: i64, worker: &str, error: &str, retry_at: DateTime<Utc>, uncertain: bool) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE deliveries SET status = 'pendiente', next_attempt_at = $1, last_error = $2, uncertain = $3, leased_by = NULL, lease_until = NULL, \
             updated_at = $4 WHERE id = $5 AND leased_by = $6 AND status = 'enviando'"
        )
        .bind(retry_at)
        .bind(shorten(error, 500))
        .bind(uncertain)
        .bind(now())
        .bind(id)
        .bind(worker)
        .execute(c)
        .await?
        .rows_affected());
        tx.commit().await?;
        Ok(n == 1)
    }

    /// The delivery cannot succeed as it stands (refused credential, rejected content):
    /// `fallida` until staff retry it.
    pub async fn delivery_failed(&self, id: i64, worker: &str, error: &str) -> Result<bool> {
        self.finish_unsent(id, worker, "fallida", error, "difusion.fallida").await
    }

    /// Nothing to send any more (the alert closed before it went out, the channel was
    /// disabled): `cancelada`.
    pub async fn delivery_cancelled(&self, id: i64, worker: &str, reason: &str) -> Result<bool> {
        self.finish_unsent(id, worker, "cancelada", reason, "difusion.cancelada").await
    }

    async fn finish_unsent(&self, id: i64, worker: &str, status: &str, error: &str, verb: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let at = now();
        let n = on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE deliveries SET status = $1, last_error = $2, uncertain = FALSE, leased_by = NULL, lease_until = NULL, updated_at = $3, done_at = $3 \
             WHERE id = $4 AND leased_by = $5 AND status = 'enviando'"
        )
        .bind(status)
        .bind(shorten(error, 500))
        .bind(at)
        .bind(id)
        .bind(worker)
        .execute(c)
        .await?
        .rows_affected());
        if n == 0 {
            return Ok(false);
        }
        let alert_id = delivery_alert(&mut tx, id).await?;
        append(&mut tx, &worker_actor(), Event::new(verb, "entrega", id).with(serde_json::json!({"alerta": alert_id, "motivo": shorten(error, 500)})))
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Posts again every active alert whose repeat interval has passed: a `repeticion`
    /// copying its latest ficha (the activation's, or a correction's), on the channels the
    /// activation went to (skipping
    /// channels where an earlier post of the alert is still waiting). Safe to call from
    /// every process at once: each repeat is claimed by moving `last_spread_at`.
    pub async fn spread_due_repeats(&self) -> Result<Vec<PublicationId>> {
        let global = self.repeat_hours().await?;
        let open: Vec<AlertDissemination> = on_pool!(self, |p| sqlx::query_as(
            "SELECT alert_id, source_publication_id, repeat_hours, last_spread_at, closed_at, takedown, update_publication_id \
             FROM alert_dissemination WHERE closed_at IS NULL"
        )
        .fetch_all(p)
        .await?);
        let at = now();
        let mut made = Vec::new();
        for a in open {
            let hours = match a.repeat_hours {
                Some(0) => continue,
                Some(h) => h,
                None => match global {
                    Some(h) => h,
                    None => continue,
                },
            };
            if a.last_spread_at + Duration::hours(hours) > at {
                continue;
            }
            let mut tx = self.begin().await?;
            let claimed = on_tx!(&mut tx, |c| sqlx::query(
                "UPDATE alert_dissemination SET last_spread_at = $1 WHERE alert_id = $2 AND last_spread_at = $3 AND closed_at IS NULL"
            )
            .bind(at)
            .bind(a.alert_id)
            .bind(a.last_spread_at)
            .execute(c)
            .await?
            .rows_affected());
            if claimed == 0 {
                continue;
            }
            // The latest ficha (a correction posts a new one), to the channels and group of
            // the activation.
            let source: (String, String, Option<Vec<u8>>, String, Option<i64>) = on_tx!(&mut tx, |c| sqlx::query_as(
                "SELECT p.text, p.link, p.image_png, p.image_alt, s.group_id FROM publications s \
                 JOIN publications p ON p.alert_id = s.alert_id AND p.kind IN ('alerta', 'actualizacion') WHERE s.id = $1 ORDER BY p.id DESC LIMIT 1"
            )
            .bind(a.source_publication_id)
            .fetch_one(c)
            .await?);
            let publication = Publication {
                alert_id: a.alert_id,
                kind: PublicationKind::Repeticion,
                text: source.0,
                link: source.1,
                image_png: source.2,
                image_alt: source.3,
            };
            let id = insert_publication(&mut tx, &publication, source.4, "repetición programada").await?;
            let key = hex_key();
            let queued = on_tx!(&mut tx, |c| sqlx::query(
                "INSERT INTO deliveries (publication_id, channel_id, alert_id, action, status, next_attempt_at, idempotency_key, created_at, updated_at) \
                 SELECT $1, c.id, $2, 'publicar', CASE WHEN c.platform = 'manual' THEN 'manual' ELSE 'pendiente' END, $3, $4 || '-' || CAST(c.id AS TEXT), $3, $3 \
                 FROM channels c WHERE c.enabled \
                 AND c.id IN (SELECT s.channel_id FROM deliveries s WHERE s.publication_id = $5 AND s.action = 'publicar') \
                 AND c.id NOT IN (SELECT w.channel_id FROM deliveries w WHERE w.alert_id = $2 AND w.action = 'publicar' \
                                  AND w.status IN ('pendiente', 'enviando', 'manual'))"
            )
            .bind(id.0)
            .bind(a.alert_id)
            .bind(at)
            .bind(&key)
            .bind(a.source_publication_id)
            .execute(c)
            .await?
            .rows_affected());
            append(
                &mut tx,
                &worker_actor(),
                Event::new("difusion.publicar", "alerta", a.alert_id).with(serde_json::json!({
                    "publicacion": id.0, "tipo": "repeticion", "cada_horas": hours, "entregas": queued,
                })),
            )
            .await?;
            announce(&mut tx).await?;
            tx.commit().await?;
            made.push(id);
        }
        Ok(made)
    }

    /// On PostgreSQL, a feed of "deliveries queued" notices from every server process.
    /// `None` on SQLite (one machine: the in-process signal and polling suffice).
    pub async fn delivery_feed(&self) -> Result<Option<DeliveryFeed>> {
        match &self.pool {
            crate::Pool::Postgres(p) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(p).await?;
                listener.listen(NOTIFY_CHANNEL).await?;
                Ok(Some(DeliveryFeed(listener)))
            }
            crate::Pool::Sqlite(..) => Ok(None),
        }
    }
}

async fn set_members(tx: &mut Tx, group_id: i64, channel_ids: &[i64]) -> Result<()> {
    for channel_id in channel_ids {
        let inserted: std::result::Result<u64, sqlx::Error> = on_tx!(tx, |c| sqlx::query(
            "INSERT INTO channel_group_members (group_id, channel_id) SELECT $1, id FROM channels WHERE id = $2 ON CONFLICT DO NOTHING"
        )
        .bind(group_id)
        .bind(channel_id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()));
        if inserted? == 0 {
            let exists: Option<i64> = on_tx!(tx, |c| sqlx::query_scalar("SELECT id FROM channels WHERE id = $1").bind(channel_id).fetch_optional(&mut *c).await?);
            if exists.is_none() {
                return Err(StoreError::NotFound(format!("no existe el canal {channel_id}")));
            }
        }
    }
    Ok(())
}

async fn delivery_alert(tx: &mut Tx, id: i64) -> Result<i64> {
    let found: Option<i64> = on_tx!(tx, |c| sqlx::query_scalar("SELECT alert_id FROM deliveries WHERE id = $1").bind(id).fetch_optional(&mut *c).await?);
    found.ok_or_else(|| StoreError::NotFound("no existe esa entrega".into()))
}

/// If the alert of a post that just landed has closed, queues that post's follow-ups.
/// Returns whether anything was queued.
async fn closed_follow_ups(tx: &mut Tx, alert_id: i64, delivery_id: i64) -> Result<bool> {
    let Some(state) = alert_state(tx, alert_id).await? else { return Ok(false) };
    let (Some(_), Some(update_id)) = (state.closed_at, state.update_publication_id) else { return Ok(false) };
    let takedown = state.takedown.as_deref().and_then(Takedown::parse).unwrap_or(Takedown::Conservar);
    let (updates, takedowns) = follow_ups(tx, alert_id, PublicationId(update_id), takedown, Some(delivery_id)).await?;
    Ok(updates + takedowns > 0)
}

/// Who the worker's audited writes are by.
fn worker_actor() -> Actor {
    Actor { user_id: None, label: "difusión automática".into(), origin: "sistema".into() }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { format!("{}…", s.chars().take(max).collect::<String>()) }
}
