//! Demonstration data for `violeta demo`: institutions, accounts, regions, AVGM
//! declarations and fictitious people in Oaxaca and the Estado de México.
//!
//! Honesty rules: territory and population come from INEGI (loaded by the store); every
//! person, account and record made here is fictitious and labelled as demonstration;
//! real-world facts that Violeta cannot source from a file (the municipality → region
//! mapping, the municipalities under each declaration) are entered as partial examples
//! and say so in their source note, for users to replace with the official lists.

use crate::credentials::hash_password;
use chrono::NaiveDate;
use violeta_domain::access::Role;
use violeta_domain::audit::Actor;
use violeta_domain::curp::check_digit;
use violeta_domain::institution::{InstitutionKind, Level};
use violeta_domain::person::{PersonInput, SexConvention};
use violeta_domain::territory::{AvgmKind, MunicipalityKey, StateKey};
use violeta_store::accounts::NewUser;
use violeta_store::institutions::NewInstitution;
use violeta_domain::geo::Point;
use violeta_domain::hours::OpeningHours;
use violeta_domain::safety::{SafeSpaceKind, SafeSpaceStatus, UnitStatus};
use violeta_store::safety::{NewSafeSpace, NewUnit};
use violeta_store::territory::{NewDeclaration, RegionAssignment};
use violeta_store::{Result, Store, StoreError};

/// The password of every demo account. Demo only: printed on start.
pub const DEMO_PASSWORD: &str = "violeta-demo";

/// Demo accounts: (email, name, role).
pub const DEMO_ACCOUNTS: [(&str, &str, Role); 7] = [
    ("admin@demo.violeta.mx", "Administración (demo)", Role::Administracion),
    ("coordinacion@demo.violeta.mx", "Coordinación (demo)", Role::Coordinacion),
    ("instruccion@demo.violeta.mx", "Instrucción (demo)", Role::Instruccion),
    ("evaluacion@demo.violeta.mx", "Evaluación (demo)", Role::Evaluacion),
    ("alerta@demo.violeta.mx", "Operación Alerta Rosa (demo)", Role::OperacionAlertaRosa),
    ("enlace@demo.violeta.mx", "Enlace de Salud Edomex (demo)", Role::EnlaceInstitucional),
    ("participante@demo.violeta.mx", "Participante (demo)", Role::Participante),
];

const NOTE_REGIONS: &str = "Demostración: asignación parcial de municipios a regiones. No existe un archivo oficial \
    en Violeta; cargue la regionalización vigente del estado.";

/// Oaxaca's eight regions (names as the state uses them, with older names as aliases).
const OAXACA_REGIONS: [(&str, &[&str]); 8] = [
    ("Cañada", &[]),
    ("Costa", &[]),
    ("Istmo", &[]),
    ("Mixteca", &[]),
    ("Papaloapan", &["Cuenca", "Cuenca del Papaloapan"]),
    ("Sierra Norte", &["Sierra Juárez"]),
    ("Sierra Sur", &[]),
    ("Valles Centrales", &[]),
];

/// Municipalities named in Oaxaca's programme reports, with the region each lies in.
const OAXACA_PLACES: [(&str, &str); 11] = [
    ("Oaxaca de Juárez", "Valles Centrales"),
    ("Santa Lucía del Camino", "Valles Centrales"),
    ("Villa de Zaachila", "Valles Centrales"),
    ("San Jacinto Amilpas", "Valles Centrales"),
    ("Santa Cruz Xoxocotlán", "Valles Centrales"),
    ("Santa María Huatulco", "Costa"),
    ("San Pedro Pochutla", "Costa"),
    ("Miahuatlán de Porfirio Díaz", "Sierra Sur"),
    ("Huautla de Jiménez", "Cañada"),
    ("Heroica Ciudad de Huajuapan de León", "Mixteca"),
    ("San Juan Bautista Tuxtepec", "Papaloapan"),
];

/// The ten *Mujer Segura* rapid-reaction units named in Oaxaca's 2018–2019 report.
const OAXACA_UNITS: [&str; 10] = [
    "Oaxaca de Juárez",
    "Santa Lucía del Camino",
    "Villa de Zaachila",
    "Santa María Huatulco",
    "San Pedro Pochutla",
    "Miahuatlán de Porfirio Díaz",
    "Huautla de Jiménez",
    "Heroica Ciudad de Huajuapan de León",
    "San Jacinto Amilpas",
    "Santa Cruz Xoxocotlán",
];

/// The 61 *Mujeres a Salvo* espacios seguros per municipality, as the same report counts them.
const OAXACA_SAFE_SPACES: [(&str, usize); 6] = [
    ("Oaxaca de Juárez", 25),
    ("Santa Lucía del Camino", 4),
    ("Santa María Huatulco", 10),
    ("Miahuatlán de Porfirio Díaz", 7),
    ("San Juan Bautista Tuxtepec", 11),
    ("Villa de Zaachila", 4),
];

/// Prefix of every private demo contact name, so tests can prove they never go public.
pub const DEMO_CONTACT_PREFIX: &str = "Contacto (demostración)";

