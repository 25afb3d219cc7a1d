//! The learning centre in the store: every case on SQLite and, with `VIOLETA_TEST_POSTGRES`,
//! on PostgreSQL.

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use violeta_domain::audit::Actor;
use violeta_domain::credential::{MasterKey, verify};
use violeta_domain::curp::check_digit;
use violeta_domain::learning::{CompletionRule, CourseInfo, CourseStatus, EnrolmentSource, ItemDraft, OptionDraft, QuestionDraft, QuestionKind, QuizSettings};
use violeta_domain::person::{PersonDraft, PersonInput, SexConvention};
use violeta_store::credentials::{IssuerInput, Signing};
use violeta_domain::access::PeopleScope;
use violeta_store::audit::AuditFilter;
use violeta_store::learning::{Dimension, Direction, EnrolmentRow, ReportFilter};
use violeta_store::people::PersonRef;
use violeta_store::testing::TestStore;
use violeta_store::{Store, StoreError};

on_both_backends!(
    a_course_is_authored_enrolled_completed_and_certified,
    bulk_enrolment_matches_curps_and_counts_once,
    bulk_enrolment_of_many_keeps_each_person_with_their_curp,
    reports_group_and_drill_down,
    a_learners_view_is_her_rows_and_the_revision_follows_every_change,
    editing_the_structure_keeps_order_and_what_learners_did,
    a_learner_who_used_her_attempts_gets_one_more,
    a_change_that_leaves_nothing_to_do_completes_the_learners,
    an_edit_completes_more_learners_than_one_statement_holds
);

fn staff() -> Actor {
    Actor { user_id: None, label: "coordinacion@violeta.test".into(), origin: "127.0.0.1".into() }
}

fn curp(n: u32) -> String {
    let first17 = format!("LOPA{:02}{:02}{:02}MOCNRR{}", 70 + n % 29, 1 + n % 12, 1 + n % 28, (n / 1000) % 10);
    let chars: Vec<char> = first17.chars().collect();
    format!("{first17}{}", check_digit(&chars))
}

fn person(n: u32) -> PersonDraft {
    PersonInput {
        curp: curp(n),
        given_names: "ANA".into(),
        first_surname: "LÓPEZ".into(),
        second_surname: "PÉREZ".into(),
        municipality: "20067".into(),
        email: format!("ana{n}@example.org"),
        ..Default::default()
    }
    .validate(SexConvention::MujerHombre)
    .unwrap()
}

fn question(prompt: &str, right: &str, wrong: &str) -> QuestionDraft {
    QuestionDraft {
        kind: QuestionKind::Unica,
        prompt: prompt.into(),
        feedback: "Repase la lección 1.".into(),
        options: vec![OptionDraft { text: right.into(), correct: true }, OptionDraft { text: wrong.into(), correct: false }],
    }
}

/// A published course: one lesson and a quiz of two questions drawn from a bank of three,
/// pass mark 100, two attempts.
async fn course(s: &Store, code: &str) -> (i64, i64, i64) {
    let info = CourseInfo { code: code.into(), title: "Perspectiva de género".into(), minutes: 240, completion_rule: Some(CompletionRule::Todo), valid_months: Some(24), ..Default::default() };
    let id = s.create_course(&staff(), &info, None, None).await.unwrap();
    let module = s.add_module(&staff(), id, "Conceptos básicos").await.unwrap();
    let lesson = s
        .add_item(&staff(), module, &ItemDraft::Lesson { title: "Sexo y género".into(), body: "# Sexo y género\n\nTexto.".into(), video_url: String::new(), required: true })
        .await
        .unwrap();
    let quiz = s
        .add_item(
            &staff(),
            module,
            &ItemDraft::Quiz { title: "Evaluación".into(), settings: QuizSettings { pass_percent: 100, attempt_limit: Some(2), draw_count: Some(2) }, required: true, questions: vec![] },
        )
        .await
        .unwrap();
    // A quiz without questions cannot be published.
    let err = s.set_course_status(&staff(), id, CourseStatus::Publicado).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("no tiene preguntas")), "{err}");
    for (p, r, w) in [("¿Uno?", "Sí", "No"), ("¿Dos?", "Sí", "No"), ("¿Tres?", "Sí", "No")] {
        s.add_question(&staff(), quiz, &question(p, r, w)).await.unwrap();
    }
    s.set_course_status(&staff(), id, CourseStatus::Publicado).await.unwrap();
    (id, lesson, quiz)
}

/// The Secretaría as the issuer of constancias, signing with `master`.
async fn issuer(s: &Store, master: &MasterKey) {
    s.ensure_issuer(&staff(), &IssuerInput { name: "Secretaría de las Mujeres".into(), signatory: "Mtra. Ana Pérez".into(), signatory_title: "Directora".into() }, master)
        .await
        .unwrap();
}

fn answers(questions: &[violeta_store::learning::Question], right: bool) -> BTreeMap<i64, BTreeSet<i64>> {
    questions.iter().map(|q| (q.id, q.options.iter().filter(|o| o.correct == right).map(|o| o.id).take(1).collect())).collect()
}

