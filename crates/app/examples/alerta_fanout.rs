//! Benchmark: Alerta Rosa fan-out. 30 official accounts (six each of Mastodon, Telegram,
//! Facebook, X and webhook) on the loopback fakes answering every request in 50 ms; many
//! activations, each with its ficha (PNG); the time from `publish` (committed) to the last
//! of its 30 posts confirmed (receipt stored), on SQLite and PostgreSQL. Run by
//! `bench/alerta_fanout`; prints a Markdown table.
//!
//!   cargo run --release -p violeta-app --example alerta_fanout -- [ACTIVATIONS] [BURST]
//!
//! PostgreSQL is measured when `VIOLETA_TEST_POSTGRES` names a server.

use std::time::{Duration, Instant};
use violeta_app::dissemination::{Settings, Worker};
use violeta_domain::audit::Actor;
use violeta_domain::credential::MasterKey;
use violeta_domain::dissemination::{Platform, PublicationKind};
use violeta_domain::secret::Secret;
use violeta_fakes::{FakePlatforms, Rule};
use violeta_store::Store;
use violeta_store::dissemination::{ChannelInput, Publication};
use violeta_store::testing::TestStore;

const PLATFORMS: [Platform; 5] = [Platform::Mastodon, Platform::Telegram, Platform::Facebook, Platform::X, Platform::Webhook];

fn actor() -> Actor {
    Actor { user_id: None, label: "bench".into(), origin: "bench".into() }
}

async fn channels(store: &Store, fakes: &FakePlatforms) {
    for n in 0..30 {
        let platform = PLATFORMS[n % 5];
        let token = format!("token-bench-{n}");
        let (api_base, remote_id) = match platform {
            Platform::Mastodon => (fakes.base("mastodon"), FakePlatforms::mastodon_account(&token)),
            Platform::Telegram => (fakes.base("telegram"), format!("@canal{n}")),
            Platform::Facebook => (fakes.base("facebook"), format!("3000{n}")),
            Platform::X => (fakes.base("x"), FakePlatforms::x_user(&token)),
            _ => (fakes.base(&format!("webhook/receptor{n}")), String::new()),
        };
        let input = ChannelInput { platform, name: format!("Canal {n:02}"), handle: format!("@canal{n}"), api_base, remote_id, credential: Some(Secret::new(token)), enabled: true };
        store.create_channel(&actor(), &input, Some(&MasterKey::demo())).await.expect("canal");
    }
}

/// A ficha-sized PNG (about 60 KB).
fn ficha() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..60_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    png
}

fn alert(alert_id: i64, image: &[u8]) -> Publication {
    Publication {
        alert_id,
        kind: PublicationKind::Alerta,
        text: format!("ALERTA ROSA {alert_id}: se busca a una adolescente de 15 años vista por última vez en Oaxaca de Juárez. Si la ha visto, llame al 911."),
        link: format!("https://violeta.example.gob.mx/alerta-rosa/{alert_id}"),
        image_png: Some(image.to_vec()),
        image_alt: "Ficha de búsqueda".into(),
    }
}

/// Milliseconds from the publication's commit to its last confirmed post, once all 30 are.
async fn wait_all(store: &Store, alert_id: i64, published_at: Instant) -> f64 {
    loop {
        let d = store.deliveries(alert_id).await.expect("entregas");
        if d.len() == 30 && d.iter().all(|d| d.status == "publicada") {
            let created = store.publications(alert_id).await.expect("publicaciones")[0].created_at;
            let last = d.iter().filter_map(|d| d.done_at).max().expect("terminada");
            return (last - created).num_microseconds().unwrap_or(0) as f64 / 1000.0;
        }
        if published_at.elapsed() > Duration::from_secs(60) {
            panic!("la alerta {alert_id} no terminó en 60 s: {:?}", d.iter().map(|d| &d.status).collect::<Vec<_>>());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn run(backend: &str, db: TestStore, activations: i64, burst: i64) {
    let fakes = violeta_fakes::spawn("127.0.0.1:0".parse().unwrap()).await.expect("fakes");
    fakes.set(Rule::all().delay_ms(50));
    channels(&db.store, &fakes).await;
    let worker = Worker::new(db.store.clone(), Some(MasterKey::demo()), Settings::default()).expect("worker");
    let running = worker.spawn();
    let image = ficha();
    let mut next_id = 1;
    for (mode, groups, size) in [("one at a time", activations, 1), ("bursts", activations / burst, burst)] {
        let mut latencies = Vec::new();
        let started = Instant::now();
        for _ in 0..groups {
            let mut pending = Vec::new();
            for _ in 0..size {
                let id = next_id;
                next_id += 1;
                db.store.publish(&alert(id, &image), &actor()).await.expect("publicar");
                pending.push((id, Instant::now()));
            }
            for (id, at) in pending {
                latencies.push(wait_all(&db.store, id, at).await);
            }
        }
        latencies.sort_by(|a, b| a.total_cmp(b));
        let posts = latencies.len() * 30;
        println!(
            "| {backend} | {mode} ({size} alert{} at once) | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            if size == 1 { "" } else { "s" },
            latencies.len(),
            percentile(&latencies, 50.0),
            percentile(&latencies, 95.0),
            percentile(&latencies, 99.0),
            latencies.last().copied().unwrap_or(0.0),
            posts as f64 / started.elapsed().as_secs_f64(),
        );
    }
    running.abort();
    let made = fakes.posts().len();
    assert_eq!(made as i64, (next_id - 1) * 30, "exactly one post per channel and alert");
    db.cleanup().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let activations: i64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let burst: i64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5);
    println!("| backend | activations | alerts | p50 ms | p95 ms | p99 ms | max ms | posts/s |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    run("sqlite", TestStore::sqlite().await.expect("SQLite"), activations, burst).await;
    match TestStore::postgres().await.expect("PostgreSQL") {
        Some(db) => run("postgres", db, activations, burst).await,
        None => eprintln!("VIOLETA_TEST_POSTGRES no está definida: se omite PostgreSQL"),
    }
}
