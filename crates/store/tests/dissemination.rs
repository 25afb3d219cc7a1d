//! The Alerta Rosa outbox in the store: channels with sealed credentials, one delivery
//! per channel, leases, retries, closing an alert, repeats. Every case runs on SQLite,
//! and on PostgreSQL when `VIOLETA_TEST_POSTGRES` names a server.

#[macro_use]
mod common;

use chrono::Duration;
use violeta_domain::audit::Actor;
use violeta_domain::credential::MasterKey;
use violeta_domain::dissemination::{Platform, PublicationKind, Takedown};
use violeta_domain::secret::Secret;
use violeta_store::StoreError;
use violeta_store::audit::AuditFilter;
use violeta_store::dissemination::{ChannelInput, Publication, Receipt, Repeat};
use violeta_store::testing::TestStore;


on_both_backends!(
    credentials_are_sealed_and_never_shown,
    one_delivery_per_enabled_channel,
    leases_are_exclusive_and_expire_into_uncertainty,
    concurrent_claims_never_share_a_delivery,
    retries_wait_for_their_time,
    closing_cancels_unsent_and_follows_up_what_went_out,
    a_post_landing_after_the_closing_gets_its_follow_ups,
    manual_channels_are_recorded_by_hand,
    repeats_go_out_on_schedule,
);

fn operator() -> Actor {
    Actor { user_id: None, label: "operacion@violeta.test".into(), origin: "127.0.0.1".into() }
}

const TOKEN: &str = "token-secreto-que-no-debe-verse-0123456789";

fn channel(platform: Platform, name: &str) -> ChannelInput {
    ChannelInput {
        platform,
        name: name.into(),
        handle: format!("@{name}"),
        api_base: match platform {
            Platform::Mastodon | Platform::Webhook => "http://127.0.0.1:9/api".into(),
            _ => String::new(),
        },
        remote_id: "12345".into(),
        credential: platform.automatic().then(|| Secret::new(TOKEN)),
        enabled: true,
    }
}

fn alert(alert_id: i64) -> Publication {
    Publication {
        alert_id,
        kind: PublicationKind::Alerta,
        text: "ALERTA ROSA: se busca a Ana N., 15 años, vista por última vez en Oaxaca de Juárez.".into(),
        link: format!("https://violeta.example.gob.mx/alerta-rosa/{alert_id}"),
        image_png: Some(b"\x89PNG\r\n\x1a\nficha".to_vec()),
        image_alt: "Ficha de búsqueda de Ana N.".into(),
    }
}

fn update(alert_id: i64) -> Publication {
    Publication {
        alert_id,
        kind: PublicationKind::Actualizacion,
        text: "ACTUALIZACIÓN: Ana N. fue localizada. Gracias por compartir.".into(),
        link: String::new(),
        image_png: None,
        image_alt: String::new(),
    }
}

async fn channels(db: &TestStore, platforms: &[Platform]) -> Vec<i64> {
    let key = MasterKey::demo();
    let mut ids = Vec::new();
    for (i, p) in platforms.iter().enumerate() {
        ids.push(db.store.create_channel(&operator(), &channel(*p, &format!("canal{i}")), Some(&key)).await.unwrap());
    }
    ids
}

fn status_of(views: &[violeta_store::dissemination::DeliveryView], channel_id: i64, action: &str) -> Vec<String> {
    views.iter().filter(|d| d.channel_id == channel_id && d.action == action).map(|d| d.status.clone()).collect()
}

