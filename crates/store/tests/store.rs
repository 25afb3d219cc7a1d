//! The store's test suite. Every case runs on SQLite, and on PostgreSQL when
//! `VIOLETA_TEST_POSTGRES` names a server (`.ci/run` always sets it).

#[macro_use]
mod common;

use chrono::{Duration, NaiveDate};
use violeta_domain::access::{PeopleScope, Role};
use violeta_domain::audit::{Actor, ChainBreak};
use violeta_domain::curp::check_digit;
use violeta_domain::institution::{InstitutionKind, Level};
use violeta_domain::person::{PersonDraft, PersonInput, SexConvention};
use violeta_domain::territory::{AvgmKind, MunicipalityKey, StateKey};
use violeta_store::accounts::NewUser;
use violeta_store::institutions::NewInstitution;
use violeta_store::people::PeopleFilter;
use violeta_store::territory::{MunicipalityFilter, NewDeclaration, RegionAssignment};
use violeta_store::testing::TestStore;
use violeta_domain::geo::Point;
use violeta_domain::hours::OpeningHours;
use violeta_domain::safety::{SafeSpaceKind, SafeSpaceStatus, UnitStatus, VisitResult};
use violeta_store::safety::{NewSafeSpace, NewUnit, PlaceFilter};
use violeta_domain::training::{AttendanceStatus, Modality, SessionStatus};
use violeta_store::people::PersonRef;
use violeta_store::training::{AttendanceInput, CountFilter, NewTraining, TrainingDay};
use violeta_store::checkin::CheckIn;
use violeta_store::{Backend, Store, StoreError};


on_both_backends!(
    territory_is_loaded_from_inegi,
    migrating_twice_changes_nothing,
    regions_group_municipalities_of_one_state,
    region_import_is_all_or_nothing,
    avgm_declarations_cover_municipalities,
    avgm_import_is_all_or_nothing,
    people_are_unique_by_curp_and_scoped,
    personal_data_reads_are_audited,
    people_import_is_all_or_nothing,
    merging_a_person_without_curp,
    accounts_sessions_links_and_tokens,
    audit_chain_names_the_first_broken_row,
    jobs_are_claimed_once,
    units_keep_their_history_and_members,
    safe_spaces_public_view_hides_private_fields,
    visits_schedule_and_fall_overdue,
    coverage_counts_units_and_spaces_per_municipality,
    training_counts_people_participations_and_sessions_apart,
    bulk_attendance_matches_creates_and_upserts_all_or_nothing,
    people_keep_only_the_indexes_their_queries_use,
    qr_check_ins_arriving_together_each_count_once,
    merging_moves_attendance_and_unit_membership,
    evidence_files_are_kept_with_their_session,
    certification_catalogue_is_seeded_and_imported,
    certification_process_moves_in_order,
    certification_renewals_counts_and_scope,
    constancias_are_issued_once_revoked_and_reissued,
);

fn admin() -> Actor {
    Actor { user_id: None, label: "prueba@violeta.test".into(), origin: "127.0.0.1".into() }
}

fn key(s: &str) -> MunicipalityKey {
    MunicipalityKey::parse(s).unwrap()
}

fn oaxaca() -> StateKey {
    StateKey::parse("20").unwrap()
}

/// A valid synthetic CURP, distinct for each `n`.
fn curp(n: u32) -> String {
    let first17 = format!("GOMA{:02}{:02}{:02}MOCNRR{}", 70 + n % 29, 1 + n % 12, 1 + n % 28, (n / 1000) % 10);
    let chars: Vec<char> = first17.chars().collect();
    format!("{first17}{}", check_digit(&chars))
}

fn person(n: u32, institution_id: Option<i64>) -> PersonDraft {
    PersonInput {
        curp: curp(n),
        given_names: "MARÍA".into(),
        first_surname: "GÓMEZ".into(),
        second_surname: "RUIZ".into(),
        institution_id,
        municipality: "20067".into(),
        email: format!("maria{n}@example.org"),
        phone: "9511234567".into(),
        ..Default::default()
    }
    .validate(SexConvention::MujerHombre)
    .unwrap()
}

async fn institution(store: &Store, name: &str) -> i64 {
    store
        .create_institution(
            &admin(),
            &NewInstitution { name: name.into(), acronym: String::new(), kind: InstitutionKind::Dependencia, level: Level::Estatal, municipality: None },
        )
        .await
        .unwrap()
}

async fn territory_is_loaded_from_inegi(db: &TestStore) {
    let s = &db.store;
    let states = s.states().await.unwrap();
    assert_eq!(states.len(), 32);
    let all = s.municipalities(&MunicipalityFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2478);
    let oax = s.municipalities(&MunicipalityFilter { cve_ent: Some("20".into()), ..Default::default() }).await.unwrap();
    assert_eq!(oax.len(), 570);
    assert_eq!(oax.iter().filter(|m| m.head_lat.is_none()).count(), 239);
    let edomex = states.iter().find(|st| st.cve_ent == "15").unwrap();
    assert_eq!((edomex.name.as_str(), edomex.municipalities), ("México", 125));
    let capital = s.municipality(&key("20067")).await.unwrap();
    assert_eq!(capital.name, "Oaxaca de Juárez");
    assert_eq!(capital.population_women + capital.population_men, capital.population_total);
    // Accent-insensitive search.
    let found = s
        .municipalities(&MunicipalityFilter { cve_ent: Some("20".into()), query: Some("huatulco".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "Santa María Huatulco");
    assert_eq!(s.find_municipality(&oaxaca(), "SANTA MARIA HUATULCO").await.unwrap(), Some(key(&found[0].cvegeo)));
    // By key: only one the catalogue has, and of the state asked for.
    assert_eq!(s.find_municipality(&oaxaca(), " 20067 ").await.unwrap(), Some(key("20067")));
    assert_eq!(s.find_municipality(&oaxaca(), "20999").await.unwrap(), None, "well-formed, but Oaxaca has 570");
    assert_eq!(s.find_municipality(&oaxaca(), "15033").await.unwrap(), None, "Ecatepec is in the Estado de México");
}

async fn migrating_twice_changes_nothing(db: &TestStore) {
    db.store.migrate().await.unwrap();
    assert_eq!(db.store.municipalities(&MunicipalityFilter::default()).await.unwrap().len(), 2478);
}

async fn regions_group_municipalities_of_one_state(db: &TestStore) {
    let s = &db.store;
    let id = s.create_region(&admin(), &oaxaca(), "Papaloapan", &["Cuenca".into()], "demostración").await.unwrap();
    s.assign_to_region(&admin(), id, &[key("20067"), key("20184")]).await.unwrap();
    let regions = s.regions(&oaxaca()).await.unwrap();
    assert_eq!(regions.len(), 1);
    assert_eq!((regions[0].municipalities, regions[0].aliases.as_str()), (2, "Cuenca"));
    let m = s.municipality(&key("20184")).await.unwrap();
    assert_eq!(m.region.as_deref(), Some("Papaloapan"));
    let filtered = s.municipalities(&MunicipalityFilter { region_id: Some(id), ..Default::default() }).await.unwrap();
    assert_eq!(filtered.len(), 2);
    s.update_region(&admin(), id, "Cuenca del Papaloapan", &["Papaloapan".into(), "Cuenca".into()], "prueba").await.unwrap();
    s.remove_from_region(&admin(), id, &[key("20067")]).await.unwrap();
    let regions = s.regions(&oaxaca()).await.unwrap();
    assert_eq!((regions[0].name.as_str(), regions[0].municipalities), ("Cuenca del Papaloapan", 1));
    assert!(regions[0].aliases.contains("Papaloapan"));
    assert!(s.municipality(&key("20067")).await.unwrap().region.is_none());
    // A municipality of another state is refused.
    let err = s.assign_to_region(&admin(), id, &[key("15033")]).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    // The same name twice in one state is a conflict.
    let err = s.create_region(&admin(), &oaxaca(), "Cuenca del Papaloapan", &[], "").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
}

async fn region_import_is_all_or_nothing(db: &TestStore) {
    let s = &db.store;
    let rows = vec![
        RegionAssignment { municipality: key("20067"), region: "Valles Centrales".into(), aliases: vec![] },
        RegionAssignment { municipality: key("15033"), region: "Valles Centrales".into(), aliases: vec![] },
    ];
    assert!(s.import_regions(&admin(), &oaxaca(), &rows, "").await.is_err());
    assert!(s.regions(&oaxaca()).await.unwrap().is_empty(), "nothing half-written");
    let rows = vec![
        RegionAssignment { municipality: key("20067"), region: "Valles Centrales".into(), aliases: vec![] },
        RegionAssignment { municipality: key("20413"), region: "Costa".into(), aliases: vec![] },
    ];
    assert_eq!(s.import_regions(&admin(), &oaxaca(), &rows, "").await.unwrap(), 2);
    assert_eq!(s.regions(&oaxaca()).await.unwrap().len(), 2);
}

async fn avgm_declarations_cover_municipalities(db: &TestStore) {
    let s = &db.store;
    let d = NewDeclaration {
        state: oaxaca(),
        kind: AvgmKind::ViolenciaFeminicida,
        declared_on: NaiveDate::from_ymd_opt(2018, 8, 30).unwrap(),
        title: "Declaratoria de prueba".into(),
        source_note: "prueba".into(),
        municipalities: vec![key("20067"), key("20385")],
        measures: vec![("Seguridad".into(), "Patrullajes preventivos".into())],
    };
    let id = s.create_declaration(&admin(), &d).await.unwrap();
    let (decl, munis, measures) = s.declaration(id).await.unwrap();
    assert_eq!((decl.municipalities, munis.len(), measures.len()), (2, 2, 1));
    assert_eq!(decl.declared_on, NaiveDate::from_ymd_opt(2018, 8, 30).unwrap());
    s.add_measure(&admin(), id, "Prevención", "Campañas").await.unwrap();
    assert_eq!(s.declaration(id).await.unwrap().2[1].position, 2);
    let capital = s.municipality(&key("20067")).await.unwrap();
    assert_eq!(capital.avgm_kinds(), vec![AvgmKind::ViolenciaFeminicida]);
    let under = s.municipalities(&MunicipalityFilter { avgm_only: true, ..Default::default() }).await.unwrap();
    assert_eq!(under.len(), 2);
    // A municipality of another state is refused, and the declaration is not half-written.
    let bad = NewDeclaration { municipalities: vec![key("20067"), key("15033")], ..d };
    assert!(s.create_declaration(&admin(), &bad).await.is_err());
    assert_eq!(s.declarations(None).await.unwrap().len(), 1);
}

async fn avgm_import_is_all_or_nothing(db: &TestStore) {
    let s = &db.store;
    let good = NewDeclaration {
        state: StateKey::parse("15").unwrap(),
        kind: AvgmKind::Desaparicion,
        declared_on: NaiveDate::from_ymd_opt(2019, 9, 20).unwrap(),
        title: "Prueba".into(),
        source_note: String::new(),
        municipalities: vec![key("15033")],
        measures: vec![],
    };
    let bad = NewDeclaration { municipalities: vec![key("20067")], title: "Otra".into(), ..good.clone() };
    assert!(s.import_declarations(&admin(), &[good.clone(), bad]).await.is_err());
    assert!(s.declarations(None).await.unwrap().is_empty(), "nothing half-written");
    assert_eq!(s.import_declarations(&admin(), &[good]).await.unwrap().len(), 1);
    assert_eq!(s.municipality(&key("15033")).await.unwrap().avgm_kinds(), vec![AvgmKind::Desaparicion]);
}

async fn people_are_unique_by_curp_and_scoped(db: &TestStore) {
    let s = &db.store;
    let a = institution(s, "Secretaría de las Mujeres").await;
    let b = institution(s, "Secretaría de Seguridad Pública").await;
    let p1 = s.create_person(&admin(), &person(1, Some(a))).await.unwrap();
    s.create_person(&admin(), &person(2, Some(b))).await.unwrap();
    let err = s.create_person(&admin(), &person(1, Some(b))).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("ya existe una persona con la CURP")), "{err}");

    let (all, total) = s.people(PeopleScope::All, &PeopleFilter::default(), 50, 0).await.unwrap();
    assert_eq!((all.len(), total), (2, 2));
    let (own, _) = s.people(PeopleScope::Institution(a), &PeopleFilter::default(), 50, 0).await.unwrap();
    assert_eq!(own.iter().map(|p| p.id).collect::<Vec<_>>(), vec![p1]);
    assert!(s.people(PeopleScope::Nobody, &PeopleFilter::default(), 50, 0).await.unwrap().0.is_empty());
    assert!(matches!(s.person(PeopleScope::Institution(b), p1).await, Err(StoreError::NotFound(_))));
    let found = s.people(PeopleScope::All, &PeopleFilter { query: Some("maria gomez".into()), ..Default::default() }, 50, 0).await.unwrap();
    assert_eq!(found.1, 2);
    let p = s.person(PeopleScope::All, p1).await.unwrap();
    assert_eq!(p.full_name(), "María Gómez Ruiz");
    assert_eq!(p.institution.as_deref(), Some("Secretaría de las Mujeres"));
    assert_eq!(p.municipality.as_deref(), Some("Oaxaca de Juárez"));
    assert!(p.birth_date.is_some());
}

