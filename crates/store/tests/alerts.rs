//! Alerta Rosa cases in the store, on SQLite and (with `VIOLETA_TEST_POSTGRES`) PostgreSQL:
//! the lifecycle, drills that never reach the public, private fields that no public query
//! returns, audited private reads, and the report's times.

#[macro_use]
mod common;

use chrono::{Duration, TimeZone, Utc};
use violeta_domain::alerta::{AlertDraft, AlertInput, AlertStatus, Closing, PrivateData, RiskCheckInput, TranslationInput};
use violeta_domain::audit::Actor;
use violeta_domain::credential::MasterKey;
use violeta_domain::dissemination::{Platform, PublicationKind, Takedown};
use violeta_store::alerts::{AlertFilter, Document, PastAlert, PublicAlertState};
use violeta_store::dissemination::{ChannelInput, Publication, Receipt};
use violeta_store::audit::AuditFilter;
use violeta_store::testing::TestStore;
use violeta_store::{Store, StoreError};

on_both_backends!(
    lifecycle_from_report_to_localization,
    drills_never_reach_the_public,
    private_fields_stay_out_of_public_queries_and_are_sealed,
    private_reads_are_audited,
    activation_is_refused_until_checked_and_confirmed,
    translations_and_updates_issue_cap_updates,
    folios_are_numbered_per_year_and_kind,
    past_cases_and_their_times,
    every_channel_posted_makes_it_disseminated,
);

const REPORTER: &str = "Rosa Cruz Martínez";
const PHONE: &str = "951 555 0101";
const FILE_NUMBER: &str = "CI-FGEO-0042/2026";
const HEALTH: &str = "Toma medicamento para la epilepsia";
const SENDER: &str = "alerta-rosa@violeta.prueba";

fn operator() -> Actor {
    Actor { user_id: None, label: "operadora@violeta.test".into(), origin: "127.0.0.1".into() }
}

fn key() -> MasterKey {
    MasterKey::demo()
}

fn draft(drill: bool) -> AlertDraft {
    AlertInput {
        full_name: "María Fernanda López Cruz".into(),
        age: "16".into(),
        sex: "mujer".into(),
        height_cm: "158".into(),
        clothing: "Sudadera gris, pantalón de mezclilla azul".into(),
        last_seen_date: "03/03/2026".into(),
        last_seen_time: "18:40".into(),
        last_seen_place: "Calle Independencia, Centro".into(),
        municipality: "20067".into(),
        lat: "17.0610".into(),
        lon: "-96.7260".into(),
        authority: "Fiscalía General del Estado de Oaxaca".into(),
        reporter_name: REPORTER.into(),
        reporter_relationship: "Madre".into(),
        reporter_phone: PHONE.into(),
        file_number: FILE_NUMBER.into(),
        health: HEALTH.into(),
        drill: if drill { "si".into() } else { String::new() },
        ..Default::default()
    }
    .validate(Utc.with_ymd_and_hms(2026, 3, 4, 12, 0, 0).unwrap())
    .expect("valid case")
}

fn risk_ok() -> violeta_domain::alerta::RiskCheck {
    RiskCheckInput {
        level: "medio".into(),
        publish: "si".into(),
        notes: "Sin indicios de una persona agresora que la busque".into(),
        consent: "otorgado".into(),
        consent_by: REPORTER.into(),
        consent_relationship: "Madre".into(),
        ..Default::default()
    }
    .validate()
    .unwrap()
}

fn docs(tag: &str) -> Vec<Document> {
    vec![
        Document { name: "ficha-1080x1080.png".into(), content_type: "image/png".into(), bytes: format!("png-{tag}").into_bytes() },
        Document { name: "ficha.pdf".into(), content_type: "application/pdf".into(), bytes: format!("pdf-{tag}").into_bytes() },
    ]
}

/// What the channels get at each step (the app writes the real texts).
fn post(id: i64, kind: PublicationKind) -> Publication {
    Publication { alert_id: id, kind, text: format!("ALERTA ROSA {id}: {}", kind.label()), link: format!("https://violeta.prueba/alertas/{id}"), image_png: None, image_alt: String::new() }
}