/// Municipalities under the Estado de México's declarations, as published by CONAVIM.
const EDOMEX_FEMINICIDA: [&str; 11] = [
    "Chalco", "Chimalhuacán", "Cuautitlán Izcalli", "Ecatepec de Morelos", "Ixtapaluca", "Naucalpan de Juárez",
    "Nezahualcóyotl", "Tlalnepantla de Baz", "Toluca", "Tultitlán", "Valle de Chalco Solidaridad",
];
const EDOMEX_DESAPARICION: [&str; 7] = [
    "Chimalhuacán", "Cuautitlán Izcalli", "Ecatepec de Morelos", "Ixtapaluca", "Nezahualcóyotl", "Toluca",
    "Valle de Chalco Solidaridad",
];

/// State institutions: (name, acronym, state key).
const INSTITUTIONS: [(&str, &str, &str); 14] = [
    ("Secretaría de las Mujeres de Oaxaca", "SMO", "20"),
    ("Secretaría de Seguridad y Protección Ciudadana de Oaxaca", "SSPC Oaxaca", "20"),
    ("Fiscalía General del Estado de Oaxaca", "FGEO", "20"),
    ("Sistema para el Desarrollo Integral de la Familia del Estado de Oaxaca", "DIF Oaxaca", "20"),
    ("Secretaría de las Mujeres del Estado de México", "SeMujeres", "15"),
    ("Secretaría de Seguridad del Estado de México", "SSEM", "15"),
    ("Secretaría de Salud del Estado de México", "ISEM", "15"),
    ("Secretaría de Bienestar del Estado de México", "Bienestar Edomex", "15"),
    ("Secretaría de Movilidad del Estado de México", "Semov", "15"),
    ("Comisión de Búsqueda de Personas del Estado de México", "COBUPEM", "15"),
    ("Comisión Ejecutiva de Atención a Víctimas del Estado de México", "CEAVEM", "15"),
    ("Fiscalía General de Justicia del Estado de México", "FGJEM", "15"),
    ("Sistema para el Desarrollo Integral de la Familia del Estado de México", "DIFEM", "15"),
    ("Consejo Estatal de la Mujer y Bienestar Social (demostración)", "", "15"),
];

const GIVEN_F: [&str; 16] = [
    "María", "Guadalupe", "Juana", "Leticia", "Rosa Isela", "Ana Karen", "Itzel", "Ximena", "Araceli", "Norma",
    "Claudia", "Verónica", "Alejandra", "Yesenia", "Citlali", "Fernanda",
];
const GIVEN_M: [&str; 10] = ["José", "Juan Carlos", "Miguel Ángel", "Luis", "Rubén", "Alejandro", "Jesús", "Fernando", "Eduardo", "Raúl"];
const SURNAMES: [&str; 20] = [
    "Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez", "Ramírez", "Cruz",
    "Gómez", "Flores", "Morales", "Vásquez", "Jiménez", "Reyes", "Díaz", "Ruiz", "Mendoza", "Santiago",
];
const POSITIONS: [&str; 8] = [
    "Policía tercero", "Policía segundo", "Jefa de departamento", "Analista", "Enfermera general", "Trabajadora social",
    "Auxiliar administrativo", "Psicóloga",
];

fn state(key: &str) -> StateKey {
    StateKey::parse(key).expect("clave de entidad fija")
}

async fn municipality(store: &Store, st: &StateKey, name: &str) -> Result<MunicipalityKey> {
    store
        .find_municipality(st, name)
        .await?
        .ok_or_else(|| StoreError::Invalid(format!("el catálogo INEGI no tiene «{name}»")))
}

/// A deterministic, valid, fictitious CURP. The name letters are "XX" fillers so it
/// cannot match a real person's.
fn demo_curp(n: usize, female: bool, renapo_state: &str) -> String {
    let letters = ["DEMO", "DEMA", "DEXA", "DEXO"][n % 4];
    let year = 60 + (n * 7) % 40;
    let month = 1 + (n * 5) % 12;
    let day = 1 + (n * 11) % 28;
    let consonants = ["XXX", "XBX", "XCX", "XDX", "XFX"][(n / 4) % 5];
    let century = (n / 20) % 10;
    let first17 = format!("{letters}{year:02}{month:02}{day:02}{}{renapo_state}{consonants}{century}", if female { 'M' } else { 'H' });
    let chars: Vec<char> = first17.chars().collect();
    format!("{first17}{}", check_digit(&chars))
}

