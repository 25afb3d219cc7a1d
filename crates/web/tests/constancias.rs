//! Constancias through the web: a trainer issues them for a held session, anyone verifies a
//! folio (page, signed JSON, API), the JSON verifies offline with the published key, a
//! tampered copy is rejected with its reason, and revoking or reissuing shows at once.

mod common;

use chrono::NaiveDate;
use common::{TestApp, Who, addr, test_actor};
use violeta_domain::credential::{Folio, MasterKey, Rejection, parse_public_multibase, status_list_bit, verify};
use violeta_domain::person::{PersonInput, SexConvention};
use violeta_domain::territory::MunicipalityKey;
use violeta_domain::training::{AttendanceStatus, Modality, SessionStatus};
use violeta_store::people::PersonRef;
use violeta_store::training::{AttendanceInput, NewTraining, TrainingDay};
use violeta_web::Config;

/// The demo app, with a key to sign constancias and a public address for their links.
async fn app_with_key() -> TestApp {
    TestApp::demo_with(Config { public_url: Some("https://violeta.prueba/".into()), credential_key: Some(MasterKey::demo()), ..Default::default() }).await
}

/// A held session with three attendees (one late, one absent).
async fn held_session(app: &TestApp) -> i64 {
    let s = app.store();
    let id = s
        .create_training(
            &test_actor(),
            &NewTraining {
                title: "Atención de primer contacto a mujeres en situación de violencia".into(),
                topic: "Primer contacto".into(),
                protocol: String::new(),
                modality: Modality::Presencial,
                programme_id: None,
                course_key: String::new(),
                municipality: Some(MunicipalityKey::parse("20067").unwrap()),
                venue: "Auditorio".into(),
                meeting_link: String::new(),
                instructors: "Instructora".into(),
                audience: vec![],
                capacity: None,
                status: SessionStatus::Realizada,
                days: vec![
                    TrainingDay { day: NaiveDate::from_ymd_opt(2024, 6, 3).unwrap(), starts_at: "09:00".into(), ends_at: "13:00".into() },
                    TrainingDay { day: NaiveDate::from_ymd_opt(2024, 6, 4).unwrap(), starts_at: "09:00".into(), ends_at: "10:30".into() },
                ],
                checkin_secret: "secreto".into(),
            },
        )
        .await
        .unwrap();
    let person = |curp: &str, given: &str, first: &str| {
        PersonInput { curp: common::curp(curp), given_names: given.into(), first_surname: first.into(), municipality: "20067".into(), ..Default::default() }
            .validate(SexConvention::MujerHombre)
            .unwrap()
    };
    let rows = [
        (person("NUGM900101MOCXXR0", "María José", "Núñez"), AttendanceStatus::Asistio),
        (person("PELA850505MOCXXN0", "Ana", "Pérez"), AttendanceStatus::Retardo),
        (person("RORL800303MOCXXS0", "Lucía", "Robles"), AttendanceStatus::Falto),
    ]
    .map(|(p, status)| AttendanceInput { person: PersonRef::Draft(Box::new(p)), status, pre_score: None, post_score: None });
    s.record_attendance(&test_actor(), id, "captura", &rows, &|_, _| {}).await.unwrap();
    id
}