async fn credentials_are_sealed_and_never_shown(db: &TestStore) {
    let s = &db.store;
    let key = MasterKey::demo();
    // Without the master key, nothing is stored.
    let err = s.create_channel(&operator(), &channel(Platform::Telegram, "sin-llave"), None).await.unwrap_err();
    assert!(err.to_string().contains("VIOLETA_SECRET_KEY"), "{err}");
    // Plain HTTP only on loopback.
    let mut remote = channel(Platform::Mastodon, "http-remoto");
    remote.api_base = "http://mastodon.example.org".into();
    assert!(matches!(s.create_channel(&operator(), &remote, Some(&key)).await, Err(StoreError::Invalid(_))));
    // An automatic channel needs its credential.
    let mut bare = channel(Platform::X, "sin-token");
    bare.credential = None;
    assert!(s.create_channel(&operator(), &bare, Some(&key)).await.unwrap_err().to_string().contains("credencial"));

    let id = s.create_channel(&operator(), &channel(Platform::Telegram, "telegram"), Some(&key)).await.unwrap();
    let c = s.channel(id).await.unwrap();
    assert!(c.has_credential);
    assert_eq!(c.api_base, "https://api.telegram.org", "the real API by default");
    assert!(!format!("{c:?}").contains(TOKEN));
    // The column holds the sealed form only.
    let found = db.raw(&format!("UPDATE channels SET handle = handle WHERE credential LIKE '%{TOKEN}%'")).await.unwrap();
    assert_eq!(found, 0, "the token is stored in clear");

    // The worker opens it with the key; another key cannot.
    s.publish(&alert(1), &operator()).await.unwrap();
    let jobs = s.claim_deliveries("w", Duration::seconds(60), 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].credential(Some(&key)).unwrap().unwrap().expose(), TOKEN);
    assert!(!format!("{:?}", jobs[0]).contains(TOKEN));
    let wrong = MasterKey::from_bytes([7; 32]);
    assert!(jobs[0].credential(Some(&wrong)).unwrap_err().to_string().contains("capture la credencial de nuevo"));

    // Updating without a credential keeps it; a new one replaces it.
    let mut edit = channel(Platform::Telegram, "telegram renombrado");
    edit.credential = None;
    s.update_channel(&operator(), id, &edit, Some(&key)).await.unwrap();
    assert!(s.channel(id).await.unwrap().has_credential);
    edit.credential = Some(Secret::new("otro-token"));
    s.update_channel(&operator(), id, &edit, Some(&key)).await.unwrap();
    s.delivery_retry(jobs[0].id, "w", "prueba", violeta_store::now(), false).await.unwrap();
    let again = s.claim_deliveries("w", Duration::seconds(60), 10).await.unwrap();
    assert_eq!(again[0].credential(Some(&key)).unwrap().unwrap().expose(), "otro-token");

    // The audit trail records the change, never the secret.
    let entries = s.audit_entries(&AuditFilter { entity: Some("canal".into()), ..Default::default() }, 50, 0).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "canal.crear") && entries.iter().any(|e| e.action == "canal.editar"));
    assert!(entries.iter().all(|e| !e.detail.contains(TOKEN) && !e.detail.contains("otro-token")), "{entries:?}");
}

async fn one_delivery_per_enabled_channel(db: &TestStore) {
    let s = &db.store;
    let key = MasterKey::demo();
    let ids = channels(db, &[Platform::Mastodon, Platform::Telegram, Platform::Facebook, Platform::X, Platform::Webhook, Platform::Manual]).await;
    let mut off = channel(Platform::Telegram, "apagado");
    off.enabled = false;
    let disabled = s.create_channel(&operator(), &off, Some(&key)).await.unwrap();

    let p = s.publish(&alert(10), &operator()).await.unwrap();
    let views = s.deliveries(10).await.unwrap();
    assert_eq!(views.len(), 6, "one per enabled channel");
    assert!(views.iter().all(|d| d.publication_id == p.0 && d.action == "publicar"));
    assert!(!views.iter().any(|d| d.channel_id == disabled));
    assert_eq!(status_of(&views, ids[5], "publicar"), ["manual"], "a channel without an API waits for staff");
    assert_eq!(views.iter().filter(|d| d.status == "pendiente").count(), 5);

    // A group narrows the audience.
    let group = s.create_channel_group(&operator(), "Costa", &[ids[0], ids[1]]).await.unwrap();
    s.publish_to(&alert(11), Some(group), &operator()).await.unwrap();
    let mut got: Vec<i64> = s.deliveries(11).await.unwrap().iter().map(|d| d.channel_id).collect();
    got.sort();
    assert_eq!(got, vec![ids[0], ids[1]]);
    assert!(matches!(s.publish_to(&alert(12), Some(9999), &operator()).await, Err(StoreError::NotFound(_))));

    // Bad publications are refused whole.
    let mut bad = alert(13);
    bad.image_png = Some(b"GIF89a".to_vec());
    assert!(s.publish(&bad, &operator()).await.unwrap_err().to_string().contains("PNG"));
    let mut no_alt = alert(13);
    no_alt.image_alt = " ".into();
    assert!(s.publish(&no_alt, &operator()).await.unwrap_err().to_string().contains("texto alternativo"));
    assert!(s.deliveries(13).await.unwrap().is_empty() && s.publications(13).await.unwrap().is_empty());

    // The publication is audited with its count.
    let entries = s.audit_entries(&AuditFilter { entity: Some("alerta".into()), entity_id: Some("10".into()), actor_id: None }, 10, 0).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "difusion.publicar" && e.detail.contains("\"entregas\":6")), "{entries:?}");
}