async fn personal_data_reads_are_audited(db: &TestStore) {
    let s = &db.store;
    let id = s.create_person(&admin(), &person(3, None)).await.unwrap();
    let data = s.personal_data(&admin(), PeopleScope::All, id).await.unwrap();
    assert_eq!(data.email, "maria3@example.org");
    let trail = s.audit_entries(&Default::default(), 10, 0).await.unwrap();
    assert_eq!(trail[0].action, "persona.leer_datos_personales");
    assert_eq!(trail[0].entity_id, id.to_string());
    assert_eq!(trail[0].actor, "prueba@violeta.test");
    assert_eq!(trail[1].action, "persona.crear");
    // Out of scope: no data, and no entry.
    assert!(s.personal_data(&admin(), PeopleScope::Institution(999), id).await.is_err());
    assert_eq!(s.audit_entries(&Default::default(), 10, 0).await.unwrap().len(), 2);
}

async fn people_import_is_all_or_nothing(db: &TestStore) {
    let s = &db.store;
    let existing = s.create_person(&admin(), &person(10, None)).await.unwrap();
    let mut drafts: Vec<PersonDraft> = (10..60).map(|n| person(n, None)).collect();
    // One row points at an institution that does not exist: the whole import fails.
    drafts[30].institution_id = Some(424242);
    assert!(s.import_people(&admin(), &drafts, &|_, _| {}).await.is_err());
    assert_eq!(s.count_people().await.unwrap(), 1);
    drafts[30].institution_id = None;
    let seen = std::sync::Mutex::new(0);
    let (created, updated) = s.import_people(&admin(), &drafts, &|done, _| *seen.lock().unwrap() = done).await.unwrap();
    assert_eq!((created, updated), (49, 1));
    assert_eq!(*seen.lock().unwrap(), 50);
    assert_eq!(s.count_people().await.unwrap(), 50);
    assert_eq!(s.person(PeopleScope::All, existing).await.unwrap().curp.as_deref(), Some(curp(10).as_str()));
}

async fn merging_a_person_without_curp(db: &TestStore) {
    let s = &db.store;
    let mut nameless = person(20, None);
    nameless.curp = None;
    let without = s.create_person(&admin(), &nameless).await.unwrap();
    let with = s.create_person(&admin(), &person(21, None)).await.unwrap();
    let (flagged, _) = s.people(PeopleScope::All, &PeopleFilter { without_curp: true, ..Default::default() }, 10, 0).await.unwrap();
    assert_eq!(flagged.iter().map(|p| p.id).collect::<Vec<_>>(), vec![without]);
    s.merge_people(&admin(), without, with).await.unwrap();
    assert_eq!(s.count_people().await.unwrap(), 1);
    assert_eq!(s.person(PeopleScope::All, without).await.unwrap().merged_into, Some(with));
    assert!(s.merge_people(&admin(), without, with).await.is_err(), "a merged record cannot merge again");
}

async fn accounts_sessions_links_and_tokens(db: &TestStore) {
    let s = &db.store;
    let inst = institution(s, "DIF Estatal").await;
    let new = NewUser {
        email: "Enlace@Example.org".into(),
        display_name: "Enlace".into(),
        roles: vec![Role::EnlaceInstitucional],
        institution_id: Some(inst),
        person_id: None,
    };
    let id = s.create_user(&admin(), &new).await.unwrap();
    assert!(matches!(s.create_user(&admin(), &new).await, Err(StoreError::Conflict(_))));
    let no_institution = NewUser { email: "otro@example.org".into(), institution_id: None, ..new.clone() };
    assert!(matches!(s.create_user(&admin(), &no_institution).await, Err(StoreError::Invalid(_))));
    let u = s.user_by_email("enlace@example.org").await.unwrap().unwrap();
    assert_eq!(u.principal().people_scope(), PeopleScope::Institution(inst));
    assert!(!u.has_password);

    s.create_password_link(&admin(), id, "enlace-secreto", Duration::hours(24)).await.unwrap();
    assert_eq!(s.password_link_user("enlace-secreto").await.unwrap(), Some(id));
    s.use_password_link("enlace-secreto", "$argon2id$hash", "127.0.0.1").await.unwrap();
    assert!(s.use_password_link("enlace-secreto", "$argon2id$otro", "127.0.0.1").await.is_err(), "one use only");
    assert_eq!(s.password_hash(id).await.unwrap().as_deref(), Some("$argon2id$hash"));

    s.create_session(id, "cookie-secreta", "csrf", "127.0.0.1", Duration::hours(8)).await.unwrap();
    let session = s.session("cookie-secreta").await.unwrap().unwrap();
    assert_eq!((session.user.id, session.csrf_token.as_str()), (id, "csrf"));
    assert!(s.session("otra").await.unwrap().is_none());
    s.delete_session(&admin(), "cookie-secreta").await.unwrap();
    assert!(s.session("cookie-secreta").await.unwrap().is_none());
    s.create_session(id, "caducada", "csrf", "127.0.0.1", Duration::seconds(-1)).await.unwrap();
    assert!(s.session("caducada").await.unwrap().is_none(), "an expired session does not sign in");

    s.set_roles(&admin(), id, &[Role::Coordinacion, Role::Instruccion]).await.unwrap();
    let mut roles = s.user(id).await.unwrap().role_list();
    roles.sort();
    assert_eq!(roles, vec![Role::Coordinacion, Role::Instruccion]);

    let token_id = s.create_api_token(&admin(), id, "integración", "token-secreto").await.unwrap();
    assert_eq!(s.user_by_api_token("token-secreto").await.unwrap().map(|u| u.id), Some(id));
    s.revoke_api_token(&admin(), id, token_id).await.unwrap();
    assert!(s.user_by_api_token("token-secreto").await.unwrap().is_none());

    let since = violeta_store::now() - Duration::minutes(15);
    for _ in 0..3 {
        s.record_login_attempt("enlace@example.org", "10.0.0.1", false).await.unwrap();
    }
    s.record_login_attempt("enlace@example.org", "10.0.0.2", true).await.unwrap();
    assert_eq!(s.failed_logins("ENLACE@example.org", "10.0.0.1", since).await.unwrap(), (3, 3));
}

