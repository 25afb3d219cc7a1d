//! Several `violeta serve` processes on one PostgreSQL database, as in production
//! behind a load balancer: sessions, their CSRF tokens and the sign-in limits live
//! in the store, so any process answers for any browser.
//!
//! Runs only when `VIOLETA_TEST_POSTGRES` names a server
//! (`postgres://postgres@127.0.0.1:5432/test`; `scripts/test` sets it); otherwise
//! each test prints a note and passes. Every test works in its own database,
//! dropped at the end (also when the test fails).

mod common;

use common::{
    Browser, PgDb, Server, TempDir, csrf_field, postgres_configured, run, runtime, valid_curp,
    violeta,
};
use std::path::Path;
use violeta_domain::access::PeopleScope;

const EMAIL: &str = "admin@multiproceso.mx";
const NAME: &str = "Administración multiproceso";
const PASSWORD: &str = "una contraseña bastante larga";

/// `violeta serve` on `url`, from `tmp`, logging to `tmp/serve-NAME.log`.
fn serve_command(tmp: &Path, url: &str, port: u16) -> std::process::Command {
    let mut cmd = violeta(tmp);
    cmd.env("DATABASE_URL", url)
        .env("VIOLETA_LOG", "info")
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")]);
    cmd
}

fn serve(tmp: &TempDir, name: &str, url: &str) -> Server {
    Server::start(
        &format!("violeta serve {name}"),
        &tmp.join(format!("serve-{name}.log")),
        |port| serve_command(&tmp.path, url, port),
    )
}

#[test]
fn two_servers_share_sessions_and_sign_in_limits() {
    if !postgres_configured("two_servers_share_sessions_and_sign_in_limits") {
        return;
    }
    let tmp = TempDir::new("multiprocess");
    let db = PgDb::new();
    let url = db.url().to_string();

    // The account, made by the command line against the same database.
    let add = run(
        &tmp.path,
        [
            "user",
            "add",
            EMAIL,
            "--name",
            NAME,
            "--role",
            "administracion",
        ],
        &[("DATABASE_URL", &url)],
    );
    add.assert_ok();
    let link = add.stdout.trim();
    let token = link
        .strip_prefix("http://127.0.0.1:8080/contrasena/")
        .unwrap_or_else(|| panic!("user add should print a password link:\n{}", add.output()))
        .to_string();

    // Servers declared after the database, so they stop before it is dropped.
    let a = serve(&tmp, "A", &url);
    let b = serve(&tmp, "B", &url);
    let mut browser = Browser::default();

    // The password, set on A through the one-time link.
    let path = format!("/contrasena/{token}");
    let page = browser.get(a.port, &path);
    assert_eq!(page.status, 200, "{}", page.summary());
    let csrf = csrf_field(&page.body);
    assert_eq!(
        browser.cookies.get("violeta_csrf"),
        Some(&csrf),
        "the form carries the pre-session CSRF cookie's token"
    );
    let set = browser.post(
        a.port,
        &path,
        &[
            ("csrf", &csrf),
            ("password", PASSWORD),
            ("confirmation", PASSWORD),
        ],
    );
    assert_eq!(
        (set.status, set.location()),
        (303, "/entrar?aviso=contrasena"),
        "{}",
        set.summary()
    );
    // The link was used up for every process.
    assert_eq!(
        browser.get(b.port, &path).status,
        404,
        "a used link must not work on B either"
    );

    // Sign in on A.
    let page = browser.get(a.port, "/entrar");
    let csrf = csrf_field(&page.body);
    let login = browser.post(
        a.port,
        "/entrar",
        &[("csrf", &csrf), ("email", EMAIL), ("password", PASSWORD)],
    );
    assert_eq!(
        (login.status, login.location()),
        (303, "/panel"),
        "{}",
        login.summary()
    );
    let session = login
        .set_cookie("violeta_sesion")
        .expect("a session cookie");

    // The session works on B.
    let panel = browser.get(b.port, "/panel");
    assert_eq!(
        panel.status,
        200,
        "the session made on A must work on B: {}",
        panel.summary()
    );
    assert!(panel.body.contains(NAME), "B shows who is signed in");

    // A form served by B carries the session's CSRF token, the same on A.
    let form_b = browser.get(b.port, "/personas/nueva");
    assert_eq!(form_b.status, 200, "{}", form_b.summary());
    let csrf_b = csrf_field(&form_b.body);
    let form_a = browser.get(a.port, "/personas/nueva");
    assert_eq!(
        csrf_field(&form_a.body),
        csrf_b,
        "one session, one CSRF token, whichever process serves the form"
    );

    // A person created through B…
    let curp = valid_curp("MUPX900101MOCLRS0");
    let created = browser.post(
        b.port,
        "/personas",
        &[
            ("csrf", &csrf_b),
            ("curp", &curp),
            ("given_names", "Prueba"),
            ("first_surname", "Multiproceso"),
            ("second_surname", "Compartida"),
            ("sex", ""),
            ("institution", ""),
            ("position", "Enlace"),
            ("corps", ""),
            ("municipality", "20067"),
            ("email", ""),
            ("phone", ""),
        ],
    );
    assert_eq!(created.status, 303, "{}", created.summary());
    assert!(
        created.location().starts_with("/personas/")
            && created.location().ends_with("aviso=creada"),
        "{}",
        created.summary()
    );
    let person_path = created.location().split('?').next().unwrap().to_string();

    // …is seen on A, in the list and on its page.
    let list = browser.get(a.port, "/personas");
    assert_eq!(list.status, 200, "{}", list.summary());
    assert!(
        list.body.contains("Prueba Multiproceso Compartida") && list.body.contains(&curp),
        "A lists the person created on B"
    );
    let shown = browser.get(a.port, &person_path);
    assert_eq!(shown.status, 200, "{}", shown.summary());
    assert!(shown.body.contains("Oaxaca de Juárez"));
    let stored = db
        .rt
        .block_on(db.store().person_by_curp(PeopleScope::All, &curp))
        .expect("read")
        .expect("stored");
    assert_eq!(stored.full_name(), "Prueba Multiproceso Compartida");

    // Signing out on A ends the session for B as well.
    let csrf = csrf_field(&browser.get(a.port, "/panel").body);
    let out = browser.post(a.port, "/salir", &[("csrf", &csrf)]);
    assert_eq!(
        (out.status, out.location()),
        (303, "/entrar?aviso=salio"),
        "{}",
        out.summary()
    );
    assert!(
        !browser.cookies.contains_key("violeta_sesion"),
        "A clears the cookie"
    );
    // A browser that kept the old cookie gets nothing from B.
    let stale = common::request(
        b.port,
        "GET",
        "/panel",
        &[("violeta_sesion", &session)],
        None,
    )
    .expect("GET /panel on B");
    assert_eq!(stale.status, 303, "{}", stale.summary());
    assert!(
        stale.location().starts_with("/entrar"),
        "{}",
        stale.summary()
    );

    // Failed sign-ins are counted in the store: five spread over A and B, then the
    // sixth is refused, whichever process gets it, and even a right password waits.
    let mut attacker = Browser::default();
    let ports = [a.port, b.port];
    for attempt in 1..=5 {
        let port = ports[attempt % 2];
        let csrf = csrf_field(&attacker.get(port, "/entrar").body);
        let r = attacker.post(
            port,
            "/entrar",
            &[
                ("csrf", &csrf),
                ("email", EMAIL),
                ("password", "no es la contraseña"),
            ],
        );
        assert!(
            r.status != 303 && r.status != 429,
            "attempt {attempt} on port {port}: {}",
            r.summary()
        );
        assert!(
            r.body
                .contains("El correo o la contraseña no son correctos"),
            "attempt {attempt}: {}",
            r.summary()
        );
    }
    for (port, password) in [
        (a.port, "no es la contraseña"),
        (b.port, "otra más"),
        (a.port, PASSWORD),
    ] {
        let csrf = csrf_field(&attacker.get(port, "/entrar").body);
        let r = attacker.post(
            port,
            "/entrar",
            &[("csrf", &csrf), ("email", EMAIL), ("password", password)],
        );
        assert_eq!(
            r.status,
            429,
            "after five failures, port {port}: {}",
            r.summary()
        );
        assert!(
            r.body.contains("demasiados intentos fallidos"),
            "{}",
            r.summary()
        );
    }
    assert!(!attacker.cookies.contains_key("violeta_sesion"));
}