async fn a_course_is_authored_enrolled_completed_and_certified(db: &TestStore) {
    let s = &db.store;
    let master = MasterKey::demo();
    let signing = Signing { master: &master, base_url: "https://violeta.prueba" };
    issuer(s, &master).await;
    let (course_id, lesson, quiz) = course(s, "PG-101").await;
    // Learners' pages read the course without its figures.
    let light = s.course_light(course_id).await.unwrap();
    assert_eq!((light.title.as_str(), light.enrolled), ("Perspectiva de género", 0));
    let learner = s.create_person(&staff(), &person(1)).await.unwrap();

    // A draft course takes no enrolments; a published one takes each person once.
    let draft = s.create_course(&staff(), &CourseInfo { code: "BORR-1".into(), title: "Borrador".into(), minutes: 60, ..Default::default() }, None, None).await.unwrap();
    assert!(matches!(s.enrol(&staff(), draft, learner, EnrolmentSource::Autoinscripcion, None).await, Err(StoreError::Invalid(_))));
    let e = s.enrol(&staff(), course_id, learner, EnrolmentSource::Autoinscripcion, None).await.unwrap();
    assert_eq!(s.enrol(&staff(), course_id, learner, EnrolmentSource::Autoinscripcion, None).await.unwrap().id, e.id);

    // Seeing the lesson is not completion: the quiz is still missing.
    let step = s.visit_item(&staff(), e.id, lesson, Some(signing)).await.unwrap();
    assert!(!step.completed);
    let mine = s.learner_courses(learner).await.unwrap();
    assert_eq!((mine.len(), mine[0].percent, mine[0].resume_item), (1, 50, Some(lesson)));

    // The quiz draws two of the three questions; the open attempt is kept until submitted.
    let (attempt, questions) = s.open_attempt(&staff(), e.id, quiz).await.unwrap();
    assert_eq!(questions.len(), 2);
    let (again, _) = s.open_attempt(&staff(), e.id, quiz).await.unwrap();
    assert_eq!(again.id, attempt.id);
    let (grade, step) = s.submit_attempt(&staff(), e.id, attempt.id, &answers(&questions, false), Some(signing)).await.unwrap();
    assert_eq!((grade.percent, grade.passed, step.completed), (0, false, false));
    assert!(matches!(s.submit_attempt(&staff(), e.id, attempt.id, &answers(&questions, true), Some(signing)).await, Err(StoreError::Conflict(_))));

    // Second and last attempt, passed: the course completes and its constancia is issued.
    let (attempt, questions) = s.open_attempt(&staff(), e.id, quiz).await.unwrap();
    let (grade, step) = s.submit_attempt(&staff(), e.id, attempt.id, &answers(&questions, true), Some(signing)).await.unwrap();
    assert!(grade.passed && step.completed);
    let folio = step.folio.expect("constancia emitida al concluir");
    let err = s.open_attempt(&staff(), e.id, quiz).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("ya aprobó")), "{err}");

    let record = s.credential(&folio).await.unwrap().unwrap();
    assert_eq!((record.kind.as_str(), record.subject_id, record.minutes, record.title.as_str()), ("curso", course_id, 240, "Perspectiva de género"));
    assert!(record.expires_at.is_some(), "a course with a validity period gives an expiring constancia");
    let key = s.active_issuer().await.unwrap().unwrap().verifying_key().unwrap();
    verify(&record.document(), &key, None, chrono::Utc::now()).unwrap();
    let mine = s.learner_courses(learner).await.unwrap();
    assert_eq!((mine[0].percent, mine[0].folio.as_deref()), (100, Some(folio.as_str())));

    // A correction reissues it; archiving the course leaves constancias standing.
    let new = s.reissue_credential(&staff(), &folio, "Corrección del nombre", signing).await.unwrap();
    assert_ne!(new, folio);
    s.set_course_status(&staff(), course_id, CourseStatus::Archivado).await.unwrap();
    assert!(s.credential(&new).await.unwrap().unwrap().revoked_at.is_none());
    assert_eq!(s.course_credentials(course_id, None).await.unwrap().len(), 2);
    assert!(s.enrol(&staff(), course_id, learner, EnrolmentSource::Autoinscripcion, None).await.is_ok(), "an existing enrolment is returned");

    // The course exports to a draft that imports again as a new version, not the same one.
    let mut exported = s.course_draft(course_id).await.unwrap();
    assert!(matches!(s.import_course(&staff(), &exported, &[], None).await, Err(StoreError::Conflict(_))));
    exported.version = 2;
    let v2 = s.import_course(&staff(), &exported, &[("portada.png".into(), vec![1, 2, 3])], None).await.unwrap();
    assert_eq!(s.course_draft(v2).await.unwrap().modules, exported.modules);
    assert_eq!(s.course_file(v2, "portada.png").await.unwrap().1, vec![1, 2, 3]);
    assert!(matches!(s.add_course_file(&staff(), v2, "../etc/passwd", b"x").await, Err(StoreError::Invalid(_))));
}

