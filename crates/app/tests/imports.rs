//! Imports through the application services, on a real (SQLite) store.

use violeta_domain::audit::Actor;
use violeta_store::testing::TestStore;

fn actor() -> Actor {
    Actor { user_id: None, label: "prueba".into(), origin: "127.0.0.1".into() }
}

const HEADER: &str = "Nombre,Tipo,Domicilio,Entidad,Municipio,Latitud,Longitud,Horario,Contacto,Confirmado\n";

#[tokio::test]
async fn safe_spaces_import_refuses_bad_places_with_row_and_column() {
    let db = TestStore::sqlite().await.unwrap();
    let s = &db.store;
    let bad = format!(
        "{HEADER}\
         Farmacia Centro,Comercio,Calle 1,Oaxaca,Oaxaca de Juárez,17.0610,-96.7260,lun-vie 09:00-18:00,Ana,\n\
         Tienda Sur,Comercio,Calle 2,Oaxaca,Oaxaca de Juárez,-96.7260,17.0610,lun-vie 09:00-18:00,Ana,\n\
         Sitio Lejano,Transporte,Calle 3,Oaxaca,Oaxaca de Juárez,15.8361,-96.3220,24 horas,Ana,\n\
         Escuela,Escuela,Calle 4,Oaxaca,Toluca,17.06,-96.72,24 horas,Ana,\n\
         Centro,Parque,Calle 5,Oaxaca,20067,17.06,-96.72,a veces,Ana,\n"
    );
    let report = violeta_app::safe_spaces::import(s, &actor(), "espacios.csv", bad.as_bytes()).await.unwrap_err();
    let text = report.to_string();
    assert!(text.contains("fila 3, columna F (Latitud)") && text.contains("fuera de México"), "{text}");
    assert!(text.contains("fila 4, columna F (Latitud)") && text.contains("km de la cabecera"), "{text}");
    assert!(text.contains("fila 5, columna E (Municipio)") && text.contains("no existe el municipio «Toluca»"), "{text}");
    assert!(text.contains("fila 6, columna B (Tipo)") && text.contains("fila 6, columna H (Horario)"), "{text}");
    assert!(s.safe_spaces(&Default::default()).await.unwrap().is_empty(), "nothing half-written");

    // Far coordinates confirmed by the user are accepted.
    let good = format!(
        "{HEADER}\
         Farmacia Centro,Comercio,Calle 1,Oaxaca,Oaxaca de Juárez,17.0610,-96.7260,lun-vie 09:00-18:00,Ana,\n\
         Sitio Lejano,Transporte,Calle 3,Oaxaca,Oaxaca de Juárez,16.5,-96.7,24 horas,Ana,sí\n"
    );
    assert_eq!(violeta_app::safe_spaces::import(s, &actor(), "espacios.csv", good.as_bytes()).await.unwrap(), 2);
    assert_eq!(s.public_safe_spaces(&Default::default()).await.unwrap().len(), 2);
    db.cleanup().await;
}

#[tokio::test]
async fn avgm_import_groups_rows_into_declarations() {
    let db = TestStore::sqlite().await.unwrap();
    let s = &db.store;
    let csv = "Entidad,Tipo,Fecha,Título,Municipio,Categoría,Medida\n\
               México,Violencia feminicida,31/07/2015,AVGM Edomex,Ecatepec de Morelos,Seguridad,Patrullajes\n\
               México,Violencia feminicida,31/07/2015,AVGM Edomex,Toluca,,\n\
               15,Desaparición,20/09/2019,AVG desaparición,Toluca,,\n";
    let ids = violeta_app::avgm::import(s, &actor(), "avgm.csv", csv.as_bytes()).await.unwrap();
    assert_eq!(ids.len(), 2);
    let (d, munis, measures) = s.declaration(ids[0]).await.unwrap();
    assert_eq!((d.municipalities, munis.len(), measures.len()), (2, 2, 1));
    let bad = "Entidad,Tipo,Fecha,Título,Municipio\nMéxico,Otra cosa,31/02/2015,X,Atlantis\n";
    let text = violeta_app::avgm::import(s, &actor(), "avgm.csv", bad.as_bytes()).await.unwrap_err().to_string();
    assert!(text.contains("fila 2, columna B (Tipo)"), "{text}");
    assert_eq!(s.declarations(None).await.unwrap().len(), 2);
    db.cleanup().await;
}

