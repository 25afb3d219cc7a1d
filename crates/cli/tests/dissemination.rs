//! Alerta Rosa dissemination with the real `violeta serve`: 30 official accounts on the
//! loopback fakes (answering slowly), a server killed with SIGKILL in the middle of the
//! fan-out and started again, and two servers sharing one PostgreSQL outbox. In every
//! case each channel ends with exactly one post per alert.

mod common;

use common::{PgDb, Server, TempDir, postgres_configured, violeta};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use violeta_domain::audit::Actor;
use violeta_domain::credential::MasterKey;
use violeta_domain::dissemination::{Platform, PublicationKind};
use violeta_domain::secret::Secret;
use violeta_fakes::{FakePlatforms, Rule};
use violeta_store::Store;
use violeta_store::dissemination::{ChannelInput, Publication};

/// `MasterKey::demo()` in hex, as `VIOLETA_SECRET_KEY`.
const DEMO_KEY_HEX: &str = "76696f6c6574612d64656d6f2d636c6176652d6e6f2d65732d73656372657461";
const PLATFORMS: [Platform; 5] = [Platform::Mastodon, Platform::Telegram, Platform::Facebook, Platform::X, Platform::Webhook];

fn actor() -> Actor {
    Actor { user_id: None, label: "pruebas".into(), origin: "pruebas".into() }
}

fn token(n: usize) -> String {
    format!("token-canal-{n}-0123456789abcdef")
}

/// 30 channels, six of each platform, on the fakes. Returns each channel's (platform, account) in the fakes.
async fn thirty_channels(store: &Store, fakes: &FakePlatforms) -> Vec<(String, String)> {
    let mut accounts = Vec::new();
    for n in 0..30 {
        let platform = PLATFORMS[n % 5];
        let (api_base, remote_id, account) = match platform {
            Platform::Mastodon => (fakes.base("mastodon"), String::new(), FakePlatforms::mastodon_account(&token(n))),
            Platform::Telegram => (fakes.base("telegram"), format!("@canal{n}"), format!("@canal{n}")),
            Platform::Facebook => (fakes.base("facebook"), format!("2000{n}"), format!("2000{n}")),
            Platform::X => (fakes.base("x"), FakePlatforms::x_user(&token(n)), FakePlatforms::x_user(&token(n))),
            _ => (fakes.base(&format!("webhook/receptor{n}")), String::new(), format!("receptor{n}")),
        };
        let input = ChannelInput {
            platform,
            name: format!("Canal {n:02} ({})", platform.label()),
            handle: format!("@canal{n}"),
            api_base,
            remote_id,
            credential: Some(Secret::new(token(n))),
            enabled: true,
        };
        store.create_channel(&actor(), &input, Some(&MasterKey::demo())).await.expect("channel");
        accounts.push((platform.code().to_string(), account));
    }
    accounts
}

fn alert(alert_id: i64) -> Publication {
    Publication {
        alert_id,
        kind: PublicationKind::Alerta,
        text: format!("ALERTA ROSA {alert_id}: se busca a una adolescente de 15 años vista por última vez en Oaxaca de Juárez."),
        link: format!("https://violeta.example.gob.mx/alerta-rosa/{alert_id}"),
        image_png: Some(b"\x89PNG\r\n\x1a\nficha-de-prueba".to_vec()),
        image_alt: "Ficha de búsqueda".into(),
    }
}

/// `violeta serve` with the dissemination worker tuned for a test: short lease (a killed
/// server's deliveries come back after 3 s), quick retries, frequent polling.
fn serve(tmp: &TempDir, name: &str, database: &[(&str, &str)]) -> Server {
    Server::start(&format!("violeta serve {name}"), &tmp.join(format!("serve-{name}.log")), |port| {
        let mut cmd = violeta(&tmp.path);
        for (k, v) in database {
            cmd.env(k, v);
        }
        cmd.env("VIOLETA_LOG", "info")
            .env("VIOLETA_SECRET_KEY", DEMO_KEY_HEX)
            .env("VIOLETA_DISSEMINATION_LEASE_SECS", "3")
            .env("VIOLETA_DISSEMINATION_TIMEOUT_MS", "2500")
            .env("VIOLETA_DISSEMINATION_BACKOFF_MS", "200")
            .env("VIOLETA_DISSEMINATION_BACKOFF_MAX_MS", "1000")
            .env("VIOLETA_DISSEMINATION_POLL_MS", "100")
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")]);
        cmd
    })
}

fn statuses(rt: &tokio::runtime::Runtime, store: &Store, alert_id: i64) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for d in rt.block_on(store.deliveries(alert_id)).expect("deliveries") {
        *counts.entry(d.status).or_insert(0) += 1;
    }
    counts
}