/// A throw-away database created empty (not migrated), dropped at the end.
struct EmptyDb {
    rt: tokio::runtime::Runtime,
    admin_url: String,
    name: String,
    url: String,
}

impl EmptyDb {
    fn new() -> EmptyDb {
        use sqlx::Connection;
        let admin_url = std::env::var("VIOLETA_TEST_POSTGRES").expect("VIOLETA_TEST_POSTGRES");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("violeta_test_cli_{}_{nanos}", std::process::id());
        let rt = runtime();
        rt.block_on(async {
            let mut c = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("connect to VIOLETA_TEST_POSTGRES");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut c)
                .await
                .expect("CREATE DATABASE");
            c.close().await.ok();
        });
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => format!("{admin_url}/{name}"),
        };
        EmptyDb {
            rt,
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for EmptyDb {
    fn drop(&mut self) {
        use sqlx::Connection;
        self.rt.block_on(async {
            if let Ok(mut c) = sqlx::PgConnection::connect(&self.admin_url).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                )))
                .execute(&mut c)
                .await;
                c.close().await.ok();
            }
        });
    }
}

#[test]
fn servers_started_together_on_an_empty_database() {
    if !postgres_configured("servers_started_together_on_an_empty_database") {
        return;
    }
    let tmp = TempDir::new("multistart");
    let db = EmptyDb::new();
    // Three processes migrate and load the INEGI territory at the same moment; one
    // loads it, the others must find it loaded rather than fail on duplicates.
    let mut servers: Vec<Server> = ["A", "B", "C"]
        .iter()
        .map(|name| {
            let port = common::free_port();
            Server::launch(
                &format!("violeta serve {name}"),
                &tmp.join(format!("serve-{name}.log")),
                port,
                serve_command(&tmp.path, &db.url, port),
            )
        })
        .collect();
    for s in &mut servers {
        s.wait_ready();
    }
    let store = db
        .rt
        .block_on(violeta_store::Store::connect(&db.url))
        .expect("connect");
    let states = db.rt.block_on(store.states()).expect("states");
    assert_eq!(states.len(), 32, "the territory loaded exactly once");
    assert_eq!(
        states
            .iter()
            .find(|s| s.cve_ent == "20")
            .map(|s| s.municipalities),
        Some(570)
    );
    db.rt.block_on(store.close());
    for s in &servers {
        assert_eq!(
            Browser::default().get(s.port, "/healthz").status,
            200,
            "{} still serving",
            s.name
        );
    }
    drop(servers);
}
