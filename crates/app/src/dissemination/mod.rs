//! Alerta Rosa dissemination: the worker that carries the store's outbox to the unit's
//! official accounts, and the platform adapters it calls ([`platforms`]).
//!
//! The worker runs inside every `violeta serve`. It leases due deliveries (any number of
//! processes share the outbox: see `violeta_store::dissemination`), posts them in
//! parallel (bounded: `concurrency` at a time, so 30 channels go out together), and
//! records each outcome: the platform's receipt, or a retry with exponential backoff and
//! jitter (a platform's `Retry-After` wins), or a failure staff must fix (a refused
//! credential). It wakes at once when a publication is queued (an in-process signal; on
//! PostgreSQL, NOTIFY from any process) and otherwise polls.
//!
//! **Exactly once.** The lease marks a delivery `enviando` before any HTTP call. An
//! attempt whose answer never came (timeout, 5xx after sending, the worker killed) leaves
//! it `uncertain`; before posting again, the worker looks for the publication's marker
//! among the channel's recent posts and, if it is there, records that post instead of
//! making another. Mastodon also gets an `Idempotency-Key`, and the webhook receiver
//! dedupes by the same header.
//!
//! For the case side, queueing and closing are store calls (`Store::publish`,
//! `Store::close_alert`, or the in-transaction functions of `violeta_store::dissemination`);
//! nothing here needs calling except [`Worker::spawn`], which `violeta serve` does.

pub mod platforms;

use platforms::{CallError, Channel, PostContent, Target};
use std::sync::Arc;
use std::time::Duration;
use violeta_domain::credential::MasterKey;
use violeta_domain::dissemination::{Backoff, DeliveryAction, Platform, compose};
use violeta_store::Store;
use violeta_store::dissemination::{DeliveryJob, Receipt};

/// How the worker behaves. The defaults suit production; tests shorten them.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a lease holds a delivery; a dead worker's deliveries come back after it.
    /// Longer than `request_timeout`, so a live worker never loses one mid-call.
    pub lease: Duration,
    /// How often to look for due work without being woken (retries coming due).
    pub poll: Duration,
    /// Deliveries in flight at once, per process.
    pub concurrency: usize,
    /// The longest a platform may take to answer one request.
    pub request_timeout: Duration,
    pub backoff: Backoff,
    /// How often to look for active alerts due for a repeat.
    pub repeat_check: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(1),
            concurrency: 32,
            request_timeout: Duration::from_secs(15),
            backoff: Backoff::default(),
            repeat_check: Duration::from_secs(60),
        }
    }
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done: the receipt, and whether it was found again rather than made now.
    Done(Receipt, bool),
    Retry { error: String, retry_after: Option<Duration>, uncertain: bool },
    Failed(String),
    Cancelled(String),
}

impl From<CallError> for Outcome {
    fn from(e: CallError) -> Outcome {
        match e {
            CallError::Unsent(m) => Outcome::Retry { error: m, retry_after: None, uncertain: false },
            CallError::RateLimited(m, after) => Outcome::Retry { error: m, retry_after: after, uncertain: false },
            CallError::Uncertain(m) => Outcome::Retry { error: m, retry_after: None, uncertain: true },
            CallError::Refused(m) => Outcome::Failed(m),
        }
    }
}

/// The dissemination worker of one process. Cheap to clone.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    master: Option<MasterKey>,
    settings: Settings,
    client: reqwest::Client,
    /// Names this process's leases.
    id: String,
}

/// An HTTP client for the platforms: rustls with the ring provider, no redirects (a
/// token is never sent to a place the channel does not name), bounded time.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    // reqwest is built without a default TLS crypto provider; this process uses ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Violeta/", env!("CARGO_PKG_VERSION"), " (Alerta Rosa)"))
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| format!("no se pudo preparar el cliente HTTP de la difusión: {e}"))
}

fn random_unit() -> f64 {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("el sistema operativo no dio aleatoriedad");
    u32::from_le_bytes(b) as f64 / (u32::MAX as f64 + 1.0)
}

