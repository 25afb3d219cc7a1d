//! The dissemination worker and its adapters against the loopback fakes of every
//! platform: posts, timeouts, 429 with Retry-After, 5xx, uncertain outcomes reconciled
//! without a second post, closing (edit, delete, update), and a channel that is down
//! for a (shortened) hour.

use std::time::Duration;
use violeta_app::dissemination::{Settings, Worker};
use violeta_domain::audit::Actor;
use violeta_domain::credential::MasterKey;
use violeta_domain::dissemination::{Backoff, Platform, PublicationKind, Takedown};
use violeta_domain::secret::Secret;
use violeta_fakes::{FakePlatforms, Fault, Rule};
use violeta_store::Store;
use violeta_store::dissemination::{ChannelInput, DeliveryView, Publication};
use violeta_store::testing::TestStore;

fn operator() -> Actor {
    Actor { user_id: None, label: "operacion@violeta.test".into(), origin: "127.0.0.1".into() }
}

/// A 1×1 PNG, as the ficha would be.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82";

fn settings() -> Settings {
    Settings {
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(50),
        concurrency: 32,
        request_timeout: Duration::from_millis(700),
        backoff: Backoff { base: Duration::from_millis(20), cap: Duration::from_millis(100) },
        repeat_check: Duration::from_secs(3600),
    }
}

struct Setup {
    db: TestStore,
    fakes: FakePlatforms,
    worker: Worker,
    /// Channel ids by platform, in the order created.
    channels: Vec<(Platform, i64)>,
}

/// The account the fake records a channel's posts under.
fn account_of(platform: Platform, n: usize) -> String {
    match platform {
        Platform::Mastodon => FakePlatforms::mastodon_account(&token(platform, n)),
        Platform::X => FakePlatforms::x_user(&token(platform, n)),
        Platform::Telegram => format!("@alerta_rosa_{n}"),
        Platform::Facebook => format!("10000{n}"),
        Platform::Webhook => format!("receptor{n}"),
        Platform::Manual => String::new(),
    }
}

fn token(platform: Platform, n: usize) -> String {
    format!("token-{}-{n}-0123456789abcdef", platform.code())
}

async fn setup(platforms: &[Platform]) -> Setup {
    let db = TestStore::sqlite().await.unwrap();
    let fakes = violeta_fakes::spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let key = MasterKey::demo();
    let mut channels = Vec::new();
    for (n, p) in platforms.iter().enumerate() {
        let (api_base, remote_id) = match p {
            Platform::Mastodon => (fakes.base("mastodon"), FakePlatforms::mastodon_account(&token(*p, n))),
            Platform::Telegram => (fakes.base("telegram"), account_of(*p, n)),
            Platform::Facebook => (fakes.base("facebook"), account_of(*p, n)),
            Platform::X => (fakes.base("x"), account_of(*p, n)),
            Platform::Webhook => (fakes.base(&format!("webhook/{}", account_of(*p, n))), String::new()),
            Platform::Manual => (String::new(), String::new()),
        };
        if *p == Platform::Webhook {
            fakes.webhook_secret(&account_of(*p, n), &token(*p, n));
        }
        let input = ChannelInput {
            platform: *p,
            name: format!("{} {n}", p.label()),
            handle: format!("@alerta_rosa_{n}"),
            api_base,
            remote_id,
            credential: p.automatic().then(|| Secret::new(token(*p, n))),
            enabled: true,
        };
        channels.push((*p, db.store.create_channel(&operator(), &input, Some(&key)).await.unwrap()));
    }
    let worker = Worker::new(db.store.clone(), Some(key), settings()).unwrap();
    Setup { db, fakes, worker, channels }
}

fn alert(alert_id: i64) -> Publication {
    Publication {
        alert_id,
        kind: PublicationKind::Alerta,
        text: "ALERTA ROSA: se busca a Ana N., de 15 años, vista por última vez el 3 de mayo en Oaxaca de Juárez. Si la ha visto, llame al 911.".into(),
        link: format!("https://violeta.example.gob.mx/alerta-rosa/{alert_id}"),
        image_png: Some(PNG.to_vec()),
        image_alt: "Ficha de búsqueda de Ana N.: fotografía, edad, estatura y señas particulares.".into(),
    }
}

