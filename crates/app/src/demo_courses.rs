//! The learning centre's demonstration: the PG-101 course from `data/cursos/` (written for the
//! demo and labelled so), published, with a history of enrolments and completions across the
//! demo people so the reports have figures, and the demo participante tied to her record.

use crate::learning::read_entries;
use violeta_domain::audit::Actor;
use violeta_domain::learning::{CourseStatus, EnrolmentSource};
use violeta_domain::person::{PersonInput, SexConvention};
use violeta_store::learning::EnrolmentRow;
use violeta_store::people::PersonRef;
use violeta_store::{Result, Store, StoreError};

const COURSE: &[(&str, &[u8])] = &[
    ("curso.json", include_bytes!("../../../data/cursos/pg-101-demostracion/curso.json")),
    ("lecciones/01-sexo-genero.md", include_bytes!("../../../data/cursos/pg-101-demostracion/lecciones/01-sexo-genero.md")),
    ("lecciones/02-perspectiva.md", include_bytes!("../../../data/cursos/pg-101-demostracion/lecciones/02-perspectiva.md")),
    ("lecciones/03-tipos-modalidades.md", include_bytes!("../../../data/cursos/pg-101-demostracion/lecciones/03-tipos-modalidades.md")),
];

/// The demo participante's record: a fictitious CURP with a valid check digit.
pub const PARTICIPANT_CURP_FIRST17: &str = "DEMP900315MOCMRR0";

pub async fn load(store: &Store, actor: &Actor, participant_user: i64, participant_email: &str) -> Result<i64> {
    let entries = COURSE.iter().map(|(n, b)| (n.to_string(), b.to_vec())).collect();
    let (draft, files) = read_entries(entries).map_err(StoreError::Invalid)?;
    let course = store.import_course(actor, &draft, &files, None).await?;
    store.set_course_status(actor, course, CourseStatus::Publicado).await?;

    // A history: most demo people enrolled in the course's first months; about two thirds
    // completed. Dates are spread so the report by month has figures.
    let (people, _) = store.people(violeta_domain::access::PeopleScope::All, &Default::default(), 1000, 0).await?;
    let start = chrono::DateTime::parse_from_rfc3339("2025-02-03T16:00:00Z").expect("fecha fija").to_utc();
    let rows: Vec<EnrolmentRow> = people
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 != 4)
        .map(|(i, p)| EnrolmentRow {
            learner: PersonRef::Existing(p.id),
            completed_at: (i % 3 != 2).then(|| start + chrono::Duration::days((i as i64 * 37) % 300)),
        })
        .collect();
    store.enrol_bulk(actor, course, None, EnrolmentSource::Masiva, &rows).await?;

    // The demo participante: her record, tied to her account; not yet enrolled, so the demo
    // shows enrolment, lessons, the quiz and her constancia from the start.
    let chars: Vec<char> = PARTICIPANT_CURP_FIRST17.chars().collect();
    let curp = format!("{PARTICIPANT_CURP_FIRST17}{}", violeta_domain::curp::check_digit(&chars));
    let draft = PersonInput {
        curp,
        given_names: "Patricia".into(),
        first_surname: "Demostración".into(),
        second_surname: "Martínez".into(),
        municipality: "20067".into(),
        ..Default::default()
    }
    .validate(SexConvention::MujerHombre)
    .map_err(|e| StoreError::Invalid(format!("{e:?}")))?;
    store.link_learner(actor, participant_user, participant_email, &draft).await?;
    Ok(course)
}