async fn audit_chain_names_the_first_broken_row(db: &TestStore) {
    let s = &db.store;
    for n in 30..35 {
        s.create_person(&admin(), &person(n, None)).await.unwrap();
    }
    assert_eq!(s.verify_audit().await.unwrap(), Ok(5));
    // The trail refuses changes through SQL...
    assert!(db.raw("UPDATE audit_log SET actor = 'nadie' WHERE seq = 2").await.is_err());
    assert!(db.raw("DELETE FROM audit_log WHERE seq = 2").await.is_err());
    // ...and an attacker who removes the guard is still caught, at the right row.
    let drop_guard = match s.backend() {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;",
        Backend::Postgres => "DROP TRIGGER audit_log_append_only ON audit_log;",
    };
    db.raw(drop_guard).await.unwrap();
    db.raw("UPDATE audit_log SET actor = 'nadie' WHERE seq = 3").await.unwrap();
    assert_eq!(s.verify_audit().await.unwrap(), Err(ChainBreak::Altered(3)));
    db.raw("DELETE FROM audit_log WHERE seq = 2").await.unwrap();
    assert_eq!(s.verify_audit().await.unwrap(), Err(ChainBreak::Missing { expected: 2, found: 3 }));
}

async fn jobs_are_claimed_once(db: &TestStore) {
    let s = &db.store;
    for i in 0..20 {
        s.enqueue_job("prueba", &i.to_string(), violeta_store::now()).await.unwrap();
    }
    // Four workers race for the same queue; every job is taken exactly once.
    let mut handles = Vec::new();
    for w in 0..4 {
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            let worker = format!("w{w}");
            let mut mine = Vec::new();
            while let Some(job) = s.claim_job("prueba", &worker, Duration::minutes(5)).await.unwrap() {
                assert!(s.finish_job(job.id, &worker).await.unwrap());
                mine.push(job.payload);
            }
            mine
        }));
    }
    let mut all: Vec<String> = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all.sort_by_key(|p| p.parse::<i32>().unwrap());
    assert_eq!(all, (0..20).map(|i| i.to_string()).collect::<Vec<_>>());
    // A lease that runs out lets another worker take the job.
    let id = s.enqueue_job("prueba", "x", violeta_store::now()).await.unwrap();
    let first = s.claim_job("prueba", "muerto", Duration::seconds(-1)).await.unwrap().unwrap();
    assert_eq!(first.id, id);
    let again = s.claim_job("prueba", "vivo", Duration::minutes(5)).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (id, 2));
    assert!(!s.finish_job(id, "muerto").await.unwrap(), "a worker that lost its lease cannot finish");
}

#[tokio::test]
async fn sqlite_backup_is_a_consistent_copy() {
    let db = TestStore::sqlite().await.unwrap();
    db.store.create_person(&admin(), &person(40, None)).await.unwrap();
    let path = std::env::temp_dir().join(format!("violeta-backup-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    db.store.backup(path.to_str().unwrap()).await.unwrap();
    let copy = Store::connect(path.to_str().unwrap()).await.unwrap();
    assert_eq!(copy.count_people().await.unwrap(), 1);
    assert_eq!(copy.verify_audit().await.unwrap(), Ok(1));
    assert!(db.store.backup(path.to_str().unwrap()).await.is_err(), "never overwrites");
    copy.close().await;
    let _ = std::fs::remove_file(&path);
    db.cleanup().await;
}

fn unit(name: &str, muni: &str, status: UnitStatus) -> NewUnit {
    NewUnit {
        state: oaxaca(),
        name: name.into(),
        municipality: key(muni),
        status,
        activated_on: Some(NaiveDate::from_ymd_opt(2019, 3, 8).unwrap()),
        agreement: "Convenio de prueba".into(),
        contact_line: "951 000 0000".into(),
        notes: "nota interna".into(),
    }
}

fn space(name: &str, muni: &str) -> NewSafeSpace {
    NewSafeSpace {
        name: name.into(),
        kind: SafeSpaceKind::Comercio,
        address: "Calle de prueba 1".into(),
        municipality: key(muni),
        point: Point::new(17.06, -96.72).unwrap(),
        hours: OpeningHours::parse("lun-vie 09:00-18:00").unwrap(),
        contact_name: "Contacto Privado".into(),
        contact_phone: "9510000000".into(),
        notes: "nota interna".into(),
        installed_on: Some(NaiveDate::from_ymd_opt(2019, 5, 1).unwrap()),
        status: SafeSpaceStatus::Activo,
    }
}

async fn units_keep_their_history_and_members(db: &TestStore) {
    let s = &db.store;
    let id = s.create_unit(&admin(), &unit("URI Oaxaca de Juárez", "20067", UnitStatus::Activa)).await.unwrap();
    // A municipality of another state is refused.
    let err = s.create_unit(&admin(), &unit("URI Toluca", "15106", UnitStatus::Activa)).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("no pertenece a la entidad")), "{err}");
    s.change_unit_status(&admin(), id, UnitStatus::Suspendida, NaiveDate::from_ymd_opt(2019, 6, 1).unwrap(), "sin patrulla").await.unwrap();
    let (u, changes, _) = s.unit(id).await.unwrap();
    assert_eq!(u.status, "suspendida");
    assert_eq!(changes.iter().map(|c| c.status.as_str()).collect::<Vec<_>>(), ["activa", "suspendida"]);
    // Members come from the registry and must be police.
    let mut officer = person(50, None);
    officer.corps = Some(violeta_domain::person::Corps::Municipal);
    let officer = s.create_person(&admin(), &officer).await.unwrap();
    let civilian = s.create_person(&admin(), &person(51, None)).await.unwrap();
    s.add_unit_member(&admin(), id, officer, "Policía segundo", None).await.unwrap();
    assert!(matches!(s.add_unit_member(&admin(), id, civilian, "", None).await, Err(StoreError::Invalid(_))));
    assert!(matches!(s.add_unit_member(&admin(), id, officer, "", None).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.unit(id).await.unwrap().2.len(), 1);
    // Only active units are public.
    assert!(s.public_units(&PlaceFilter::default()).await.unwrap().is_empty());
    s.change_unit_status(&admin(), id, UnitStatus::Activa, NaiveDate::from_ymd_opt(2019, 7, 1).unwrap(), "").await.unwrap();
    assert_eq!(s.public_units(&PlaceFilter::default()).await.unwrap().len(), 1);
}

async fn safe_spaces_public_view_hides_private_fields(db: &TestStore) {
    let s = &db.store;
    let v0 = s.public_map_version().await.unwrap();
    let a = s.create_safe_space(&admin(), &space("Farmacia Centro", "20067")).await.unwrap();
    s.create_safe_space(&admin(), &space("Tienda Norte", "20390")).await.unwrap();
    assert!(s.public_map_version().await.unwrap() > v0, "a change bumps the public version");
    let public = s.public_safe_spaces(&PlaceFilter::default()).await.unwrap();
    assert_eq!(public.len(), 2);
    let json = serde_json::to_string(&public).unwrap();
    assert!(!json.contains("Contacto Privado") && !json.contains("nota interna") && !json.contains("9510000000"), "{json}");
    let staff = s.safe_space(a).await.unwrap();
    assert_eq!(staff.contact_name, "Contacto Privado");
    let only = s.public_safe_spaces(&PlaceFilter { cvegeo: Some("20390".into()), ..Default::default() }).await.unwrap();
    assert_eq!(only.len(), 1);
    s.set_safe_space_status(&admin(), a, SafeSpaceStatus::Retirado).await.unwrap();
    assert_eq!(s.public_safe_spaces(&PlaceFilter::default()).await.unwrap().len(), 1, "retired ones leave the map");
    // All or nothing.
    let mut bad = space("", "20067");
    bad.address = String::new();
    assert!(s.import_safe_spaces(&admin(), &[space("Uno", "20067"), bad]).await.is_err());
    assert_eq!(s.safe_spaces(&PlaceFilter::default()).await.unwrap().len(), 2);
}

async fn visits_schedule_and_fall_overdue(db: &TestStore) {
    let s = &db.store;
    let d = |m: u32, day: u32| NaiveDate::from_ymd_opt(2020, m, day).unwrap();
    let a = s.create_safe_space(&admin(), &space("Farmacia Centro", "20067")).await.unwrap();
    let v = s.schedule_visit(&admin(), a, d(1, 10)).await.unwrap();
    assert_eq!(s.overdue_visits(d(1, 11)).await.unwrap().len(), 1);
    assert!(s.overdue_visits(d(1, 10)).await.unwrap().is_empty());
    assert!(s.record_visit(&admin(), v, d(1, 12), VisitResult::Conforme, "", Some(d(1, 12))).await.is_err());
    s.record_visit(&admin(), v, d(1, 12), VisitResult::Conforme, "todo en orden", Some(d(4, 12))).await.unwrap();
    assert!(s.overdue_visits(d(2, 1)).await.unwrap().is_empty());
    let visits = s.visits(a).await.unwrap();
    assert_eq!(visits.len(), 2);
    assert_eq!(s.safe_space(a).await.unwrap().next_visit, Some(d(4, 12)));
    let pending = visits.iter().find(|x| x.visited_on.is_none()).unwrap().id;
    s.record_visit(&admin(), pending, d(4, 12), VisitResult::NoOpera, "cerró", None).await.unwrap();
    assert_eq!(s.safe_space(a).await.unwrap().status, "suspendido");
}

async fn coverage_counts_units_and_spaces_per_municipality(db: &TestStore) {
    let s = &db.store;
    let decl = s
        .create_declaration(
            &admin(),
            &NewDeclaration {
                state: oaxaca(),
                kind: AvgmKind::ViolenciaFeminicida,
                declared_on: NaiveDate::from_ymd_opt(2018, 8, 30).unwrap(),
                title: "Prueba".into(),
                source_note: String::new(),
                municipalities: vec![key("20067"), key("20390"), key("20413")],
                measures: vec![],
            },
        )
        .await
        .unwrap();
    s.create_unit(&admin(), &unit("URI Oaxaca", "20067", UnitStatus::Activa)).await.unwrap();
    s.create_unit(&admin(), &unit("URI Huatulco", "20413", UnitStatus::EnFormacion)).await.unwrap();
    for n in 0..3 {
        s.create_safe_space(&admin(), &space(&format!("Espacio {n}"), "20067")).await.unwrap();
    }
    let rows = s.coverage(decl).await.unwrap();
    let by = |k: &str| rows.iter().find(|r| r.cvegeo == k).unwrap();
    assert_eq!((by("20067").units_active, by("20067").safe_spaces), (1, 3));
    assert_eq!((by("20413").units_active, by("20413").unit_statuses.as_str()), (0, "en_formacion"));
    assert_eq!((by("20390").units_active, by("20390").safe_spaces), (0, 0));
}

fn training(title: &str, day: (i32, u32, u32), status: SessionStatus, programme_id: Option<i64>) -> NewTraining {
    NewTraining {
        title: title.into(),
        topic: "Perspectiva de género".into(),
        protocol: "Protocolo de actuación policial".into(),
        modality: Modality::Presencial,
        programme_id,
        course_key: "MS-1".into(),
        municipality: Some(key("20067")),
        venue: "Auditorio".into(),
        meeting_link: String::new(),
        instructors: "Instructora".into(),
        audience: vec!["policia_municipal".into()],
        capacity: Some(40),
        status,
        days: vec![TrainingDay { day: NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap(), starts_at: "09:00".into(), ends_at: "14:00".into() }],
        checkin_secret: "secreto".into(),
    }
}

async fn training_counts_people_participations_and_sessions_apart(db: &TestStore) {
    let s = &db.store;
    let programme = s.create_programme(&admin(), "Mujer Segura", "Capacitar policías", Some("20")).await.unwrap();
    assert!(matches!(s.create_programme(&admin(), "Mujer Segura", "", None).await, Err(StoreError::Conflict(_))));
    let a = s.create_training(&admin(), &training("Sesión A", (2019, 3, 1), SessionStatus::Realizada, Some(programme))).await.unwrap();
    let b = s.create_training(&admin(), &training("Sesión B", (2019, 4, 1), SessionStatus::Realizada, Some(programme))).await.unwrap();
    let planned = s.create_training(&admin(), &training("Sesión C", (2019, 5, 1), SessionStatus::Planeada, Some(programme))).await.unwrap();
    let mut bad = training("Sin fecha", (2019, 5, 1), SessionStatus::Planeada, None);
    bad.days.clear();
    assert!(matches!(s.create_training(&admin(), &bad).await, Err(StoreError::Invalid(_))));

    let mut officer = person(60, None);
    officer.corps = Some(violeta_domain::person::Corps::Municipal);
    let attend = |p: PersonRef, status| AttendanceInput { person: p, status, pre_score: None, post_score: None };
    // Session A: the officer (new, by CURP) and two more; one of them twice in the list.
    let (created, _) = s
        .record_attendance(
            &admin(),
            a,
            "lista",
            &[
                attend(PersonRef::Draft(Box::new(officer.clone())), AttendanceStatus::Asistio),
                attend(PersonRef::Draft(Box::new(person(61, None))), AttendanceStatus::Retardo),
                attend(PersonRef::Draft(Box::new(person(62, None))), AttendanceStatus::Falto),
                attend(PersonRef::Draft(Box::new(person(61, None))), AttendanceStatus::Asistio),
            ],
            &|_, _| {},
        )
        .await
        .unwrap();
    assert_eq!(created, 3, "the same CURP twice is one person");
    assert_eq!(s.attendance(a).await.unwrap().len(), 3, "a person counts once per session");
    // Session B: the officer again (matched by CURP, not created).
    let (created, _) = s
        .record_attendance(&admin(), b, "captura", &[attend(PersonRef::Draft(Box::new(officer.clone())), AttendanceStatus::Asistio)], &|_, _| {})
        .await
        .unwrap();
    assert_eq!(created, 0);
    // Planned session with attendance does not count until held.
    let someone = s.person_by_curp(PeopleScope::All, &curp(62)).await.unwrap().unwrap().id;
    s.record_attendance(&admin(), planned, "qr", &[attend(PersonRef::Existing(someone), AttendanceStatus::Asistio)], &|_, _| {}).await.unwrap();
    // A person who is not there: the database refuses, and the user reads Spanish, not the engine.
    let err = s.record_attendance(&admin(), planned, "qr", &[attend(PersonRef::Existing(987_654), AttendanceStatus::Asistio)], &|_, _| {}).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("un registro que no existe")), "{err:?}");

    let counts = s.training_counts(&CountFilter { programme_id: Some(programme), ..Default::default() }).await.unwrap();
    assert_eq!((counts.personas_capacitadas, counts.participaciones, counts.capacitaciones_impartidas), (2, 3, 2));
    let april = CountFilter { from: NaiveDate::from_ymd_opt(2019, 4, 1), to: NaiveDate::from_ymd_opt(2019, 4, 30), ..Default::default() };
    let counts = s.training_counts(&april).await.unwrap();
    assert_eq!((counts.personas_capacitadas, counts.participaciones, counts.capacitaciones_impartidas), (1, 1, 1));
    let other_state = s.training_counts(&CountFilter { cve_ent: Some("15".into()), ..Default::default() }).await.unwrap();
    assert_eq!(other_state.capacitaciones_impartidas, 0);

    // Police trained per protocol, by municipality.
    let trained = s.trained_police(&["20067".to_string()]).await.unwrap();
    assert_eq!(trained.len(), 1);
    assert_eq!((trained[0].protocol.as_str(), trained[0].people), ("Protocolo de actuación policial", 1));

    // A cancelled session takes no attendance; nothing half-written.
    s.set_training_status(&admin(), planned, SessionStatus::Cancelada).await.unwrap();
    let before = s.count_people().await.unwrap();
    let err = s
        .record_attendance(&admin(), planned, "lista", &[attend(PersonRef::Draft(Box::new(person(63, None))), AttendanceStatus::Asistio)], &|_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    assert_eq!(s.count_people().await.unwrap(), before);
}

