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
use violeta_web::{AppState, Config};

async fn app_with_key() -> TestApp {
    let app = TestApp::demo_with(Config { public_url: Some("https://violeta.prueba/".into()), credential_key: Some(MasterKey::demo()), ..Default::default() }).await;
    violeta_app::demo::issue_constancias(app.store(), "https://violeta.prueba").await.expect("demo constancias");
    app
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

/// A course for the editing tests, through the store: (course, [module ids], lesson, quiz with
/// three questions and one attempt).
async fn editable_course(app: &TestApp, code: &str, publish: bool) -> (i64, Vec<i64>, i64, i64) {
    use violeta_domain::learning::{CourseInfo, CourseStatus, ItemDraft, QuestionDraft, QuestionKind, QuizSettings};
    let s = app.store();
    let id = s.create_course(&test_actor(), &CourseInfo { code: code.into(), title: format!("Curso {code}"), minutes: 60, ..Default::default() }, None, None).await.unwrap();
    let uno = s.add_module(&test_actor(), id, "Uno").await.unwrap();
    let dos = s.add_module(&test_actor(), id, "Dos").await.unwrap();
    let lesson = s.add_item(&test_actor(), uno, &ItemDraft::Lesson { title: "Primera lección".into(), body: "Texto.".into(), video_url: String::new(), required: true }).await.unwrap();
    s.add_item(&test_actor(), uno, &ItemDraft::Lesson { title: "Segunda lección".into(), body: "Texto.".into(), video_url: String::new(), required: true }).await.unwrap();
    let quiz = s
        .add_item(&test_actor(), dos, &ItemDraft::Quiz { title: "Examen".into(), settings: QuizSettings { pass_percent: 100, attempt_limit: Some(1), draw_count: Some(2) }, required: true, questions: vec![] })
        .await
        .unwrap();
    for p in ["¿Uno?", "¿Dos?", "¿Tres?"] {
        s.add_question(&test_actor(), quiz, &QuestionDraft::from_form(QuestionKind::Unica, p, "*Sí\nNo", "").unwrap()).await.unwrap();
    }
    if publish {
        s.set_course_status(&test_actor(), id, CourseStatus::Publicado).await.unwrap();
    }
    (id, vec![uno, dos], lesson, quiz)
}

fn titles(content: &violeta_store::learning::Content) -> Vec<Vec<String>> {
    content.modules.iter().map(|(_, items)| items.iter().map(|i| i.title.clone()).collect()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authors_reorder_edit_and_delete_with_a_confirmation_step() {
    let app = app_with_key().await;
    let staff = app.login_demo("instruccion", addr(80)).await;
    let (id, modules, lesson, quiz) = editable_course(&app, "ED-WEB", false).await;
    let page = app.get(&staff, &format!("/cursos/{id}")).await;
    page.expect(200).expect_contains("Eliminar el módulo…").expect_contains("Mover a…").expect_contains("aria-label=\"Subir «Segunda lección»\"");

    // ↓ and «Mover a…»; a move without a direction is refused.
    assert!(app.post_form(&staff, &format!("/cursos/{id}/elementos/{lesson}/mover"), &[("direccion", "abajo")]).await.is_redirect());
    assert!(app.post_form(&staff, &format!("/cursos/{id}/modulos/{}/mover", modules[1]), &[("direccion", "arriba")]).await.is_redirect());
    let r = app.post_form(&staff, &format!("/cursos/{id}/elementos/{lesson}/mover"), &[("modulo", &modules[1].to_string())]).await;
    assert!(r.is_redirect(), "{}", r.body);
    app.post_form(&staff, &format!("/cursos/{id}/elementos/{lesson}/mover"), &[]).await.expect(422).expect_contains("indique si el elemento sube, baja");
    assert!(app.post_form(&staff, &format!("/cursos/{id}/modulos/{}", modules[0]), &[("titulo", "Introducción")]).await.is_redirect());
    app.post_form(&staff, &format!("/cursos/{id}/modulos/{}", modules[0]), &[("titulo", " ")]).await.expect(422).expect_contains("indique el título del módulo");
    let content = app.store().course_content(id).await.unwrap();
    assert_eq!(titles(&content), vec![vec!["Examen".to_string(), "Primera lección".to_string()], vec!["Segunda lección".to_string()]]);
    assert_eq!(content.modules[1].0.title, "Introducción");

    // Deleting asks first (a page with «Confirmo», no script), then deletes.
    let r = app.post_form(&staff, &format!("/cursos/{id}/elementos/{lesson}/eliminar"), &[]).await;
    r.expect(200).expect_contains("¿Eliminar la lección «Primera lección»?").expect_contains("name=\"confirmo\"").expect_contains("Nadie tiene registros");
    assert!(app.store().course_content(id).await.unwrap().item(lesson).is_some(), "nothing deleted before confirming");
    let r = app.post_form(&staff, &format!("/cursos/{id}/elementos/{lesson}/eliminar"), &[("confirmo", "si")]).await;
    assert_eq!(r.location(), Some(format!("/cursos/{id}?aviso=eliminado").as_str()));
    assert!(app.store().course_content(id).await.unwrap().item(lesson).is_none());
    let r = app.post_form(&staff, &format!("/cursos/{id}/modulos/{}/eliminar", modules[0]), &[("confirmo", "si")]).await;
    assert!(r.is_redirect(), "{}", r.body);
    assert_eq!(app.store().course_content(id).await.unwrap().modules.len(), 1);

    // A quiz's settings and a question, edited; bad input refused in Spanish, keeping what was typed.
    let item_page = format!("/cursos/{id}/elementos/{quiz}");
    app.get(&staff, &item_page).await.expect(200).expect_contains("Editar el cuestionario").expect_contains("*Sí\nNo");
    let settings = [("titulo", "Examen final"), ("aprobatoria", "80"), ("intentos", "dos"), ("preguntas", "2")];
    app.post_form(&staff, &format!("{item_page}/cuestionario"), &settings).await.expect(422).expect_contains("el número de intentos «dos» no es un número entero");
    let settings = [("titulo", "Examen final"), ("aprobatoria", "80"), ("intentos", "3"), ("preguntas", "2"), ("opcional", "1")];
    assert!(app.post_form(&staff, &format!("{item_page}/cuestionario"), &settings).await.is_redirect());
    let item = app.store().course_content(id).await.unwrap().item(quiz).cloned().unwrap();
    assert_eq!((item.title.as_str(), item.pass_percent, item.attempt_limit, item.required), ("Examen final", Some(80), Some(3), false));
    let question = app.store().questions(quiz).await.unwrap()[0].id;
    let r = app.post_form(&staff, &format!("{item_page}/preguntas/{question}"), &[("tipo", "unica"), ("enunciado", "¿Uno, de nuevo?"), ("opciones", "A\nB")]).await;
    r.expect(422).expect_contains("No se guardó la pregunta").expect_contains("no tiene respuesta correcta").expect_contains("¿Uno, de nuevo?");
    let r = app.post_form(&staff, &format!("{item_page}/preguntas/{question}"), &[("tipo", "multiple"), ("enunciado", "¿Cuáles?"), ("opciones", "*A\n*B\nC"), ("retroalimentacion", "Repase.")]).await;
    assert!(r.is_redirect(), "{}", r.body);
    let q = app.store().questions(quiz).await.unwrap().into_iter().find(|q| q.id == question).unwrap();
    assert_eq!((q.prompt.as_str(), q.options.iter().filter(|o| o.correct).count()), ("¿Cuáles?", 2));

    // Every change is audited.
    let audit: Vec<String> = app.audit_actions("curso", &id.to_string()).await.into_iter().map(|e| e.action).collect();
    for action in ["curso.mover_elemento", "curso.mover_modulo", "curso.renombrar_modulo", "curso.eliminar_elemento", "curso.eliminar_modulo", "curso.cuestionario", "curso.editar_pregunta"] {
        assert!(audit.iter().any(|a| a == action), "{action} not in {audit:?}");
    }
    // A participante reaches none of it.
    let learner = app.login_demo("participante", addr(81)).await;
    app.post_form(&learner, &format!("/cursos/{id}/elementos/{quiz}/eliminar"), &[("confirmo", "si")]).await.expect(403);
    app.post_form(&learner, &format!("/cursos/{id}/elementos/{quiz}/mover"), &[("direccion", "arriba")]).await.expect(403);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_learners_did_in_a_published_course_cannot_be_deleted() {
    let app = app_with_key().await;
    let staff = app.login_demo("coordinacion", addr(82)).await;
    let (id, modules, lesson, _) = editable_course(&app, "ED-PUB", true).await;
    let learner = app.login_demo("participante", addr(83)).await;
    app.post_form(&learner, &format!("/aprender/cursos/{id}/inscribirme"), &[]).await;
    let r = app.post_form(&learner, &format!("/aprender/cursos/{id}/elementos/{lesson}/vista"), &[]).await;
    assert!(r.is_redirect(), "{}", r.body);

    // The confirmation page already says no, and why, and what to do instead.
    let r = app.post_form(&staff, &format!("/cursos/{id}/elementos/{lesson}/eliminar"), &[]).await;
    r.expect(200).expect_contains("No se puede").expect_contains("1 persona ya tiene registros").expect_contains("márquela como opcional").expect_contains("versión mayor");
    assert!(!r.body.contains("name=\"confirmo\""), "no form when the deletion would be refused");
    // Forcing it is refused by the store all the same; nothing is deleted.
    let r = app.post_form(&staff, &format!("/cursos/{id}/elementos/{lesson}/eliminar"), &[("confirmo", "si")]).await;
    r.expect(422).expect_contains("no se puede eliminar la lección «Primera lección»");
    let r = app.post_form(&staff, &format!("/cursos/{id}/modulos/{}/eliminar", modules[0]), &[("confirmo", "si")]).await;
    r.expect(422).expect_contains("el módulo «Uno»");
    assert!(app.store().course_content(id).await.unwrap().item(lesson).is_some());
    // The course page explains the rule.
    app.get(&staff, &format!("/cursos/{id}")).await.expect(200).expect_contains("no se puede eliminar");
    // A draw larger than the bank is refused on a published course.
    let quiz = app.store().course_content(id).await.unwrap().items().find(|i| i.is_quiz()).unwrap().id;
    let r = app.post_form(&staff, &format!("/cursos/{id}/elementos/{quiz}/cuestionario"), &[("titulo", "Examen"), ("aprobatoria", "80"), ("intentos", "1"), ("preguntas", "9")]).await;
    r.expect(422).expect_contains("saca 9 preguntas por intento pero su banco tiene 3");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_out_of_attempts_gets_another_from_staff() {
    let app = app_with_key().await;
    let (id, _, _, quiz) = editable_course(&app, "INT-WEB", true).await;
    let learner = app.login_demo("participante", addr(84)).await;
    app.post_form(&learner, &format!("/aprender/cursos/{id}/inscribirme"), &[]).await;
    // Her only attempt, failed.
    assert!(app.post_form(&learner, &format!("/aprender/cursos/{id}/elementos/{quiz}/intentos"), &[]).await.is_redirect());
    let person = app.store().user_by_email(&common::demo_email("participante")).await.unwrap().unwrap().person_id.unwrap();
    let e = app.store().enrolment_of(id, person).await.unwrap().unwrap();
    let attempt = app.store().attempts(e.id, quiz).await.unwrap().remove(0);
    let bank = app.store().questions(quiz).await.unwrap();
    let wrong: Vec<(String, String)> = attempt
        .drawn_ids()
        .iter()
        .map(|q| (format!("p{q}"), bank.iter().find(|b| b.id == *q).unwrap().options.iter().find(|o| !o.correct).unwrap().id.to_string()))
        .collect();
    let fields: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.post_form(&learner, &format!("/aprender/cursos/{id}/elementos/{quiz}/intentos/{}", attempt.id), &fields).await.expect(200).expect_contains("No aprobó");
    let page = format!("/aprender/cursos/{id}/elementos/{quiz}");
    app.get(&learner, &page).await.expect(200).expect_contains("Usó todos sus intentos");

    // Staff find her by name and give her one more chance, with a reason.
    let staff = app.login_demo("instruccion", addr(85)).await;
    let list = app.get(&staff, &format!("/cursos/{id}/participantes?q=demostraci%C3%B3n")).await;
    list.expect(200).expect_contains("Patricia Demostración Martínez").expect_contains("DEMP900315MOCMRR").expect_contains("Otorgar un intento más");
    let grant = format!("/cursos/{id}/participantes/{}/intentos", e.id);
    app.post_form(&staff, &grant, &[("cuestionario", &quiz.to_string()), ("motivo", " ")]).await.expect(422).expect_contains("indique el motivo");
    let r = app.post_form(&staff, &grant, &[("cuestionario", &quiz.to_string()), ("motivo", "Se cortó la conexión durante el intento"), ("q", "demostración")]).await;
    assert!(r.location().is_some_and(|l| l.contains("aviso=intento")), "{:?} {}", r.location(), r.body);
    app.get(&learner, &page).await.expect(200).expect_contains("Intentos restantes: 1").expect_contains("Intentar de nuevo");
    // A second grant while she still has one is refused.
    app.post_form(&staff, &grant, &[("cuestionario", &quiz.to_string()), ("motivo", "Otra")]).await.expect(422).expect_contains("le queda 1 intento");

    // Her own page: each attempt with its date and grade, and the grant with its reason.
    let own = format!("/cursos/{id}/participantes/{}", e.id);
    list.expect_contains(&format!("href=\"{own}\""));
    let detail = app.get(&staff, &own).await;
    detail.expect(200).expect_contains("Patricia Demostración Martínez").expect_contains("No aprobó").expect_contains("Se cortó la conexión durante el intento");
    assert!(!detail.body.contains("Otorgar un intento más"), "she still has the granted attempt");
    app.get(&staff, &format!("/cursos/{id}/participantes/{}", e.id + 100_000)).await.expect(404);

    let grants: Vec<String> = app.audit_actions("inscripcion", &e.id.to_string()).await.into_iter().map(|a| a.action).collect();
    assert!(grants.contains(&"curso.otorgar_intento".to_string()), "{grants:?}");
    let reads: Vec<String> = app.audit_actions("curso", &id.to_string()).await.into_iter().map(|a| a.action).collect();
    assert!(reads.contains(&"curso.consultar_participantes".to_string()) && reads.contains(&"curso.consultar_participante".to_string()), "{reads:?}");
    app.get(&learner, &own).await.expect(403);
    // Learners cannot grant themselves attempts.
    app.post_form(&learner, &grant, &[("cuestionario", &quiz.to_string()), ("motivo", "yo")]).await.expect(403);
    app.get(&learner, &format!("/cursos/{id}/participantes")).await.expect(403);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_learning_api_answers_by_permission() {
    let app = app_with_key().await;
    let course = demo_course(&app).await;
    let (draft, _, _, quiz) = editable_course(&app, "API-BORR", false).await;
    let learner = app.login_demo("participante", addr(86)).await;
    let staff = app.login_demo("coordinacion", addr(87)).await;

    // The catalogue: published courses without figures for her; everything with figures for staff.
    let mine = app.get(&learner, "/api/v1/cursos").await;
    mine.expect(200);
    let list = mine.json();
    let list = list.as_array().unwrap();
    assert!(!list.is_empty() && list.iter().all(|c| c["estado"] == "publicado" && c["inscripciones"].is_null()), "{list:?}");
    let all = app.get(&staff, "/api/v1/cursos").await.json();
    let all = all.as_array().unwrap();
    assert!(all.iter().any(|c| c["id"] == draft && c["estado"] == "borrador"));
    let pg = all.iter().find(|c| c["id"] == course).unwrap();
    assert_eq!(pg["inscripciones"].as_i64(), Some(app.store().course(course).await.unwrap().enrolled));

    // An outline: modules and items, never the questions or answers; a draft is not hers to see.
    let outline = app.get(&learner, &format!("/api/v1/cursos/{course}")).await;
    outline.expect(200);
    assert!(!outline.json()["modulos"].as_array().unwrap().is_empty());
    let staff_outline = app.get(&staff, &format!("/api/v1/cursos/{draft}")).await;
    staff_outline.expect(200);
    let quiz_json = staff_outline.json()["modulos"][1]["elementos"][0].clone();
    assert_eq!((quiz_json["id"].as_i64(), quiz_json["tipo"].as_str(), quiz_json["intentos"].as_i64()), (Some(quiz), Some("cuestionario"), Some(1)));
    assert!(!staff_outline.body.contains("¿Uno?") && !staff_outline.body.contains("correct"), "{}", staff_outline.body);
    let r = app.get(&learner, &format!("/api/v1/cursos/{draft}")).await;
    r.expect(404);
    assert_eq!(r.json()["error"]["codigo"], "no_encontrado");

    // Her own courses, by session and by her account's API token.
    app.get(&learner, "/api/v1/aprender/cursos").await.expect(200).expect_contains("[]");
    app.post_form(&learner, &format!("/aprender/cursos/{course}/inscribirme"), &[]).await;
    let own = app.get(&learner, "/api/v1/aprender/cursos").await.json();
    assert_eq!((own[0]["curso"]["id"].as_i64(), own[0]["avance"].as_i64(), own[0]["concluido"].is_null()), (Some(course), Some(0), true));
    let participant = app.user_id(&common::demo_email("participante")).await;
    app.store().create_api_token(&test_actor(), participant, "app", "vt_prueba_aprender_0a1b2c3d4e").await.unwrap();
    let token = Who::bearer("vt_prueba_aprender_0a1b2c3d4e", addr(88));
    assert_eq!(app.get(&token, "/api/v1/aprender/cursos").await.json()[0]["curso"]["id"].as_i64(), Some(course));

    // Enrolments: course staff only, and every read is audited.
    let r = app.get(&learner, &format!("/api/v1/cursos/{course}/inscripciones")).await;
    r.expect(403);
    assert_eq!(r.json()["error"]["codigo"], "prohibido");
    app.get(&token, &format!("/api/v1/cursos/{course}/inscripciones")).await.expect(403);
    let before = app.audit_actions("curso", &course.to_string()).await.iter().filter(|a| a.action == "curso.consultar_participantes").count();
    let page = app.get(&staff, &format!("/api/v1/cursos/{course}/inscripciones?limite=500")).await;
    page.expect(200);
    let page = page.json();
    let c = app.store().course(course).await.unwrap();
    assert_eq!(page["total"].as_i64(), Some(c.enrolled));
    let rows = page["inscripciones"].as_array().unwrap();
    assert_eq!(rows.iter().filter(|r| !r["concluido"].is_null()).count() as i64, c.completed);
    assert!(rows.iter().filter(|r| !r["concluido"].is_null()).all(|r| r["avance"] == 100));
    assert!(rows.iter().any(|r| r["nombre"] == "Patricia Demostración Martínez" && r["avance"] == 0));
    let found = app.get(&staff, &format!("/api/v1/cursos/{course}/inscripciones?q=DEMP900315")).await.json();
    assert_eq!(found["total"].as_i64(), Some(1));
    let after = app.audit_actions("curso", &course.to_string()).await.iter().filter(|a| a.action == "curso.consultar_participantes").count();
    assert_eq!(after, before + 2);
    app.cleanup().await;
}