fn located(alert_id: i64) -> Publication {
    Publication {
        alert_id,
        kind: PublicationKind::Actualizacion,
        text: "ACTUALIZACIÓN: Ana N. fue localizada. Gracias por difundir.".into(),
        link: String::new(),
        image_png: None,
        image_alt: String::new(),
    }
}

impl Setup {
    fn store(&self) -> &Store {
        &self.db.store
    }

    /// Runs the worker until nothing of the alert is waiting (or `limit` passes).
    async fn settle(&self, alert_id: i64, limit: Duration) -> Vec<DeliveryView> {
        let start = std::time::Instant::now();
        loop {
            self.worker.drain().await.unwrap();
            let views = self.store().deliveries(alert_id).await.unwrap();
            if views.iter().all(|d| d.status != "pendiente" && d.status != "enviando") || start.elapsed() > limit {
                return views;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    fn posts_of(&self, platform: Platform, n: usize) -> Vec<violeta_fakes::Post> {
        let account = account_of(platform, n);
        self.fakes.posts().into_iter().filter(|p| p.platform == platform.code() && p.account == account).collect()
    }

    fn channel(&self, platform: Platform) -> i64 {
        self.channels.iter().find(|(p, _)| *p == platform).unwrap().1
    }
}

fn of(views: &[DeliveryView], channel_id: i64, action: &str, kind: &str) -> DeliveryView {
    views
        .iter()
        .find(|d| d.channel_id == channel_id && d.action == action && d.kind == kind)
        .unwrap_or_else(|| panic!("no {action}/{kind} delivery on channel {channel_id}: {views:#?}"))
        .clone()
}

const EVERY_PLATFORM: [Platform; 6] = [Platform::Mastodon, Platform::Telegram, Platform::Facebook, Platform::X, Platform::Webhook, Platform::Manual];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_platform_posts_then_closing_edits_deletes_and_updates() {
    let s = setup(&EVERY_PLATFORM).await;
    s.store().publish(&alert(1), &operator()).await.unwrap();
    let views = s.settle(1, Duration::from_secs(10)).await;
    for (n, p) in EVERY_PLATFORM.iter().enumerate().take(5) {
        let d = of(&views, s.channel(*p), "publicar", "alerta");
        assert_eq!(d.status, "publicada", "{p:?}: {d:?}");
        assert!(!d.remote_id.is_empty(), "{p:?}: a receipt");
        let posts = s.posts_of(*p, n);
        assert_eq!(posts.len(), 1, "{p:?}: exactly one post");
        let post = &posts[0];
        assert!(post.text.contains("se busca a Ana") && post.text.contains("Ref. AR-1-"), "{p:?}: {}", post.text);
        assert!(post.image_bytes > 0, "{p:?}: the ficha goes with the post");
        assert_eq!(post.id, d.remote_id, "{p:?}: the receipt names the post");
    }
    // Receipts link to the posts.
    assert!(of(&views, s.channel(Platform::Telegram), "publicar", "alerta").remote_url.starts_with("https://t.me/alerta_rosa_1/"));
    assert!(of(&views, s.channel(Platform::X), "publicar", "alerta").remote_url.starts_with("https://x.com/alerta_rosa_3/status/"));
    assert!(of(&views, s.channel(Platform::Facebook), "publicar", "alerta").remote_url.starts_with("https://www.facebook.com/100002_"));
    assert!(of(&views, s.channel(Platform::Mastodon), "publicar", "alerta").remote_url.contains("/@cuenta/"));
    // Alt text reached the platforms that take it; the webhook's signature verified.
    assert!(s.posts_of(Platform::Mastodon, 0)[0].image_alt.starts_with("Ficha de búsqueda"));
    assert!(s.posts_of(Platform::X, 3)[0].image_alt.starts_with("Ficha de búsqueda"));
    assert_eq!(s.posts_of(Platform::Webhook, 4)[0].signature_ok, Some(true));
    // X's text fits its 280 characters.
    assert!(s.posts_of(Platform::X, 3)[0].text.chars().count() <= 280);
    // The manual channel waits for staff.
    assert_eq!(of(&views, s.channel(Platform::Manual), "publicar", "alerta").status, "manual");

    // Located: edit where possible (X cannot: it deletes), and post the update.
    s.store().close_alert(1, &located(1), Takedown::Editar, &operator()).await.unwrap();
    let views = s.settle(1, Duration::from_secs(10)).await;
    for (n, p) in EVERY_PLATFORM.iter().enumerate().take(5) {
        let update = of(&views, s.channel(*p), "publicar", "actualizacion");
        assert_eq!(update.status, "publicada", "{p:?}: {update:?}");
        let posts = s.posts_of(*p, n);
        assert_eq!(posts.len(), 2, "{p:?}: the alert and its update");
        assert!(posts[1].text.contains("fue localizada"));
        let original = &posts[0];
        if *p == Platform::X {
            assert_eq!(of(&views, s.channel(*p), "borrar", "actualizacion").status, "publicada");
            assert!(original.deleted, "X: deleted");
        } else {
            let edit = of(&views, s.channel(*p), "editar", "actualizacion");
            assert_eq!(edit.status, "publicada", "{p:?}: {edit:?}");
            assert!(!edit.proof.is_empty(), "{p:?}: the platform's answer is kept as proof");
            assert!(original.edits.last().is_some_and(|t| t.contains("fue localizada")), "{p:?}: {original:?}");
        }
    }
    // The manual channel's alert post was cancelled, so no update is asked of it.
    assert_eq!(of(&views, s.channel(Platform::Manual), "publicar", "alerta").status, "cancelada");
    s.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_is_reconciled_without_a_second_post() {
    let s = setup(&[Platform::Telegram, Platform::Facebook, Platform::X, Platform::Mastodon]).await;
    // Every platform makes the post, then never answers.
    s.fakes.set(Rule::all().fault(Fault::Hang).times(4));
    s.store().publish(&alert(2), &operator()).await.unwrap();
    s.worker.drain().await.unwrap();
    let views = s.store().deliveries(2).await.unwrap();
    for d in &views {
        assert_eq!(d.status, "pendiente", "{d:?}");
        assert!(d.last_error.contains("no respondió a tiempo"), "{d:?}");
    }
    assert_eq!(s.fakes.posts().len(), 4, "the posts were made although no answer came");
    // The platforms answer again: the worker finds each post instead of posting again.
    let views = s.settle(2, Duration::from_secs(10)).await;
    assert!(views.iter().all(|d| d.status == "publicada" && !d.remote_id.is_empty()), "{views:#?}");
    assert_eq!(s.fakes.posts().len(), 4, "no second post");
    for d in &views {
        assert!(d.proof.contains("conciliada"), "{d:?}");
    }
    let audit = s.store().audit_entries(&violeta_store::audit::AuditFilter { entity: Some("entrega".into()), ..Default::default() }, 20, 0).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "difusion.conciliada").count(), 4);
    s.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_after_posting_is_reconciled_and_one_before_is_simply_retried() {
    let s = setup(&[Platform::Facebook, Platform::X, Platform::Telegram]).await;
    s.fakes.set(Rule::all().platform("facebook").fault(Fault::ServerErrorAfterPosting).times(1));
    s.fakes.set(Rule::all().platform("x").fault(Fault::ServerError).times(2));
    s.fakes.set(Rule::all().platform("telegram").fault(Fault::Down).times(1));
    s.store().publish(&alert(3), &operator()).await.unwrap();
    s.worker.drain().await.unwrap();
    let views = s.store().deliveries(3).await.unwrap();
    let fb = of(&views, s.channel(Platform::Facebook), "publicar", "alerta");
    assert_eq!((fb.status.as_str(), fb.attempts), ("pendiente", 1));
    assert!(fb.last_error.contains("Facebook (página) respondió 500"), "{fb:?}");
    assert!(of(&views, s.channel(Platform::Telegram), "publicar", "alerta").last_error.contains("503"));
    let views = s.settle(3, Duration::from_secs(10)).await;
    assert!(views.iter().all(|d| d.status == "publicada"), "{views:#?}");
    assert_eq!(s.posts_of(Platform::Facebook, 0).len(), 1, "the 500 came after the post: found, not posted again");
    assert_eq!(s.posts_of(Platform::X, 1).len(), 1);
    assert_eq!(s.posts_of(Platform::Telegram, 2).len(), 1);
    assert!(of(&views, s.channel(Platform::X), "publicar", "alerta").attempts >= 2);
    s.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_waits_as_long_as_the_platform_asks() {
    let s = setup(&[Platform::Telegram, Platform::X, Platform::Mastodon]).await;
    s.fakes.set(Rule::all().fault(Fault::RateLimited { retry_after_secs: 120 }).times(3));
    s.store().publish(&alert(4), &operator()).await.unwrap();
    let before = violeta_store::now();
    s.worker.drain().await.unwrap();
    for d in s.store().deliveries(4).await.unwrap() {
        assert_eq!(d.status, "pendiente", "{d:?}");
        assert!(d.last_error.contains("429"), "{d:?}");
        let wait = d.next_attempt_at - before;
        assert!(wait >= chrono::Duration::seconds(118) && wait <= chrono::Duration::seconds(125), "{}: waits {wait}", d.platform);
    }
    assert!(s.fakes.posts().is_empty());
    assert_eq!(s.worker.drain().await.unwrap(), 0, "nothing is due before its time");
    s.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_fail_with_a_spanish_reason_and_no_secret() {
    let s = setup(&[Platform::Webhook, Platform::Telegram]).await;
    // The receiver expects another secret: it refuses the signature.
    s.fakes.webhook_secret(&account_of(Platform::Webhook, 0), "otro-secreto");
    s.store().publish(&alert(5), &operator()).await.unwrap();
    // A worker whose VIOLETA_SECRET_KEY is another one cannot open the credentials.
    let stranger = Worker::new(s.store().clone(), Some(MasterKey::from_bytes([9; 32])), settings()).unwrap();
    let jobs = s.store().claim_deliveries("ajeno", chrono::Duration::seconds(30), 1).await.unwrap();
    let outcome = stranger.carry_out(&jobs[0]).await;
    assert!(matches!(&outcome, violeta_app::dissemination::Outcome::Failed(m) if m.contains("VIOLETA_SECRET_KEY")), "{outcome:?}");
    s.store().delivery_retry(jobs[0].id, "ajeno", "prueba", violeta_store::now(), false).await.unwrap();

    let views = s.settle(5, Duration::from_secs(10)).await;
    let hook = of(&views, s.channel(Platform::Webhook), "publicar", "alerta");
    assert_eq!(hook.status, "fallida");
    assert!(hook.last_error.contains("respondió 401") && hook.last_error.contains("revise la credencial"), "{hook:?}");
    for d in &views {
        assert!(!d.last_error.contains("token-") && !d.proof.contains("token-"), "a secret leaked: {d:?}");
    }
    assert_eq!(of(&views, s.channel(Platform::Telegram), "publicar", "alerta").status, "publicada");
    s.db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_make_a_repeated_request_one_post() {
    let s = setup(&[Platform::Mastodon, Platform::Webhook]).await;
    let client = violeta_app::dissemination::http_client(Duration::from_secs(5)).unwrap();
    for (n, platform) in [Platform::Mastodon, Platform::Webhook].into_iter().enumerate() {
        let secret = Secret::new(token(platform, n));
        let base = if platform == Platform::Mastodon { s.fakes.base("mastodon") } else { s.fakes.base(&format!("webhook/{}", account_of(platform, n))) };
        let channel = violeta_app::dissemination::platforms::Channel {
            client: &client,
            platform,
            api_base: &base,
            remote_id: "",
            handle: "",
            credential: Some(&secret),
        };
        let post = violeta_app::dissemination::platforms::PostContent {
            text: "Prueba",
            image_png: None,
            image_alt: "",
            idempotency_key: "clave-unica-1",
            alert_id: 6,
            kind: "alerta",
            link: "",
            marker: "Ref. AR-6-PRUEBA00",
        };
        let first = violeta_app::dissemination::platforms::publish(&channel, &post).await.unwrap();
        let second = violeta_app::dissemination::platforms::publish(&channel, &post).await.unwrap();
        assert_eq!(first.remote_id, second.remote_id, "{platform:?}");
        assert_eq!(s.posts_of(platform, n).len(), 1, "{platform:?}");
    }
    s.db.cleanup().await;
}

/// A channel down for a (shortened) hour gets the alert when it comes back; the next
/// alert, closed while it is still down, never reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_down_gets_the_post_when_back_unless_the_alert_closed() {
    let s = setup(&[Platform::Telegram, Platform::Facebook, Platform::X]).await;
    let running = s.worker.clone().spawn();
    let hour = 1500;
    let down = account_of(Platform::Facebook, 1);

    s.fakes.set(Rule::all().account(&down).fault(Fault::Down).for_ms(hour));
    s.store().publish(&alert(7), &operator()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(hour / 2)).await;
    assert_eq!(s.posts_of(Platform::Telegram, 0).len(), 1, "the others went out at once");
    assert!(s.posts_of(Platform::Facebook, 1).is_empty());
    let fb = of(&s.store().deliveries(7).await.unwrap(), s.channel(Platform::Facebook), "publicar", "alerta");
    assert!(fb.status == "pendiente" || fb.status == "enviando", "{fb:?}");
    assert!(fb.attempts >= 2 && fb.last_error.contains("503"), "retried while down: {fb:?}");
    // Back up: the post arrives.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.posts_of(Platform::Facebook, 1).is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.posts_of(Platform::Facebook, 1).len(), 1, "the channel got the alert when it came back");

    // Down again; this alert closes before it comes back.
    s.fakes.set(Rule::all().account(&down).fault(Fault::Down).for_ms(hour));
    s.store().publish(&alert(8), &operator()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(hour / 3)).await;
    s.store().close_alert(8, &located(8), Takedown::Borrar, &operator()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(hour + 500)).await;
    let views = s.store().deliveries(8).await.unwrap();
    assert_eq!(of(&views, s.channel(Platform::Facebook), "publicar", "alerta").status, "cancelada");
    let fb_texts: Vec<String> = s.posts_of(Platform::Facebook, 1).into_iter().map(|p| p.text).collect();
    assert_eq!(fb_texts.len(), 1, "nothing of the closed alert, not even its update: {fb_texts:?}");
    // Where it went out, it was deleted and the update posted.
    for (p, n) in [(Platform::Telegram, 0), (Platform::X, 2)] {
        let posts = s.posts_of(p, n);
        assert_eq!(posts.len(), 3, "{p:?}: alert 7, alert 8, and 8's update");
        assert!(posts[1].deleted && posts[2].text.contains("fue localizada"), "{p:?}: {posts:?}");
    }
    running.abort();
    s.db.cleanup().await;
}

/// Mastodon processes a large image after the upload answers (202): the adapter waits
/// for it before posting, as a status naming unprocessed media is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mastodon_waits_for_a_large_image_to_be_processed() {
    let s = setup(&[Platform::Mastodon]).await;
    let mut big = alert(9);
    let mut png = PNG.to_vec();
    png.resize(violeta_fakes::LARGE_MEDIA_BYTES + 1, 0);
    big.image_png = Some(png);
    s.store().publish(&big, &operator()).await.unwrap();
    let views = s.settle(9, Duration::from_secs(10)).await;
    assert_eq!(views[0].status, "publicada", "{views:?}");
    assert_eq!(views[0].attempts, 1, "no refused attempt");
    let posts = s.posts_of(Platform::Mastodon, 0);
    assert_eq!(posts.len(), 1);
    assert!(posts[0].image_bytes > violeta_fakes::LARGE_MEDIA_BYTES);
    s.db.cleanup().await;
}