async fn leases_are_exclusive_and_expire_into_uncertainty(db: &TestStore) {
    let s = &db.store;
    channels(db, &[Platform::Telegram, Platform::Facebook, Platform::X]).await;
    s.publish(&alert(20), &operator()).await.unwrap();

    let a = s.claim_deliveries("A", Duration::seconds(60), 2).await.unwrap();
    assert_eq!(a.len(), 2, "the limit holds");
    assert!(a.iter().all(|j| !j.uncertain && j.attempts == 1 && !j.alert_closed));
    let b = s.claim_deliveries("B", Duration::seconds(60), 10).await.unwrap();
    assert_eq!(b.len(), 1, "B gets only what A does not hold");
    assert!(s.claim_deliveries("C", Duration::seconds(60), 10).await.unwrap().is_empty());
    assert!(s.deliveries(20).await.unwrap().iter().all(|d| d.status == "enviando"), "the intent is recorded before any call");

    // A worker that dies: its lease runs out (here: a lease already over), and the next
    // worker gets the row back as uncertain — a post may exist.
    s.publish(&alert(21), &operator()).await.unwrap();
    let dying = s.claim_deliveries("muere", Duration::seconds(-1), 10).await.unwrap();
    assert_eq!(dying.len(), 3);
    let taken = s.claim_deliveries("sigue", Duration::seconds(60), 10).await.unwrap();
    assert_eq!(taken.len(), 3);
    assert!(taken.iter().all(|j| j.uncertain && j.attempts == 2), "{taken:?}");
    // The dead worker's late answer is not recorded.
    assert!(!s.delivery_done(dying[0].id, "muere", &Receipt::default(), false).await.unwrap());
    let receipt = Receipt { remote_id: "99".into(), remote_url: "https://t.me/canal/99".into(), proof: "{\"ok\":true}".into() };
    assert!(s.delivery_done(taken[0].id, "sigue", &receipt, true).await.unwrap());
    let done = s.delivery(taken[0].id).await.unwrap();
    assert_eq!((done.status.as_str(), done.remote_url.as_str()), ("publicada", "https://t.me/canal/99"));
    assert!(done.done_at.is_some());
    let entries = s.audit_entries(&AuditFilter { entity: Some("entrega".into()), ..Default::default() }, 10, 0).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "difusion.conciliada"), "{entries:?}");
}

async fn concurrent_claims_never_share_a_delivery(db: &TestStore) {
    let s = &db.store;
    let platforms: Vec<Platform> = (0..30).map(|i| [Platform::Telegram, Platform::Facebook, Platform::X][i % 3]).collect();
    channels(db, &platforms).await;
    s.publish(&alert(30), &operator()).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = s.claim_deliveries(&format!("w{w}"), Duration::seconds(60), 3).await.unwrap();
                if got.is_empty() {
                    break;
                }
                mine.extend(got.into_iter().map(|j| j.id));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!((n, all.len()), (30, 30), "every delivery claimed exactly once");
}