/// A reported case with photo and an approving risk check, ready to activate.
async fn ready(store: &Store, drill: bool) -> (i64, violeta_domain::alerta::AlertFolio) {
    let (id, folio) = store.create_alert(&operator(), &draft(drill), Some(b"jpeg-bytes"), Some(&key())).await.unwrap();
    store.record_risk_check(&operator(), id, &risk_ok()).await.unwrap();
    (id, folio)
}

async fn activate(store: &Store, id: i64) {
    let expected = store.alert(id).await.unwrap().updated_at;
    store.activate_alert(&operator(), id, expected, true, &docs("v1"), SENDER, Some(&post(id, PublicationKind::Alerta))).await.unwrap();
}

async fn audit_actions(store: &Store, id: i64) -> Vec<String> {
    let f = AuditFilter { entity: Some("alerta".into()), entity_id: Some(id.to_string()), actor_id: None };
    store.audit_entries(&f, 1000, 0).await.unwrap().into_iter().map(|e| e.action).collect()
}

async fn lifecycle_from_report_to_localization(db: &TestStore) {
    let store = &db.store;
    let v0 = store.public_alerts_version().await.unwrap();
    let (id, folio) = ready(store, false).await;
    assert_eq!(folio.as_str(), "AR-2026-0001", "numbered in the year of the report");
    let a = store.alert(id).await.unwrap();
    assert_eq!((a.status(), a.has_photo, a.has_private), (AlertStatus::Reportada, true, true));
    assert!(store.public_alerts().await.unwrap().is_empty(), "a reported case is not public");
    assert!(store.public_alert(&folio).await.unwrap().is_none());
    assert_eq!(store.public_alerts_version().await.unwrap(), v0, "nothing public changed yet");

    activate(store, id).await;
    let a = store.alert(id).await.unwrap();
    assert_eq!(a.status(), AlertStatus::Activada);
    assert!(a.activated_at.is_some());
    assert!(store.public_alerts_version().await.unwrap() > v0);
    let public = store.public_alerts().await.unwrap();
    assert_eq!(public.len(), 1);
    assert_eq!(public[0].full_name, "María Fernanda López Cruz");
    assert_eq!(public[0].photo_size, Some(10));
    assert!(matches!(store.public_alert(&folio).await.unwrap(), Some(PublicAlertState::Active(_))));
    assert_eq!(store.public_document(&folio, "ficha.pdf").await.unwrap().unwrap().1, b"pdf-v1");
    assert_eq!(store.public_photo(&folio).await.unwrap().unwrap(), b"jpeg-bytes");
    let caps = store.public_cap_messages(&folio).await.unwrap();
    assert_eq!(caps.iter().map(|c| (c.identifier.as_str(), c.msg_type.as_str())).collect::<Vec<_>>(), [("AR-2026-0001-M1", "Alert")]);

    // Not twice.
    let again = store.activate_alert(&operator(), id, store.alert(id).await.unwrap().updated_at, true, &docs("v2"), SENDER, Some(&post(id, PublicationKind::Alerta))).await;
    assert!(matches!(again, Err(StoreError::Invalid(m)) if m.contains("no se puede pasar de «Activada» a «Activada»")));

    // Every channel posted it.
    store.mark_disseminated(&operator(), id, violeta_store::now()).await.unwrap();
    assert_eq!(store.alert(id).await.unwrap().status(), AlertStatus::Difundida);
    assert_eq!(store.public_alerts().await.unwrap().len(), 1, "still public while disseminated");

    // Located: everything public goes at once; the file keeps everything.
    let before = store.public_alerts_version().await.unwrap();
    store.conclude_alert(&operator(), id, Closing::LocalizadaConVida, "Localizada en Tlacolula, en buen estado", SENDER, Some(&post(id, PublicationKind::Retiro)), Takedown::Borrar).await.unwrap();
    assert!(store.public_alerts_version().await.unwrap() > before);
    assert!(store.public_alerts().await.unwrap().is_empty());
    match store.public_alert(&folio).await.unwrap() {
        Some(PublicAlertState::Concluded { folio: f, .. }) => assert_eq!(f, folio.as_str()),
        other => panic!("expected concluded, got {other:?}"),
    }
    assert!(store.public_document(&folio, "ficha.pdf").await.unwrap().is_none());
    assert!(store.public_photo(&folio).await.unwrap().is_none());
    assert!(store.alert_document_names(id).await.unwrap().is_empty(), "the rendered fichas are deleted");
    let kept = store.alert(id).await.unwrap();
    assert_eq!((kept.status(), kept.full_name.as_str(), kept.has_photo), (AlertStatus::LocalizadaConVida, "María Fernanda López Cruz", true));
    assert_eq!(store.alert_private(&operator(), id, Some(&key())).await.unwrap().reporter_name, REPORTER, "the file keeps the private part");
    let caps: Vec<String> = store.public_cap_messages(&folio).await.unwrap().into_iter().map(|c| c.msg_type).collect();
    assert_eq!(caps, ["Alert", "Update"]);

    // The timeline names every step with who and when.
    let events: Vec<String> = store.alert_events(id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(events, ["reportada", "riesgo", "activada", "difundida", "localizada_con_vida"]);
    assert!(store.alert_events(id).await.unwrap().iter().all(|e| e.actor == "operadora@violeta.test"));
    let actions = audit_actions(store, id).await;
    for a in ["alerta.reportar", "alerta.evaluar_riesgo", "alerta.activar", "alerta.difundida", "alerta.concluir", "alerta.leer_datos_privados"] {
        assert!(actions.iter().any(|x| x == a), "{a} missing from {actions:?}");
    }
    // Concluded is final.
    let reopen = store.conclude_alert(&operator(), id, Closing::Desactivada, "error", SENDER, Some(&post(id, PublicationKind::Retiro)), Takedown::Borrar).await;
    assert!(matches!(reopen, Err(StoreError::Conflict(m)) if m.contains("ya concluyó")));
    assert!(store.verify_audit().await.unwrap().is_ok());

    // A deactivation says why, and issues a CAP Cancel.
    let (id2, folio2) = ready(store, false).await;
    activate(store, id2).await;
    let no_reason = store.conclude_alert(&operator(), id2, Closing::Desactivada, " ", SENDER, Some(&post(id2, PublicationKind::Retiro)), Takedown::Borrar).await;
    assert!(matches!(no_reason, Err(StoreError::Invalid(m)) if m.contains("motivo")));
    store.conclude_alert(&operator(), id2, Closing::Desactivada, "Reporte duplicado de AR-2026-0001", SENDER, Some(&post(id2, PublicationKind::Retiro)), Takedown::Borrar).await.unwrap();
    let caps: Vec<String> = store.public_cap_messages(&folio2).await.unwrap().into_iter().map(|c| c.msg_type).collect();
    assert_eq!(caps, ["Alert", "Cancel"]);

    // A case withdrawn before activation was never public and stays unknown to the public.
    let (id3, folio3) = ready(store, false).await;
    store.conclude_alert(&operator(), id3, Closing::Desactivada, "Regresó a casa antes de activar", SENDER, Some(&post(id3, PublicationKind::Retiro)), Takedown::Borrar).await.unwrap();
    assert!(store.public_alert(&folio3).await.unwrap().is_none());
    assert!(store.public_cap_messages(&folio3).await.unwrap().is_empty());

    let open = store.alerts(&AlertFilter { open_only: true, query: None }).await.unwrap();
    assert!(open.is_empty(), "{open:?}");
    let found = store.alerts(&AlertFilter { open_only: false, query: Some("lópez".into()) }).await.unwrap();
    assert_eq!(found.len(), 3);
    let by_folio = store.alerts(&AlertFilter { open_only: false, query: Some("ar-2026-0002".into()) }).await.unwrap();
    assert_eq!(by_folio.len(), 1);
}

async fn drills_never_reach_the_public(db: &TestStore) {
    let store = &db.store;
    let v0 = store.public_alerts_version().await.unwrap();
    let (id, folio) = ready(store, true).await;
    assert_eq!(folio.as_str(), "SIM-2026-0001");
    activate(store, id).await;
    assert_eq!(store.alert(id).await.unwrap().status(), AlertStatus::Activada, "a drill goes through the steps");
    assert!(store.public_alerts().await.unwrap().is_empty());
    assert!(store.public_alert(&folio).await.unwrap().is_none());
    assert!(store.public_document(&folio, "ficha.pdf").await.unwrap().is_none());
    assert!(store.public_photo(&folio).await.unwrap().is_none());
    assert!(store.public_translations(&folio).await.unwrap().is_empty());
    assert!(store.public_cap_messages(&folio).await.unwrap().is_empty());
    assert!(store.cap_messages(id).await.unwrap().is_empty(), "no CAP message for a drill");
    assert_eq!(store.public_alerts_version().await.unwrap(), v0, "public caches are not even disturbed");
    assert_eq!(store.alert_document(id, "ficha.pdf").await.unwrap().unwrap().1, b"pdf-v1", "staff see the drill's ficha");
    store.mark_disseminated(&operator(), id, violeta_store::now()).await.unwrap();
    store.conclude_alert(&operator(), id, Closing::LocalizadaConVida, "Fin del simulacro", SENDER, Some(&post(id, PublicationKind::Retiro)), Takedown::Borrar).await.unwrap();
    assert!(store.public_alert(&folio).await.unwrap().is_none(), "not even 'concluded'");
    assert_eq!(store.public_alerts_version().await.unwrap(), v0);
    // Drills stay out of the report.
    let from = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
    assert!(store.alert_timings(from, violeta_store::now() + Duration::days(1)).await.unwrap().is_empty());
    // And a drill cannot turn into a real case.
    let (id2, _) = ready(store, true).await;
    let expected = store.alert(id2).await.unwrap().updated_at;
    let r = store.update_alert(&operator(), id2, expected, &draft(false), None, Some(&key()), &[], SENDER, Some(&post(id2, PublicationKind::Actualizacion))).await;
    assert!(matches!(r, Err(StoreError::Invalid(m)) if m.contains("simulacro")));
}

async fn private_fields_stay_out_of_public_queries_and_are_sealed(db: &TestStore) {
    let store = &db.store;
    let (id, folio) = ready(store, false).await;
    activate(store, id).await;
    let private = [REPORTER, PHONE, FILE_NUMBER, HEALTH, "Fiscalía General"];
    let public = serde_json::to_string(&store.public_alerts().await.unwrap()).unwrap();
    let one = match store.public_alert(&folio).await.unwrap() {
        Some(PublicAlertState::Active(a)) => serde_json::to_string(&a).unwrap(),
        other => panic!("{other:?}"),
    };
    for p in private {
        assert!(!public.contains(p), "{p} in the public list: {public}");
        assert!(!one.contains(p), "{p} in the public alert: {one}");
    }
    // The staff record does not carry it either: it takes an audited read.
    let staff = serde_json::to_string(&store.alert(id).await.unwrap()).unwrap();
    for p in [REPORTER, PHONE, FILE_NUMBER, HEALTH] {
        assert!(!staff.contains(p), "{p} in the staff record");
    }
    // At rest it is sealed: none of it is in the database in clear.
    let dump = private_columns(db).await;
    for p in [REPORTER, PHONE, FILE_NUMBER, HEALTH] {
        assert!(!dump.contains(p), "{p} stored in clear");
    }
    assert!(dump.contains("v1."), "the private part is stored sealed");
    // Without a key nothing private can be kept.
    let r = store.create_alert(&operator(), &draft(false), None, None).await;
    assert!(matches!(r, Err(StoreError::Conflict(m)) if m.contains("VIOLETA_SECRET_KEY")));
    // An empty private part needs no key.
    let mut d = draft(false);
    d.private = PrivateData::default();
    store.create_alert(&operator(), &d, None, None).await.unwrap();
}

/// What the database holds in the private column, read around the store.
async fn private_columns(db: &TestStore) -> String {
    let sql = "SELECT private_sealed FROM alerts";
    let rows: Vec<String> = match db.store.backend() {
        violeta_store::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            let r = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            r
        }
        violeta_store::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            let r = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            r
        }
    };
    rows.join("\n")
}

