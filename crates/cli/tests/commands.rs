//! The `violeta` administration commands, run as a user runs them: the real binary
//! on a throw-away SQLite folder (`--dir`), checking exit codes, what is printed
//! (in Spanish) and what ends up in the database (read back with `violeta-store`).
//!
//! Each test has its own folder under the system's temporary folder, removed when
//! it passes and kept (path printed) when it fails. The people-import test reads the
//! shared sample lists (`../shared/samples/asistencia` next to the workspace) and
//! skips that part, with a note, when a checkout does not have them.

mod common;

use common::{
    Browser, PgDb, Server, TempDir, open_dir, postgres_configured, run, runtime, sample, violeta,
};
use std::path::Path;
use violeta_domain::access::PeopleScope;
use violeta_domain::audit::Actor;
use violeta_domain::institution::{InstitutionKind, Level};
use violeta_domain::territory::{MunicipalityKey, StateKey};
use violeta_store::institutions::NewInstitution;

fn dir_args<'a>(cmd: &[&'a str], dir: &'a Path) -> Vec<&'a std::ffi::OsStr> {
    let mut v: Vec<&std::ffi::OsStr> = cmd.iter().map(|s| std::ffi::OsStr::new(*s)).collect();
    v.push("--dir".as_ref());
    v.push(dir.as_os_str());
    v
}

/// `violeta CMD… --dir DIR`.
fn vdir(dir: &Path, cmd: &[&str]) -> common::Run {
    // From the parent folder: `dir` itself may not exist yet.
    run(dir.parent().unwrap_or(dir), dir_args(cmd, dir), &[])
}

fn people_count(dir: &Path) -> i64 {
    runtime().block_on(async {
        let store = open_dir(dir).await;
        let n = store.count_people().await.expect("count people");
        store.close().await;
        n
    })
}

// ---------------------------------------------------------------------------

#[test]
fn migrate_creates_the_database_and_can_run_again() {
    let tmp = TempDir::new("migrate");
    let dir = tmp.join("datos"); // does not exist yet: migrate creates it
    let first = vdir(&dir, &["migrate"]);
    first.assert_ok();
    assert!(
        dir.join("violeta.db").is_file(),
        "migrate did not create {}",
        dir.join("violeta.db").display()
    );
    assert!(
        first.stdout.contains("Base de datos al día"),
        "{}",
        first.output()
    );
    assert!(
        first.stdout.contains("Sqlite"),
        "the backend should be SQLite with --dir:\n{}",
        first.output()
    );

    let second = vdir(&dir, &["migrate"]);
    second.assert_ok();
    assert!(
        second.stdout.contains("Base de datos al día"),
        "{}",
        second.output()
    );

    // The INEGI territory was loaded once, not twice.
    runtime().block_on(async {
        let store = open_dir(&dir).await;
        let states = store.states().await.expect("states");
        assert_eq!(states.len(), 32, "32 states after two migrations");
        let oaxaca = states.iter().find(|s| s.cve_ent == "20").expect("Oaxaca");
        assert_eq!(
            oaxaca.municipalities, 570,
            "Oaxaca's municipalities loaded exactly once"
        );
        store.close().await;
    });
}

