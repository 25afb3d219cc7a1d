//! The learning centre through the web: tying an account to a record by CURP (and refusing
//! someone else's), a learner's records kept to herself, authoring with bad input refused in
//! Spanish, the course archive out and back in, bulk enrolment all or nothing with the row and
//! column, the real Moodle completion report, a holder's JSON checked (and a tampered copy
//! rejected), and the completion report with its exports.

mod common;

use common::{TestApp, Who, addr, curp, test_actor};
use violeta_domain::credential::MasterKey;
use violeta_domain::learning::EnrolmentSource;
use violeta_store::accounts::NewUser;
use violeta_store::testing::TestStore;
use violeta_web::{AppState, Config};

async fn app_with_key() -> TestApp {
    let ts = TestStore::sqlite().await.expect("test store");
    violeta_app::demo::load(&ts.store).await.expect("demo data");
    violeta_app::demo::issue_constancias(&ts.store, "https://violeta.prueba").await.expect("demo constancias");
    let config = Config { public_url: Some("https://violeta.prueba/".into()), credential_key: Some(MasterKey::demo()), ..Default::default() };
    let state = AppState::new(ts.store.clone(), config);
    let router = violeta_web::app(state.clone());
    TestApp { ts, state, router }
}

async fn demo_course(app: &TestApp) -> i64 {
    app.store().courses(None).await.unwrap().into_iter().find(|c| c.code == "PG-101").expect("the demo course").id
}