/// Learners' pages read their own rows in one query and keep the content cached by the
/// course's revision: every change to the content must raise it, and the view must say what
/// the store's progress query says.
async fn a_learners_view_is_her_rows_and_the_revision_follows_every_change(db: &TestStore) {
    let s = &db.store;
    let master = MasterKey::demo();
    let signing = Signing { master: &master, base_url: "https://violeta.prueba" };
    issuer(s, &master).await;
    let (course_id, lesson, quiz) = course(s, "REV-1").await;
    let learner = s.create_person(&staff(), &person(7)).await.unwrap();
    let other = s.create_person(&staff(), &person(8)).await.unwrap();

    // Not enrolled: the course, and nothing of hers.
    let view = s.learner_view(course_id, learner).await.unwrap();
    assert_eq!((view.course.id, view.enrolment.is_none(), view.folio.is_none()), (course_id, true, true));
    assert!(view.done.lessons_seen.is_empty() && view.done.quizzes_passed.is_empty());
    assert!(matches!(s.learner_view(course_id + 1000, learner).await, Err(StoreError::NotFound(_))));

    // Every kind of change raises the revision.
    let mut revision = view.course.revision;
    let mut raised = |now: i64, what: &str| {
        assert!(now > revision, "{what} did not raise the revision ({now} after {revision})");
        revision = now;
    };
    let module = s.add_module(&staff(), course_id, "Segundo módulo").await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "a new module");
    let optional = s
        .add_item(&staff(), module, &ItemDraft::Lesson { title: "Lectura opcional".into(), body: "Texto.".into(), video_url: String::new(), required: false })
        .await
        .unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "a new lesson");
    s.update_lesson(&staff(), optional, "Lectura complementaria", "Otro texto.", "", false).await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "an edited lesson");
    let q = s.add_question(&staff(), quiz, &question("¿Cuatro?", "Sí", "No")).await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "a new question");
    s.remove_question(&staff(), q).await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "a removed question");
    s.add_course_file(&staff(), course_id, "figura.png", &[1, 2, 3]).await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "a new file");
    // Editing the structure: every kind of change raises it too.
    s.rename_module(&staff(), course_id, module, "Lecturas").await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "a renamed module");
    s.move_module(&staff(), course_id, module, Direction::Up).await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "a module moved up");
    s.move_item(&staff(), course_id, quiz, Direction::Up).await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "an item moved up");
    let first_module = s.course_content(course_id).await.unwrap().item(lesson).unwrap().module_id;
    s.move_item_to(&staff(), course_id, optional, first_module).await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "an item moved to another module");
    s.update_quiz(&staff(), course_id, quiz, "Evaluación final", true, QuizSettings { pass_percent: 100, attempt_limit: Some(3), draw_count: Some(2) }).await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "edited quiz settings");
    let first_question = s.questions(quiz).await.unwrap()[0].id;
    s.update_question(&staff(), course_id, quiz, first_question, &question("¿Uno, revisado?", "Sí", "No")).await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "an edited question");
    s.delete_item(&staff(), course_id, optional).await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "a deleted item");
    s.delete_module(&staff(), course_id, module).await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "a deleted module");
    let info = CourseInfo { code: "REV-1".into(), title: "Perspectiva de género (2.ª edición)".into(), minutes: 240, completion_rule: Some(CompletionRule::Seleccion), ..Default::default() };
    s.update_course(&staff(), course_id, &info, None, None).await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "edited course details");
    s.set_course_status(&staff(), course_id, CourseStatus::Archivado).await.unwrap();
    raised(s.course_light(course_id).await.unwrap().revision, "a status change");
    s.set_course_status(&staff(), course_id, CourseStatus::Publicado).await.unwrap();

    // Enrolled: her enrolment, what she has done (the same as the progress query), her folio;
    // another learner's rows never show.
    let e = s.enrol(&staff(), course_id, learner, EnrolmentSource::Autoinscripcion, None).await.unwrap();
    s.enrol(&staff(), course_id, other, EnrolmentSource::Autoinscripcion, None).await.unwrap();
    s.visit_item(&staff(), e.id, lesson, Some(signing)).await.unwrap();
    s.visit_item(&staff(), e.id, lesson, Some(signing)).await.unwrap();
    assert!(matches!(s.visit_item(&staff(), e.id, lesson + 1000, Some(signing)).await, Err(StoreError::NotFound(_))));
    let (attempt, questions) = s.open_attempt(&staff(), e.id, quiz).await.unwrap();
    let (_, step) = s.submit_attempt(&staff(), e.id, attempt.id, &answers(&questions, true), Some(signing)).await.unwrap();
    assert!(step.completed, "under «selección» an optional lesson is not needed to complete");
    let view = s.learner_view(course_id, learner).await.unwrap();
    let mine = view.enrolment.expect("enrolled");
    assert_eq!((mine.id, mine.last_item_id, mine.completed_at.is_some()), (e.id, Some(quiz), true));
    assert_eq!(view.done.lessons_seen, BTreeSet::from([lesson]));
    assert_eq!(view.done.quizzes_passed, BTreeSet::from([quiz]));
    assert_eq!(view.folio, step.folio.map(|f| f.as_str().to_string()));
    let content = s.course_content(course_id).await.unwrap();
    assert_eq!(content.progress(&view.done), s.progress(&mine).await.unwrap());
    let theirs = s.learner_view(course_id, other).await.unwrap();
    assert!(theirs.done.lessons_seen.is_empty() && theirs.folio.is_none() && theirs.enrolment.unwrap().completed_at.is_none());
}