async fn private_reads_are_audited(db: &TestStore) {
    let store = &db.store;
    let (id, _) = ready(store, false).await;
    let reads = |actions: Vec<String>| actions.iter().filter(|a| *a == "alerta.leer_datos_privados").count();
    assert_eq!(reads(audit_actions(store, id).await), 0);
    let p = store.alert_private(&operator(), id, Some(&key())).await.unwrap();
    assert_eq!((p.reporter_name.as_str(), p.reporter_phone.as_str(), p.file_number.as_str(), p.health.as_str()), (REPORTER, PHONE, FILE_NUMBER, HEALTH));
    assert_eq!(reads(audit_actions(store, id).await), 1);
    // Another key opens nothing, and no read is recorded.
    let other = MasterKey::from_bytes([7; 32]);
    assert!(matches!(store.alert_private(&operator(), id, Some(&other)).await, Err(StoreError::Conflict(m)) if m.contains("VIOLETA_SECRET_KEY")));
    assert!(matches!(store.alert_private(&operator(), id, None).await, Err(StoreError::Conflict(_))));
    assert_eq!(reads(audit_actions(store, id).await), 1);
    // The audit entry names the case, never the values read.
    let f = AuditFilter { entity: Some("alerta".into()), entity_id: Some(id.to_string()), actor_id: None };
    let entries = store.audit_entries(&f, 100, 0).await.unwrap();
    for e in &entries {
        for secret in [REPORTER, PHONE, FILE_NUMBER, HEALTH] {
            assert!(!e.detail.contains(secret), "{} logs {secret}", e.action);
        }
    }
}