async fn issuer_key(app: &TestApp) -> violeta_domain::credential::VerifyingKey {
    let r = app.get(&Who::nobody(addr(201)), "/.well-known/violeta/emisor.json").await;
    r.expect(200);
    parse_public_multibase(r.json()["publicKeyMultibase"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn issue_verify_tamper_revoke_reissue() {
    let app = app_with_key().await;
    let session = held_session(&app).await;
    let trainer = app.login_demo("instruccion", addr(200)).await;
    let public = Who::nobody(addr(202));

    // Before: the button is there; no issuer published yet.
    app.get(&trainer, &format!("/capacitaciones/{session}")).await.expect(200).expect_contains("Emitir constancias");
    app.get(&public, "/.well-known/violeta/emisor.json").await.expect(404);

    // The first issue names the authority and its signatory.
    let r = app
        .post_form(
            &trainer,
            &format!("/capacitaciones/{session}/constancias"),
            &[("emisor", "Secretaría de las Mujeres de Oaxaca"), ("firmante", "Mtra. Ana Pérez Núñez"), ("cargo", "Directora de Capacitación")],
        )
        .await;
    r.expect(303);
    assert_eq!(r.location(), Some(format!("/capacitaciones/{session}?aviso=constancias").as_str()));
    let issued = app.store().training_credentials(session).await.unwrap();
    assert_eq!(issued.len(), 2, "the two who attended, not the absentee");
    let page = app.get(&trainer, &format!("/capacitaciones/{session}?aviso=constancias")).await;
    page.expect(200).expect_contains("Las constancias se emitieron.");
    for c in &issued {
        page.expect_contains(&format!("/constancias/{}.pdf", c.folio));
    }
    // Issuing again adds nobody.
    app.post_form(&trainer, &format!("/capacitaciones/{session}/constancias"), &[]).await.expect(303);
    assert_eq!(app.store().training_credentials(session).await.unwrap().len(), 2);

    let maria = issued.iter().find(|c| c.recipient_name.contains("María")).unwrap().clone();
    let ana = issued.iter().find(|c| c.recipient_name.contains("Ana")).unwrap().clone();

    // The public verification page shows every field of the document.
    let v = app.get(&public, &format!("/verificar/{}", maria.folio)).await;
    v.expect(200);
    for part in [
        maria.folio.as_str(),
        "Constancia de participación",
        "María José Núñez",
        "Atención de primer contacto a mujeres en situación de violencia",
        "5 horas y 30 minutos",
        "del 3 al 4 de junio de 2024",
        "Secretaría de las Mujeres de Oaxaca",
        "Mtra. Ana Pérez Núñez, Directora de Capacitación",
        "data-estado=\"valida\"",
    ] {
        v.expect_contains(part);
    }
    assert!(!v.body.contains("Reemitir"), "no staff controls for the public");
    // A typed folio, in lower case and without hyphens, finds it.
    let typed = maria.folio.to_lowercase().replace('-', "");
    let r = app.get(&public, &format!("/verificar?folio={typed}")).await;
    assert_eq!(r.location(), Some(format!("/verificar/{}", maria.folio).as_str()));
    app.get(&public, "/verificar?folio=VIO-1234").await.expect(422).expect_contains("no es válido");
    app.get(&public, "/verificar/VIO-0000-0000-0000").await.expect(404);
    app.get(&public, "/verificar/no-es-folio").await.expect(404);

    // The signed JSON verifies offline with the published key, and points back here.
    let key = issuer_key(&app).await;
    let json = app.get(&public, &format!("/verificar/{}.json", maria.folio)).await;
    json.expect(200);
    assert!(json.content_type().starts_with("application/json"));
    let doc = json.json();
    assert_eq!(doc["id"], format!("https://violeta.prueba/verificar/{}", maria.folio));
    assert_eq!(doc["type"], serde_json::json!(["VerifiableCredential", "OpenBadgeCredential"]));
    assert_eq!(verify(&doc, &key, None, chrono::Utc::now()), Ok(()));
    // A copy with the name changed is rejected, with the reason.
    let mut tampered = doc.clone();
    tampered["credentialSubject"]["identifier"][0]["identityHash"] = "María José Núñes".into();
    let err = verify(&tampered, &key, None, chrono::Utc::now()).unwrap_err();
    assert_eq!(err, Rejection::BadSignature);
    assert_eq!(err.to_string(), "la firma no corresponde al contenido");

    // The API says the same.
    let api = app.get(&public, &format!("/api/v1/constancias/{}", maria.folio)).await;
    api.expect(200);
    let api = api.json();
    assert_eq!((api["valida"].as_bool(), api["estado"].as_str()), (Some(true), Some("valida")));
    assert_eq!(api["credencial"], doc);
    app.get(&public, "/api/v1/constancias/VIO-0000-0000-0000").await.expect(404);

    // The PDF, for staff who may see the person.
    let pdf = app.get(&trainer, &format!("/constancias/{}.pdf", maria.folio)).await;
    pdf.expect(200);
    assert_eq!(pdf.content_type(), "application/pdf");
    assert!(pdf.body.starts_with("%PDF-"));
    assert!(app.get(&public, &format!("/constancias/{}.pdf", maria.folio)).await.is_sign_in_redirect());
    app.get(&trainer, &format!("/constancias/{}", maria.folio)).await.expect(404);

    // Altered in the database: the page says the signature does not match.
    let original = maria.credential_json.clone();
    let altered = original.replace("María José", "Mariana");
    assert_ne!(altered, original);
    app.ts.raw(&format!("UPDATE credentials SET credential_json = '{}' WHERE folio = '{}'", altered.replace('\'', "''"), maria.folio)).await.unwrap();
    let v = app.get(&public, &format!("/verificar/{}", maria.folio)).await;
    v.expect(200).expect_contains("data-estado=\"alterada\"").expect_contains("la firma no corresponde al contenido");
    let api = app.get(&public, &format!("/api/v1/constancias/{}", maria.folio)).await.json();
    assert_eq!((api["valida"].as_bool(), api["estado"].as_str()), (Some(false), Some("alterada")));
    app.ts.raw(&format!("UPDATE credentials SET credential_json = '{}' WHERE folio = '{}'", original.replace('\'', "''"), maria.folio)).await.unwrap();

    // Revoke: the page, the API and the status list say so at once.
    let r = app.post_form(&trainer, &format!("/constancias/{}/revocar", maria.folio), &[("motivo", "Emitida por error de captura")]).await;
    r.expect(303);
    let v = app.get(&public, &format!("/verificar/{}", maria.folio)).await;
    v.expect(200).expect_contains("data-estado=\"revocada\"").expect_contains("Revocada").expect_contains("Emitida por error de captura");
    let api = app.get(&public, &format!("/api/v1/constancias/{}", maria.folio)).await.json();
    assert_eq!((api["valida"].as_bool(), api["estado"].as_str(), api["motivo"].as_str()), (Some(false), Some("revocada"), Some("Emitida por error de captura")));
    let list = app.get(&public, "/.well-known/violeta/estado.json").await;
    list.expect(200);
    let list = list.json();
    assert_eq!(verify(&list, &key, None, chrono::Utc::now()), Ok(()), "the status list is signed");
    let encoded = list["credentialSubject"]["encodedList"].as_str().unwrap();
    assert_eq!(status_list_bit(encoded, maria.status_index), Some(true));
    assert_eq!(status_list_bit(encoded, ana.status_index), Some(false));
    assert_eq!(doc["credentialStatus"]["statusListCredential"], "https://violeta.prueba/.well-known/violeta/estado.json");
    app.post_form(&trainer, &format!("/constancias/{}/revocar", maria.folio), &[("motivo", "otra vez")]).await.expect(409);

    // Reissue after correcting Ana's name: a new folio, the old one replaced and pointing at it.
    app.ts.raw(&format!("UPDATE people SET given_names = 'Ana Luisa' WHERE id = {}", ana.person_id)).await.unwrap();
    let r = app.post_form(&trainer, &format!("/constancias/{}/reemitir", ana.folio), &[("motivo", "Corrección del nombre")]).await;
    r.expect(303);
    let new_path = r.location().unwrap().split('?').next().unwrap().to_string();
    let new_folio = Folio::parse(new_path.strip_prefix("/verificar/").unwrap()).unwrap();
    app.get(&public, &new_path).await.expect(200).expect_contains("Ana Luisa Pérez").expect_contains("data-estado=\"valida\"");
    app.get(&public, &format!("/verificar/{}", ana.folio))
        .await
        .expect(200)
        .expect_contains("data-estado=\"reemplazada\"")
        .expect_contains(&format!("href=\"/verificar/{new_folio}\""));
    let api = app.get(&public, &format!("/api/v1/constancias/{}", ana.folio)).await.json();
    assert_eq!((api["estado"].as_str(), api["reemplazada_por"].as_str()), (Some("reemplazada"), Some(new_folio.as_str())));

    // Only trainers issue, revoke and reissue; the PDF is for people readers.
    let alerta = app.login_demo("alerta", addr(203)).await;
    app.post_form(&alerta, &format!("/constancias/{new_folio}/revocar"), &[("motivo", "x")]).await.expect(403);
    app.get(&alerta, &format!("/constancias/{new_folio}.pdf")).await.expect(403);
    let actions: Vec<String> = app.store().audit_entries(&Default::default(), 1000, 0).await.unwrap().into_iter().map(|e| e.action).collect();
    for a in ["emisor.crear", "constancia.emitir", "constancia.revocar", "constancia.reemitir"] {
        assert!(actions.iter().any(|x| x == a), "{a} not audited");
    }
    app.cleanup().await;
}

/// Without `VIOLETA_SECRET_KEY` the server refuses to issue, saying why; nothing is written.
#[tokio::test]
async fn without_a_key_nothing_is_issued() {
    let app = TestApp::demo().await;
    let session = held_session(&app).await;
    let trainer = app.login_demo("coordinacion", addr(210)).await;
    let r = app
        .post_form(&trainer, &format!("/capacitaciones/{session}/constancias"), &[("emisor", "Secretaría"), ("firmante", "Ana"), ("cargo", "Directora")])
        .await;
    r.expect(409).expect_contains("VIOLETA_SECRET_KEY");
    assert!(app.store().training_credentials(session).await.unwrap().is_empty());
    assert!(app.store().active_issuer().await.unwrap().is_none());
    app.cleanup().await;
}