/// A learner who did everything but an item that is then deleted or made optional has
/// completed the course: the change records it (she has no step left that would).
async fn a_change_that_leaves_nothing_to_do_completes_the_learners(db: &TestStore) {
    let s = &db.store;
    let (course_id, lesson, quiz) = course(s, "FIN-1").await;
    let module = s.course_content(course_id).await.unwrap().modules[0].0.id;
    let lesson_draft = |title: &str| ItemDraft::Lesson { title: title.into(), body: "Texto.".into(), video_url: String::new(), required: true };
    let extra = s.add_item(&staff(), module, &lesson_draft("Lectura final")).await.unwrap();
    let last = s.add_item(&staff(), module, &lesson_draft("Cierre")).await.unwrap();
    let mut learners = Vec::new();
    for n in [21, 22, 23] {
        let person = s.create_person(&staff(), &person(n)).await.unwrap();
        learners.push((person, s.enrol(&staff(), course_id, person, EnrolmentSource::Autoinscripcion, None).await.unwrap().id));
    }
    let [(ana, a), (eva, e), (third, _)] = learners[..] else { unreachable!() };
    // Ana and Eva saw the first lesson and passed the quiz; Ana also read «Lectura final».
    for enrolment in [a, e] {
        s.visit_item(&staff(), enrolment, lesson, None).await.unwrap();
        let (attempt, questions) = s.open_attempt(&staff(), enrolment, quiz).await.unwrap();
        s.submit_attempt(&staff(), enrolment, attempt.id, &answers(&questions, true), None).await.unwrap();
    }
    s.visit_item(&staff(), a, extra, None).await.unwrap();
    let done = |person: i64| async move { s.learner_view(course_id, person).await.unwrap().enrolment.unwrap().completed_at.is_some() };
    assert!(!done(ana).await && !done(eva).await);

    // Nobody saw «Cierre»: it can go, and Ana has then done everything.
    s.delete_item(&staff(), course_id, last).await.unwrap();
    assert!(done(ana).await, "deleting the last thing she had left completes her");
    assert!(!done(eva).await, "Eva still lacks «Lectura final»");
    // «Lectura final» made optional, the rule counting only what is required: Eva is done too.
    let info = CourseInfo { code: "FIN-1".into(), title: "Perspectiva de género".into(), minutes: 240, completion_rule: Some(CompletionRule::Seleccion), ..Default::default() };
    s.update_course(&staff(), course_id, &info, None, None).await.unwrap();
    assert!(!done(eva).await, "under «selección» the lesson still counts while it is required");
    s.update_lesson(&staff(), extra, "Lectura final", "Texto.", "", false).await.unwrap();
    assert!(done(eva).await, "making it optional completes her");
    assert!(!done(third).await, "someone who did nothing is not completed by an edit");
}

/// More learners than one statement's worth (SQLite updates them in lists of 500), each
/// with her completion in the audit log.
async fn an_edit_completes_more_learners_than_one_statement_holds(db: &TestStore) {
    let s = &db.store;
    let info = CourseInfo { code: "FIN-2".into(), title: "Derechos humanos".into(), minutes: 60, completion_rule: Some(CompletionRule::Todo), ..Default::default() };
    let course_id = s.create_course(&staff(), &info, None, None).await.unwrap();
    let module = s.add_module(&staff(), course_id, "Único").await.unwrap();
    let lesson = |title: &str| ItemDraft::Lesson { title: title.into(), body: "Texto.".into(), video_url: String::new(), required: true };
    let first = s.add_item(&staff(), module, &lesson("Primera")).await.unwrap();
    let second = s.add_item(&staff(), module, &lesson("Segunda")).await.unwrap();
    s.set_course_status(&staff(), course_id, CourseStatus::Publicado).await.unwrap();
    let rows: Vec<EnrolmentRow> = (100..720).map(|n| EnrolmentRow { learner: PersonRef::Draft(Box::new(person(n))), completed_at: None }).collect();
    s.enrol_bulk(&staff(), course_id, None, EnrolmentSource::Masiva, &rows).await.unwrap();
    let enrolments = db.raw_texts(&format!("SELECT CAST(id AS TEXT) FROM enrolments WHERE course_id = {course_id} ORDER BY id")).await.unwrap();
    assert_eq!(enrolments.len(), 620);
    // All but the last 20 read the first lesson; nobody read the second.
    for id in &enrolments[..600] {
        s.visit_item(&staff(), id.parse().unwrap(), first, None).await.unwrap();
    }
    assert_eq!(s.course(course_id).await.unwrap().completed, 0);

    s.delete_item(&staff(), course_id, second).await.unwrap();
    assert_eq!(s.course(course_id).await.unwrap().completed, 600, "those who read what is left are done; the others are not");
    let audit = s.audit_entries(&AuditFilter { entity: Some("inscripcion".into()), entity_id: None, actor_id: None }, 2000, 0).await.unwrap();
    let recorded: BTreeSet<&str> = audit.iter().filter(|a| a.action == "curso.concluir").map(|a| a.entity_id.as_str()).collect();
    assert_eq!(recorded, enrolments[..600].iter().map(String::as_str).collect(), "one audit entry per completion");
}