impl Worker {
    /// `master` opens the channels' credentials (`VIOLETA_SECRET_KEY`); without it every
    /// delivery fails with a message that says so.
    pub fn new(store: Store, master: Option<MasterKey>, settings: Settings) -> Result<Worker, String> {
        let client = http_client(settings.request_timeout)?;
        let mut r = [0u8; 6];
        getrandom::fill(&mut r).expect("el sistema operativo no dio aleatoriedad");
        let id = format!("difusion-{}-{}", std::process::id(), r.iter().map(|b| format!("{b:02x}")).collect::<String>());
        Ok(Worker { inner: Arc::new(Inner { store, master, settings, client, id }) })
    }

    /// This worker's lease name.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Runs the worker in the background for as long as the process lives.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// The worker's loop: claim due deliveries while there are free slots, carry each out
    /// in its own task, and sleep until woken, a slot frees, or the poll interval passes.
    pub async fn run(self) {
        let s = &self.inner.settings;
        let store = &self.inner.store;
        let mut wake = violeta_store::dissemination::wake_signal();
        let mut feed = match store.delivery_feed().await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "difusión: sin aviso de PostgreSQL (LISTEN); se revisará cada {:?}", s.poll);
                None
            }
        };
        let slots = Arc::new(tokio::sync::Semaphore::new(s.concurrency.max(1)));
        let finished = Arc::new(tokio::sync::Notify::new());
        let mut next_repeat_check = tokio::time::Instant::now();
        tracing::info!(worker = %self.inner.id, "difusión de Alerta Rosa en marcha");
        loop {
            if tokio::time::Instant::now() >= next_repeat_check {
                next_repeat_check = tokio::time::Instant::now() + s.repeat_check;
                match store.spread_due_repeats().await {
                    Ok(made) if !made.is_empty() => tracing::info!(publicaciones = made.len(), "difusión: repeticiones programadas encoladas"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "difusión: no se pudieron revisar las repeticiones"),
                }
            }
            let free = slots.available_permits();
            if free > 0 {
                match store.claim_deliveries(&self.inner.id, chrono_duration(s.lease), free as i64).await {
                    Ok(jobs) => {
                        let full = jobs.len() == free;
                        for job in jobs {
                            let permit = slots.clone().try_acquire_owned().expect("hay lugar: se pidieron solo las entregas que caben");
                            let worker = self.clone();
                            let finished = finished.clone();
                            tokio::spawn(async move {
                                worker.process(job).await;
                                drop(permit);
                                finished.notify_one();
                            });
                        }
                        if full {
                            // There may be more due right now.
                            tokio::task::yield_now().await;
                            continue;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "difusión: no se pudieron tomar entregas pendientes"),
                }
            }
            let busy = slots.available_permits() == 0;
            tokio::select! {
                _ = wake.changed() => {}
                _ = next_notice(&mut feed) => {}
                _ = async { if busy { finished.notified().await } else { std::future::pending().await } } => {}
                _ = tokio::time::sleep(s.poll) => {}
            }
        }
    }

    /// Carries out every due delivery, then returns how many it handled (for tests and
    /// the command line; the server uses [`Worker::run`]).
    pub async fn drain(&self) -> Result<usize, violeta_store::StoreError> {
        let mut handled = 0;
        loop {
            let jobs =
                self.inner.store.claim_deliveries(&self.inner.id, chrono_duration(self.inner.settings.lease), self.inner.settings.concurrency as i64).await?;
            if jobs.is_empty() {
                return Ok(handled);
            }
            handled += jobs.len();
            let tasks: Vec<_> = jobs.into_iter().map(|job| {
                let w = self.clone();
                tokio::spawn(async move { w.process(job).await })
            }).collect();
            for t in tasks {
                let _ = t.await;
            }
        }
    }

    /// One leased delivery: carry it out and record what became of it. If the record
    /// cannot be written, the lease runs out and the delivery comes back uncertain, so
    /// it is reconciled rather than posted twice.
    pub async fn process(&self, job: DeliveryJob) {
        let outcome = self.carry_out(&job).await;
        let store = &self.inner.store;
        let worker = &self.inner.id;
        let recorded = match &outcome {
            Outcome::Done(receipt, reconciled) => store.delivery_done(job.id, worker, receipt, *reconciled).await,
            Outcome::Retry { error, retry_after, uncertain } => {
                let delay = self.inner.settings.backoff.delay(job.attempts, *retry_after, random_unit());
                store.delivery_retry(job.id, worker, error, violeta_store::now() + chrono_duration(delay), *uncertain).await
            }
            Outcome::Failed(error) => store.delivery_failed(job.id, worker, error).await,
            Outcome::Cancelled(reason) => store.delivery_cancelled(job.id, worker, reason).await,
        };
        let result = match &outcome {
            Outcome::Done(..) => "hecha",
            Outcome::Retry { .. } => "reintento",
            Outcome::Failed(_) => "fallida",
            Outcome::Cancelled(_) => "cancelada",
        };
        match recorded {
            Ok(true) => tracing::info!(entrega = job.id, canal = %job.channel_name, plataforma = %job.platform, accion = %job.action, resultado = result, "difusión"),
            Ok(false) => tracing::warn!(entrega = job.id, "difusión: la entrega cambió de manos antes de registrar su resultado"),
            Err(e) => tracing::warn!(entrega = job.id, error = %e, "difusión: no se pudo registrar el resultado; la entrega se conciliará"),
        }
    }

    /// The calls to the platform for one delivery.
    pub async fn carry_out(&self, job: &DeliveryJob) -> Outcome {
        let Some(platform) = job.platform() else { return Outcome::Failed(format!("plataforma desconocida «{}»", job.platform)) };
        if !job.enabled {
            return Outcome::Cancelled("el canal está desactivado".into());
        }
        let credential = match job.credential(self.inner.master.as_ref()) {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let channel = Channel {
            client: &self.inner.client,
            platform,
            api_base: &job.api_base,
            remote_id: &job.remote_id,
            handle: &job.handle,
            credential: credential.as_ref(),
        };
        let image = job.image_png.as_deref();
        let text = compose(&job.text, &job.link, &job.marker, platform.text_limit(image.is_some()));
        let post = PostContent {
            text: &text,
            image_png: image,
            image_alt: &job.image_alt,
            idempotency_key: &job.idempotency_key,
            alert_id: job.alert_id,
            kind: &job.kind,
            link: &job.link,
            marker: &job.marker,
        };
        let target = Target {
            remote_id: job.target_remote_id.as_deref().unwrap_or(""),
            remote_url: job.target_remote_url.as_deref().unwrap_or(""),
            has_image: job.target_has_image,
        };
        let result = match job.action() {
            DeliveryAction::Publicar => {
                if job.uncertain && platform != Platform::Webhook {
                    match platforms::find(&channel, &job.marker).await {
                        Ok(Some(receipt)) => return Outcome::Done(receipt, true),
                        Ok(None) => {}
                        Err(e) => {
                            return Outcome::Retry { error: format!("no se pudo comprobar si ya se había publicado: {}", e.message()), retry_after: None, uncertain: true };
                        }
                    }
                }
                if job.alert_closed && job.kind().spreads_alert() {
                    return Outcome::Cancelled("la alerta se cerró antes de publicarse en este canal".into());
                }
                platforms::publish(&channel, &post).await
            }
            DeliveryAction::Borrar => platforms::delete(&channel, &target, &post).await,
            DeliveryAction::Editar => platforms::edit(&channel, &target, &post).await,
        };
        match result {
            Ok(receipt) => Outcome::Done(receipt, false),
            Err(e) => e.into(),
        }
    }
}

async fn next_notice(feed: &mut Option<violeta_store::dissemination::DeliveryFeed>) {
    match feed {
        Some(f) => {
            if let Err(e) = f.next().await {
                tracing::warn!(error = %e, "difusión: se perdió el aviso de PostgreSQL; se revisará periódicamente");
                *feed = None;
            }
        }
        None => std::future::pending().await,
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