fn training(store: &violeta_store::Store) -> violeta_store::training::NewTraining {
    let _ = store;
    violeta_store::training::NewTraining {
        title: "Sesión de prueba".into(),
        topic: "Perspectiva de género".into(),
        protocol: String::new(),
        modality: violeta_domain::training::Modality::Presencial,
        programme_id: None,
        course_key: String::new(),
        municipality: Some(violeta_domain::territory::MunicipalityKey::parse("15106").unwrap()),
        venue: "Sala".into(),
        meeting_link: String::new(),
        instructors: String::new(),
        audience: vec![],
        capacity: None,
        status: violeta_domain::training::SessionStatus::Realizada,
        days: vec![violeta_store::training::TrainingDay {
            day: chrono::NaiveDate::from_ymd_opt(2025, 3, 4).unwrap(),
            starts_at: "09:00".into(),
            ends_at: "13:00".into(),
        }],
        checkin_secret: "x".into(),
    }
}

fn curp(first17: &str) -> String {
    let chars: Vec<char> = first17.chars().collect();
    format!("{first17}{}", violeta_domain::curp::check_digit(&chars))
}

#[tokio::test]
async fn attendance_preview_then_all_or_nothing_or_only_valid() {
    let db = TestStore::sqlite().await.unwrap();
    let s = &db.store;
    let id = s.create_training(&actor(), &training(s)).await.unwrap();
    let good1 = curp("GOMA850312MMCNRR0");
    let good2 = curp("PEHL900215HMCRRS0");
    let mut broken = curp("RUSA800101MMCZNN0");
    broken.pop();
    broken.push(if good1.ends_with('0') { '1' } else { '0' });
    let broken = if violeta_domain::Curp::parse(&broken).is_ok() { format!("{}X", &broken[..17]) } else { broken };
    let csv = format!(
        "LISTA DE ASISTENCIA\n\nCURP,Nombre completo,Sexo,Municipio,Asistencia,Fecha\n\
         {good1},ANA GÓMEZ MARTÍNEZ,F,Toluca,retardo,04/03/2025\n\
         {good2},LUIS PÉREZ HERRERA,M,Toluca,asistió,05/03/2025\n\
         {broken},ROSA RUIZ SÁNCHEZ,F,Toluca,asistió,04/03/2025\n\
         {good1},ANA GÓMEZ MARTÍNEZ,F,Toluca,asistió,04/03/2025\n\
         ,,,,,\nTOTAL: 4,,,,,\n"
    );
    let state = violeta_domain::territory::StateKey::parse("15").unwrap();
    let preview = violeta_app::attendance::preview(s, id, "lista.csv", csv.as_bytes(), Some(&state)).await.unwrap();
    assert_eq!(preview.rows.len(), 4, "every person row is listed, the broken one as unchecked");
    assert_eq!(preview.valid(), 1);
    let text = preview.report.to_string();
    assert!(text.contains("fila 6, columna A (CURP)"), "{text}");
    assert!(text.contains("fila 5, columna F (Fecha)") && text.contains("no es una de las fechas"), "{text}");
    assert!(text.contains("fila 7") && text.contains("ya aparece en la fila 4"), "{text}");
    assert_eq!(preview.skipped.len(), 1, "{:?}", preview.skipped);
    assert_eq!(s.count_people().await.unwrap(), 0, "a preview writes nothing");

    // All or nothing by default.
    assert!(violeta_app::attendance::import(s, &actor(), id, "lista.csv", csv.as_bytes(), Some(&state), false, &|_, _| {}).await.is_err());
    assert!(s.attendance(id).await.unwrap().is_empty());
    // Or only the valid rows, with the others listed.
    let outcome = violeta_app::attendance::import(s, &actor(), id, "lista.csv", csv.as_bytes(), Some(&state), true, &|_, _| {}).await.unwrap();
    assert_eq!((outcome.created, outcome.recorded), (1, 1));
    assert_eq!(outcome.left_out, vec![5, 6, 7]);
    let rows = s.attendance(id).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "retardo");
    db.cleanup().await;
}