#[test]
fn user_add_reset_and_token() {
    let tmp = TempDir::new("user");
    let dir = tmp.path.clone();

    let add = vdir(
        &dir,
        &[
            "user",
            "add",
            "admin@x.mx",
            "--name",
            "Admin",
            "--role",
            "administracion",
        ],
    );
    add.assert_ok();
    let first_link = add.stdout.trim().to_string();
    let token = first_link
        .strip_prefix("http://127.0.0.1:8080/contrasena/")
        .unwrap_or_else(|| {
            panic!(
                "user add should print http://127.0.0.1:8080/contrasena/<token>:\n{}",
                add.output()
            )
        });
    assert!(
        token.len() >= 32 && !token.contains(['/', ' ', '\n']),
        "odd token {token:?}"
    );

    // An unknown role is refused before anything is written, in Spanish.
    let bad = vdir(
        &dir,
        &[
            "user",
            "add",
            "otra@x.mx",
            "--name",
            "Otra",
            "--role",
            "reina",
        ],
    );
    let err = bad.assert_failed();
    assert!(
        err.contains("rol desconocido") && err.contains("reina"),
        "{}",
        bad.output()
    );
    assert!(
        bad.stdout.trim().is_empty(),
        "no link for a refused account:\n{}",
        bad.output()
    );

    // --base-url changes the printed address; reset gives a new link.
    let reset = run(
        &dir,
        dir_args(
            &[
                "user",
                "reset",
                "admin@x.mx",
                "--base-url",
                "https://violeta.example.gob.mx/",
            ],
            &dir,
        ),
        &[],
    );
    reset.assert_ok();
    let second_link = reset.stdout.trim();
    assert!(
        second_link.starts_with("https://violeta.example.gob.mx/contrasena/"),
        "{}",
        reset.output()
    );
    assert_ne!(
        second_link.rsplit('/').next(),
        Some(token),
        "reset must print a new token"
    );

    let missing = vdir(&dir, &["user", "reset", "nadie@x.mx"]);
    assert!(
        missing
            .assert_failed()
            .contains("no existe la cuenta nadie@x.mx"),
        "{}",
        missing.output()
    );

    let tok = vdir(&dir, &["user", "token", "admin@x.mx", "tablero estatal"]);
    tok.assert_ok();
    let api_token = tok.stdout.trim();
    assert!(
        api_token.starts_with("vt_") && api_token.len() > 20 && !api_token.contains('\n'),
        "{}",
        tok.output()
    );
    assert!(
        tok.stderr.contains("no se volverá a mostrar"),
        "{}",
        tok.output()
    );

    // What the commands wrote: the account with its role, and a working API token.
    runtime().block_on(async {
        let store = open_dir(&dir).await;
        let user = store
            .user_by_email("admin@x.mx")
            .await
            .expect("read user")
            .expect("admin@x.mx exists");
        assert_eq!(user.display_name, "Admin");
        assert!(
            store
                .user_by_email("otra@x.mx")
                .await
                .expect("read user")
                .is_none(),
            "refused account was written"
        );
        let by_token = store
            .user_by_api_token(api_token)
            .await
            .expect("token lookup")
            .expect("token works");
        assert_eq!(by_token.id, user.id);
        store.close().await;
    });
}

/// The institutions the sample attendance list names (as the list spells them, or
/// as the catalog does: "H. Ayuntamiento de …" is found as "Ayuntamiento de …").
fn create_sample_institutions(dir: &Path) {
    runtime().block_on(async {
        let store = open_dir(dir).await;
        let actor = Actor::command_line();
        let muni = |k: &str| Some(MunicipalityKey::parse(k).expect("municipality key"));
        let list = [
            (
                "Secretaría de Salud del Estado de México",
                "SSEM",
                InstitutionKind::Dependencia,
                Level::Estatal,
                None,
            ),
            (
                "Fiscalía General de Justicia del Estado de México",
                "FGJEM",
                InstitutionKind::OrganismoAutonomo,
                Level::Estatal,
                None,
            ),
            (
                "Secretaría de Movilidad",
                "SEMOV",
                InstitutionKind::Dependencia,
                Level::Estatal,
                None,
            ),
            (
                "Ayuntamiento de Ecatepec de Morelos",
                "",
                InstitutionKind::Ayuntamiento,
                Level::Municipal,
                muni("15033"),
            ),
            (
                "DIF Municipal de Toluca",
                "",
                InstitutionKind::Dependencia,
                Level::Municipal,
                muni("15106"),
            ),
        ];
        for (name, acronym, kind, level, municipality) in list {
            let new = NewInstitution {
                name: name.into(),
                acronym: acronym.into(),
                kind,
                level,
                municipality,
            };
            store
                .create_institution(&actor, &new)
                .await
                .unwrap_or_else(|e| panic!("create {name}: {e}"));
        }
        store.close().await;
    });
}