async fn bulk_enrolment_matches_curps_and_counts_once(db: &TestStore) {
    let s = &db.store;
    let (course_id, _, _) = course(s, "DH-200").await;
    let known = s.create_person(&staff(), &person(10)).await.unwrap();
    let cohort = s
        .create_course_cohort(&staff(), course_id, "Grupo enero", chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(), chrono::NaiveDate::from_ymd_opt(2026, 2, 5).unwrap(), None)
        .await
        .unwrap();
    let rows: Vec<EnrolmentRow> = [10, 11, 12, 11]
        .into_iter()
        .map(|n| EnrolmentRow { learner: PersonRef::Draft(Box::new(person(n))), completed_at: None })
        .chain([EnrolmentRow { learner: PersonRef::Existing(known), completed_at: None }])
        .collect();
    let r = s.enrol_bulk(&staff(), course_id, Some(cohort), EnrolmentSource::Masiva, &rows).await.unwrap();
    assert_eq!((r.enrolled, r.already, r.people_created), (3, 0, 2));
    let again = s.enrol_bulk(&staff(), course_id, Some(cohort), EnrolmentSource::Masiva, &rows).await.unwrap();
    assert_eq!((again.enrolled, again.already, again.people_created), (0, 3, 0));
    assert_eq!(s.course_cohorts(course_id).await.unwrap()[0].enrolled, 3);
    assert_eq!(s.course(course_id).await.unwrap().enrolled, 3);

    // History from Moodle: completions with their dates.
    let done = chrono::DateTime::parse_from_rfc3339("2025-03-04T18:00:00Z").unwrap().to_utc();
    let history = vec![EnrolmentRow { learner: PersonRef::Draft(Box::new(person(13))), completed_at: Some(done) }];
    let r = s.enrol_bulk(&staff(), course_id, None, EnrolmentSource::Moodle, &history).await.unwrap();
    assert_eq!((r.enrolled, r.completions), (1, 1));
    let who = s.person_by_curp(violeta_domain::access::PeopleScope::All, &curp(13)).await.unwrap().unwrap();
    assert_eq!(s.enrolment_of(course_id, who.id).await.unwrap().unwrap().completed_at, Some(done));

    // A cohort of another course is refused, and nothing is written.
    let (other, _, _) = course(s, "DH-201").await;
    let err = s.enrol_bulk(&staff(), other, Some(cohort), EnrolmentSource::Masiva, &rows).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    assert_eq!(s.course(other).await.unwrap().enrolled, 0);
}

/// The bulk path past one statement's worth of rows (SQLite: several multi-row statements;
/// PostgreSQL: `COPY` of the new people), in an order that is not the CURPs', with text
/// that `COPY` must escape: each CURP keeps its own person, enrolled once.
async fn bulk_enrolment_of_many_keeps_each_person_with_their_curp(db: &TestStore) {
    let s = &db.store;
    let (course_id, _, _) = course(s, "DH-300").await;
    let known = s.create_person(&staff(), &person(5)).await.unwrap();
    let first = [EnrolmentRow { learner: PersonRef::Existing(known), completed_at: None }];
    s.enrol_bulk(&staff(), course_id, None, EnrolmentSource::Masiva, &first).await.unwrap();
    // Names told apart without digits (a name has none).
    let letters = |n: u32| n.to_string().chars().map(|d| char::from(b'a' + d.to_digit(10).unwrap() as u8)).collect::<String>();
    let done = chrono::DateTime::parse_from_rfc3339("2025-03-04T18:00:00Z").unwrap().to_utc();
    let mut rows: Vec<EnrolmentRow> = (100..1300)
        .rev()
        .map(|n| {
            let mut p = person(n);
            p.given_names = format!("Ana\t\\N {}", letters(n));
            p.second_surname = "O'Brien\tÑúñez".into();
            EnrolmentRow { learner: PersonRef::Draft(Box::new(p)), completed_at: (n % 3 == 0).then_some(done) }
        })
        .collect();
    rows.push(EnrolmentRow { learner: PersonRef::Draft(Box::new(person(5))), completed_at: None });
    rows.push(EnrolmentRow { learner: PersonRef::Draft(Box::new(person(100))), completed_at: Some(done) });
    let r = s.enrol_bulk(&staff(), course_id, None, EnrolmentSource::Masiva, &rows).await.unwrap();
    assert_eq!((r.enrolled, r.already, r.people_created, r.completions), (1200, 1, 1200, 400));
    for n in [100, 101, 102, 777, 1299] {
        let who = s.person_by_curp(violeta_domain::access::PeopleScope::All, &curp(n)).await.unwrap().unwrap();
        assert_eq!((who.given_names, who.second_surname.as_str()), (format!("Ana\t\\N {}", letters(n)), "O'Brien\tÑúñez"));
        let e = s.enrolment_of(course_id, who.id).await.unwrap().unwrap();
        // The first row of a person wins: 100's own row, without a completion.
        assert_eq!(e.completed_at, (n % 3 == 0).then_some(done), "{n}");
    }
    assert_eq!(s.course(course_id).await.unwrap().enrolled, 1201);
    assert_eq!(s.verify_audit().await.unwrap().map(|_| ()), Ok(()));
}