/// Loads the demo data into a freshly migrated store. Refuses a store that already has
/// accounts, so it can never touch real data.
pub async fn load(store: &Store) -> Result<()> {
    if !store.users().await?.is_empty() {
        return Err(StoreError::Conflict("la base de datos ya tiene cuentas; los datos de demostración van solo en una base nueva".into()));
    }
    let actor = Actor { user_id: None, label: "carga de demostración".into(), origin: "sistema".into() };
    let oax = state("20");
    let mex = state("15");

    // Institutions, and the ayuntamientos of the municipalities the programmes name.
    let mut institution_ids = Vec::new();
    for (name, acronym, st) in INSTITUTIONS {
        let id = store
            .create_institution(
                &actor,
                &NewInstitution { name: name.into(), acronym: acronym.into(), kind: InstitutionKind::Dependencia, level: Level::Estatal, municipality: None },
            )
            .await?;
        institution_ids.push((id, st));
    }
    for (name, _) in OAXACA_PLACES {
        let m = municipality(store, &oax, name).await?;
        let id = store
            .create_institution(
                &actor,
                &NewInstitution {
                    name: format!("Ayuntamiento de {name}"),
                    acronym: String::new(),
                    kind: InstitutionKind::Ayuntamiento,
                    level: Level::Municipal,
                    municipality: Some(m),
                },
            )
            .await?;
        institution_ids.push((id, "20"));
    }

    // Oaxaca's regions, with a partial demo assignment.
    for (name, aliases) in OAXACA_REGIONS {
        let aliases: Vec<String> = aliases.iter().map(|a| a.to_string()).collect();
        store.create_region(&actor, &oax, name, &aliases, NOTE_REGIONS).await?;
    }
    let mut rows = Vec::new();
    for (name, region) in OAXACA_PLACES {
        rows.push(RegionAssignment { municipality: municipality(store, &oax, name).await?, region: region.into(), aliases: vec![] });
    }
    store.import_regions(&actor, &oax, &rows, NOTE_REGIONS).await?;

    // AVGM declarations.
    let mut oax_munis = Vec::new();
    for (name, _) in OAXACA_PLACES {
        oax_munis.push(municipality(store, &oax, name).await?);
    }
    store
        .create_declaration(
            &actor,
            &NewDeclaration {
                state: oax.clone(),
                kind: AvgmKind::ViolenciaFeminicida,
                declared_on: NaiveDate::from_ymd_opt(2018, 8, 30).expect("fecha fija"),
                title: "AVGM por violencia feminicida en Oaxaca".into(),
                source_note: "Demostración: la declaratoria cubre 40 municipios; aquí solo figuran los que nombran los \
                    informes del programa Mujer Segura y Mujeres a Salvo. Cargue la lista oficial y sus medidas."
                    .into(),
                municipalities: oax_munis,
                measures: vec![],
            },
        )
        .await?;
    for (kind, date, names, title) in [
        (AvgmKind::ViolenciaFeminicida, (2015, 7, 31), &EDOMEX_FEMINICIDA[..], "AVGM por violencia feminicida en el Estado de México"),
        (AvgmKind::Desaparicion, (2019, 9, 20), &EDOMEX_DESAPARICION[..], "AVG por desaparición de mujeres, niñas y adolescentes en el Estado de México"),
    ] {
        let mut munis = Vec::new();
        for name in names {
            munis.push(municipality(store, &mex, name).await?);
        }
        store
            .create_declaration(
                &actor,
                &NewDeclaration {
                    state: mex.clone(),
                    kind,
                    declared_on: NaiveDate::from_ymd_opt(date.0, date.1, date.2).expect("fecha fija"),
                    title: title.into(),
                    source_note: "Demostración: fecha y municipios según la declaratoria publicada por CONAVIM; \
                        verifíquelos contra el documento oficial y capture sus medidas."
                        .into(),
                    municipalities: munis,
                    measures: vec![],
                },
            )
            .await?;
    }

    // Fictitious people across the institutions.
    let oax_place_keys: Vec<MunicipalityKey> = {
        let mut v = Vec::new();
        for (name, _) in OAXACA_PLACES {
            v.push(municipality(store, &oax, name).await?);
        }
        v
    };
    let mut mex_place_keys = Vec::new();
    for name in EDOMEX_FEMINICIDA {
        mex_place_keys.push(municipality(store, &mex, name).await?);
    }
    let mut drafts = Vec::new();
    for n in 0..240usize {
        let female = n % 3 != 0;
        let (inst_id, st) = institution_ids[n % institution_ids.len()];
        let (renapo, place) = if st == "20" {
            ("OC", oax_place_keys[n % oax_place_keys.len()].clone())
        } else {
            ("MC", mex_place_keys[n % mex_place_keys.len()].clone())
        };
        let given = if female { GIVEN_F[n % GIVEN_F.len()] } else { GIVEN_M[n % GIVEN_M.len()] };
        let input = PersonInput {
            // One in twelve has no CURP yet: the registry flags them for merging later.
            curp: if n % 12 == 5 { String::new() } else { demo_curp(n, female, renapo) },
            given_names: given.into(),
            first_surname: SURNAMES[n % SURNAMES.len()].into(),
            second_surname: SURNAMES[(n * 7 + 3) % SURNAMES.len()].into(),
            sex: if female { "Mujer".into() } else { "Hombre".into() },
            institution_id: Some(inst_id),
            position: POSITIONS[n % POSITIONS.len()].into(),
            corps: if n % 8 < 2 { ["estatal", "municipal"][n % 2].into() } else { String::new() },
            municipality: place.to_string(),
            email: format!("persona{n}@demo.violeta.mx"),
            phone: format!("55{:08}", 10_000_000 + n * 7919),
        };
        drafts.push(input.validate(SexConvention::MujerHombre).map_err(|e| StoreError::Invalid(format!("{e:?}")))?);
    }
    store.import_people(&actor, &drafts, &|_, _| {}).await?;

    load_units_and_safe_spaces(store, &actor, &oax).await?;
    load_trainings(store, &actor, &oax).await?;
    load_certification(store, &actor).await?;
    // Alerta Rosa
    load_alerts(store, &actor, &oax).await?;

    // Accounts.
    let health = store.find_institution("Secretaría de Salud del Estado de México").await?;
    let hash = hash_password(DEMO_PASSWORD).map_err(StoreError::Invalid)?;
    for (email, name, role) in DEMO_ACCOUNTS {
        let institution_id = if role == Role::EnlaceInstitucional { health } else { None };
        let id = store
            .create_user(&actor, &NewUser { email: email.into(), display_name: name.into(), roles: vec![role], institution_id, person_id: None })
            .await?;
        let token = crate::credentials::random_token();
        store.create_password_link(&actor, id, &token, chrono::Duration::minutes(5)).await?;
        store.use_password_link(&token, &hash, "sistema").await?;
        if role == Role::Participante {
            crate::demo_courses::load(store, &actor, id, email).await?;
        }
    }
    Ok(())
}

