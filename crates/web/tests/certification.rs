//! Competency certification through the pages: a candidate goes from diagnosis to the
//! certificate, steps out of order are refused in Spanish, a folio is never recorded twice,
//! each role does only its part, and the enlace sees only its institution's candidates.

mod common;

use common::{TestApp, addr, curp, demo_email, test_actor};
use violeta_domain::access::PeopleScope;
use violeta_domain::person::{PersonInput, SexConvention};

/// The process id in a `Location: /certificacion/procesos/{id}?aviso=…`.
fn process_id(location: Option<&str>) -> i64 {
    let l = location.expect("a redirect");
    l.trim_start_matches("/certificacion/procesos/").split('?').next().unwrap().parse().unwrap_or_else(|_| panic!("not a process page: {l}"))
}

#[tokio::test]
async fn a_candidate_goes_from_diagnosis_to_certificate() {
    let app = TestApp::demo().await;
    let store = app.store();
    let ec0539 = store.standard_by_code("EC0539").await.unwrap().expect("shipped standard");
    let health = store.find_institution("Secretaría de Salud del Estado de México").await.unwrap().unwrap();
    let candidate_curp = curp("CEXC850505MMCXXX0");
    let person = PersonInput {
        curp: candidate_curp.clone(),
        given_names: "Candidata".into(),
        first_surname: "De Prueba".into(),
        institution_id: Some(health),
        municipality: "15106".into(),
        ..Default::default()
    }
    .validate(SexConvention::MujerHombre)
    .unwrap();
    store.create_person(&test_actor(), &person).await.unwrap();

    let coord = app.login_demo("coordinacion", addr(70)).await;
    let evaluator = app.login_demo("evaluacion", addr(71)).await;

    // The catalogue: the shipped standard with its official title, and the nav link.
    let index = app.get(&coord, "/certificacion").await;
    index
        .expect(200)
        .expect_contains("EC0539")
        .expect_contains("Atención presencial de primer contacto a mujeres víctimas de violencia de género")
        .expect_contains("Renovaciones pendientes")
        .expect_contains(r#"<a href="/certificacion">Certificación</a>"#);
    app.get(&coord, &format!("/certificacion/estandares/{}", ec0539.id)).await.expect(200).expect_contains("DEMO-EC0539-0001");

    // Open the process by CURP, at diagnóstico.
    let standard_id = ec0539.id.to_string();
    let open = [("curp", candidate_curp.as_str()), ("standard_id", standard_id.as_str()), ("cohort_id", ""), ("diagnosis_on", "2025-08-01"), ("note", "")];
    let r = app.post_form(&coord, "/certificacion/procesos", &open).await;
    r.expect(303);
    let id = process_id(r.location());
    let page = format!("/certificacion/procesos/{id}");
    app.get(&coord, &page).await.expect(200).expect_contains("Diagnóstico").expect_contains("Pasar a alineación");
    // One open process per person and standard.
    app.post_form(&coord, "/certificacion/procesos", &open).await.expect(409).expect_contains("ya tiene un proceso abierto en EC0539");
    // A CURP nobody has in the registry.
    let unknown = curp("NADI900101MMCXXX0");
    let r = app.post_form(&coord, "/certificacion/procesos", &[("curp", unknown.as_str()), ("standard_id", standard_id.as_str())]).await;
    r.expect(422).expect_contains("no hay nadie registrado con la CURP");

    // Out of order: refused with the reason, in Spanish, and nothing moves.
    let advance = format!("{page}/avanzar");
    app.post_form(&coord, &advance, &[("stage", "evaluacion")])
        .await
        .expect(422)
        .expect_contains("no se puede pasar de «Diagnóstico» a «Evaluación»: el siguiente paso es «Alineación»");
    app.post_form(&coord, &advance, &[("stage", "certificado")]).await.expect(422).expect_contains("no se puede pasar de «Diagnóstico» a «Certificado»");
    let certificate = format!("{page}/certificado");
    app.post_form(&coord, &certificate, &[("folio", "X-1"), ("certified_on", "2025-10-01"), ("certifying_entity", "ECE")]).await.expect(422);
    assert_eq!(store.process(PeopleScope::All, id).await.unwrap().stage, "diagnostico");

    // Alineación, then evaluación.
    app.post_form(&coord, &advance, &[("stage", "alineacion"), ("alignment_note", "Curso de alineación de prueba")]).await.expect(303);
    app.post_form(&coord, &advance, &[("stage", "evaluacion")]).await.expect(303);
    // The certificate waits for a "competente" evaluation.
    app.post_form(&coord, &certificate, &[("folio", "X-1"), ("certified_on", "2025-10-01"), ("certifying_entity", "ECE")])
        .await
        .expect(422)
        .expect_contains("registre primero la evaluación");

    // The evaluator records the evaluation as themselves; an incomplete one is refused.
    let evaluation = format!("{page}/evaluacion");
    app.get(&evaluator, &page).await.expect(200).expect_contains("Registrar evaluación").expect_contains(r#"value="Evaluación (demo)""#);
    app.post_form(&evaluator, &evaluation, &[("evaluated_on", "2025-09-10")]).await.expect(422).expect_contains("falta el resultado");
    app.post_form(&evaluator, &evaluation, &[("evaluated_on", "2025-09-10"), ("result", "competente"), ("portfolio", "Guía de observación completa")])
        .await
        .expect(303);
    let p = store.process(PeopleScope::All, id).await.unwrap();
    assert_eq!(p.evaluator_user_id, Some(app.user_id(&demo_email("evaluacion")).await));
    assert_eq!((p.evaluator_name.as_str(), p.result.as_deref(), p.stage.as_str()), ("Evaluación (demo)", Some("competente"), "evaluacion"));
    // Evaluators do not record certificates, nor move processes.
    app.post_form(&evaluator, &certificate, &[("folio", "X-1"), ("certified_on", "2025-10-01"), ("certifying_entity", "ECE")]).await.expect(403);
    app.post_form(&evaluator, &advance, &[("stage", "alineacion")]).await.expect(403);

    // A folio already recorded (the demo's) is refused; the process stays in evaluation.
    let dup = [("folio", "demo-ec0539-0001"), ("certified_on", "2025-10-01"), ("certifying_entity", "ECE de prueba")];
    app.post_form(&coord, &certificate, &dup).await.expect(409).expect_contains("el folio DEMO-EC0539-0001 ya está registrado en otro certificado");
    assert_eq!(store.process(PeopleScope::All, id).await.unwrap().stage, "evaluacion");
    // The certificate, copied from the one issued.
    let good = [("folio", "PRUEBA-EC0539-0002"), ("certified_on", "2025-10-01"), ("certifying_entity", "ECE de prueba")];
    app.post_form(&coord, &certificate, &good).await.expect(303);
    let done = app.get(&coord, &page).await;
    done.expect(200).expect_contains("PRUEBA-EC0539-0002").expect_contains("Proceso concluido con certificado").expect_contains("ECE de prueba");
    for stage in ["Diagnóstico", "Alineación", "Evaluación", "Certificado"] {
        assert!(done.body.contains(&format!("<strong>{stage}</strong>")), "history lacks {stage}");
    }
    // Closed: no more steps.
    app.post_form(&coord, &advance, &[("stage", "alineacion")]).await.expect(422).expect_contains("no admite más pasos");

    // Every step is in the audit trail.
    let actions: Vec<String> = app.audit_actions("proceso_certificacion", &id.to_string()).await.into_iter().map(|e| e.action).collect();
    for a in ["certificacion.proceso.abrir", "certificacion.proceso.avanzar", "certificacion.proceso.evaluacion", "certificacion.proceso.certificado"] {
        assert!(actions.iter().any(|x| x == a), "{a} missing from {actions:?}");
    }

    // The enlace of Salud Edomex sees this candidate; a candidate of another institution is "not found".
    let enlace = app.login_demo("enlace", addr(72)).await;
    app.get(&enlace, &page).await.expect(200).expect_contains("PRUEBA-EC0539-0002");
    let women = store.find_institution("Secretaría de las Mujeres del Estado de México").await.unwrap().unwrap();
    let foreign = store.processes(PeopleScope::Institution(women), &Default::default()).await.unwrap();
    let foreign = foreign.first().expect("demo candidates of SeMujeres");
    app.get(&enlace, &format!("/certificacion/procesos/{}", foreign.id)).await.expect(404);
    let list = app.get(&enlace, "/certificacion/procesos").await;
    list.expect(200);
    assert!(!list.body.contains(&format!("/certificacion/procesos/{}\"", foreign.id)), "the enlace's list shows another institution's candidate");
    app.post_form(&enlace, &advance, &[("stage", "alineacion")]).await.expect(403);
    app.cleanup().await;
}

#[tokio::test]
async fn standards_are_added_and_imported_all_or_nothing() {
    let app = TestApp::demo().await;
    let admin = app.login_demo("admin", addr(73)).await;
    let before = app.store().standards().await.unwrap().len();

    // The form checks the key.
    let r = app.post_form(&admin, "/certificacion/estandares", &[("code", "E-12"), ("title", "Algo"), ("source", "Prueba")]).await;
    r.expect(422).expect_contains("no es una clave de estándar válida").expect_contains(r#"value="Algo""#);
    let r = app.post_form(&admin, "/certificacion/estandares", &[("code", "EC0539"), ("title", "Otro"), ("source", "Prueba")]).await;
    r.expect(409).expect_contains("ya está en el catálogo");

    // A file with one bad row imports nothing and says where.
    let csv = "Código,Título,Nivel,Vigencia (años),Fuente\nEC9301,Estándar de prueba uno,2,3,Prueba\nEC9302,Estándar de prueba dos,9,,Prueba\n";
    let csrf = admin.csrf.clone().unwrap();
    let r = app
        .post_multipart(&admin, "/certificacion/estandares/importar", &[("csrf", &csrf)], Some(("archivo", "estandares.csv", csv.as_bytes())))
        .await;
    r.expect(422).expect_contains("No se importó nada").expect_contains("el nivel «9» no es válido");
    assert_eq!(app.store().standards().await.unwrap().len(), before);
    let csv = csv.replace(",9,", ",4,");
    let r = app
        .post_multipart(&admin, "/certificacion/estandares/importar", &[("csrf", &csrf)], Some(("archivo", "estandares.csv", csv.as_bytes())))
        .await;
    r.expect(303);
    let s = app.store().standard_by_code("EC9301").await.unwrap().expect("imported");
    assert_eq!((s.level, s.valid_years), (Some(2), Some(3)));
    assert_eq!(app.store().standards().await.unwrap().len(), before + 2);
    app.cleanup().await;
}