async fn reports_group_and_drill_down(db: &TestStore) {
    let s = &db.store;
    let (course_id, _, _) = course(s, "VP-300").await;
    let done = chrono::Utc::now();
    let rows: Vec<EnrolmentRow> = (20..24).map(|n| EnrolmentRow { learner: PersonRef::Draft(Box::new(person(n))), completed_at: (n % 2 == 0).then_some(done) }).collect();
    s.enrol_bulk(&staff(), course_id, None, EnrolmentSource::Moodle, &rows).await.unwrap();
    for dimension in Dimension::ALL {
        let report = s.completion_report(dimension, &ReportFilter::default()).await.unwrap();
        assert_eq!(report.iter().map(|r| r.enrolled).sum::<i64>(), 4, "{dimension:?}");
        assert_eq!(report.iter().map(|r| r.completed).sum::<i64>(), 2, "{dimension:?}");
    }
    let by_course = s.completion_report(Dimension::Curso, &ReportFilter { course_id: Some(course_id), ..Default::default() }).await.unwrap();
    assert_eq!(by_course.len(), 1);
    assert_eq!(by_course[0].rate(), 50.0);
    let people = s.report_people(Dimension::Curso, &by_course[0].key, true, &ReportFilter::default(), 100).await.unwrap();
    assert_eq!(people.len(), 2);
    let by_sex = s.completion_report(Dimension::Sexo, &ReportFilter::default()).await.unwrap();
    assert_eq!(by_sex[0].key, "mujer");
    let municipality = s.completion_report(Dimension::Municipio, &ReportFilter::default()).await.unwrap();
    assert_eq!(municipality[0].key, "20067");
    let tomorrow = violeta_domain::hours::mexico_city_now().date().succ_opt().unwrap();
    let none = s.completion_report(Dimension::Curso, &ReportFilter { from: Some(tomorrow), ..Default::default() }).await.unwrap();
    assert!(none.is_empty());
}

/// Positions as the content lists them, per module: (module title, [item titles]).
async fn outline(s: &Store, course_id: i64) -> Vec<(String, Vec<String>)> {
    let content = s.course_content(course_id).await.unwrap();
    for (n, (m, items)) in content.modules.iter().enumerate() {
        assert_eq!(m.position, n as i64 + 1, "module positions are dense");
        for (k, i) in items.iter().enumerate() {
            assert_eq!(i.position, k as i64 + 1, "item positions in «{}» are dense", m.title);
        }
    }
    content.modules.iter().map(|(m, items)| (m.title.clone(), items.iter().map(|i| i.title.clone()).collect())).collect()
}

fn lesson(title: &str) -> ItemDraft {
    ItemDraft::Lesson { title: title.into(), body: "Texto.".into(), video_url: String::new(), required: true }
}