#[test]
fn import_people_from_the_sample_lists() {
    let (Some(xlsx), Some(csv)) = (
        sample("lista-asistencia-ejemplo.xlsx"),
        sample("lista-asistencia-ejemplo-excel-windows.csv"),
    ) else {
        return;
    };
    let tmp = TempDir::new("import-people");
    let dir = tmp.path.clone();
    let import = |file: &Path| {
        run(
            &dir,
            dir_args(&["import", "people"], &dir).into_iter().chain([
                file.as_os_str(),
                "--entidad".as_ref(),
                "15".as_ref(),
            ]),
            &[],
        )
    };

    // Fresh database: the institutions are not in the catalog, so nothing is imported,
    // and the report names each row and the column.
    let refused = import(&xlsx);
    let err = refused.assert_failed();
    assert!(err.contains("No se importó nada"), "{}", refused.output());
    assert!(
        err.contains("columna E (INSTITUCIÓN)"),
        "{}",
        refused.output()
    );
    assert!(
        err.contains("no está en el catálogo"),
        "{}",
        refused.output()
    );
    for row in [5, 17, 29] {
        // Data starts under the header in row 4; every one of the 25 rows is named.
        assert!(
            err.contains(&format!("fila {row}, columna E (INSTITUCIÓN)")),
            "row {row} not reported:\n{}",
            refused.output()
        );
    }
    assert!(
        !err.contains("MUNICIPIO"),
        "municipalities of Estado de México resolve by name:\n{}",
        refused.output()
    );
    assert_eq!(people_count(&dir), 0, "a refused import writes nothing");

    create_sample_institutions(&dir);

    let imported = import(&xlsx);
    imported.assert_ok();
    assert!(
        imported
            .stdout
            .contains("Importación terminada: 25 personas nuevas, 0 actualizadas."),
        "{}",
        imported.output()
    );
    assert!(
        !imported.stdout.contains("omitida"),
        "no row of the sample is a footer:\n{}",
        imported.output()
    );
    assert_eq!(people_count(&dir), 25);

    // The same list saved by Excel as a Windows-1252 CSV: same CURPs, so updates.
    let again = import(&csv);
    again.assert_ok();
    assert!(
        again
            .stdout
            .contains("Importación terminada: 0 personas nuevas, 25 actualizadas."),
        "{}",
        again.output()
    );
    assert_eq!(people_count(&dir), 25);

    // Accents survived the Windows-1252 file; institution and municipality were linked.
    runtime().block_on(async {
        let store = open_dir(&dir).await;
        let leticia = store
            .person_by_curp(PeopleScope::All, "MABQ890928MMCYKV26")
            .await
            .expect("read")
            .expect("row 1 stored");
        assert_eq!(leticia.full_name(), "Leticia Ibáñez Domínguez");
        assert_eq!(leticia.first_surname, "Ibáñez");
        assert_eq!(
            leticia.institution.as_deref(),
            Some("Secretaría de Salud del Estado de México")
        );
        assert_eq!(leticia.cvegeo.as_deref(), Some("15106"), "Toluca");
        assert_eq!(
            leticia
                .sex
                .as_deref()
                .and_then(violeta_domain::person::Sex::from_code),
            Some(violeta_domain::person::Sex::Mujer)
        );
        let angel = store
            .person_by_curp(PeopleScope::All, "WIWX640219HMCXTM05")
            .await
            .expect("read")
            .expect("row 16 stored");
        assert_eq!(angel.given_names, "Ángel Gabriel");
        assert_eq!(angel.municipality.as_deref(), Some("Nezahualcóyotl"));
        let mauricio = store
            .person_by_curp(PeopleScope::All, "GEQZ790907HMCMYS30")
            .await
            .expect("read")
            .expect("row 4 stored");
        assert_eq!(
            mauricio.institution.as_deref(),
            Some("Ayuntamiento de Ecatepec de Morelos"),
            "«H. Ayuntamiento de …» matches"
        );
        store.close().await;
    });
}