/// Oaxaca's units and espacios seguros. The counts and municipalities are the report's;
/// names, addresses, coordinates (a few hundred metres around the head town), hours and
/// contacts are invented for the demonstration and say so.
async fn load_units_and_safe_spaces(store: &Store, actor: &Actor, oax: &StateKey) -> Result<()> {
    for (i, name) in OAXACA_UNITS.iter().enumerate() {
        let municipality = municipality(store, oax, name).await?;
        let unit_id = store
            .create_unit(
                actor,
                &NewUnit {
                    state: oax.clone(),
                    name: format!("Unidad de Reacción Inmediata Mujer Segura — {name}"),
                    municipality: municipality.clone(),
                    status: UnitStatus::Activa,
                    activated_on: NaiveDate::from_ymd_opt(2019, 1 + (i as u32 % 10), 8),
                    agreement: "Convenio de colaboración (demostración)".into(),
                    contact_line: format!("951 555 {:04}", 100 + i),
                    notes: "Registro de demostración.".into(),
                },
            )
            .await?;
        // Members: the demo's police officers who live in the unit's municipality.
        let filter = violeta_store::people::PeopleFilter { cvegeo: Some(municipality.to_string()), ..Default::default() };
        let (people, _) = store.people(violeta_domain::access::PeopleScope::All, &filter, 500, 0).await?;
        for p in people.iter().filter(|p| p.corps.is_some()).take(4) {
            store.add_unit_member(actor, unit_id, p.id, "Policía (demostración)", None).await?;
        }
    }
    const KINDS: [(SafeSpaceKind, &str); 6] = [
        (SafeSpaceKind::Comercio, "Farmacia"),
        (SafeSpaceKind::Comercio, "Tienda de abarrotes"),
        (SafeSpaceKind::InstitucionPublica, "Módulo de atención"),
        (SafeSpaceKind::Transporte, "Sitio de taxis"),
        (SafeSpaceKind::Escuela, "Escuela"),
        (SafeSpaceKind::CentroSalud, "Centro de salud"),
    ];
    const HOURS: [&str; 4] = ["lun-vie 09:00-19:00; sáb 09:00-14:00", "24 horas", "lun-dom 07:00-22:00", "lun-vie 08:00-15:00"];
    let mut n = 0usize;
    let mut spaces = Vec::new();
    for (name, count) in OAXACA_SAFE_SPACES {
        let key = municipality(store, oax, name).await?;
        let m = store.municipality(&key).await?;
        let (lat, lon) = match (m.head_lat, m.head_lon) {
            (Some(a), Some(b)) => (a, b),
            _ => return Err(StoreError::Invalid(format!("{name} no tiene coordenadas de cabecera en el catálogo"))),
        };
        for i in 0..count {
            n += 1;
            let (kind, label) = KINDS[n % KINDS.len()];
            // Spread around the head town on a small spiral (about 300 m to 1.5 km).
            let angle = i as f64 * 2.399;
            let radius = 0.003 + 0.0012 * i as f64;
            spaces.push(NewSafeSpace {
                name: format!("{label} {n} (demostración)"),
                kind,
                address: format!("Calle de demostración {}, {}", 100 + i, m.head_town),
                municipality: key.clone(),
                point: Point::new(lat + radius * angle.sin(), lon + radius * angle.cos()).map_err(|e| StoreError::Invalid(e.to_string()))?,
                hours: OpeningHours::parse(HOURS[n % HOURS.len()]).map_err(StoreError::Invalid)?,
                contact_name: format!("{DEMO_CONTACT_PREFIX} {n}"),
                contact_phone: format!("951 600 {:04}", n),
                notes: "Nota interna de demostración.".into(),
                installed_on: NaiveDate::from_ymd_opt(2019, 1 + (n % 12) as u32, 1 + (n % 27) as u32),
                status: SafeSpaceStatus::Activo,
            });
        }
    }
    store.import_safe_spaces(actor, &spaces).await?;
    // Verification visits: one pending per place, some already overdue.
    let placed = store.safe_spaces(&Default::default()).await?;
    let today = chrono::Utc::now().date_naive();
    for (i, s) in placed.iter().enumerate() {
        let due = today + chrono::Duration::days(i as i64 * 7 - 60);
        store.schedule_visit(actor, s.id, due).await?;
    }
    Ok(())
}