/// Migration 0012: no index on the search key (the search is a substring match, which no
/// B-tree serves), and the institution index only for people with an institution; the
/// search and the institution's count still work.
async fn people_keep_only_the_indexes_their_queries_use(db: &TestStore) {
    let s = &db.store;
    let sql = match s.backend() {
        Backend::Sqlite => "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'people' AND sql IS NOT NULL",
        Backend::Postgres => "SELECT indexdef FROM pg_indexes WHERE tablename = 'people'",
    };
    let defs = db.raw_texts(sql).await.unwrap();
    assert!(!defs.iter().any(|d| d.contains("people_by_search_key")), "{defs:?}");
    let by_institution = defs.iter().find(|d| d.contains("people_by_institution")).expect("people_by_institution");
    assert!(by_institution.contains("WHERE") && by_institution.contains("institution_id IS NOT NULL"), "{by_institution}");

    let mut ana = person(90, None);
    ana.first_surname = "Ibáñez".into();
    s.create_person(&admin(), &ana).await.unwrap();
    let found = s.people(PeopleScope::All, &PeopleFilter { query: Some("ibanez".into()), ..Default::default() }, 5, 0).await.unwrap();
    assert_eq!(found.1, 1);
}

/// The bulk path (PostgreSQL: `COPY` for new people and their attendance; SQLite: multi-row
/// statements), past one statement's worth of rows, with text that `COPY` must escape.
async fn bulk_attendance_matches_creates_and_upserts_all_or_nothing(db: &TestStore) {
    let s = &db.store;
    let session = s.create_training(&admin(), &training("Sesión masiva", (2020, 2, 3), SessionStatus::Realizada, None)).await.unwrap();
    let attend = |p: PersonRef, status, pre: Option<f64>, post: Option<f64>| AttendanceInput { person: p, status, pre_score: pre, post_score: post };
    // Already registered: one with an earlier attendance in this session (scores kept when
    // the list gives none), one by id.
    let known = s.create_person(&admin(), &person(1, None)).await.unwrap();
    let by_id = s.create_person(&admin(), &person(2, None)).await.unwrap();
    s.record_attendance(&admin(), session, "captura", &[attend(PersonRef::Existing(known), AttendanceStatus::Retardo, Some(55.5), None)], &|_, _| {})
        .await
        .unwrap();
    let mut escaped = person(3, None);
    escaped.given_names = "Ana \\N".into();
    escaped.second_surname = "O\\Brien".into();
    escaped.email = "ana\\n@example.org".into();
    let mut without_curp = person(4, None);
    without_curp.curp = None;
    let mut rows = vec![
        attend(PersonRef::Draft(Box::new(person(1, None))), AttendanceStatus::Asistio, None, Some(90.25)),
        attend(PersonRef::Existing(by_id), AttendanceStatus::Justificada, None, None),
        attend(PersonRef::Draft(Box::new(escaped)), AttendanceStatus::Asistio, Some(0.1), Some(100.0)),
        attend(PersonRef::Draft(Box::new(without_curp)), AttendanceStatus::Falto, None, None),
    ];
    for n in 10..1210 {
        rows.push(attend(PersonRef::Draft(Box::new(person(n, None))), AttendanceStatus::Asistio, None, Some(f64::from(n % 100))));
    }
    let progress_seen = std::sync::atomic::AtomicUsize::new(0);
    let (created, recorded) = s
        .record_attendance(&admin(), session, "lista", &rows, &|done, total| {
            assert!(done <= total);
            progress_seen.store(done, std::sync::atomic::Ordering::SeqCst);
        })
        .await
        .unwrap();
    assert_eq!((created, recorded), (1202, 1204));
    assert_eq!(progress_seen.into_inner(), 1204);
    assert_eq!(s.count_people().await.unwrap(), 1204);

    let list = s.attendance(session).await.unwrap();
    assert_eq!(list.len(), 1204, "a person counts once per session");
    let row = |id: i64| list.iter().find(|a| a.person_id == id).unwrap();
    // The earlier record was updated: new status and source, the pre score kept.
    let k = row(known);
    assert_eq!((k.status.as_str(), k.source.as_str(), k.pre_score, k.post_score), ("asistio", "lista", Some(55.5), Some(90.25)));
    assert_eq!(row(by_id).status, "justificada");
    let ana = s.person_by_curp(PeopleScope::All, &curp(3)).await.unwrap().unwrap();
    assert_eq!((ana.given_names.as_str(), ana.second_surname.as_str()), ("Ana \\N", "O\\Brien"));
    assert_eq!(ana.birth_date, violeta_domain::curp::Curp::parse(&curp(3)).unwrap().birth_date());
    assert_eq!((ana.cvegeo.as_deref(), ana.sex.as_deref()), (Some("20067"), Some("mujer")));
    assert_eq!(s.personal_data(&admin(), PeopleScope::All, ana.id).await.unwrap().email, "ana\\n@example.org");
    let a = row(ana.id);
    assert_eq!((a.pre_score, a.post_score), (Some(0.1), Some(100.0)));
    let last = s.person_by_curp(PeopleScope::All, &curp(1209)).await.unwrap().unwrap();
    assert_eq!((row(last.id).status.as_str(), row(last.id).post_score), ("asistio", Some(9.0)));
    // Found by name search, so the search key was written.
    let found = s.people(PeopleScope::All, &PeopleFilter { query: Some("brien".into()), ..Default::default() }, 5, 0).await.unwrap();
    assert_eq!(found.1, 1);
    assert_eq!(s.verify_audit().await.unwrap().map(|_| ()), Ok(()));

    // All or nothing: a CURP taken by someone else in the same list fails the whole list,
    // and so does a person id that does not exist.
    let before = (s.count_people().await.unwrap(), s.attendance(session).await.unwrap().len());
    let other = s.create_training(&admin(), &training("Otra sesión", (2020, 2, 4), SessionStatus::Realizada, None)).await.unwrap();
    let mut rows: Vec<AttendanceInput> = (2000..2400).map(|n| attend(PersonRef::Draft(Box::new(person(n, None))), AttendanceStatus::Asistio, None, None)).collect();
    rows.push(attend(PersonRef::Existing(999_999), AttendanceStatus::Asistio, None, None));
    assert!(s.record_attendance(&admin(), other, "lista", &rows, &|_, _| {}).await.is_err());
    assert_eq!((s.count_people().await.unwrap(), s.attendance(session).await.unwrap().len()), before);
    assert!(s.attendance(other).await.unwrap().is_empty());
}