#[test]
fn import_people_refuses_a_wrong_curp_check_digit() {
    let tmp = TempDir::new("import-curp");
    let dir = tmp.path.clone();
    let good = common::valid_curp("PEHL900215MOCRRS0");
    let bad = common::curp_with_wrong_digit("GAXM850101HOCRRN0");
    let file = tmp.join("lista.csv");
    std::fs::write(
        &file,
        format!(
            "Nombre completo,CURP,Sexo,Municipio\n\
             Lucía Pérez Hernández,{good},Mujer,Oaxaca de Juárez\n\
             Mario García Ruiz,{bad},Hombre,Oaxaca de Juárez\n"
        ),
    )
    .unwrap();
    let r = run(
        &dir,
        dir_args(&["import", "people"], &dir).into_iter().chain([
            file.as_os_str(),
            "--entidad".as_ref(),
            "20".as_ref(),
        ]),
        &[],
    );
    let err = r.assert_failed();
    assert!(err.contains("No se importó nada"), "{}", r.output());
    assert!(
        err.contains("fila 3") && err.contains("CURP"),
        "{}",
        r.output()
    );
    assert!(!err.contains("fila 2"), "row 2 is valid:\n{}", r.output());
    assert_eq!(
        people_count(&dir),
        0,
        "the valid row 2 must not be written either"
    );

    // The same file with the right digit goes in whole.
    let fixed = std::fs::read_to_string(&file)
        .unwrap()
        .replace(&bad, &common::valid_curp("GAXM850101HOCRRN0"));
    std::fs::write(&file, fixed).unwrap();
    let ok = run(
        &dir,
        dir_args(&["import", "people"], &dir).into_iter().chain([
            file.as_os_str(),
            "--entidad".as_ref(),
            "20".as_ref(),
        ]),
        &[],
    );
    ok.assert_ok();
    assert!(
        ok.stdout.contains("2 personas nuevas, 0 actualizadas"),
        "{}",
        ok.output()
    );
    assert_eq!(people_count(&dir), 2);
}