/// Waits until every delivery of the alerts is published; panics with the state otherwise.
fn wait_published(rt: &tokio::runtime::Runtime, store: &Store, alerts: &[i64], limit: Duration, logs: &[&Server]) {
    let start = Instant::now();
    loop {
        let all: Vec<_> = alerts.iter().map(|a| statuses(rt, store, *a)).collect();
        if all.iter().all(|c| c.len() == 1 && c.get("publicada") == Some(&30)) {
            eprintln!("[test] all published after {:.1} s", start.elapsed().as_secs_f32());
            return;
        }
        if start.elapsed() > limit {
            let tails: Vec<String> = logs.iter().map(|s| s.log_tail(40)).collect();
            panic!("not all published within {limit:?}: {all:?}\n{}", tails.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Posts per channel for the given alerts (by the alert number in the text).
fn posts_per_channel(fakes: &FakePlatforms, alert_id: i64) -> HashMap<(String, String), usize> {
    let mut counts = HashMap::new();
    for p in fakes.posts().into_iter().filter(|p| p.text.starts_with(&format!("ALERTA ROSA {alert_id}:"))) {
        *counts.entry((p.platform, p.account)).or_insert(0) += 1;
    }
    counts
}

fn assert_one_post_each(fakes: &FakePlatforms, accounts: &[(String, String)], alert_id: i64) {
    let counts = posts_per_channel(fakes, alert_id);
    let wrong: Vec<_> = accounts.iter().filter(|a| counts.get(*a) != Some(&1)).map(|a| (a.clone(), counts.get(a).copied().unwrap_or(0))).collect();
    assert!(wrong.is_empty(), "alert {alert_id}: channels without exactly one post: {wrong:?}");
    assert_eq!(counts.values().sum::<usize>(), 30, "alert {alert_id}: 30 posts in all");
}

fn multi_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
}

fn assert_no_secret_in_logs(servers: &[&Server]) {
    for s in servers {
        let log = s.log_text();
        assert!(!log.contains("token-canal-"), "{}: a channel credential reached the log", s.name);
        assert!(!log.contains(DEMO_KEY_HEX), "{}: the master key reached the log", s.name);
    }
}

#[test]
fn a_server_killed_mid_fan_out_posts_each_channel_exactly_once_after_restart() {
    let tmp = TempDir::new("difusion-caida");
    let rt = multi_thread_runtime();
    let fakes = rt.block_on(violeta_fakes::spawn("127.0.0.1:0".parse().unwrap())).expect("fakes");
    let url = format!("sqlite://{}", tmp.join("violeta.db").display());
    let store = rt.block_on(Store::open(&url)).expect("store");
    let accounts = rt.block_on(thirty_channels(&store, &fakes));

    // Telegram answers at once; the others make the post and answer late.
    fakes.set(Rule::all().delay_ms(1500));
    fakes.set(Rule::all().platform("telegram").delay_ms(50));
    let first = serve(&tmp, "A", &[]);
    rt.block_on(store.publish(&alert(1), &actor())).expect("publish");

    // Kill it once Telegram's posts are recorded and the rest are in flight.
    let start = Instant::now();
    loop {
        let done = statuses(&rt, &store, 1).get("publicada").copied().unwrap_or(0);
        if done >= 6 || start.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = statuses(&rt, &store, 1);
    let made = fakes.posts().len();
    drop(first); // SIGKILL to the process group
    eprintln!("[test] killed with {before:?}; the fakes hold {made} posts");
    assert!(before.get("enviando").copied().unwrap_or(0) > 0, "the kill came in the middle of the fan-out: {before:?}");
    assert!(made > before.get("publicada").copied().unwrap_or(0), "posts were made whose answer never reached the server");

    let second = serve(&tmp, "B", &[]);
    wait_published(&rt, &store, &[1], Duration::from_secs(60), &[&second]);
    assert_one_post_each(&fakes, &accounts, 1);
    let reconciled = rt
        .block_on(store.audit_entries(&violeta_store::audit::AuditFilter { entity: Some("entrega".into()), ..Default::default() }, 200, 0))
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "difusion.conciliada")
        .count();
    eprintln!("[test] {reconciled} deliveries were found again instead of posted twice");
    assert!(reconciled > 0, "the restart had uncertain deliveries to reconcile");
    assert_no_secret_in_logs(&[&second]);
    drop(second);
    rt.block_on(store.close());
}

#[test]
fn two_servers_share_the_outbox_on_postgres() {
    if !postgres_configured("two_servers_share_the_outbox_on_postgres") {
        return;
    }
    let tmp = TempDir::new("difusion-dos");
    let rt = multi_thread_runtime();
    let fakes = rt.block_on(violeta_fakes::spawn("127.0.0.1:0".parse().unwrap())).expect("fakes");
    let db = PgDb::new();
    let url = db.url().to_string();
    let store = rt.block_on(Store::connect(&url)).expect("store");
    let accounts = rt.block_on(thirty_channels(&store, &fakes));
    fakes.set(Rule::all().delay_ms(200));

    let a = serve(&tmp, "A", &[("DATABASE_URL", &url)]);
    let b = serve(&tmp, "B", &[("DATABASE_URL", &url)]);
    for alert_id in 1..=3 {
        rt.block_on(store.publish(&alert(alert_id), &actor())).expect("publish");
    }
    wait_published(&rt, &store, &[1, 2, 3], Duration::from_secs(60), &[&a, &b]);
    for alert_id in 1..=3 {
        assert_one_post_each(&fakes, &accounts, alert_id);
    }
    let worked = |s: &Server| s.log_text().matches("\"hecha\"").count();
    eprintln!("[test] deliveries done by A: {}, by B: {}", worked(&a), worked(&b));
    assert_eq!(worked(&a) + worked(&b), 90, "every delivery recorded once");
    assert_no_secret_in_logs(&[&a, &b]);
    drop((a, b));
    rt.block_on(store.close());
}