/// Authors reorder, move, edit and delete; positions stay dense; on a published course what
/// learners did cannot be deleted; completions and grades survive every edit; all audited.
async fn editing_the_structure_keeps_order_and_what_learners_did(db: &TestStore) {
    let s = &db.store;
    let (course_id, intro, quiz) = course(s, "ED-1").await;
    let first = s.course_content(course_id).await.unwrap().modules[0].0.id;
    let second = s.add_module(&staff(), course_id, "Dos").await.unwrap();
    let third = s.add_module(&staff(), course_id, "Tres").await.unwrap();
    let a = s.add_item(&staff(), second, &lesson("A")).await.unwrap();
    let b = s.add_item(&staff(), second, &lesson("B")).await.unwrap();
    let c = s.add_item(&staff(), second, &lesson("C")).await.unwrap();

    s.move_module(&staff(), course_id, third, Direction::Up).await.unwrap();
    s.move_module(&staff(), course_id, first, Direction::Up).await.unwrap(); // already first: nothing changes
    s.move_item(&staff(), course_id, c, Direction::Up).await.unwrap();
    s.move_item(&staff(), course_id, c, Direction::Up).await.unwrap();
    s.move_item(&staff(), course_id, a, Direction::Down).await.unwrap();
    s.move_item_to(&staff(), course_id, b, third).await.unwrap();
    s.rename_module(&staff(), course_id, third, "  Tres:   casos ").await.unwrap();
    let titles = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    assert_eq!(
        outline(s, course_id).await,
        vec![
            ("Conceptos básicos".to_string(), titles(&["Sexo y género", "Evaluación"])),
            ("Tres: casos".to_string(), titles(&["B"])),
            ("Dos".to_string(), titles(&["C", "A"])),
        ]
    );
    // Another course's module, an empty title, an item of another course: refused.
    let (other, other_lesson, _) = course(s, "ED-2").await;
    let other_module = s.course_content(other).await.unwrap().modules[0].0.id;
    assert!(matches!(s.move_item_to(&staff(), course_id, a, other_module).await, Err(StoreError::NotFound(_))));
    assert!(matches!(s.rename_module(&staff(), course_id, third, " ").await, Err(StoreError::Invalid(_))));
    assert!(matches!(s.delete_item(&staff(), course_id, other_lesson).await, Err(StoreError::NotFound(_))));

    // Quiz settings are checked as when created: on a published course the draw fits the bank.
    let err = s.update_quiz(&staff(), course_id, quiz, "Evaluación", true, QuizSettings { pass_percent: 100, attempt_limit: Some(2), draw_count: Some(5) }).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("saca 5 preguntas") && m.contains("banco tiene 3")), "{err}");
    let err = s.update_quiz(&staff(), course_id, quiz, "Evaluación", true, QuizSettings { pass_percent: 0, attempt_limit: None, draw_count: None }).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert!(matches!(s.update_quiz(&staff(), course_id, intro, "L", true, QuizSettings { pass_percent: 80, attempt_limit: None, draw_count: None }).await, Err(StoreError::NotFound(_))));

    // A learner completes the course.
    let learner = s.create_person(&staff(), &person(40)).await.unwrap();
    let e = s.enrol(&staff(), course_id, learner, EnrolmentSource::Autoinscripcion, None).await.unwrap();
    for item in [intro, c, a, b] {
        s.visit_item(&staff(), e.id, item, None).await.unwrap();
    }
    let (attempt, drawn) = s.open_attempt(&staff(), e.id, quiz).await.unwrap();
    let (_, step) = s.submit_attempt(&staff(), e.id, attempt.id, &answers(&drawn, true), None).await.unwrap();
    assert!(step.completed);

    // What she did cannot be deleted from the published course; the refusal says what to do.
    let err = s.delete_item(&staff(), course_id, intro).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("1 persona ya tiene registros") && m.contains("márquela como opcional") && m.contains("versión mayor")), "{err}");
    let err = s.delete_module(&staff(), course_id, first).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("el módulo «Conceptos básicos»")), "{err}");
    assert!(matches!(s.delete_item(&staff(), course_id, quiz).await, Err(StoreError::Conflict(_))));
    // An item nobody has records in can go; positions close up.
    let d = s.add_item(&staff(), second, &lesson("D")).await.unwrap();
    s.move_item(&staff(), course_id, d, Direction::Up).await.unwrap();
    s.delete_item(&staff(), course_id, d).await.unwrap();
    assert_eq!(outline(s, course_id).await[2].1, titles(&["C", "A"]));
    let empty = s.add_module(&staff(), course_id, "Vacío").await.unwrap();
    s.move_module(&staff(), course_id, empty, Direction::Up).await.unwrap();
    s.delete_module(&staff(), course_id, empty).await.unwrap();
    assert_eq!(outline(s, course_id).await.len(), 3);

    // Editing a question keeps its options' ids position by position; the bank cannot shrink
    // below the draw on a published course.
    let bank = s.questions(quiz).await.unwrap();
    let q = &bank[0];
    let edited = QuestionDraft {
        kind: QuestionKind::Multiple,
        prompt: "¿Cuáles?".into(),
        feedback: "Vea el módulo 1.".into(),
        options: vec![
            OptionDraft { text: "Primera".into(), correct: true },
            OptionDraft { text: "Segunda".into(), correct: true },
            OptionDraft { text: "Tercera".into(), correct: false },
        ],
    };
    s.update_question(&staff(), course_id, quiz, q.id, &edited).await.unwrap();
    let after = s.questions(quiz).await.unwrap().into_iter().find(|x| x.id == q.id).unwrap();
    assert_eq!((after.prompt.as_str(), after.kind(), after.options.len()), ("¿Cuáles?", QuestionKind::Multiple, 3));
    assert_eq!(after.options[0].id, q.options[0].id);
    assert_eq!(after.options[1].id, q.options[1].id);
    assert!(after.options[1].correct);
    let bad = QuestionDraft { options: vec![OptionDraft { text: "Sola".into(), correct: true }], ..edited.clone() };
    assert!(matches!(s.update_question(&staff(), course_id, quiz, q.id, &bad).await, Err(StoreError::Invalid(_))));
    assert!(matches!(s.update_question(&staff(), course_id, intro, q.id, &edited).await, Err(StoreError::NotFound(_))));
    s.remove_question(&staff(), bank[2].id).await.unwrap();
    let err = s.remove_question(&staff(), bank[1].id).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("no se puede quitar la pregunta")), "{err}");

    // Her completion and her grade survive every edit: optional quiz, questions gone, and on a
    // draft even the deletion of what she did.
    s.update_quiz(&staff(), course_id, quiz, "Evaluación", false, QuizSettings { pass_percent: 50, attempt_limit: Some(1), draw_count: Some(1) }).await.unwrap();
    s.set_course_status(&staff(), course_id, CourseStatus::Borrador).await.unwrap();
    for q in s.questions(quiz).await.unwrap() {
        s.remove_question(&staff(), q.id).await.unwrap();
    }
    let graded = s.attempts(e.id, quiz).await.unwrap();
    assert_eq!((graded[0].score_percent, graded[0].passed), (Some(100), Some(true)));
    s.delete_module(&staff(), course_id, third).await.unwrap();
    s.delete_item(&staff(), course_id, intro).await.unwrap();
    assert!(s.enrolment_of(course_id, learner).await.unwrap().unwrap().completed_at.is_some());
    assert_eq!(outline(s, course_id).await.len(), 2);

    // Every change is in the audit trail.
    let audit = s.audit_entries(&AuditFilter { entity: Some("curso".into()), entity_id: Some(course_id.to_string()), actor_id: None }, 500, 0).await.unwrap();
    for action in ["curso.mover_modulo", "curso.mover_elemento", "curso.renombrar_modulo", "curso.cuestionario", "curso.editar_pregunta", "curso.eliminar_elemento", "curso.eliminar_modulo"] {
        assert!(audit.iter().any(|a| a.action == action), "{action} not audited");
    }
}