#[test]
fn import_regions_by_name_and_key_all_or_nothing() {
    let tmp = TempDir::new("regions");
    let dir = tmp.path.clone();
    let import = |file: &Path| {
        run(
            &dir,
            dir_args(&["import", "regions"], &dir).into_iter().chain([
                file.as_os_str(),
                "--entidad".as_ref(),
                "20".as_ref(),
                "--fuente".as_ref(),
                "Plan Estatal de Desarrollo".as_ref(),
            ]),
            &[],
        )
    };
    let good = tmp.join("regiones.csv");
    std::fs::write(
        &good,
        "Municipio,Región\nOaxaca de Juárez,Valles Centrales\n20184,Papaloapan\n",
    )
    .unwrap();
    let r = import(&good);
    r.assert_ok();
    assert!(
        r.stdout.contains("2 municipios asignados"),
        "{}",
        r.output()
    );

    let oaxaca = StateKey::parse("20").unwrap();
    let regions_now = || {
        runtime().block_on(async {
            let store = open_dir(&dir).await;
            let regions: Vec<(String, i64)> = store
                .regions(&oaxaca)
                .await
                .expect("regions")
                .into_iter()
                .map(|r| (r.name, r.municipalities))
                .collect();
            let capital = store
                .municipality(&MunicipalityKey::parse("20067").unwrap())
                .await
                .expect("20067");
            let tuxtepec = store
                .municipality(&MunicipalityKey::parse("20184").unwrap())
                .await
                .expect("20184");
            let juchitan = store
                .municipality(&MunicipalityKey::parse("20043").unwrap())
                .await
                .expect("20043");
            store.close().await;
            (regions, capital.region, tuxtepec.region, juchitan.region)
        })
    };
    let (regions, capital, tuxtepec, juchitan) = regions_now();
    assert_eq!(
        regions,
        vec![
            ("Papaloapan".to_string(), 1),
            ("Valles Centrales".to_string(), 1)
        ]
    );
    assert_eq!(capital.as_deref(), Some("Valles Centrales"));
    assert_eq!(tuxtepec.as_deref(), Some("Papaloapan"));
    assert_eq!(juchitan, None);

    // Row 3 names a municipality Oaxaca does not have: nothing of the file is taken.
    let bad = tmp.join("regiones-mal.csv");
    std::fs::write(&bad, "Municipio,Región\nHeroica Ciudad de Juchitán de Zaragoza,Istmo\nSan Inventado del Monte,Costa\n").unwrap();
    let r = import(&bad);
    let err = r.assert_failed();
    assert!(
        err.contains("fila 3") && err.contains("San Inventado del Monte"),
        "{}",
        r.output()
    );
    assert!(!err.contains("fila 2"), "row 2 is fine:\n{}", r.output());
    let after = regions_now();
    assert_eq!(after.0, regions, "no region created by a refused file");
    assert_eq!(
        after.3, None,
        "Juchitán (row 2) was not assigned by a refused file"
    );

    // A key from another state is refused too.
    let other_state = tmp.join("regiones-otra-entidad.csv");
    std::fs::write(&other_state, "Municipio,Región\n15033,Valles Centrales\n").unwrap();
    let r = import(&other_state);
    assert!(r.assert_failed().contains("fila 2"), "{}", r.output());
}

#[test]
fn audit_verify_passes_then_names_the_tampered_entry() {
    let tmp = TempDir::new("audit");
    let dir = tmp.path.clone();
    vdir(
        &dir,
        &[
            "user",
            "add",
            "admin@x.mx",
            "--name",
            "Admin",
            "--role",
            "administracion",
        ],
    )
    .assert_ok();
    vdir(&dir, &["user", "reset", "admin@x.mx"]).assert_ok();
    vdir(&dir, &["user", "token", "admin@x.mx", "integración"]).assert_ok();

    let ok = vdir(&dir, &["audit", "verify"]);
    ok.assert_ok();
    assert!(ok.stdout.contains("íntegra"), "{}", ok.output());
    let entries: i64 = ok
        .stdout
        .split("íntegra: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no entry count in:\n{}", ok.output()));
    assert!(
        entries >= 3,
        "three commands wrote at least three entries, verified {entries}"
    );

    // An attacker with the file: the triggers stop a plain UPDATE…
    runtime().block_on(async {
        use sqlx::Connection;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.join("violeta.db"));
        let mut db = sqlx::SqliteConnection::connect_with(&options).await.expect("open the SQLite file");
        let blocked = sqlx::raw_sql("UPDATE audit_log SET actor = 'x' WHERE seq = 2").execute(&mut db).await;
        assert!(blocked.is_err(), "the audit_log_no_update trigger should refuse changes");
        // …so they drop them first and rewrite entry 2.
        sqlx::raw_sql("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; UPDATE audit_log SET actor = 'x' WHERE seq = 2")
            .execute(&mut db)
            .await
            .expect("tamper with the audit log");
        db.close().await.expect("close");
    });

    let broken = vdir(&dir, &["audit", "verify"]);
    let err = broken.assert_failed();
    assert!(
        err.contains("la bitácora de auditoría está rota"),
        "{}",
        broken.output()
    );
    assert!(
        err.contains("la entrada 2 fue alterada"),
        "{}",
        broken.output()
    );
}