#[tokio::test]
async fn a_municipality_key_outside_the_catalogue_is_reported_at_its_cell() {
    let db = TestStore::sqlite().await.unwrap();
    let s = &db.store;
    let id = s.create_training(&actor(), &training(s)).await.unwrap();
    // 15999 is a well-formed INEGI key, but the Estado de México has 125 municipalities.
    let csv = format!(
        "CURP,Nombre completo,Sexo,Municipio\n\
         {},ANA GÓMEZ MARTÍNEZ,F,15106\n\
         {},LUIS PÉREZ HERRERA,M,15999\n",
        curp("GOMA850312MMCNRR0"),
        curp("PEHL900215HMCRRS0")
    );
    let report = violeta_app::attendance::import(s, &actor(), id, "lista.csv", csv.as_bytes(), None, false, &|_, _| {}).await.unwrap_err();
    let text = report.to_string();
    assert!(text.contains("fila 3, columna D (Municipio)") && text.contains("no existe el municipio con clave INEGI 15999"), "{text}");
    assert_eq!(s.count_people().await.unwrap(), 0, "nothing is written");
    db.cleanup().await;
}

#[tokio::test]
async fn attendance_from_the_real_sample_sheet() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/samples/asistencia/lista-asistencia-ejemplo.xlsx");
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("sample not found at {path}: skipped");
        return;
    };
    let db = TestStore::sqlite().await.unwrap();
    let s = &db.store;
    let id = s.create_training(&actor(), &training(s)).await.unwrap();
    let state = violeta_domain::territory::StateKey::parse("15").unwrap();
    // The sheet names institutions the empty catalogue lacks: only those rows are problems.
    let preview = violeta_app::attendance::preview(s, id, "lista.xlsx", &bytes, Some(&state)).await.unwrap();
    assert_eq!(preview.rows.len(), 25);
    assert!(preview.report.problems.iter().all(|p| p.column.contains("INSTITUCIÓN")), "{}", preview.report);
    use violeta_domain::institution::{InstitutionKind, Level};
    for name in [
        "Secretaría de Salud del Estado de México",
        "Fiscalía General de Justicia del Estado de México",
        "Secretaría de Movilidad",
        "Ayuntamiento de Ecatepec de Morelos",
        "DIF Municipal de Toluca",
    ] {
        let new = violeta_store::institutions::NewInstitution {
            name: name.into(),
            acronym: String::new(),
            kind: InstitutionKind::Dependencia,
            level: Level::Estatal,
            municipality: None,
        };
        s.create_institution(&actor(), &new).await.unwrap();
    }
    let preview = violeta_app::attendance::preview(s, id, "lista.xlsx", &bytes, Some(&state)).await.unwrap();
    assert!(preview.report.is_empty(), "{}", preview.report);
    assert_eq!(preview.new_people(), 25);
    let outcome = violeta_app::attendance::import(s, &actor(), id, "lista.xlsx", &bytes, Some(&state), false, &|_, _| {}).await.unwrap();
    assert_eq!((outcome.created, outcome.recorded), (25, 25));
    let counts = s.training_counts(&Default::default()).await.unwrap();
    assert_eq!((counts.personas_capacitadas, counts.participaciones, counts.capacitaciones_impartidas), (25, 25, 1));
    db.cleanup().await;
}