/// Programmes named in the two reports, and fictitious sessions under them with attendance
/// from the demo's people. The sessions, dates and attendance are demonstration data.
async fn load_trainings(store: &Store, actor: &Actor, oax: &StateKey) -> Result<()> {
    use violeta_domain::training::{AttendanceStatus, Modality, SessionStatus};
    use violeta_store::people::PersonRef;
    use violeta_store::training::{AttendanceInput, NewTraining, TrainingDay};
    let mujer_segura = store
        .create_programme(actor, "Mujer Segura", "Capacitar a policías estatales, municipales y topiles en la atención a mujeres víctimas de violencia (demostración).", Some("20"))
        .await?;
    let cero = store
        .create_programme(actor, "Cero Tolerancia", "Capacitar a la administración estatal, autoridades municipales y sector privado (demostración).", Some("20"))
        .await?;
    let (people, _) = store.people(violeta_domain::access::PeopleScope::All, &Default::default(), 500, 0).await?;
    let oaxacans: Vec<_> = people.iter().filter(|p| p.cvegeo.as_deref().is_some_and(|c| c.starts_with("20"))).collect();
    let sessions = [
        ("Protocolo de actuación policial con perspectiva de género", mujer_segura, "Oaxaca de Juárez", (2019, 2, 12), true, SessionStatus::Realizada),
        ("Protocolo de actuación policial con perspectiva de género", mujer_segura, "Santa María Huatulco", (2019, 4, 9), true, SessionStatus::Realizada),
        ("Prevención del acoso y hostigamiento sexual", cero, "Oaxaca de Juárez", (2019, 5, 21), false, SessionStatus::Realizada),
        ("Protocolo de actuación policial con perspectiva de género", mujer_segura, "Miahuatlán de Porfirio Díaz", (2026, 12, 3), true, SessionStatus::Planeada),
    ];
    for (i, (title, programme, place, (y, m, d), police, status)) in sessions.into_iter().enumerate() {
        let municipality = municipality(store, oax, place).await?;
        let id = store
            .create_training(
                actor,
                &NewTraining {
                    title: format!("{title} (demostración)"),
                    topic: "Perspectiva de género y derechos humanos".into(),
                    protocol: if police { "Protocolo de actuación policial".into() } else { String::new() },
                    modality: Modality::Presencial,
                    programme_id: Some(programme),
                    course_key: if police { "MS-PAP".into() } else { "CT-AHS".into() },
                    municipality: Some(municipality),
                    venue: "Sala de capacitación (demostración)".into(),
                    meeting_link: String::new(),
                    instructors: "Instructora de demostración".into(),
                    audience: if police { vec!["policia_estatal".into(), "policia_municipal".into()] } else { vec!["dependencia_estatal".into()] },
                    capacity: Some(40),
                    status,
                    days: vec![TrainingDay {
                        day: NaiveDate::from_ymd_opt(y, m, d).expect("fecha fija"),
                        starts_at: "09:00".into(),
                        ends_at: "14:00".into(),
                    }],
                    checkin_secret: crate::credentials::random_token(),
                },
            )
            .await?;
        if status != SessionStatus::Realizada {
            continue;
        }
        let rows: Vec<AttendanceInput> = oaxacans
            .iter()
            .filter(|p| p.corps.is_some() == police)
            .skip(i * 3)
            .take(18)
            .enumerate()
            .map(|(k, p)| AttendanceInput {
                person: PersonRef::Existing(p.id),
                status: if k % 9 == 4 { AttendanceStatus::Retardo } else if k % 11 == 7 { AttendanceStatus::Falto } else { AttendanceStatus::Asistio },
                pre_score: Some(50.0 + (k % 5) as f64 * 5.0),
                post_score: Some(75.0 + (k % 5) as f64 * 5.0),
            })
            .collect();
        store.record_attendance(actor, id, "lista", &rows, &|_, _| {}).await?;
    }
    Ok(())
}