#[test]
fn backup_while_serving() {
    let tmp = TempDir::new("backup");
    let dir = tmp.sub("datos");
    vdir(&dir, &["migrate"]).assert_ok();
    let server = Server::start("violeta serve", &tmp.join("serve.log"), |port| {
        let mut cmd = violeta(&dir);
        cmd.env("VIOLETA_LOG", "info")
            .args(["serve", "--dir"])
            .arg(&dir)
            .args(["--addr", &format!("127.0.0.1:{port}")]);
        cmd
    });

    // Writes from another process while the server holds the database open.
    vdir(
        &dir,
        &[
            "user",
            "add",
            "respaldo@x.mx",
            "--name",
            "Respaldo",
            "--role",
            "coordinacion",
        ],
    )
    .assert_ok();
    let mut browser = Browser::default();
    assert_eq!(browser.get(server.port, "/entrar").status, 200);

    let copy = tmp.join("copia.db");
    let b = run(
        &dir,
        dir_args(&["backup"], &dir)
            .into_iter()
            .chain([copy.as_os_str()]),
        &[],
    );
    b.assert_ok();
    assert!(
        b.stdout.contains("Copia consistente escrita en"),
        "{}",
        b.output()
    );
    assert!(
        copy.is_file() && std::fs::metadata(&copy).unwrap().len() > 0,
        "no copy at {}",
        copy.display()
    );

    // The server kept serving.
    assert_eq!(browser.get(server.port, "/healthz").status, 200);

    // Onto an existing file: refused, the file untouched.
    let before = std::fs::read(&copy).unwrap();
    let again = run(
        &dir,
        dir_args(&["backup"], &dir)
            .into_iter()
            .chain([copy.as_os_str()]),
        &[],
    );
    assert!(
        again.assert_failed().contains("ya existe"),
        "{}",
        again.output()
    );
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        before,
        "an existing file must not be overwritten"
    );
    server.stop();

    // The copy is a working database with an intact audit trail and the new account.
    let restored = tmp.sub("restaurada");
    std::fs::copy(&copy, restored.join("violeta.db")).unwrap();
    let v = vdir(&restored, &["audit", "verify"]);
    v.assert_ok();
    assert!(v.stdout.contains("íntegra"), "{}", v.output());
    runtime().block_on(async {
        let store = open_dir(&restored).await;
        assert!(
            store
                .user_by_email("respaldo@x.mx")
                .await
                .expect("read")
                .is_some(),
            "the copy has the account added while serving"
        );
        store.close().await;
    });
}