async fn activation_is_refused_until_checked_and_confirmed(db: &TestStore) {
    let store = &db.store;
    let (id, _) = store.create_alert(&operator(), &draft(false), None, Some(&key())).await.unwrap();
    let expected = store.alert(id).await.unwrap().updated_at;
    let r = store.activate_alert(&operator(), id, expected, false, &docs("x"), SENDER, Some(&post(id, PublicationKind::Alerta))).await;
    let Err(StoreError::Invalid(m)) = r else { panic!("{r:?}") };
    for reason in ["evaluación de riesgo", "fotografía", "confirme expresamente"] {
        assert!(m.contains(reason), "«{reason}» missing: {m}");
    }
    // A risk check that says no.
    let mut no = risk_ok();
    no.publish_ok = false;
    store.record_risk_check(&operator(), id, &no).await.unwrap();
    let d = draft(false);
    let expected = store.alert(id).await.unwrap().updated_at;
    store.update_alert(&operator(), id, expected, &d, Some(b"jpeg"), Some(&key()), &[], SENDER, Some(&post(id, PublicationKind::Actualizacion))).await.unwrap();
    let expected = store.alert(id).await.unwrap().updated_at;
    let r = store.activate_alert(&operator(), id, expected, true, &docs("x"), SENDER, Some(&post(id, PublicationKind::Alerta))).await;
    assert!(matches!(r, Err(StoreError::Invalid(m)) if m.contains("no es procedente")));
    // The newest check counts; an activation prepared before it is refused as stale.
    let stale = store.alert(id).await.unwrap().updated_at;
    store.record_risk_check(&operator(), id, &risk_ok()).await.unwrap();
    let r = store.activate_alert(&operator(), id, stale, true, &docs("x"), SENDER, Some(&post(id, PublicationKind::Alerta))).await;
    assert!(matches!(r, Err(StoreError::Conflict(m)) if m.contains("cambió")), "stale");
    assert_eq!(store.alert(id).await.unwrap().status(), AlertStatus::Reportada, "nothing half-done");
    activate(store, id).await;
    // After activation the risk check is closed.
    assert!(matches!(store.record_risk_check(&operator(), id, &risk_ok()).await, Err(StoreError::Conflict(_))));
}