/// Many phones checking in at once: the writer commits them in groups, and still every
/// check-in is recorded once, with its own audit entry; a check-in for a cancelled or
/// missing session fails alone.
async fn qr_check_ins_arriving_together_each_count_once(db: &TestStore) {
    let s = &db.store;
    let session = s.create_training(&admin(), &training("Sesión con QR", (2021, 6, 1), SessionStatus::Realizada, None)).await.unwrap();
    let cancelled = s.create_training(&admin(), &training("Sesión cancelada", (2021, 6, 2), SessionStatus::Cancelada, None)).await.unwrap();
    let registered = s.create_person(&admin(), &person(500, None)).await.unwrap();
    // What the check-in page needs (kept in memory after the first read).
    for _ in 0..2 {
        assert_eq!(s.training_checkin(session).await.unwrap(), ("Sesión con QR".to_string(), "secreto".to_string()));
    }
    assert!(matches!(s.training_checkin(999_999).await, Err(StoreError::NotFound(_))));
    let audit_before = s.verify_audit().await.unwrap().unwrap();
    let phone = |n: u32| Actor { user_id: None, label: "anónimo".into(), origin: format!("10.0.0.{}", n % 250) };
    let mut tasks = tokio::task::JoinSet::new();
    // 120 people, some of whom tap twice; one already registered; and three that must fail.
    for n in 0..150u32 {
        let (store, who) = (s.clone(), 600 + n % 120);
        tasks.spawn(async move { (n, store.check_in(&phone(n), session, person(who, None)).await) });
    }
    for n in [150u32, 151] {
        let store = s.clone();
        tasks.spawn(async move { (n, store.check_in(&phone(n), session, person(500, None)).await) });
    }
    {
        let store = s.clone();
        tasks.spawn(async move { (1000, store.check_in(&phone(1), cancelled, person(900, None)).await) });
        let store = s.clone();
        tasks.spawn(async move { (1001, store.check_in(&phone(2), 999_999, person(901, None)).await) });
        // A municipality key of the right shape that INEGI does not have: the database
        // refuses it, which fails its group; the others are then committed one by one.
        let mut nowhere = person(902, None);
        nowhere.municipality = Some(key("20999"));
        let store = s.clone();
        tasks.spawn(async move { (1002, store.check_in(&phone(4), session, nowhere).await) });
    }
    let mut ok: Vec<CheckIn> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (n, outcome) = joined.unwrap();
        match n {
            1000 => assert!(matches!(outcome, Err(StoreError::Invalid(_))), "cancelled session: {outcome:?}"),
            1001 => assert!(matches!(outcome, Err(StoreError::NotFound(_))), "missing session: {outcome:?}"),
            1002 => assert!(outcome.is_err(), "unknown municipality: {outcome:?}"),
            _ => ok.push(outcome.unwrap()),
        }
    }
    assert_eq!(ok.len(), 152, "no check-in lost");
    let people: std::collections::HashSet<i64> = ok.iter().map(|c| c.person_id).collect();
    assert_eq!(people.len(), 121);
    assert!(people.contains(&registered));
    assert_eq!(ok.iter().filter(|c| c.created).count(), 120, "each new person is created once");
    assert_eq!(s.attendance(session).await.unwrap().len(), 121, "a person counts once per session");
    assert!(s.attendance(cancelled).await.unwrap().is_empty());
    for failed in [900, 901, 902] {
        assert_eq!(s.person_by_curp(PeopleScope::All, &curp(failed)).await.unwrap().map(|p| p.id), None, "nothing written for a failed check-in");
    }
    // One audit entry per check-in, naming the person, and the chain holds.
    assert_eq!(s.verify_audit().await.unwrap().unwrap(), audit_before + 152);
    let entries = s.audit_entries(&Default::default(), 200, 0).await.unwrap();
    let check_ins: Vec<_> = entries.iter().filter(|e| e.action == "capacitacion.asistencia").collect();
    assert_eq!(check_ins.len(), 152);
    let named: std::collections::HashSet<i64> =
        check_ins.iter().map(|e| serde_json::from_str::<serde_json::Value>(&e.detail).unwrap()["persona"].as_i64().unwrap()).collect();
    assert_eq!(named, people);
    // Without a CURP there is nobody to match: refused before it is queued.
    let mut anonymous = person(800, None);
    anonymous.curp = None;
    assert!(matches!(s.check_in(&phone(3), session, anonymous).await, Err(StoreError::Invalid(_))));
}

// ----- certification -----

fn standard_draft(code: &str, title: &str, valid_years: &str) -> violeta_domain::certification::StandardDraft {
    violeta_domain::certification::StandardInput {
        code: code.into(),
        title: title.into(),
        level: "3".into(),
        valid_years: valid_years.into(),
        source: "prueba".into(),
        active: String::new(),
    }
    .validate()
    .unwrap()
}

fn evaluation(on: NaiveDate, outcome: violeta_domain::certification::Outcome) -> violeta_domain::certification::Evaluation {
    violeta_domain::certification::Evaluation {
        evaluator_user_id: None,
        evaluator_name: "Evaluadora de prueba".into(),
        evaluated_on: Some(on),
        outcome: Some(outcome),
        portfolio: "Portafolio completo".into(),
    }
}

fn certificate(folio: &str, on: NaiveDate) -> violeta_domain::certification::Certificate {
    violeta_domain::certification::Certificate { folio: folio.into(), certified_on: Some(on), certifying_entity: "ECE de prueba".into() }
}

async fn certification_catalogue_is_seeded_and_imported(db: &TestStore) {
    let s = &db.store;
    let seeded = s.standards().await.unwrap();
    assert_eq!(seeded.len(), 1, "only confirmed standards ship");
    let ec0539 = &seeded[0];
    assert_eq!(ec0539.code, "EC0539");
    assert_eq!(ec0539.title, "Atención presencial de primer contacto a mujeres víctimas de violencia de género");
    assert!(ec0539.source.contains("Registro Nacional de Estándares de Competencia"), "{}", ec0539.source);
    assert_eq!((ec0539.level, ec0539.valid_years), (None, None), "level and validity are not invented");
    assert_eq!(violeta_store::certification::shipped_standards().unwrap().len(), 1);
    // Migrating again seeds nothing twice.
    s.migrate().await.unwrap();
    assert_eq!(s.standards().await.unwrap().len(), 1);

    let dup = s.create_standard(&admin(), &standard_draft("ec0539", "Otro título", "")).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(ref m) if m.contains("EC0539 ya está en el catálogo")), "{dup}");
    let id = s.create_standard(&admin(), &standard_draft("EC9001", "Estándar de prueba", "")).await.unwrap();
    assert_eq!(s.standard_by_code("EC9001").await.unwrap().unwrap().id, id);

    // All or nothing: a row that fails leaves nothing written.
    let mut broken = standard_draft("EC9003", "Otro", "");
    broken.title = String::new();
    let err = s.import_standards(&admin(), &[standard_draft("EC9002", "Nuevo", "3"), broken]).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert!(s.standard_by_code("EC9002").await.unwrap().is_none(), "nothing half-written");
    let (created, updated) = s
        .import_standards(&admin(), &[standard_draft("EC9002", "Nuevo", "3"), standard_draft("EC9001", "Estándar de prueba, título corregido", "2")])
        .await
        .unwrap();
    assert_eq!((created, updated), (1, 1));
    let edited = s.standard(id).await.unwrap();
    assert_eq!((edited.title.as_str(), edited.valid_years, edited.level), ("Estándar de prueba, título corregido", Some(2), Some(3)));

    // The code of a standard never changes; the rest does.
    assert!(matches!(s.update_standard(&admin(), id, &standard_draft("EC9009", "x", "")).await, Err(StoreError::Invalid(_))));
    let mut inactive = standard_draft("EC9001", "Estándar de prueba", "");
    inactive.active = false;
    s.update_standard(&admin(), id, &inactive).await.unwrap();
    assert!(!s.standard(id).await.unwrap().active);
    let person_id = s.create_person(&admin(), &person(70, None)).await.unwrap();
    let err = s
        .open_process(&admin(), &violeta_store::certification::NewProcess { person_id, standard_id: id, cohort_id: None, diagnosis_on: None, note: String::new() })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("inactivo")), "{err}");

    // A standard in use cannot be deleted; an unused one can.
    let ec0539_id = ec0539.id;
    s.open_process(&admin(), &violeta_store::certification::NewProcess { person_id, standard_id: ec0539_id, cohort_id: None, diagnosis_on: None, note: String::new() })
        .await
        .unwrap();
    assert!(matches!(s.delete_standard(&admin(), ec0539_id).await, Err(StoreError::Conflict(_))));
    s.delete_standard(&admin(), id).await.unwrap();
    assert!(s.standard_by_code("EC9001").await.unwrap().is_none());
    let actions: Vec<String> = s.audit_entries(&Default::default(), 20, 0).await.unwrap().into_iter().map(|e| e.action).collect();
    for a in ["certificacion.estandar.crear", "certificacion.estandar.importar", "certificacion.estandar.editar", "certificacion.estandar.eliminar", "certificacion.proceso.abrir"] {
        assert!(actions.iter().any(|x| x == a), "{a} not audited: {actions:?}");
    }
}

