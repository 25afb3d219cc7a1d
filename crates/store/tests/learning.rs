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
use violeta_store::learning::{Dimension, EnrolmentRow, ReportFilter};
use violeta_store::people::PersonRef;
use violeta_store::testing::TestStore;
use violeta_store::{Store, StoreError};

on_both_backends!(
    a_course_is_authored_enrolled_completed_and_certified,
    bulk_enrolment_matches_curps_and_counts_once,
    bulk_enrolment_of_many_keeps_each_person_with_their_curp,
    reports_group_and_drill_down
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

fn answers(questions: &[violeta_store::learning::Question], right: bool) -> BTreeMap<i64, BTreeSet<i64>> {
    questions.iter().map(|q| (q.id, q.options.iter().filter(|o| o.correct == right).map(|o| o.id).take(1).collect())).collect()
}

async fn a_course_is_authored_enrolled_completed_and_certified(db: &TestStore) {
    let s = &db.store;
    let master = MasterKey::demo();
    let signing = Signing { master: &master, base_url: "https://violeta.prueba" };
    s.ensure_issuer(&staff(), &IssuerInput { name: "Secretaría de las Mujeres".into(), signatory: "Mtra. Ana Pérez".into(), signatory_title: "Directora".into() }, &master)
        .await
        .unwrap();
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
    assert!(matches!(s.enrol(&staff(), course_id, learner, EnrolmentSource::Autoinscripcion, None).await, Ok(_)), "an existing enrolment is returned");

    // The course exports to a draft that imports again as a new version, not the same one.
    let mut exported = s.course_draft(course_id).await.unwrap();
    assert!(matches!(s.import_course(&staff(), &exported, &[], None).await, Err(StoreError::Conflict(_))));
    exported.version = 2;
    let v2 = s.import_course(&staff(), &exported, &[("portada.png".into(), vec![1, 2, 3])], None).await.unwrap();
    assert_eq!(s.course_draft(v2).await.unwrap().modules, exported.modules);
    assert_eq!(s.course_file(v2, "portada.png").await.unwrap().1, vec![1, 2, 3]);
    assert!(matches!(s.add_course_file(&staff(), v2, "../etc/passwd", b"x").await, Err(StoreError::Invalid(_))));
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