async fn translations_and_updates_issue_cap_updates(db: &TestStore) {
    let store = &db.store;
    let (id, folio) = ready(store, false).await;
    let t = TranslationInput {
        language: "zap".into(),
        language_name: "Zapoteco del Istmo".into(),
        heading: "¡Gacanenu guidxélanu laa!".into(),
        body: "Texto traducido por el personal".into(),
        ..Default::default()
    }
    .validate()
    .unwrap();
    // Before activation: saved, nothing public.
    let expected = store.alert(id).await.unwrap().updated_at;
    store.save_translation(&operator(), id, expected, &t, &[], SENDER).await.unwrap();
    assert_eq!(store.translations(id).await.unwrap().len(), 1);
    assert!(store.public_translations(&folio).await.unwrap().is_empty());
    activate(store, id).await;
    assert_eq!(store.public_translations(&folio).await.unwrap()[0].language, "zap");
    // While public: the fichas must come along, and a CAP Update is issued.
    let expected = store.alert(id).await.unwrap().updated_at;
    assert!(matches!(store.save_translation(&operator(), id, expected, &t, &[], SENDER).await, Err(StoreError::Invalid(_))));
    let v = store.public_alerts_version().await.unwrap();
    store.save_translation(&operator(), id, expected, &t, &docs("v2"), SENDER).await.unwrap();
    assert!(store.public_alerts_version().await.unwrap() > v);
    assert_eq!(store.translations(id).await.unwrap().len(), 1, "the same language is replaced");
    assert_eq!(store.public_document(&folio, "ficha.pdf").await.unwrap().unwrap().1, b"pdf-v2");
    // A correction while public.
    let mut d = draft(false);
    d.clothing = "Chamarra roja".into();
    let expected = store.alert(id).await.unwrap().updated_at;
    store.update_alert(&operator(), id, expected, &d, None, Some(&key()), &docs("v3"), SENDER, Some(&post(id, PublicationKind::Actualizacion))).await.unwrap();
    assert_eq!(store.public_alerts().await.unwrap()[0].clothing, "Chamarra roja");
    assert_eq!(store.public_photo(&folio).await.unwrap().unwrap(), b"jpeg-bytes", "the photo is kept when none is sent");
    let caps: Vec<(String, String)> = store.public_cap_messages(&folio).await.unwrap().into_iter().map(|c| (c.identifier, c.msg_type)).collect();
    assert_eq!(
        caps,
        [
            ("AR-2026-0001-M1".to_string(), "Alert".to_string()),
            ("AR-2026-0001-M2".to_string(), "Update".to_string()),
            ("AR-2026-0001-M3".to_string(), "Update".to_string())
        ]
    );
    // A stale correction is refused.
    let r = store.update_alert(&operator(), id, expected, &d, None, Some(&key()), &docs("v4"), SENDER, Some(&post(id, PublicationKind::Actualizacion))).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))));
}