/// A cohort of EC0539 with fictitious candidates from the demo's people at every stage. The
/// one certificate carries a folio marked as demonstration: Violeta records certificates
/// issued through CONOCER, it never issues them.
async fn load_certification(store: &Store, actor: &Actor) -> Result<()> {
    use violeta_domain::certification::{Certificate, Evaluation, Outcome, Stage};
    use violeta_store::certification::{NewCohort, NewProcess, Step};
    let Some(ec0539) = store.standard_by_code("EC0539").await? else { return Ok(()) };
    let date = |m: u32, d: u32| NaiveDate::from_ymd_opt(2025, m, d).expect("fecha fija");
    let mut institutions = Vec::new();
    for name in ["Secretaría de Salud del Estado de México", "Secretaría de las Mujeres del Estado de México"] {
        institutions.extend(store.find_institution(name).await?);
    }
    let cohort = store
        .create_cohort(
            actor,
            &NewCohort {
                standard_id: ec0539.id,
                name: "Generación 2025 (demostración)".into(),
                starts_on: Some(date(2, 3)),
                ends_on: Some(date(7, 31)),
                institution_ids: institutions.clone(),
                notes: "Grupo de demostración: las candidaturas, fechas y el folio son ficticios.".into(),
            },
        )
        .await?;
    let mut candidates = Vec::new();
    for inst in &institutions {
        let (people, _) = store.people(violeta_domain::access::PeopleScope::Institution(*inst), &Default::default(), 10, 0).await?;
        candidates.extend(people.into_iter().filter(|p| p.curp.is_some()).take(3).map(|p| p.id));
    }
    // Where each candidate stops, in order.
    let plan = [Stage::Certificado, Stage::Evaluacion, Stage::TodaviaNoCompetente, Stage::Evaluacion, Stage::Alineacion, Stage::Diagnostico];
    for (i, (person_id, stop)) in candidates.into_iter().zip(plan).enumerate() {
        let id = store
            .open_process(actor, &NewProcess { person_id, standard_id: ec0539.id, cohort_id: Some(cohort), diagnosis_on: Some(date(2, 10)), note: String::new() })
            .await?;
        if stop == Stage::Diagnostico {
            continue;
        }
        let alignment = Step { alignment_note: "Curso de alineación al EC0539 (demostración)".into(), ..Default::default() };
        store.advance_process(actor, id, Stage::Alineacion, &alignment).await?;
        if stop == Stage::Alineacion {
            continue;
        }
        store.advance_process(actor, id, Stage::Evaluacion, &Step::default()).await?;
        // The second candidate in evaluation has not been evaluated yet.
        if stop == Stage::Evaluacion && i > 1 {
            continue;
        }
        let outcome = if stop == Stage::TodaviaNoCompetente { Outcome::TodaviaNoCompetente } else { Outcome::Competente };
        let evaluation = Evaluation {
            evaluator_user_id: None,
            evaluator_name: "Evaluadora (demostración)".into(),
            evaluated_on: Some(date(4, 22)),
            outcome: Some(outcome),
            portfolio: "Portafolio de evidencias de demostración: entrevista simulada y guía de observación.".into(),
        };
        store.record_evaluation(actor, id, &evaluation, "").await?;
        if stop == Stage::Certificado {
            let certificate = Certificate {
                folio: "DEMO-EC0539-0001".into(),
                certified_on: Some(date(6, 16)),
                certifying_entity: "Entidad de certificación y evaluación (demostración)".into(),
            };
            store.record_certificate(actor, id, &certificate, "Folio ficticio de demostración: no es un certificado real.").await?;
        }
    }
    Ok(())
}

/// Issues demo constancias for the demo's held sessions, signed with the public demo key
/// ([`violeta_domain::credential::MasterKey::demo`]) and pointing at `base_url`.
pub async fn issue_constancias(store: &Store, base_url: &str) -> Result<usize> {
    use violeta_domain::credential::MasterKey;
    use violeta_store::credentials::{IssuerInput, Signing};
    let actor = Actor { user_id: None, label: "carga de demostración".into(), origin: "sistema".into() };
    let master = MasterKey::demo();
    let issuer = IssuerInput {
        name: "Secretaría de las Mujeres de Oaxaca (demostración)".into(),
        signatory: "Nombre de la titular (demostración)".into(),
        signatory_title: "Titular de la Unidad de Capacitación (demostración)".into(),
    };
    store.ensure_issuer(&actor, &issuer, &master).await?;
    let mut issued = 0;
    for t in store.trainings(None).await? {
        if t.status == "realizada" {
            store.issue_training_credentials(&actor, t.id, Signing { master: &master, base_url }).await?;
            issued += store.training_credentials(t.id).await?.len();
        }
    }
    for course in store.courses(None).await? {
        issued += store.issue_course_credentials(&actor, course.id, Signing { master: &master, base_url }).await?.len();
    }
    Ok(issued)
}

// ----- Alerta Rosa -----