async fn certification_process_moves_in_order(db: &TestStore) {
    use violeta_domain::certification::{Outcome, Stage};
    use violeta_store::certification::{NewCohort, NewProcess, ProcessFilter, Step};
    let s = &db.store;
    let d = |m: u32, day: u32| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
    let standard = s.create_standard(&admin(), &standard_draft("EC9101", "Estándar con vigencia", "3")).await.unwrap();
    let other_standard = s.standard_by_code("EC0539").await.unwrap().unwrap().id;
    let inst = institution(s, "Secretaría de las Mujeres").await;
    let cohort = s
        .create_cohort(
            &admin(),
            &NewCohort { standard_id: standard, name: "Generación 2025".into(), starts_on: Some(d(3, 1)), ends_on: Some(d(6, 30)), institution_ids: vec![inst, inst], notes: String::new() },
        )
        .await
        .unwrap();
    assert!(matches!(
        s.create_cohort(&admin(), &NewCohort { standard_id: standard, name: "Generación 2025".into(), starts_on: None, ends_on: None, institution_ids: vec![], notes: String::new() }).await,
        Err(StoreError::Conflict(_))
    ));
    let cohorts = s.cohorts(PeopleScope::All, Some(standard)).await.unwrap();
    assert_eq!((cohorts.len(), cohorts[0].institutions.as_str()), (1, "Secretaría de las Mujeres"));

    let person_id = s.create_person(&admin(), &person(71, Some(inst))).await.unwrap();
    let open = |cohort_id| NewProcess { person_id, standard_id: standard, cohort_id, diagnosis_on: Some(d(3, 3)), note: "Diagnóstico inicial".into() };
    // A cohort of another standard is refused.
    let foreign_cohort = s
        .create_cohort(&admin(), &NewCohort { standard_id: other_standard, name: "Otro".into(), starts_on: None, ends_on: None, institution_ids: vec![], notes: String::new() })
        .await
        .unwrap();
    assert!(matches!(s.open_process(&admin(), &open(Some(foreign_cohort))).await, Err(StoreError::Invalid(_))));
    let id = s.open_process(&admin(), &open(Some(cohort))).await.unwrap();
    let err = s.open_process(&admin(), &open(None)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("ya tiene un proceso abierto en EC9101")), "{err}");
    assert_eq!(s.cohorts(PeopleScope::All, Some(standard)).await.unwrap()[0].candidates, 1);

    // Out of order: refused with the next step named, nothing written.
    let err = s.advance_process(&admin(), id, Stage::Evaluacion, &Step::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m == "no se puede pasar de «Diagnóstico» a «Evaluación»: el siguiente paso es «Alineación»"), "{err}");
    assert!(s.record_evaluation(&admin(), id, &evaluation(d(5, 2), Outcome::Competente), "").await.is_err());
    assert!(s.record_certificate(&admin(), id, &certificate("F-1", d(6, 1)), "").await.is_err());
    assert!(matches!(s.advance_process(&admin(), id, Stage::Certificado, &Step::default()).await, Err(StoreError::Invalid(_))));
    assert_eq!(s.process(PeopleScope::All, id).await.unwrap().stage, "diagnostico");

    // Alignment, linked to a training session.
    let session = s.create_training(&admin(), &training("Alineación EC9101", (2025, 4, 1), SessionStatus::Realizada, None)).await.unwrap();
    assert!(s.advance_process(&admin(), id, Stage::Alineacion, &Step { alignment_session_id: Some(424242), ..Default::default() }).await.is_err());
    s.advance_process(&admin(), id, Stage::Alineacion, &Step { alignment_session_id: Some(session), alignment_note: String::new(), note: String::new() }).await.unwrap();
    s.advance_process(&admin(), id, Stage::Evaluacion, &Step::default()).await.unwrap();
    let p = s.process(PeopleScope::All, id).await.unwrap();
    assert_eq!((p.stage.as_str(), p.alignment_session.as_deref()), ("evaluacion", Some("Alineación EC9101")));

    // An evaluation needs its evaluator, date and result; the certificate needs "competente".
    let mut incomplete = evaluation(d(5, 2), Outcome::Competente);
    incomplete.evaluator_name = String::new();
    incomplete.outcome = None;
    let err = s.record_evaluation(&admin(), id, &incomplete, "").await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("falta la persona evaluadora y el resultado")), "{err}");
    assert!(s.record_certificate(&admin(), id, &certificate("F-1", d(6, 1)), "").await.unwrap_err().to_string().contains("registre primero la evaluación"));

    // "Todavía no competente" closes the attempt; a new attempt starts at alineación.
    s.record_evaluation(&admin(), id, &evaluation(d(5, 2), Outcome::TodaviaNoCompetente), "Faltó evidencia").await.unwrap();
    let p = s.process(PeopleScope::All, id).await.unwrap();
    assert_eq!((p.stage.as_str(), p.result.as_deref()), ("todavia_no_competente", Some("todavia_no_competente")));
    assert!(s.advance_process(&admin(), id, Stage::Evaluacion, &Step::default()).await.is_err());
    s.advance_process(&admin(), id, Stage::Alineacion, &Step { alignment_note: "Asesoría individual".into(), ..Default::default() }).await.unwrap();
    let p = s.process(PeopleScope::All, id).await.unwrap();
    assert_eq!((p.stage.as_str(), p.attempt, p.result.as_deref(), p.evaluated_on), ("alineacion", 2, None, None));
    assert_eq!((p.alignment_session_id, p.alignment_note.as_str()), (None, "Asesoría individual"));
    s.advance_process(&admin(), id, Stage::Evaluacion, &Step::default()).await.unwrap();
    s.record_evaluation(&admin(), id, &evaluation(d(6, 10), Outcome::Competente), "").await.unwrap();
    assert!(matches!(s.record_evaluation(&admin(), id, &evaluation(d(6, 11), Outcome::Competente), "").await, Err(StoreError::Conflict(_))), "one evaluation per attempt");
    assert_eq!(s.process(PeopleScope::All, id).await.unwrap().stage, "evaluacion", "waits for the certificate");

    // The certificate: folio, date, entity; the expiry follows the standard's validity.
    let mut no_folio = certificate("", d(7, 1));
    no_folio.certifying_entity = String::new();
    let err = s.record_certificate(&admin(), id, &no_folio, "").await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("falta el folio del certificado y la entidad certificadora")), "{err}");
    assert!(s.record_certificate(&admin(), id, &certificate("F-1", d(6, 1)), "").await.unwrap_err().to_string().contains("anterior a la evaluación"));
    s.record_certificate(&admin(), id, &certificate(" f-2025-0001 ", d(7, 1)), "").await.unwrap();
    let p = s.process(PeopleScope::All, id).await.unwrap();
    assert_eq!((p.stage.as_str(), p.certificate_folio.as_deref()), ("certificado", Some("F-2025-0001")));
    assert_eq!((p.certified_on, p.expires_on), (Some(d(7, 1)), NaiveDate::from_ymd_opt(2028, 7, 1)));
    assert!(s.advance_process(&admin(), id, Stage::Alineacion, &Step::default()).await.is_err(), "a certified process is closed");

    // A folio is unique: a second person with the same folio is refused.
    let second = s.create_person(&admin(), &person(72, Some(inst))).await.unwrap();
    let other = s.open_process(&admin(), &NewProcess { person_id: second, standard_id: standard, cohort_id: Some(cohort), diagnosis_on: None, note: String::new() }).await.unwrap();
    s.advance_process(&admin(), other, Stage::Alineacion, &Step::default()).await.unwrap();
    s.advance_process(&admin(), other, Stage::Evaluacion, &Step::default()).await.unwrap();
    s.record_evaluation(&admin(), other, &evaluation(d(6, 10), Outcome::Competente), "").await.unwrap();
    let err = s.record_certificate(&admin(), other, &certificate("F-2025-0001", d(7, 2)), "").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("el folio F-2025-0001 ya está registrado")), "{err}");
    assert_eq!(s.process(PeopleScope::All, other).await.unwrap().stage, "evaluacion");

    // Once certified, the person may open a new process in the same standard (a renewal).
    s.open_process(&admin(), &open(None)).await.unwrap();

    // History, oldest first, with who did each step.
    let events = s.process_events(PeopleScope::All, id).await.unwrap();
    let stages: Vec<&str> = events.iter().map(|e| e.stage.as_str()).collect();
    assert_eq!(stages, ["diagnostico", "alineacion", "evaluacion", "todavia_no_competente", "alineacion", "evaluacion", "evaluacion", "certificado"]);
    assert!(events[0].note.contains("Diagnóstico inicial"));
    assert!(events[3].note.contains("Todavía no competente") && events[3].note.contains("Faltó evidencia"), "{}", events[3].note);
    assert!(events.iter().all(|e| e.by_label == "prueba@violeta.test"));

    // Lists by standard, cohort and stage.
    let by_cohort = s.processes(PeopleScope::All, &ProcessFilter { cohort_id: Some(cohort), ..Default::default() }).await.unwrap();
    assert_eq!(by_cohort.len(), 2);
    let certified = s.processes(PeopleScope::All, &ProcessFilter { standard_id: Some(standard), stage: Some(Stage::Certificado), ..Default::default() }).await.unwrap();
    assert_eq!(certified.iter().map(|p| p.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(s.processes(PeopleScope::All, &ProcessFilter { standard_id: Some(standard), ..Default::default() }).await.unwrap().len(), 3);
    assert!(s.verify_audit().await.unwrap().is_ok());
}

async fn certification_renewals_counts_and_scope(db: &TestStore) {
    use violeta_domain::certification::{Outcome, Stage};
    use violeta_store::certification::{NewProcess, Period, Step};
    let s = &db.store;
    let d = |y: i32, m: u32, day: u32| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let standard = s.create_standard(&admin(), &standard_draft("EC9201", "Estándar de tres años", "3")).await.unwrap();
    let a = institution(s, "Secretaría de las Mujeres").await;
    let b = institution(s, "Fiscalía General").await;
    // Certifies a new person of `inst` on `on`; returns (person, process).
    let certify = |n: u32, inst: i64, on: NaiveDate| async move {
        let person_id = s.create_person(&admin(), &person(n, Some(inst))).await.unwrap();
        let id = s.open_process(&admin(), &NewProcess { person_id, standard_id: standard, cohort_id: None, diagnosis_on: None, note: String::new() }).await.unwrap();
        s.advance_process(&admin(), id, Stage::Alineacion, &Step::default()).await.unwrap();
        s.advance_process(&admin(), id, Stage::Evaluacion, &Step::default()).await.unwrap();
        s.record_evaluation(&admin(), id, &evaluation(on, Outcome::Competente), "").await.unwrap();
        s.record_certificate(&admin(), id, &certificate(&format!("F-{n}"), on), "").await.unwrap();
        (person_id, id)
    };
    let today = d(2026, 1, 15);
    let (_, expired) = certify(80, a, d(2022, 12, 1)).await; // expired 2025-12-01
    let (_, soon) = certify(81, b, d(2023, 3, 1)).await; // expires 2026-03-01: within 90 days
    let (_, _later) = certify(82, a, d(2023, 9, 1)).await; // expires 2026-09-01: not yet due
    let (renewed_person, old) = certify(83, a, d(2022, 11, 1)).await; // expired, but renewed below
    let renewal = s.open_process(&admin(), &NewProcess { person_id: renewed_person, standard_id: standard, cohort_id: None, diagnosis_on: None, note: String::new() }).await.unwrap();

    let due = s.renewals_due(PeopleScope::All, today).await.unwrap();
    assert_eq!(due.iter().map(|r| r.process_id).collect::<Vec<_>>(), vec![old, expired, soon], "oldest expiry first");
    assert_eq!(due.iter().find(|r| r.process_id == old).unwrap().renewals_open, 1, "a renewal is under way");
    // A completed renewal takes the old certificate off the list.
    s.advance_process(&admin(), renewal, Stage::Alineacion, &Step::default()).await.unwrap();
    s.advance_process(&admin(), renewal, Stage::Evaluacion, &Step::default()).await.unwrap();
    s.record_evaluation(&admin(), renewal, &evaluation(d(2026, 1, 5), Outcome::Competente), "").await.unwrap();
    s.record_certificate(&admin(), renewal, &certificate("F-83-R", d(2026, 1, 10)), "").await.unwrap();
    let due = s.renewals_due(PeopleScope::All, today).await.unwrap();
    assert_eq!(due.iter().map(|r| r.process_id).collect::<Vec<_>>(), vec![expired, soon]);
    // Scoped: an enlace sees only its institution's certificates.
    let due_b = s.renewals_due(PeopleScope::Institution(b), today).await.unwrap();
    assert_eq!(due_b.iter().map(|r| r.process_id).collect::<Vec<_>>(), vec![soon]);
    assert!(s.renewals_due(PeopleScope::Nobody, today).await.unwrap().is_empty());

    // A corrected validity moves the expiry of certificates already recorded.
    let mut longer = standard_draft("EC9201", "Estándar de tres años", "5");
    longer.level = None;
    s.update_standard(&admin(), standard, &longer).await.unwrap();
    assert_eq!(s.process(PeopleScope::All, soon).await.unwrap().expires_on, Some(d(2028, 3, 1)));
    assert!(s.renewals_due(PeopleScope::All, today).await.unwrap().is_empty());

    // Counts: distinct people certified per standard in a period, and per institution.
    let all = s.certification_counts(PeopleScope::All, Period::default()).await.unwrap();
    let row = all.iter().find(|c| c.standard_id == standard).unwrap();
    assert_eq!((row.certified_people, row.open_processes), (4, 0), "the renewed person counts once");
    let in_2023 = Period { from: Some(d(2023, 1, 1)), to: Some(d(2023, 12, 31)) };
    let row = s.certification_counts(PeopleScope::All, in_2023).await.unwrap().into_iter().find(|c| c.standard_id == standard).unwrap();
    assert_eq!(row.certified_people, 2);
    let scoped = s.certification_counts(PeopleScope::Institution(b), Period::default()).await.unwrap();
    assert_eq!(scoped.iter().find(|c| c.standard_id == standard).unwrap().certified_people, 1);
    let per_inst = s.certified_by_institution(PeopleScope::All, Some(standard), Period::default()).await.unwrap();
    let count_of = |id: i64| per_inst.iter().find(|r| r.institution_id == Some(id)).map(|r| r.certified_people);
    assert_eq!((count_of(a), count_of(b)), (Some(3), Some(1)));
    assert_eq!(s.certified_by_institution(PeopleScope::Institution(a), None, Period::default()).await.unwrap().len(), 1);

    // Outside the scope, a process is "not found", never "forbidden".
    assert!(matches!(s.process(PeopleScope::Institution(a), soon).await, Err(StoreError::NotFound(_))));
    assert!(matches!(s.process_events(PeopleScope::Institution(a), soon).await, Err(StoreError::NotFound(_))));
    assert!(s.processes(PeopleScope::Institution(b), &Default::default()).await.unwrap().iter().all(|p| p.institution_id == Some(b)));

    // Merging people moves their processes; two open processes in one standard cannot merge.
    let mut nameless = person(84, Some(a));
    nameless.curp = None;
    let dup = s.create_person(&admin(), &nameless).await.unwrap();
    let p1 = s.create_person(&admin(), &person(85, Some(a))).await.unwrap();
    let open = |person_id| NewProcess { person_id, standard_id: standard, cohort_id: None, diagnosis_on: None, note: String::new() };
    let moved = s.open_process(&admin(), &open(dup)).await.unwrap();
    s.open_process(&admin(), &open(p1)).await.unwrap();
    let err = s.merge_people(&admin(), dup, p1).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("proceso de certificación abierto")), "{err}");
    let p2 = s.create_person(&admin(), &person(86, Some(a))).await.unwrap();
    s.merge_people(&admin(), dup, p2).await.unwrap();
    assert_eq!(s.process(PeopleScope::All, moved).await.unwrap().person_id, p2);
}