async fn retries_wait_for_their_time(db: &TestStore) {
    let s = &db.store;
    channels(db, &[Platform::X]).await;
    s.publish(&alert(40), &operator()).await.unwrap();
    let job = s.claim_deliveries("w", Duration::seconds(60), 10).await.unwrap().remove(0);
    let later = violeta_store::now() + Duration::seconds(3600);
    assert!(s.delivery_retry(job.id, "w", "la plataforma pidió esperar (429)", later, false).await.unwrap());
    let d = s.delivery(job.id).await.unwrap();
    assert_eq!((d.status.as_str(), d.last_error.as_str(), d.attempts), ("pendiente", "la plataforma pidió esperar (429)", 1));
    assert_eq!(d.next_attempt_at, later);
    assert!(s.claim_deliveries("w", Duration::seconds(60), 10).await.unwrap().is_empty(), "not before its time");
    // Its time comes.
    db.raw("UPDATE deliveries SET next_attempt_at = created_at").await.unwrap();
    let again = s.claim_deliveries("w", Duration::seconds(60), 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    assert!(!again[0].uncertain);
    // A refusal that retrying cannot fix: fallida, until staff retry it.
    assert!(s.delivery_failed(job.id, "w", "la plataforma rechazó la credencial (401)").await.unwrap());
    assert_eq!(s.delivery(job.id).await.unwrap().status, "fallida");
    assert!(s.claim_deliveries("w", Duration::seconds(60), 10).await.unwrap().is_empty());
    s.retry_delivery(&operator(), job.id).await.unwrap();
    assert_eq!(s.claim_deliveries("w", Duration::seconds(60), 10).await.unwrap().len(), 1);
}

async fn closing_cancels_unsent_and_follows_up_what_went_out(db: &TestStore) {
    let s = &db.store;
    let ids = channels(db, &[Platform::Telegram, Platform::Facebook, Platform::X, Platform::Mastodon, Platform::Manual]).await;
    s.publish(&alert(50), &operator()).await.unwrap();
    let jobs = s.claim_deliveries("w", Duration::seconds(60), 10).await.unwrap();
    assert_eq!(jobs.len(), 4);
    let by_channel = |c: i64| jobs.iter().find(|j| j.channel_id == c).unwrap().id;
    let receipt = |n: &str| Receipt { remote_id: n.into(), remote_url: format!("https://example.org/{n}"), proof: "ok".into() };
    // Telegram and X went out; Facebook is down (certain: nothing was posted); Mastodon timed out (uncertain).
    s.delivery_done(by_channel(ids[0]), "w", &receipt("t1"), false).await.unwrap();
    s.delivery_done(by_channel(ids[2]), "w", &receipt("x1"), false).await.unwrap();
    s.delivery_retry(by_channel(ids[1]), "w", "no se pudo conectar", violeta_store::now(), false).await.unwrap();
    s.delivery_retry(by_channel(ids[3]), "w", "tiempo de espera agotado", violeta_store::now(), true).await.unwrap();

    let update_id = s.close_alert(50, &update(50), Takedown::Editar, &operator()).await.unwrap();
    let views = s.deliveries(50).await.unwrap();
    let original = |c: i64| views.iter().find(|d| d.channel_id == c && d.publication_id != update_id.0).unwrap();
    assert_eq!(original(ids[1]).status, "cancelada", "the channel that was down gets nothing now");
    assert_eq!(original(ids[4]).status, "cancelada", "nor does the manual channel");
    assert_eq!(original(ids[3]).status, "pendiente", "an uncertain post is left to reconcile");
    // The update goes where the alert went out, and only there.
    let mut updated: Vec<i64> = views.iter().filter(|d| d.publication_id == update_id.0 && d.action == "publicar").map(|d| d.channel_id).collect();
    updated.sort();
    assert_eq!(updated, vec![ids[0], ids[2]]);
    // Telegram edits its post; X cannot edit, so it deletes.
    assert_eq!(status_of(&views, ids[0], "editar"), ["pendiente"]);
    assert_eq!(status_of(&views, ids[2], "borrar"), ["pendiente"]);
    assert!(views.iter().filter(|d| d.action != "publicar").all(|d| d.target_id.is_some()));

    // What the workers get next: the uncertain post (alert closed: reconcile only), the
    // update and the takedowns, which point at the original post.
    let next = s.claim_deliveries("w2", Duration::seconds(60), 10).await.unwrap();
    assert_eq!(next.len(), 5, "{next:?}");
    assert!(next.iter().all(|j| j.alert_closed));
    let edit = next.iter().find(|j| j.action == "editar").unwrap();
    assert_eq!(edit.target_remote_id.as_deref(), Some("t1"));
    assert_eq!(edit.kind, "actualizacion");

    // Closing twice, or spreading a closed alert again, is refused.
    assert!(matches!(s.close_alert(50, &update(50), Takedown::Borrar, &operator()).await, Err(StoreError::Conflict(_))));
    assert!(matches!(s.publish(&alert(50), &operator()).await, Err(StoreError::Conflict(_))));
    // An update after the closing is still allowed.
    let mut late = update(50);
    late.text = "Aclaración sobre la localización.".into();
    s.publish(&late, &operator()).await.unwrap();

    // Closing an alert that was never disseminated records the closing.
    s.close_alert(51, &update(51), Takedown::Borrar, &operator()).await.unwrap();
    assert!(s.alert_dissemination(51).await.unwrap().unwrap().closed_at.is_some());
    assert!(matches!(s.publish(&alert(51), &operator()).await, Err(StoreError::Conflict(_))));
}

async fn a_post_landing_after_the_closing_gets_its_follow_ups(db: &TestStore) {
    let s = &db.store;
    let ids = channels(db, &[Platform::Facebook, Platform::Telegram]).await;
    s.publish(&alert(60), &operator()).await.unwrap();
    let jobs = s.claim_deliveries("w", Duration::seconds(60), 10).await.unwrap();
    let fb = jobs.iter().find(|j| j.channel_id == ids[0]).unwrap().id;
    let tg = jobs.iter().find(|j| j.channel_id == ids[1]).unwrap().id;
    s.delivery_done(tg, "w", &Receipt { remote_id: "5".into(), ..Default::default() }, false).await.unwrap();
    // Facebook is in flight while the alert closes.
    s.close_alert(60, &update(60), Takedown::Borrar, &operator()).await.unwrap();
    assert_eq!(s.delivery(fb).await.unwrap().status, "enviando");
    s.delivery_done(fb, "w", &Receipt { remote_id: "1_2".into(), ..Default::default() }, false).await.unwrap();
    let views = s.deliveries(60).await.unwrap();
    assert_eq!(status_of(&views, ids[0], "borrar"), ["pendiente"], "{views:?}");
    assert_eq!(status_of(&views, ids[1], "borrar"), ["pendiente"]);
    assert_eq!(views.iter().filter(|d| d.kind == "actualizacion").filter(|d| d.action == "publicar").count(), 2);
}

async fn manual_channels_are_recorded_by_hand(db: &TestStore) {
    let s = &db.store;
    let ids = channels(db, &[Platform::Manual]).await;
    s.publish(&alert(70), &operator()).await.unwrap();
    assert!(s.claim_deliveries("w", Duration::seconds(60), 10).await.unwrap().is_empty(), "no worker touches a manual channel");
    let d = s.deliveries(70).await.unwrap().remove(0);
    assert_eq!((d.channel_id, d.status.as_str()), (ids[0], "manual"));
    assert!(s.record_manual_post(&operator(), d.id, "no es un enlace").await.is_err());
    s.record_manual_post(&operator(), d.id, "https://www.instagram.com/p/abc/").await.unwrap();
    let d = s.delivery(d.id).await.unwrap();
    assert_eq!((d.status.as_str(), d.remote_url.as_str()), ("publicada", "https://www.instagram.com/p/abc/"));
    assert!(s.record_manual_post(&operator(), d.id, "https://otra").await.is_err(), "recorded once");
    // Closing asks staff to post the update by hand too.
    let update_id = s.close_alert(70, &update(70), Takedown::Borrar, &operator()).await.unwrap();
    let views = s.deliveries(70).await.unwrap();
    let u = views.iter().find(|v| v.publication_id == update_id.0).unwrap();
    assert_eq!((u.status.as_str(), u.action.as_str()), ("manual", "publicar"));
    assert_eq!(views.len(), 2, "no automatic takedown on a channel without an API");
}

async fn repeats_go_out_on_schedule(db: &TestStore) {
    let s = &db.store;
    let ids = channels(db, &[Platform::Telegram, Platform::X]).await;
    s.publish(&alert(80), &operator()).await.unwrap();
    // No repeat interval yet: nothing.
    db.raw("UPDATE alert_dissemination SET last_spread_at = '2000-01-01T00:00:00+00:00'").await.unwrap();
    assert!(s.spread_due_repeats().await.unwrap().is_empty());
    s.set_repeat_hours(&operator(), Some(6)).await.unwrap();
    assert!(s.set_repeat_hours(&operator(), Some(0)).await.is_err());
    // Telegram's first post went out; X's is still waiting, so X gets no second one.
    let jobs = s.claim_deliveries("w", Duration::seconds(60), 10).await.unwrap();
    let tg = jobs.iter().find(|j| j.channel_id == ids[0]).unwrap().id;
    s.delivery_done(tg, "w", &Receipt { remote_id: "1".into(), ..Default::default() }, false).await.unwrap();
    let made = s.spread_due_repeats().await.unwrap();
    assert_eq!(made.len(), 1);
    let repeats: Vec<_> = s.deliveries(80).await.unwrap().into_iter().filter(|d| d.publication_id == made[0].0).collect();
    assert_eq!(repeats.len(), 1);
    assert_eq!((repeats[0].channel_id, repeats[0].kind.as_str()), (ids[0], "repeticion"));
    let pubs = s.publications(80).await.unwrap();
    assert_eq!(pubs.len(), 2);
    assert!(pubs[1].has_image && pubs[1].text == pubs[0].text && pubs[1].marker != pubs[0].marker);
    // Not due again before its time.
    assert!(s.spread_due_repeats().await.unwrap().is_empty());
    // Per alert: never.
    db.raw("UPDATE alert_dissemination SET last_spread_at = '2000-01-01T00:00:00+00:00'").await.unwrap();
    s.set_alert_repeat(80, Repeat::Never, &operator()).await.unwrap();
    assert!(s.spread_due_repeats().await.unwrap().is_empty());
    s.set_alert_repeat(80, Repeat::EveryHours(2), &operator()).await.unwrap();
    assert_eq!(s.spread_due_repeats().await.unwrap().len(), 1);
    // After a correction, repeats carry the corrected ficha, not the first one.
    let corrected = Publication {
        text: "ACTUALIZACIÓN · ALERTA ROSA: se busca a Ana N., 16 años, vista por última vez en Santa Lucía del Camino.".into(),
        image_png: Some(b"\x89PNG\r\n\x1a\nficha corregida".to_vec()),
        image_alt: "Ficha de búsqueda de Ana N., corregida.".into(),
        ..update(80)
    };
    s.publish(&corrected, &operator()).await.unwrap();
    db.raw("UPDATE alert_dissemination SET last_spread_at = '2000-01-01T00:00:00+00:00'").await.unwrap();
    let made = s.spread_due_repeats().await.unwrap();
    assert_eq!(made.len(), 1);
    let repeat = s.publications(80).await.unwrap().into_iter().find(|p| p.id == made[0].0).unwrap();
    assert_eq!((repeat.kind.as_str(), repeat.text.as_str()), ("repeticion", corrected.text.as_str()));
    // A closed alert is not repeated.
    s.close_alert(80, &update(80), Takedown::Conservar, &operator()).await.unwrap();
    db.raw("UPDATE alert_dissemination SET last_spread_at = '2000-01-01T00:00:00+00:00'").await.unwrap();
    assert!(s.spread_due_repeats().await.unwrap().is_empty());
    assert!(matches!(s.set_alert_repeat(999, Repeat::Global, &operator()).await, Err(StoreError::NotFound(_))));
}