#[test]
fn demo_serves_fresh_data_and_refuses_a_real_database() {
    let tmp = TempDir::new("demo");
    let dir = tmp.sub("demo");
    let start_demo = |log: &str| {
        Server::start("violeta demo", &tmp.join(log), |port| {
            let mut cmd = violeta(&tmp.path);
            cmd.args(["demo", "--dir"])
                .arg(&dir)
                .args(["--addr", &format!("127.0.0.1:{port}")]);
            cmd
        })
    };

    let server = start_demo("demo-1.log");
    let mut browser = Browser::default();
    assert_eq!(browser.get(server.port, "/healthz").status, 200);
    let printed = server.log_text();
    assert!(
        printed.contains(&format!(
            "Violeta (demostración) en http://127.0.0.1:{}/",
            server.port
        )),
        "{}",
        server.log_tail(40)
    );
    assert!(
        printed.contains("admin@demo.violeta.mx"),
        "{}",
        server.log_tail(40)
    );
    assert!(
        printed.contains("violeta-demo"),
        "the demo password is printed:\n{}",
        server.log_tail(40)
    );
    // The printed login works.
    let page = browser.get(server.port, "/entrar");
    let csrf = common::csrf_field(&page.body);
    let login = browser.post(
        server.port,
        "/entrar",
        &[
            ("csrf", &csrf),
            ("email", "admin@demo.violeta.mx"),
            ("password", "violeta-demo"),
        ],
    );
    assert_eq!(login.status, 303, "{}", login.summary());
    assert!(browser.cookies.contains_key("violeta_sesion"));
    assert_eq!(browser.get(server.port, "/panel").status, 200);
    server.stop();
    assert!(
        dir.join("VIOLETA-DEMO.txt").is_file(),
        "the demo marks its folder"
    );

    // Something that is not demo data, added between runs, is gone after the next run.
    vdir(
        &dir,
        &[
            "user",
            "add",
            "intrusa@x.mx",
            "--name",
            "Intrusa",
            "--role",
            "participante",
        ],
    )
    .assert_ok();
    let server = start_demo("demo-2.log");
    assert_eq!(Browser::default().get(server.port, "/healthz").status, 200);
    server.stop();
    runtime().block_on(async {
        let store = open_dir(&dir).await;
        assert!(
            store
                .user_by_email("intrusa@x.mx")
                .await
                .expect("read")
                .is_none(),
            "the second demo run starts from fresh data"
        );
        assert!(
            store
                .user_by_email("admin@demo.violeta.mx")
                .await
                .expect("read")
                .is_some()
        );
        store.close().await;
    });

    // A folder whose database was made by `migrate` (no demo marker) is refused, untouched.
    let real = tmp.sub("real");
    vdir(&real, &["migrate"]).assert_ok();
    vdir(
        &real,
        &[
            "user",
            "add",
            "real@x.mx",
            "--name",
            "Real",
            "--role",
            "administracion",
        ],
    )
    .assert_ok();
    let refused = run(
        &tmp.path,
        [
            "demo".as_ref(),
            "--dir".as_ref(),
            real.as_os_str(),
            "--addr".as_ref(),
            "127.0.0.1:0".as_ref(),
        ],
        &[],
    );
    let err = refused.assert_failed();
    assert!(
        err.contains("no es de demostración"),
        "{}",
        refused.output()
    );
    assert!(!real.join("VIOLETA-DEMO.txt").exists());
    runtime().block_on(async {
        let store = open_dir(&real).await;
        assert!(
            store
                .user_by_email("real@x.mx")
                .await
                .expect("read")
                .is_some(),
            "the real database was not touched"
        );
        store.close().await;
    });
}

#[test]
fn demo_on_postgres_loads_an_empty_database_only() {
    if !postgres_configured("demo_on_postgres_loads_an_empty_database_only") {
        return;
    }
    let tmp = TempDir::new("demo-pg");
    let db = PgDb::new(); // migrated, no accounts
    let url = db.url().to_string();
    let server = Server::start("violeta demo (PostgreSQL)", &tmp.join("demo.log"), |port| {
        let mut cmd = violeta(&tmp.path);
        cmd.args([
            "demo",
            "--database-url",
            &url,
            "--addr",
            &format!("127.0.0.1:{port}"),
        ]);
        cmd
    });
    let printed = server.log_text();
    assert!(
        printed.contains("Base de datos: PostgreSQL"),
        "{}",
        server.log_tail(40)
    );
    assert!(
        printed.contains("admin@demo.violeta.mx"),
        "{}",
        server.log_tail(40)
    );
    let mut browser = Browser::default();
    let csrf = common::csrf_field(&browser.get(server.port, "/entrar").body);
    let login = browser.post(
        server.port,
        "/entrar",
        &[
            ("csrf", &csrf),
            ("email", "admin@demo.violeta.mx"),
            ("password", "violeta-demo"),
        ],
    );
    assert_eq!(login.status, 303, "{}", login.summary());
    server.stop();
    assert!(
        !tmp.join("violeta-demo").exists(),
        "with --database-url nothing goes to the default --dir"
    );

    // Now the database has accounts: a second demo refuses to touch it.
    let again = run(
        &tmp.path,
        ["demo", "--database-url", &url, "--addr", "127.0.0.1:0"],
        &[],
    );
    assert!(
        again.assert_failed().contains("ya tiene cuentas"),
        "{}",
        again.output()
    );
}