/// Oaxaca municipalities where the demonstration alerts happen (INEGI names).
const ALERT_PLACES: [&str; 14] = [
    "Oaxaca de Juárez",
    "Santa Lucía del Camino",
    "Santa Cruz Xoxocotlán",
    "Villa de Zaachila",
    "San Jacinto Amilpas",
    "Heroica Ciudad de Juchitán de Zaragoza",
    "Salina Cruz",
    "Santo Domingo Tehuantepec",
    "San Juan Bautista Tuxtepec",
    "Tlacolula de Matamoros",
    "Santa María Huatulco",
    "Heroica Ciudad de Huajuapan de León",
    "Miahuatlán de Porfirio Díaz",
    "Santiago Pinotepa Nacional",
];
const ALERT_CLOTHES: [&str; 6] = [
    "Blusa blanca, pantalón de mezclilla azul y tenis negros",
    "Uniforme escolar: falda gris, suéter azul marino",
    "Sudadera rosa con capucha, pants negros",
    "Vestido floreado y sandalias",
    "Playera amarilla, short de mezclilla y huaraches",
    "Chamarra negra, pantalón café y botas",
];
const ALERT_SEEN_AT: [&str; 6] = [
    "Terminal de autobuses",
    "Salida de la escuela secundaria",
    "Mercado municipal",
    "Parque central",
    "Camino a su trabajo",
    "Domicilio familiar",
];