/// A learner who used up her attempts gets one more from staff, with a reason; the audit
/// trail keeps it, and the «Participantes» list shows where she stands (within scope).
async fn a_learner_who_used_her_attempts_gets_one_more(db: &TestStore) {
    let s = &db.store;
    let (course_id, _, quiz) = course(s, "INT-1").await;
    let learner = s.create_person(&staff(), &person(50)).await.unwrap();
    let e = s.enrol(&staff(), course_id, learner, EnrolmentSource::Autoinscripcion, None).await.unwrap();
    let fail = |e: i64| async move {
        let (attempt, drawn) = s.open_attempt(&staff(), e, quiz).await.unwrap();
        s.submit_attempt(&staff(), e, attempt.id, &answers(&drawn, false), None).await.unwrap();
    };
    // Not yet used up: refused, and said why.
    fail(e.id).await;
    let err = s.grant_attempt(&staff(), course_id, e.id, quiz, "Se cortó la luz").await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("le queda 1 intento")), "{err}");
    fail(e.id).await;
    let err = s.open_attempt(&staff(), e.id, quiz).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("ya usó sus 2 intentos")), "{err}");

    // The list shows her quiz as used up.
    let (list, total) = s.course_participants(&staff(), PeopleScope::All, course_id, Some("lópez"), 50, 0).await.unwrap();
    assert_eq!((list.len(), total), (1, 1));
    let content = s.course_content(course_id).await.unwrap();
    assert_eq!(list[0].exhausted(&content).iter().map(|i| i.id).collect::<Vec<_>>(), vec![quiz]);
    assert_eq!(list[0].percent(&content, CompletionRule::Todo), 0);
    assert_eq!(s.course_participants(&staff(), PeopleScope::All, course_id, Some(&curp(50)), 50, 0).await.unwrap().1, 1);
    assert_eq!(s.course_participants(&staff(), PeopleScope::All, course_id, Some("ZZZ"), 50, 0).await.unwrap().1, 0);
    assert_eq!(s.course_participants(&staff(), PeopleScope::Institution(999_999), course_id, None, 50, 0).await.unwrap().1, 0);
    assert_eq!(s.course_participants(&staff(), PeopleScope::Nobody, course_id, None, 50, 0).await.unwrap().1, 0);

    // A reason is required; then one more attempt, and only one.
    assert!(matches!(s.grant_attempt(&staff(), course_id, e.id, quiz, "  ").await, Err(StoreError::Invalid(ref m)) if m.contains("motivo")));
    assert_eq!(s.grant_attempt(&staff(), course_id, e.id, quiz, "Se cortó la luz durante el intento").await.unwrap(), 1);
    assert_eq!(s.attempts_granted(e.id, quiz).await.unwrap(), 1);
    assert!(matches!(s.grant_attempt(&staff(), course_id, e.id, quiz, "Otra vez").await, Err(StoreError::Invalid(_))));
    let (list, _) = s.course_participants(&staff(), PeopleScope::All, course_id, None, 50, 0).await.unwrap();
    assert!(list[0].exhausted(&content).is_empty());
    fail(e.id).await;
    let err = s.open_attempt(&staff(), e.id, quiz).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("ya usó sus 3 intentos")), "{err}");
    s.grant_attempt(&staff(), course_id, e.id, quiz, "Segunda oportunidad acordada").await.unwrap();
    let (attempt, drawn) = s.open_attempt(&staff(), e.id, quiz).await.unwrap();
    s.submit_attempt(&staff(), e.id, attempt.id, &answers(&drawn, true), None).await.unwrap();
    let err = s.grant_attempt(&staff(), course_id, e.id, quiz, "Más").await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("ya aprobó")), "{err}");

    // Her history: every attempt (the last one passed) and both grants with their reasons,
    // within the reader's scope; another course's enrolment is not found.
    let h = s.participant_history(&staff(), PeopleScope::All, course_id, e.id).await.unwrap();
    assert_eq!((h.participant.enrolment_id, h.attempts.len(), h.attempts.last().and_then(|a| a.passed)), (e.id, 4, Some(true)));
    let reasons: Vec<&str> = h.grants.iter().map(|g| g.reason.as_str()).collect();
    assert_eq!(reasons, ["Se cortó la luz durante el intento", "Segunda oportunidad acordada"]);
    assert!(matches!(s.participant_history(&staff(), PeopleScope::Nobody, course_id, e.id).await, Err(StoreError::NotFound(_))));

    // Another course's enrolment, or an item that is not a quiz: not found.
    let (other, other_lesson, _) = course(s, "INT-2").await;
    assert!(matches!(s.participant_history(&staff(), PeopleScope::All, other, e.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(s.grant_attempt(&staff(), other, e.id, quiz, "x").await, Err(StoreError::NotFound(_))));
    assert!(matches!(s.grant_attempt(&staff(), course_id, e.id, other_lesson, "x").await, Err(StoreError::NotFound(_))));

    // The grants and the list's reads are audited.
    let grants = s.audit_entries(&AuditFilter { entity: Some("inscripcion".into()), entity_id: Some(e.id.to_string()), actor_id: None }, 100, 0).await.unwrap();
    assert_eq!(grants.iter().filter(|a| a.action == "curso.otorgar_intento").count(), 2);
    let reads = s.audit_entries(&AuditFilter { entity: Some("curso".into()), entity_id: Some(course_id.to_string()), actor_id: None }, 100, 0).await.unwrap();
    assert!(reads.iter().any(|a| a.action == "curso.consultar_participantes"));
}