/// A participante account with no record yet, signed in.
async fn new_participant(app: &TestApp, email: &str, n: u8) -> Who {
    let hash = violeta_app::credentials::hash_password("una contraseña larga").unwrap();
    let id = app
        .store()
        .create_user(&test_actor(), &NewUser { email: email.into(), display_name: "Nueva".into(), roles: vec![violeta_domain::access::Role::Participante], institution_id: None, person_id: None })
        .await
        .unwrap();
    let token = violeta_app::credentials::random_token();
    app.store().create_password_link(&test_actor(), id, &token, chrono::Duration::minutes(5)).await.unwrap();
    app.store().use_password_link(&token, &hash, "pruebas").await.unwrap();
    app.login(email, "una contraseña larga", addr(n)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_ties_to_its_own_record_only() {
    let app = app_with_key().await;
    let who = new_participant(&app, "nueva@ejemplo.gob.mx", 61).await;
    app.get(&who, "/aprender").await.expect(200).expect_contains("Vincule su cuenta con su CURP");
    // Enrolling before tying the account says what to do.
    let course = demo_course(&app).await;
    app.post_form(&who, &format!("/aprender/cursos/{course}/inscribirme"), &[]).await.expect(409).expect_contains("Vincule primero su cuenta");

    // A registered CURP with another email is someone else's record: refused, nothing tied.
    let (people, _) = app.store().people(violeta_domain::access::PeopleScope::All, &Default::default(), 5, 0).await.unwrap();
    let other = people.iter().find(|p| p.curp.is_some()).unwrap();
    let r = app.post_form(&who, "/aprender/vincular", &[("curp", other.curp.as_deref().unwrap()), ("given_names", "X"), ("first_surname", "Y")]).await;
    r.expect(422).expect_contains("pida a la coordinación");
    // A bad CURP is explained.
    app.post_form(&who, "/aprender/vincular", &[("curp", "ABCD"), ("given_names", "X")]).await.expect(422).expect_contains("CURP");
    // A new CURP creates her record with the account's email and ties it.
    let mine = curp("NUEV900101MOCVVR0");
    let r = app.post_form(&who, "/aprender/vincular", &[("curp", &mine), ("given_names", "Nueva"), ("first_surname", "Persona")]).await;
    assert!(r.is_redirect(), "{}", r.body);
    let user = app.store().user_by_email("nueva@ejemplo.gob.mx").await.unwrap().unwrap();
    let person = app.store().person(violeta_domain::access::PeopleScope::All, user.person_id.expect("tied")).await.unwrap();
    assert_eq!(person.curp.as_deref(), Some(mine.as_str()));
    let contact = app.store().personal_data(&test_actor(), violeta_domain::access::PeopleScope::All, person.id).await.unwrap();
    assert_eq!(contact.email, "nueva@ejemplo.gob.mx");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_reaches_only_her_own_records() {
    let app = app_with_key().await;
    let course = demo_course(&app).await;
    // A constancia of another learner of the demo course.
    let others = app.store().course_credentials(course, None).await.unwrap();
    let someone = others.first().expect("demo constancias of PG-101");
    let who = app.login_demo("participante", addr(62)).await;
    app.get(&who, &format!("/aprender/constancias/{}.pdf", someone.folio)).await.expect(404);
    // Her quiz items are reachable only once enrolled; drafts are not shown at all.
    let content = app.store().course_content(course).await.unwrap();
    let quiz = content.items().find(|i| i.is_quiz()).unwrap().id;
    app.get(&who, &format!("/aprender/cursos/{course}/elementos/{quiz}")).await.expect(404);
    app.post_form(&who, &format!("/aprender/cursos/{course}/inscribirme"), &[]).await;
    app.get(&who, &format!("/aprender/cursos/{course}/elementos/{quiz}")).await.expect(200).expect_contains("Empezar el cuestionario");
    let draft = app
        .store()
        .create_course(&test_actor(), &violeta_domain::learning::CourseInfo { code: "BORR-9".into(), title: "Borrador secreto".into(), minutes: 60, ..Default::default() }, None, None)
        .await
        .unwrap();
    app.get(&who, &format!("/aprender/cursos/{draft}")).await.expect(404);
    // Staff pages are not hers.
    app.get(&who, "/cursos").await.expect(403);
    app.cleanup().await;
}

/// Learners' pages keep a course's content in memory by its revision: an author's edit made on
/// another server (another process on the same database) shows on this one at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_on_one_server_reaches_learners_on_another_at_once() {
    let mut app = app_with_key().await;
    let course = demo_course(&app).await;
    let content = app.store().course_content(course).await.unwrap();
    let lesson = content.items().find(|i| !i.is_quiz()).unwrap().clone();
    let here = app.router.clone();
    let there = violeta_web::app(AppState::new(app.store().clone(), app.state.config.as_ref().clone()));

    let learner = app.login_demo("participante", addr(63)).await;
    let author = app.login_demo("coordinacion", addr(64)).await;
    app.post_form(&learner, &format!("/aprender/cursos/{course}/inscribirme"), &[]).await;
    let page = format!("/aprender/cursos/{course}/elementos/{}", lesson.id);
    app.get(&learner, &page).await.expect(200).expect_contains(&lesson.title);
    app.get(&learner, &format!("/aprender/cursos/{course}")).await.expect(200).expect_contains(&lesson.title);

    app.router = there;
    let edited = [("titulo", "Lección revisada"), ("texto", "Texto **revisado** por la coordinación."), ("video", "")];
    assert!(app.post_form(&author, &format!("/cursos/{course}/elementos/{}", lesson.id), &edited).await.is_redirect());

    app.router = here;
    app.get(&learner, &page).await.expect(200).expect_contains("Texto <strong>revisado</strong> por la coordinación.");
    app.get(&learner, &format!("/aprender/cursos/{course}")).await.expect(200).expect_contains("Lección revisada");
    app.get(&author, &format!("/cursos/{course}/vista-previa/{}", lesson.id)).await.expect(200).expect_contains("Lección revisada");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authoring_refuses_bad_input_and_the_archive_travels() {
    let app = app_with_key().await;
    let staff = app.login_demo("instruccion", addr(63)).await;
    let r = app.post_form(&staff, "/cursos", &[("clave", "DH 1"), ("titulo", "Derechos humanos"), ("horas", "2")]).await;
    r.expect(422).expect_contains("solo puede tener letras sin acento");
    let r = app.post_form(&staff, "/cursos", &[("clave", "DH-1"), ("titulo", "Derechos humanos"), ("horas", "dos")]).await;
    r.expect(422).expect_contains("duración en horas");
    let r = app.post_form(&staff, "/cursos", &[("clave", "DH-1"), ("titulo", "Derechos humanos"), ("horas", "2,5")]).await;
    let id: i64 = r.location().unwrap().trim_start_matches("/cursos/").split('?').next().unwrap().parse().unwrap();
    assert_eq!(app.store().course(id).await.unwrap().minutes, 150);
    app.post_form(&staff, &format!("/cursos/{id}/modulos"), &[("titulo", "Uno")]).await;
    let module = app.store().course_content(id).await.unwrap().modules[0].0.id.to_string();
    let r = app.post_form(&staff, &format!("/cursos/{id}/elementos"), &[("modulo", &module), ("tipo", "cuestionario"), ("titulo", "Examen"), ("aprobatoria", "80")]).await;
    let quiz: i64 = r.location().unwrap().split("/elementos/").nth(1).unwrap().split('?').next().unwrap().parse().unwrap();
    // A quiz without a correct answer, and publishing a quiz without questions, are refused.
    let r = app.post_form(&staff, &format!("/cursos/{id}/elementos/{quiz}/preguntas"), &[("tipo", "unica"), ("enunciado", "¿Qué?"), ("opciones", "A\nB")]).await;
    r.expect(422).expect_contains("no tiene respuesta correcta");
    app.post_form(&staff, &format!("/cursos/{id}/estado"), &[("estado", "publicado")]).await.expect(422).expect_contains("no tiene preguntas");
    app.post_form(&staff, &format!("/cursos/{id}/elementos/{quiz}/preguntas"), &[("tipo", "unica"), ("enunciado", "¿Qué?"), ("opciones", "A\n*B")]).await;
    let r = app.post_form(&staff, &format!("/cursos/{id}/estado"), &[("estado", "publicado")]).await;
    assert!(r.is_redirect(), "{}", r.body);

    // The archive goes out and comes back only as a new version.
    let zip = app.get(&staff, &format!("/cursos/{id}/curso.zip")).await;
    zip.expect(200);
    let bytes = zip.bytes.clone();
    let r = app.post_multipart(&staff, "/cursos/importar", &[("csrf", staff.csrf.as_deref().unwrap())], Some(("archivo", "curso.zip", &bytes))).await;
    r.expect(422).expect_contains("ya existe el curso DH-1 en su versión 1");
    let r = app.post_multipart(&staff, "/cursos/importar", &[("csrf", staff.csrf.as_deref().unwrap())], Some(("archivo", "curso.zip", b"esto no es un zip"))).await;
    r.expect(422).expect_contains("no es un ZIP");
    let (mut draft, files) = violeta_app::learning::read_archive(&bytes).unwrap();
    draft.version = 2;
    let v2 = violeta_app::learning::write_archive(&draft, &files).unwrap();
    let r = app.post_multipart(&staff, "/cursos/importar", &[("csrf", staff.csrf.as_deref().unwrap())], Some(("archivo", "curso-v2.zip", &v2))).await;
    assert!(r.is_redirect(), "{}", r.body);
    assert_eq!(app.store().courses(None).await.unwrap().iter().filter(|c| c.code == "DH-1").count(), 2);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_enrolment_and_moodle_history_are_all_or_nothing() {
    let app = app_with_key().await;
    let course = demo_course(&app).await;
    let staff = app.login_demo("coordinacion", addr(64)).await;
    let before = app.store().course(course).await.unwrap().enrolled;
    let good = curp("LEAL850101MOCPRR0");
    let csv = format!(
        "CURP,Nombre(s),Primer apellido,Segundo apellido,Correo,Municipio\n{good},Lucía,Leal,Ruiz,lucia@ejemplo.gob.mx,20067\n{},Rosa,Mora,Paz,rosa@ejemplo.gob.mx,20067\n",
        common::curp_bad_check_digit("MOPR900202MOCRZS0")
    );
    let r = app.post_multipart(&staff, &format!("/cursos/{course}/inscripciones"), &[("csrf", staff.csrf.as_deref().unwrap())], Some(("archivo", "lista.csv", csv.as_bytes()))).await;
    r.expect(422).expect_contains("No se importó nada").expect_contains("<td class=\"num\">3</td>").expect_contains("A (CURP)");
    assert_eq!(app.store().course(course).await.unwrap().enrolled, before);
    let csv = format!("CURP,Nombre(s),Primer apellido,Segundo apellido,Correo,Municipio\n{good},Lucía,Leal,Ruiz,lucia@ejemplo.gob.mx,20067\n");
    app.post_multipart(&staff, &format!("/cursos/{course}/inscripciones"), &[("csrf", staff.csrf.as_deref().unwrap())], Some(("archivo", "lista.csv", csv.as_bytes()))).await.expect(200).expect_contains("1 personas inscritas");

    // The real Moodle export: 100 learners, 67 completed.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/moodle/course-completion-report.csv");
    let moodle = std::fs::read(&path).expect("the Moodle sample in ../shared");
    let info = violeta_domain::learning::CourseInfo { code: "MOODLE-1".into(), title: "Curso traído de Moodle".into(), minutes: 120, ..Default::default() };
    let target = app.store().create_course(&test_actor(), &info, None, None).await.unwrap();
    let r = app.post_multipart(&staff, &format!("/cursos/{target}/moodle"), &[("csrf", staff.csrf.as_deref().unwrap())], Some(("archivo", "course-completion-report.csv", &moodle))).await;
    r.expect(200).expect_contains("67 conclusiones registradas").expect_contains("33 filas omitidas");
    let c = app.store().course(target).await.unwrap();
    assert_eq!((c.enrolled, c.completed), (67, 67));
    // Importing it again adds nobody.
    let r = app.post_multipart(&staff, &format!("/cursos/{target}/moodle"), &[("csrf", staff.csrf.as_deref().unwrap())], Some(("archivo", "course-completion-report.csv", &moodle))).await;
    r.expect(200).expect_contains("0 conclusiones registradas, 67 ya estaban inscritas");
    // Their constancias are issued on request.
    app.post_form(&staff, &format!("/cursos/{target}/constancias"), &[]).await.expect(200).expect_contains("Se emitieron 67 constancias");
    let zip = app.get(&staff, &format!("/cursos/{target}/constancias.zip")).await;
    zip.expect(200);
    assert_eq!(zip.content_type(), "application/zip");
    assert_eq!(zip::ZipArchive::new(std::io::Cursor::new(zip.bytes.clone())).unwrap().len(), 67);
    let _ = EnrolmentSource::Moodle;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holders_document_is_checked_and_tampering_is_caught() {
    let app = app_with_key().await;
    let course = demo_course(&app).await;
    let c = app.store().course_credentials(course, None).await.unwrap().into_iter().next().expect("a demo constancia");
    let stranger = app.visitor(addr(65)).await;
    let lookup = app.get(&stranger, "/verificar").await;
    lookup.expect(200).expect_contains("Verificar el documento");
    let stranger = Who { csrf: lookup.csrf_field(), cookies: lookup.set_cookie("violeta_csrf").into_iter().chain(stranger.cookies.clone()).collect(), ..stranger };
    app.post_form(&stranger, "/verificar/documento", &[("documento", &c.credential_json)]).await.expect(200).expect_contains("Documento auténtico y vigente");
    let mut doc: serde_json::Value = serde_json::from_str(&c.credential_json).unwrap();
    doc["credentialSubject"]["achievement"]["name"] = "Otro curso".into();
    app.post_form(&stranger, "/verificar/documento", &[("documento", &doc.to_string())]).await.expect(200).expect_contains("la firma no corresponde al contenido");
    app.post_form(&stranger, "/verificar/documento", &[("documento", "{\"a\": ")]).await.expect(422).expect_contains("línea 1");
    // Revoked: the intact document is refused with the reason.
    let folio = violeta_domain::credential::Folio::parse(&c.folio).unwrap();
    app.store().revoke_credential(&test_actor(), &folio, "Emitida por error").await.unwrap();
    app.post_form(&stranger, "/verificar/documento", &[("documento", &c.credential_json)]).await.expect(200).expect_contains("revocada: Emitida por error");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_completion_report_counts_exports_and_drills_down() {
    let app = app_with_key().await;
    let coordination = app.login_demo("coordinacion", addr(66)).await;
    let course = demo_course(&app).await;
    let c = app.store().course(course).await.unwrap();
    let page = app.get(&coordination, "/cursos/reportes?por=curso").await;
    page.expect(200).expect_contains(&format!("clave={course}&#38;concluidas=true\">{}</a>", c.completed));
    for by in ["institucion", "municipio", "region", "sexo", "mes"] {
        app.get(&coordination, &format!("/cursos/reportes?por={by}")).await.expect(200).expect_contains("Tasa de conclusión");
    }
    let csv = app.get(&coordination, &format!("/cursos/reportes.csv?por=sexo&curso={course}")).await;
    csv.expect(200);
    let text = String::from_utf8_lossy(&csv.bytes).to_string();
    assert!(text.contains("Sexo,Inscripciones,Conclusiones"), "{text}");
    let xlsx = app.get(&coordination, "/cursos/reportes.xlsx?por=institucion").await;
    xlsx.expect(200);
    assert!(xlsx.bytes.starts_with(b"PK"));
    let people = app.get(&coordination, &format!("/cursos/reportes/personas?por=curso&clave={course}&concluidas=true")).await;
    people.expect(200);
    assert_eq!(people.body.matches("<a href=\"/personas/").count() as i64, c.completed);
    // An instructor sees the figures, not the people behind them.
    let instructor = app.login_demo("instruccion", addr(67)).await;
    app.get(&instructor, "/cursos/reportes").await.expect(200);
    app.get(&instructor, &format!("/cursos/reportes/personas?por=curso&clave={course}&concluidas=true")).await.expect(403);
    app.cleanup().await;
}