// ----- constancias -----

async fn constancias_are_issued_once_revoked_and_reissued(db: &TestStore) {
    use violeta_domain::credential::{Folio, MasterKey, Rejection, status_list_bit, encode_status_list, verify};
    use violeta_store::credentials::{CredentialState, IssuerInput, Signing};
    let s = &db.store;
    let master = MasterKey::demo();
    let signing = Signing { master: &master, base_url: "https://violeta.prueba" };
    let held = s.create_training(&admin(), &training("Protocolo Alba", (2024, 6, 3), SessionStatus::Realizada, None)).await.unwrap();
    let planned = s.create_training(&admin(), &training("Sesión futura", (2030, 1, 8), SessionStatus::Planeada, None)).await.unwrap();
    let attend = |p: PersonRef, status| AttendanceInput { person: p, status, pre_score: None, post_score: None };
    let mut no_curp = person(72, None);
    no_curp.curp = None;
    s.record_attendance(
        &admin(),
        held,
        "lista",
        &[
            attend(PersonRef::Draft(Box::new(person(70, None))), AttendanceStatus::Asistio),
            attend(PersonRef::Draft(Box::new(person(71, None))), AttendanceStatus::Retardo),
            attend(PersonRef::Draft(Box::new(no_curp)), AttendanceStatus::Asistio),
            attend(PersonRef::Draft(Box::new(person(73, None))), AttendanceStatus::Falto),
        ],
        &|_, _| {},
    )
    .await
    .unwrap();

    // No issuer yet: a clear refusal, nothing written.
    let err = s.issue_training_credentials(&admin(), held, signing).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("institución emisora")), "{err:?}");
    assert!(s.active_issuer().await.unwrap().is_none());

    // The issuer is created once; a second call with other details only updates them.
    let input = IssuerInput { name: "Secretaría de las Mujeres".into(), signatory: "Mtra. Ana Pérez".into(), signatory_title: "Directora".into() };
    assert!(matches!(s.ensure_issuer(&admin(), &IssuerInput::default(), &master).await, Err(StoreError::Invalid(_))));
    let issuer = s.ensure_issuer(&admin(), &input, &master).await.unwrap();
    assert!(issuer.public_key.starts_with("z6Mk"));
    let same = s.ensure_issuer(&admin(), &input, &master).await.unwrap();
    assert_eq!((same.id, &same.public_key), (issuer.id, &issuer.public_key));
    let changed = s.ensure_issuer(&admin(), &IssuerInput { signatory: "Lic. Rosa Díaz".into(), ..input.clone() }, &master).await.unwrap();
    assert_eq!((changed.id, changed.public_key.as_str(), changed.signatory.as_str()), (issuer.id, issuer.public_key.as_str(), "Lic. Rosa Díaz"));
    // The private key is stored sealed, not in the clear.
    assert_eq!(db.raw("UPDATE issuer_keys SET active = active WHERE private_key LIKE 'v1.%' AND length(private_key) > 60").await.unwrap(), 1);
    // Another master key cannot sign.
    let other = MasterKey::from_bytes([1; 32]);
    let err = s.issue_training_credentials(&admin(), held, Signing { master: &other, ..signing }).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("VIOLETA_SECRET_KEY")), "{err:?}");

    // Only held sessions.
    assert!(matches!(s.issue_training_credentials(&admin(), planned, signing).await, Err(StoreError::Invalid(_))));
    assert!(matches!(s.issue_training_credentials(&admin(), 999_999, signing).await, Err(StoreError::NotFound(_))));

    // Attendees on time or late get one, in one go; absentees do not.
    let audit_before = s.audit_entries(&Default::default(), 1000, 0).await.unwrap().len();
    let issued = s.issue_training_credentials(&admin(), held, signing).await.unwrap();
    assert_eq!((issued.issued.len(), issued.already), (3, 0));
    assert_eq!(s.audit_entries(&Default::default(), 1000, 0).await.unwrap().len(), audit_before + 1, "one audit entry for the batch");
    let again = s.issue_training_credentials(&admin(), held, signing).await.unwrap();
    assert_eq!((again.issued.len(), again.already), (0, 3), "issuing again adds nobody");
    let list = s.training_credentials(held).await.unwrap();
    assert_eq!(list.len(), 3);
    let mut indices: Vec<i64> = list.iter().map(|c| c.status_index).collect();
    indices.sort();
    indices.dedup();
    assert_eq!(indices.len(), 3, "distinct status list positions");

    // Each is a signed document that verifies with the issuer's public key.
    let key = changed.verifying_key().unwrap();
    let now = chrono::Utc::now();
    for c in &list {
        assert_eq!(c.state(now), CredentialState::Valida);
        assert_eq!((c.minutes, c.first_day, c.last_day), (300, NaiveDate::from_ymd_opt(2024, 6, 3).unwrap(), NaiveDate::from_ymd_opt(2024, 6, 3).unwrap()));
        assert_eq!(c.signatory, "Lic. Rosa Díaz");
        let doc = c.document();
        assert_eq!(verify(&doc, &key, None, now), Ok(()), "{}", c.folio);
        assert_eq!(doc["credentialSubject"]["identifier"][0]["identityHash"], c.recipient_name.as_str());
        assert!(!c.credential_json.contains(&curp(70)) && !c.credential_json.contains(&curp(71)), "CURPs are hashed");
    }
    let types: Vec<String> = list.iter().map(|c| c.document()["credentialSubject"]["identifier"][1]["identityType"].as_str().unwrap().to_string()).collect();
    assert_eq!(types.iter().filter(|t| *t == "nationalIdentityNumber").count(), 2);
    assert_eq!(types.iter().filter(|t| *t == "emailAddress").count(), 1, "without CURP, the email is hashed");
    let first = Folio::parse(&list[0].folio).unwrap();
    let by_folio = s.credential(&first).await.unwrap().unwrap();
    assert_eq!(by_folio.id, list[0].id);
    assert!(s.credential(&Folio::from_random([0; 8])).await.unwrap().is_none());

    // Revoke: with a reason, once; the status list marks it.
    assert!(matches!(s.revoke_credential(&admin(), &first, "  ").await, Err(StoreError::Invalid(_))));
    s.revoke_credential(&admin(), &first, "Emitida por error").await.unwrap();
    assert!(matches!(s.revoke_credential(&admin(), &first, "otra vez").await, Err(StoreError::Conflict(_))));
    assert!(matches!(s.revoke_credential(&admin(), &Folio::from_random([0; 8]), "x").await, Err(StoreError::NotFound(_))));
    let revoked = s.credential(&first).await.unwrap().unwrap();
    assert_eq!(revoked.state(now), CredentialState::Revocada { motivo: "Emitida por error".into() });
    let reason = revoked.state(now).reason().map(str::to_string);
    assert!(matches!(verify(&revoked.document(), &key, reason.as_deref(), now), Err(Rejection::Revoked(_))));
    let (bits, taken) = s.credential_status_list().await.unwrap();
    assert_eq!((bits.clone(), taken), (vec![revoked.status_index], 3));
    let encoded = encode_status_list(&bits, taken);
    assert_eq!(status_list_bit(&encoded, revoked.status_index), Some(true));
    assert_eq!(status_list_bit(&encoded, list[1].status_index), Some(false));
    // The revoked person can be issued a new one by issuing again.
    let again = s.issue_training_credentials(&admin(), held, signing).await.unwrap();
    assert_eq!((again.issued.len(), again.already), (1, 2));

    // Reissue after a correction of the name: new folio, old one replaced and pointing at it.
    let second = Folio::parse(&list[1].folio).unwrap();
    db.raw(&format!("UPDATE people SET given_names = 'MARÍA JOSÉ' WHERE id = {}", list[1].person_id)).await.unwrap();
    let new_folio = s.reissue_credential(&admin(), &second, "", signing).await.unwrap();
    assert_ne!(new_folio, second);
    let old = s.credential(&second).await.unwrap().unwrap();
    assert_eq!(old.state(now), CredentialState::Reemplazada { folio: new_folio.to_string(), motivo: "Reemplazada por una corrección de datos".into() });
    let new = s.credential(&new_folio).await.unwrap().unwrap();
    assert!(new.recipient_name.starts_with("MARÍA JOSÉ "), "{}", new.recipient_name);
    assert_eq!(verify(&new.document(), &key, None, now), Ok(()));
    assert!(matches!(s.reissue_credential(&admin(), &second, "", signing).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.training_credentials(held).await.unwrap().iter().filter(|c| c.revoked_at.is_none()).count(), 3);
    let actions: Vec<String> = s.audit_entries(&Default::default(), 1000, 0).await.unwrap().into_iter().map(|e| e.action).collect();
    for a in ["emisor.crear", "emisor.actualizar", "constancia.emitir", "constancia.revocar", "constancia.reemitir"] {
        assert!(actions.iter().any(|x| x == a), "{a} missing from {actions:?}");
    }

    // Two issuers of the same session at once: each attendee gets exactly one.
    let other = s.create_training(&admin(), &training("Sesión concurrida", (2024, 7, 1), SessionStatus::Realizada, None)).await.unwrap();
    let rows: Vec<AttendanceInput> = (80..90).map(|n| attend(PersonRef::Draft(Box::new(person(n, None))), AttendanceStatus::Asistio)).collect();
    s.record_attendance(&admin(), other, "lista", &rows, &|_, _| {}).await.unwrap();
    let actor = admin();
    let (a, b) = tokio::join!(s.issue_training_credentials(&actor, other, signing), s.issue_training_credentials(&actor, other, signing));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.issued.len() + b.issued.len(), 10);
    assert_eq!(s.training_credentials(other).await.unwrap().len(), 10);
}

