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
    }
    Ok(())
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