#[test]
fn course_import_export_and_offline_constancia_check() {
    let tmp = TempDir::new("cursos");
    let dir = tmp.sub("datos");
    let course = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/cursos/pg-101-demostracion");
    let course = course.to_str().unwrap();
    let first = vdir(&dir, &["course", "import", course]);
    first.assert_ok();
    assert!(first.stdout.contains("importado como borrador con el número 1"), "{}", first.output());
    let again = vdir(&dir, &["course", "import", course]);
    assert!(again.assert_failed().contains("ya existe el curso PG-101 en su versión 1"), "{}", again.output());

    // A course whose quiz has no correct answer: the error names where, nothing is written.
    let bad = tmp.sub("malo");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("curso.json"),
        r#"{"formato":"violeta-curso/1","clave":"MAL-1","version":1,"titulo":"Malo","horas":1,
           "modulos":[{"titulo":"Uno","elementos":[{"tipo":"cuestionario","titulo":"Examen","calificacion_aprobatoria":80,
           "preguntas":[{"tipo":"unica","enunciado":"¿?","opciones":[{"texto":"A"},{"texto":"B"}]}]}]}]}"#,
    )
    .unwrap();
    let refused = vdir(&dir, &["course", "import", bad.to_str().unwrap()]);
    let err = refused.assert_failed();
    assert!(err.contains("módulo 1, elemento 1 («Examen»), pregunta 1") && err.contains("no tiene respuesta correcta"), "{}", refused.output());

    let zip = tmp.join("pg-101.zip");
    vdir(&dir, &["course", "export", "1", zip.to_str().unwrap()]).assert_ok();
    let reimport = vdir(&tmp.sub("otra"), &["course", "import", zip.to_str().unwrap()]);
    reimport.assert_ok();

    // A constancia from the demo, checked with nothing but the files its issuer publishes.
    let demo_dir = tmp.sub("demo");
    let server = Server::start("violeta demo", &tmp.join("demo.log"), |port| {
        let mut cmd = violeta(&tmp.path);
        cmd.args(["demo", "--dir"]).arg(&demo_dir).args(["--addr", &format!("127.0.0.1:{port}")]);
        cmd
    });
    let mut browser = Browser::default();
    let folio = runtime().block_on(async {
        let store = violeta_store::Store::connect(&format!("sqlite://{}", demo_dir.join("violeta.db").display())).await.unwrap();
        let course = store.courses(None).await.unwrap().into_iter().find(|c| c.code == "PG-101").unwrap();
        let folio = store.course_credentials(course.id, None).await.unwrap().remove(0).folio;
        store.close().await;
        folio
    });
    let files = [("emisor.json", "/.well-known/violeta/emisor.json".to_string()), ("estado.json", "/.well-known/violeta/estado.json".to_string()), ("constancia.json", format!("/verificar/{folio}.json"))];
    for (name, path) in &files {
        let r = browser.get(server.port, path);
        assert_eq!(r.status, 200, "{path}: {}", r.summary());
        std::fs::write(tmp.join(name), &r.body).unwrap();
    }
    server.stop();
    let check = |doc: &str| run(&tmp.path, ["credential", "verify", doc, "--emisor", "emisor.json", "--estado", "estado.json"], &[]);
    let ok = check("constancia.json");
    ok.assert_ok();
    assert!(ok.stdout.contains(&format!("Constancia {folio}: auténtica y vigente")), "{}", ok.output());
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tmp.join("constancia.json")).unwrap()).unwrap();
    doc["credentialSubject"]["achievement"]["name"] = "Un curso que no tomó".into();
    std::fs::write(tmp.join("alterada.json"), doc.to_string()).unwrap();
    let tampered = check("alterada.json");
    assert!(tampered.assert_failed().contains("la firma no corresponde al contenido"), "{}", tampered.output());
}
