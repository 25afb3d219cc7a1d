//! Alerta Rosa end to end, as in the demo: the demo data with its 30 official accounts on
//! the loopback fakes and a dissemination worker; the operator activates the waiting case;
//! each of the 30 channels receives exactly one post (the square ficha, its description
//! and the public link), the case becomes «difundida» when the last one lands, the report
//! measures it; concluding posts the closing on every channel and takes the posts down.

use std::time::{Duration, Instant};
use violeta_app::alerta::{self, Rendering};
use violeta_app::dissemination::{Settings, Worker};
use violeta_domain::alerta::{AlertStatus, Closing};
use violeta_domain::audit::Actor;
use violeta_domain::credential::MasterKey;
use violeta_domain::dissemination::{Backoff, Takedown};
use violeta_fakes::FakePlatforms;
use violeta_store::alerts::AlertFilter;
use violeta_store::testing::TestStore;

fn operator() -> Actor {
    Actor { user_id: None, label: "alerta@demo.violeta.mx".into(), origin: "127.0.0.1".into() }
}

fn settings() -> Settings {
    Settings {
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(50),
        concurrency: 32,
        request_timeout: Duration::from_secs(5),
        backoff: Backoff { base: Duration::from_millis(20), cap: Duration::from_millis(100) },
        repeat_check: Duration::from_secs(3600),
    }
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < Duration::from_secs(60), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_case_reaches_each_of_the_30_accounts_once_and_comes_down_when_she_is_found() {
    let db = TestStore::sqlite().await.unwrap();
    let store = db.store.clone();
    violeta_app::demo::load(&store).await.unwrap();
    let fakes = violeta_fakes::spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let channels = violeta_app::demo::load_channels(&store, |p| fakes.base(p), FakePlatforms::x_user).await.unwrap();
    assert_eq!(channels, 30);
    let worker = Worker::new(store.clone(), Some(MasterKey::demo()), settings()).unwrap().spawn();

    let open = store.alerts(&AlertFilter { open_only: true, query: None }).await.unwrap();
    let id = open[0].id;
    let folio = open[0].folio.clone();
    let r = Rendering { base_url: "https://violeta.example.gob.mx", demo: true };
    alerta::activate(&store, &operator(), id, true, r).await.unwrap();

    wait_for("every channel to post", async || store.alert(id).await.unwrap().status() == AlertStatus::Difundida).await;
    let posts: Vec<_> = fakes.posts().into_iter().filter(|p| p.text.contains(&folio)).collect();
    assert_eq!(posts.len(), 30, "30 posts in all");
    let mut per_channel = std::collections::HashMap::new();
    for p in &posts {
        *per_channel.entry((p.platform.clone(), p.account.clone())).or_insert(0) += 1;
        assert!(p.text.contains(&format!("https://violeta.example.gob.mx/alertas/{folio}")), "{}", p.text);
        assert!(p.text.contains("Itzel Ramírez Santiago"), "{}", p.text);
    }
    assert_eq!(per_channel.len(), 30, "30 different accounts");
    assert!(per_channel.values().all(|n| *n == 1), "exactly one post each: {per_channel:?}");
    // The ficha went as the image, described for screen readers, where the platform takes images.
    let with_image = posts.iter().filter(|p| p.image_bytes > 0).count();
    assert!(with_image >= 24, "{with_image} posts carried the ficha");
    // Where the platform takes a description of the image (not every one does), it is the ficha's.
    let described: Vec<_> = posts.iter().filter(|p| !p.image_alt.is_empty()).collect();
    assert!(described.len() >= 12, "{} posts carried the description", described.len());
    assert!(described.iter().all(|p| p.image_alt.starts_with("Ficha de búsqueda de Alerta Rosa")));

    let a = store.alert(id).await.unwrap();
    let minutes = a.timeline().activation_to_all_posted();
    assert!(minutes.is_some_and(|m| m < 2), "activation to all posted: {minutes:?}");
    let events: Vec<String> = store.alert_events(id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert!(events.ends_with(&["activada".to_string(), "difundida".to_string()]), "{events:?}");

    // Found: the closing goes to every channel, the original posts are deleted.
    alerta::close(&store, &operator(), id, Closing::LocalizadaConVida, "Localizada (demostración)", Takedown::Borrar, r).await.unwrap();
    wait_for("the takedown", async || {
        let originals = fakes.posts().into_iter().filter(|p| p.text.contains(&folio) && p.text.contains("Itzel")).collect::<Vec<_>>();
        originals.len() == 30 && originals.iter().all(|p| p.deleted)
    })
    .await;
    wait_for("the closing posts", async || fakes.posts().iter().filter(|p| p.text.contains(&folio) && p.text.contains("concluyó")).count() == 30).await;
    let closing: Vec<_> = fakes.posts().into_iter().filter(|p| p.text.contains("concluyó")).collect();
    assert!(closing.iter().all(|p| !p.text.contains("Itzel") && p.image_bytes == 0), "the closing post says nothing about her");
    assert!(fakes.posts().iter().filter(|p| p.text.contains(&folio) && p.text.contains("Itzel")).count() == 30, "no second post of the alert");
    worker.abort();
    db.cleanup().await;
}