/// Alerta Rosa for the demonstration: 28 alerts activated in 2018–2019 (the count Oaxaca's
/// police gender unit reported for those years), all concluded, so nothing about them is
/// public; every name, place, time and private detail is invented. Plus one case reported
/// now, with its risk check and a silhouette for a photo, ready for an operator to activate.
/// The private parts are sealed with the public demo key, as every demo secret is.
async fn load_alerts(store: &Store, actor: &Actor, oax: &StateKey) -> Result<()> {
    use chrono::Duration;
    use violeta_domain::alerta::{AlertInput, Closing, RiskCheckInput, from_local};
    use violeta_domain::credential::MasterKey;
    use violeta_store::alerts::PastAlert;
    let master = MasterKey::demo();
    let now = violeta_store::now();
    let invalid = |e: Vec<(&'static str, String)>| StoreError::Invalid(format!("caso de demostración inválido: {e:?}"));
    for i in 0..28usize {
        let year = if i < 12 { 2018 } else { 2019 };
        let reported_local = NaiveDate::from_ymd_opt(year, 1 + (i * 5 % 12) as u32, 1 + (i * 7 % 27) as u32)
            .and_then(|d| d.and_hms_opt(8 + (i * 3 % 13) as u32, (i * 17 % 60) as u32, 0))
            .ok_or_else(|| StoreError::Invalid("fecha de demostración".into()))?;
        let reported_at = from_local(reported_local);
        let last_seen = violeta_domain::alerta::to_local(reported_at - Duration::hours(3 + (i % 20) as i64));
        let place = ALERT_PLACES[i % ALERT_PLACES.len()];
        let m = municipality(store, oax, place).await?;
        let input = AlertInput {
            full_name: format!("{} {} {}", GIVEN_F[i % GIVEN_F.len()], SURNAMES[(i * 3) % SURNAMES.len()], SURNAMES[(i * 7 + 5) % SURNAMES.len()]),
            age: (12 + (i * 5) % 40).to_string(),
            sex: "mujer".into(),
            height_cm: (148 + (i * 3) % 22).to_string(),
            complexion: ["Delgada", "Media", "Robusta"][i % 3].into(),
            hair: ["Negro, largo", "Castaño, corto", "Negro, rizado, a los hombros"][i % 3].into(),
            clothing: ALERT_CLOTHES[i % ALERT_CLOTHES.len()].into(),
            last_seen_date: last_seen.format("%Y-%m-%d").to_string(),
            last_seen_time: last_seen.format("%H:%M").to_string(),
            last_seen_place: ALERT_SEEN_AT[i % ALERT_SEEN_AT.len()].into(),
            municipality: m.to_string(),
            circumstances: "Caso ficticio de demostración.".into(),
            authority: "Fiscalía General del Estado de Oaxaca (demostración)".into(),
            reporter_name: format!("{} {} (demostración)", GIVEN_F[(i + 5) % GIVEN_F.len()], SURNAMES[(i * 3) % SURNAMES.len()]),
            reporter_relationship: ["Madre", "Hermana", "Padre", "Tía"][i % 4].into(),
            reporter_phone: format!("951 000 {:04}", 100 + i),
            file_number: format!("DEMO-{year}-{:04}", i + 1),
            ..Default::default()
        };
        let draft = input.validate(now).map_err(invalid)?;
        let activated_at = reported_at + Duration::minutes(35 + (i * 37 % 300) as i64);
        let closing = match i {
            5 | 19 => Closing::LocalizadaSinVida,
            7 | 16 | 25 => Closing::Desactivada,
            _ => Closing::LocalizadaConVida,
        };
        let past = PastAlert {
            draft,
            reported_at,
            activated_at,
            disseminated_at: Some(activated_at + Duration::minutes(4 + (i * 7 % 22) as i64)),
            closed_at: activated_at + Duration::minutes(6 * 60 + (i * 997 % (18 * 1440)) as i64),
            closing,
            close_note: match closing {
                Closing::Desactivada => "Reporte retirado por la familia (demostración)".into(),
                _ => "Caso de demostración".into(),
            },
        };
        store.record_past_alert(actor, &past, Some(&master)).await?;
    }

    // A case reported three hours ago, ready to activate.
    let seen = violeta_domain::alerta::to_local(now - Duration::hours(3));
    let input = AlertInput {
        full_name: "Itzel Ramírez Santiago".into(),
        age: "15".into(),
        sex: "mujer".into(),
        height_cm: "155".into(),
        complexion: "Delgada".into(),
        skin: "Morena".into(),
        hair: "Negro, largo, lacio".into(),
        eyes: "Cafés".into(),
        marks: "Lunar en el cuello, lado derecho".into(),
        clothing: "Uniforme escolar: falda gris, suéter azul marino, zapatos negros".into(),
        last_seen_date: seen.format("%Y-%m-%d").to_string(),
        last_seen_time: seen.format("%H:%M").to_string(),
        last_seen_place: "Salida de la escuela secundaria, colonia Reforma".into(),
        municipality: municipality(store, oax, "Oaxaca de Juárez").await?.to_string(),
        lat: "17.0781".into(),
        lon: "-96.7131".into(),
        circumstances: "Salió de la escuela rumbo a su casa y no llegó (caso ficticio de demostración).".into(),
        authority: "Fiscalía General del Estado de Oaxaca (demostración)".into(),
        reporter_name: "Rosa Santiago Cruz (demostración)".into(),
        reporter_relationship: "Madre".into(),
        reporter_phone: "951 000 0001".into(),
        file_number: "DEMO-CARPETA-0001".into(),
        health: "Asma; usa inhalador (demostración)".into(),
        ..Default::default()
    };
    let draft = input.validate(now).map_err(invalid)?;
    let photo = crate::alerta::photo::demo_silhouette(3);
    let (id, _) = store.create_alert(actor, &draft, Some(&photo), Some(&master)).await?;
    let risk = RiskCheckInput {
        level: "medio".into(),
        publish: "si".into(),
        notes: "Sin indicios de una persona agresora que la busque; la familia pide difundir (demostración).".into(),
        consent: "otorgado".into(),
        consent_by: "Rosa Santiago Cruz (demostración)".into(),
        consent_relationship: "Madre".into(),
        consent_note: "Por escrito, en la Fiscalía (demostración)".into(),
    }
    .validate()
    .map_err(invalid)?;
    store.record_risk_check(actor, id, &risk).await
}

/// How many official accounts the demonstration posts to: Oaxaca's police gender unit
/// published each alert on its 30 official social-media accounts.
pub const DEMO_CHANNELS: usize = 30;

/// The demonstration's 30 official accounts, six on each of Mastodon, Telegram, Facebook,
/// X and a webhook, pointed at loopback fakes of those platforms (`violeta_fakes`, started
/// by `violeta demo`), so that activating an alert in the demo posts to each of them once
/// and nothing leaves the machine. `base(platform)` is a fake's API base; `x_user(token)`
/// the X user id the fake gives a token. Tokens are sealed with the public demo key.
pub async fn load_channels(store: &Store, base: impl Fn(&str) -> String, x_user: impl Fn(&str) -> String) -> Result<usize> {
    use violeta_domain::credential::MasterKey;
    use violeta_domain::dissemination::Platform;
    use violeta_domain::secret::Secret;
    use violeta_store::dissemination::ChannelInput;
    const PLATFORMS: [Platform; 5] = [Platform::Mastodon, Platform::Telegram, Platform::Facebook, Platform::X, Platform::Webhook];
    let actor = Actor { user_id: None, label: "carga de demostración".into(), origin: "sistema".into() };
    let master = MasterKey::demo();
    for n in 0..DEMO_CHANNELS {
        let platform = PLATFORMS[n % PLATFORMS.len()];
        let token = format!("token-demo-canal-{n:02}");
        let (api_base, remote_id) = match platform {
            Platform::Telegram => (base("telegram"), format!("@alerta_rosa_demo_{n:02}")),
            Platform::Facebook => (base("facebook"), format!("10000000{n:02}")),
            Platform::X => (base("x"), x_user(&token)),
            Platform::Webhook => (base(&format!("webhook/ventanilla-{n:02}")), String::new()),
            _ => (base("mastodon"), String::new()),
        };
        let input = ChannelInput {
            platform,
            name: format!("Cuenta oficial {:02} en {} (demostración)", n + 1, platform.label()),
            handle: format!("@alertarosa_demo_{:02}", n + 1),
            api_base,
            remote_id,
            credential: Some(Secret::new(token)),
            enabled: true,
        };
        store.create_channel(&actor, &input, Some(&master)).await?;
    }
    Ok(DEMO_CHANNELS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_curps_are_valid_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..240 {
            let c = super::demo_curp(n, n % 3 != 0, "OC");
            violeta_domain::Curp::parse(&c).unwrap_or_else(|e| panic!("{c}: {e}"));
            assert!(seen.insert(c));
        }
    }
}