async fn folios_are_numbered_per_year_and_kind(db: &TestStore) {
    let store = &db.store;
    let mut folios = Vec::new();
    for drill in [false, true, false, true, false] {
        folios.push(store.create_alert(&operator(), &draft(drill), None, Some(&key())).await.unwrap().1.to_string());
    }
    assert_eq!(folios, ["AR-2026-0001", "SIM-2026-0001", "AR-2026-0002", "SIM-2026-0002", "AR-2026-0003"]);
}

async fn past_cases_and_their_times(db: &TestStore) {
    let store = &db.store;
    let reported = Utc.with_ymd_and_hms(2018, 6, 2, 15, 0, 0).unwrap();
    let past = PastAlert {
        draft: draft(false),
        reported_at: reported,
        activated_at: reported + Duration::minutes(90),
        disseminated_at: Some(reported + Duration::minutes(105)),
        closed_at: reported + Duration::hours(40),
        closing: Closing::LocalizadaConVida,
        close_note: String::new(),
    };
    let (id, folio) = store.record_past_alert(&operator(), &past, Some(&key())).await.unwrap();
    assert_eq!(folio.as_str(), "AR-2018-0001");
    let a = store.alert(id).await.unwrap();
    assert_eq!(a.status(), AlertStatus::LocalizadaConVida);
    assert!(store.public_alert(&folio).await.unwrap().is_some_and(|s| matches!(s, PublicAlertState::Concluded { .. })));
    let bad = PastAlert { activated_at: reported - Duration::minutes(1), ..past.clone() };
    assert!(matches!(store.record_past_alert(&operator(), &bad, Some(&key())).await, Err(StoreError::Invalid(_))));
    let from = Utc.with_ymd_and_hms(2018, 1, 1, 6, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2019, 1, 1, 6, 0, 0).unwrap();
    let t = store.alert_timings(from, to).await.unwrap();
    assert_eq!(t.len(), 1);
    let tl = t[0].timeline();
    assert_eq!((tl.report_to_activation(), tl.activation_to_all_posted(), tl.activation_to_localization()), (Some(90), Some(15), Some(40 * 60 - 90)));
    assert_eq!(t[0].year(), 2018);
    assert_eq!(t[0].municipality, "Oaxaca de Juárez");
    let events: Vec<String> = store.alert_events(id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(events, ["reportada", "activada", "difundida", "localizada_con_vida"]);
}

async fn every_channel_posted_makes_it_disseminated(db: &TestStore) {
    let store = &db.store;
    for n in 0..3 {
        let input = ChannelInput {
            platform: Platform::Mastodon,
            name: format!("Canal {n}"),
            handle: format!("@canal{n}"),
            api_base: "http://127.0.0.1:9".into(),
            remote_id: String::new(),
            credential: Some(violeta_domain::secret::Secret::new(format!("token-{n}"))),
            enabled: true,
        };
        store.create_channel(&operator(), &input, Some(&key())).await.unwrap();
    }
    let (id, _) = ready(store, false).await;
    activate(store, id).await;
    let queued = store.deliveries(id).await.unwrap();
    assert_eq!(queued.len(), 3, "one delivery per channel, queued with the activation");
    let jobs = store.claim_deliveries("trabajador", chrono::Duration::seconds(60), 10).await.unwrap();
    assert_eq!(jobs.len(), 3);
    for (i, job) in jobs.iter().enumerate() {
        assert_eq!(store.alert(id).await.unwrap().status(), AlertStatus::Activada, "not before every channel posted");
        let receipt = Receipt { remote_id: format!("p{i}"), remote_url: format!("https://mastodon.prueba/p{i}"), proof: "ok".into() };
        assert!(store.delivery_done(job.id, "trabajador", &receipt, false).await.unwrap());
    }
    let a = store.alert(id).await.unwrap();
    assert_eq!(a.status(), AlertStatus::Difundida);
    let last = store.deliveries(id).await.unwrap().iter().filter_map(|d| d.done_at).max();
    assert_eq!(a.disseminated_at, last, "at the time the last channel posted");
    assert!(a.timeline().activation_to_all_posted().is_some());
    let events = store.alert_events(id).await.unwrap();
    let difundida = events.iter().find(|e| e.kind == "difundida").expect("difundida in the timeline");
    assert!(difundida.note.contains("3 canales"));
    // Closing hands the closing post and the takedown to dissemination.
    store.conclude_alert(&operator(), id, Closing::LocalizadaConVida, "", SENDER, Some(&post(id, PublicationKind::Retiro)), Takedown::Borrar).await.unwrap();
    let after = store.deliveries(id).await.unwrap();
    assert_eq!(after.iter().filter(|d| d.kind == "retiro" && d.action == "publicar").count(), 3, "the closing post on every channel that carried it");
    assert_eq!(after.iter().filter(|d| d.action == "borrar").count(), 3, "and the original posts deleted");
    // A closing post of the wrong kind is refused, nothing half-done.
    let (id2, _) = ready(store, false).await;
    activate(store, id2).await;
    let r = store.conclude_alert(&operator(), id2, Closing::Desactivada, "x", SENDER, Some(&post(id2, PublicationKind::Alerta)), Takedown::Borrar).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))));
    assert_eq!(store.alert(id2).await.unwrap().status(), AlertStatus::Activada);
    // A drill reaches no channel.
    let (drill, _) = ready(store, true).await;
    activate(store, drill).await;
    assert!(store.deliveries(drill).await.unwrap().is_empty());
}