async fn merging_moves_attendance_and_unit_membership(db: &TestStore) {
    let s = &db.store;
    let a = s.create_training(&admin(), &training("Sesión A", (2019, 3, 1), SessionStatus::Realizada, None)).await.unwrap();
    let b = s.create_training(&admin(), &training("Sesión B", (2019, 4, 1), SessionStatus::Realizada, None)).await.unwrap();
    let mut nameless = person(70, None);
    nameless.curp = None;
    nameless.corps = Some(violeta_domain::person::Corps::Municipal);
    let without = s.create_person(&admin(), &nameless).await.unwrap();
    let mut known = person(71, None);
    known.corps = Some(violeta_domain::person::Corps::Municipal);
    let with = s.create_person(&admin(), &known).await.unwrap();
    let attend = |id, status| AttendanceInput { person: PersonRef::Existing(id), status, pre_score: None, post_score: None };
    // Both attended A (the same person, recorded twice); only the one without CURP attended B.
    s.record_attendance(&admin(), a, "lista", &[attend(without, AttendanceStatus::Asistio), attend(with, AttendanceStatus::Retardo)], &|_, _| {}).await.unwrap();
    s.record_attendance(&admin(), b, "lista", &[attend(without, AttendanceStatus::Asistio)], &|_, _| {}).await.unwrap();
    let u = s.create_unit(&admin(), &unit("URI Oaxaca", "20067", UnitStatus::Activa)).await.unwrap();
    s.add_unit_member(&admin(), u, without, "", None).await.unwrap();
    let before = s.training_counts(&CountFilter::default()).await.unwrap();
    assert_eq!((before.personas_capacitadas, before.participaciones), (2, 3));

    s.merge_people(&admin(), without, with).await.unwrap();
    let after = s.training_counts(&CountFilter::default()).await.unwrap();
    assert_eq!((after.personas_capacitadas, after.participaciones), (1, 2), "one person, one attendance per session");
    assert!(s.attendance(b).await.unwrap().iter().all(|r| r.person_id == with));
    assert_eq!(s.attendance(a).await.unwrap()[0].status, "retardo", "the kept record's row stays");
    assert_eq!(s.unit(u).await.unwrap().2.iter().map(|m| m.person_id).collect::<Vec<_>>(), vec![with]);
}

async fn evidence_files_are_kept_with_their_session(db: &TestStore) {
    let s = &db.store;
    let a = s.create_training(&admin(), &training("Sesión A", (2019, 3, 1), SessionStatus::Realizada, None)).await.unwrap();
    let png = b"\x89PNG\r\n\x1a\nfoto de la sesion".to_vec();
    let id = s.add_evidence(&admin(), a, "C:\\fotos\\grupo.png", &png).await.unwrap();
    assert!(matches!(s.add_evidence(&admin(), a, "virus.exe", b"MZ").await, Err(StoreError::Invalid(_))));
    assert!(matches!(s.add_evidence(&admin(), 9999, "lista.pdf", b"%PDF").await, Err(StoreError::NotFound(_))));
    let list = s.evidence_list(a).await.unwrap();
    assert_eq!(list.len(), 1);
    let (meta, bytes) = s.evidence(a, id).await.unwrap();
    assert_eq!((meta.content_type.as_str(), bytes), ("image/png", png));
    assert!(s.evidence(a + 1, id).await.is_err(), "evidence belongs to its session");
}
