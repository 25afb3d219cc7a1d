//! End-to-end test in a real browser: headless Debian Chromium driven through
//! ChromeDriver (WebDriver) with `fantoccini`.
//!
//! It starts `violeta demo` on a free loopback port and walks the core path of
//! the demonstration: sign in, territory of Oaxaca and its filter, register a
//! person (first with a wrong CURP, then with a valid one), read the audit log,
//! sign out.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian packages
//! `chromium` and `chromium-driver`; `scripts/test` installs them). Without them
//! the test fails, unless `VIOLETA_SKIP_BROWSER=1` is set, which skips it.
//! `VIOLETA_BROWSER_URL=http://127.0.0.1:PORT` runs it against a server that is
//! already running instead of starting one (the demo data must be loaded).
//!
//! Everything the run leaves (server and ChromeDriver logs, screenshots) is in
//! a folder under `target/tmp/`, printed at the start.

mod browser_support;

use browser_support::*;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ADMIN_EMAIL: &str = "admin@demo.violeta.mx";
const ADMIN_PASSWORD: &str = "violeta-demo";
/// How long to wait for a page or an element after an action.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// The whole walk, browser start included.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(300);

type Res<T> = Result<T, String>;

/// Turns any error into this test's error, with what was being done.
trait Ctx<T> {
    fn ctx(self, what: &str) -> Res<T>;
}
impl<T, E: std::fmt::Display> Ctx<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Res<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

// ---------------------------------------------------------------------------
// Browser helpers

/// The browser session and the server's base address.
struct Ui {
    c: Client,
    base: String,
}

impl Ui {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn goto(&self, path: &str) -> Res<()> {
        self.c.goto(&self.url(path)).await.ctx(&format!("open {path}"))?;
        self.wait_loaded().await
    }

    async fn path(&self) -> Res<String> {
        let url = self.c.current_url().await.ctx("read the current address")?;
        Ok(url.path().to_string())
    }

    async fn wait_loaded(&self) -> Res<()> {
        let start = Instant::now();
        loop {
            if let Ok(v) = self.c.execute("return document.readyState", vec![]).await
                && v.as_str() == Some("complete")
            {
                return Ok(());
            }
            check!(start.elapsed() < STEP_TIMEOUT, "the page did not finish loading");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Marks the current page, so that [`Ui::wait_new_page`] can tell when
    /// another one has replaced it (form submissions may land on the same address).
    async fn mark_page(&self) -> Res<()> {
        self.c
            .execute("window.__violetaOldPage = true; return null;", vec![])
            .await
            .ctx("mark the current page")?;
        Ok(())
    }

    /// Waits until the page marked by [`Ui::mark_page`] has been replaced by a
    /// fully loaded new one.
    async fn wait_new_page(&self, what: &str) -> Res<()> {
        let start = Instant::now();
        loop {
            // Errors while the new page loads are expected: keep polling.
            if let Ok(v) = self
                .c
                .execute(
                    "return window.__violetaOldPage === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await
                && v.as_bool() == Some(true)
            {
                return Ok(());
            }
            check!(start.elapsed() < STEP_TIMEOUT, "no new page loaded after {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks `element` and waits until a new page has been loaded.
    async fn click_and_wait(&self, element: &Element, what: &str) -> Res<()> {
        self.mark_page().await?;
        element.click().await.ctx(&format!("click {what}"))?;
        self.wait_new_page(&format!("clicking {what}")).await
    }

    async fn find(&self, locator: Locator<'_>, what: &str) -> Res<Element> {
        let found = self.c.wait().at_most(STEP_TIMEOUT).for_element(locator).await;
        found.map_err(|e| format!("{what} not found: {e}"))
    }

    async fn text(&self, locator: Locator<'_>, what: &str) -> Res<String> {
        self.find(locator, what)
            .await?
            .text()
            .await
            .ctx(&format!("read the text of {what}"))
    }

    async fn type_into(&self, locator: Locator<'_>, value: &str, what: &str) -> Res<()> {
        let field = self.find(locator, what).await?;
        field.clear().await.ctx(&format!("clear {what}"))?;
        if !value.is_empty() {
            field.send_keys(value).await.ctx(&format!("type into {what}"))?;
        }
        let typed = field
            .prop("value")
            .await
            .ctx(&format!("read back {what}"))?
            .unwrap_or_default();
        check!(typed == value, "{what}: typed {value:?} but the field holds {typed:?}");
        Ok(())
    }

    /// The submit button (a `<button>` or `<input type=submit>`) labelled
    /// `label` inside the form that contains the field named `field`.
    async fn submit_button(&self, field: &str, label: &str) -> Res<Element> {
        let xpath = format!(
            "//form[.//*[@name='{field}']]//*[(self::button and (not(@type) or @type='submit') and normalize-space(.)='{label}') \
             or (self::input and @type='submit' and @value='{label}')]"
        );
        self.find(
            Locator::XPath(&xpath),
            &format!("button {label:?} of the form with field {field:?}"),
        )
        .await
    }

    /// What helps to understand a failure: address, page text, logs.
    async fn report(&self, dir: &Path) {
        match self.c.current_url().await {
            Ok(url) => eprintln!("[browser] current address: {url}"),
            Err(e) => eprintln!("[browser] current address unknown: {e}"),
        }
        if let Ok(source) = self.c.source().await {
            let body = source.find("<body").map(|i| &source[i..]).unwrap_or(&source);
            eprintln!(
                "[browser] page source (excerpt):\n{}\n[browser] (end of excerpt)",
                truncate(body, 4000)
            );
        }
        if let Ok(png) = self.c.screenshot().await {
            let path = dir.join("failure.png");
            if std::fs::write(&path, png).is_ok() {
                eprintln!("[browser] screenshot of the failure: {}", path.display());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The walk

async fn walk(ui: &Ui, dir: &Path, step: &mut &'static str) -> Res<()> {
    // 1. Sign in as the demo administrator.
    *step = "sign in";
    ui.goto("/entrar").await?;
    ui.type_into(Locator::Id("email"), ADMIN_EMAIL, "e-mail field #email")
        .await?;
    ui.type_into(Locator::Id("password"), ADMIN_PASSWORD, "password field #password")
        .await?;
    let kind = ui
        .find(Locator::Id("password"), "#password")
        .await?
        .attr("type")
        .await
        .ctx("read #password type")?;
    check!(
        kind.as_deref() == Some("password"),
        "#password has type {kind:?}, expected \"password\""
    );
    let button = ui.submit_button("email", "Entrar").await?;
    ui.click_and_wait(&button, "Entrar").await?;
    let path = ui.path().await?;
    check!(
        path == "/panel",
        "after signing in the browser is at {path}, expected /panel"
    );
    let h1 = ui.text(Locator::Css("h1"), "<h1> of /panel").await?;
    check!(!h1.trim().is_empty(), "the <h1> of /panel is empty");

    // 2. Territory: the nav link, then Oaxaca (20) and its filter.
    *step = "territory";
    let link = ui
        .find(Locator::LinkText("Territorio"), "link \"Territorio\" on /panel")
        .await?;
    ui.click_and_wait(&link, "link Territorio").await?;
    let path = ui.path().await?;
    check!(path.starts_with("/territorio"), "the link Territorio led to {path}");

    ui.goto("/territorio/20").await?;
    let table = ui
        .find(Locator::Css("table#municipios"), "table#municipios on /territorio/20")
        .await?;
    let mut headers = Vec::new();
    for th in table
        .find_all(Locator::Css("th"))
        .await
        .ctx("read the headers of #municipios")?
    {
        headers.push(th.text().await.ctx("read a header")?.trim().to_string());
    }
    for wanted in ["Municipio", "Región", "AVGM"] {
        check!(
            headers.iter().any(|h| h.contains(wanted)),
            "#municipios has no header {wanted:?}; headers: {headers:?}"
        );
    }
    let rows = table.text().await.ctx("read #municipios")?;
    check!(
        rows.contains("Oaxaca de Juárez"),
        "#municipios does not list \"Oaxaca de Juárez\""
    );
    let rows_before = table.find_all(Locator::Css("tr")).await.ctx("count rows")?.len();

    ui.type_into(Locator::Css("input[name='q']"), "huatulco", "filter field q")
        .await?;
    let filter = ui
        .find(
            Locator::XPath("//input[@name='q']/ancestor::form[1]"),
            "the form of field q",
        )
        .await?;
    let submit = filter
        .find_all(Locator::Css(
            "button:not([type]), button[type='submit'], input[type='submit']",
        ))
        .await
        .ctx("look for the filter's button")?;
    match submit.first() {
        Some(button) => ui.click_and_wait(button, "the filter's button").await?,
        None => {
            // A form without a button submits with Enter.
            let field = ui.find(Locator::Css("input[name='q']"), "filter field q").await?;
            ui.mark_page().await?;
            field.send_keys("\u{E007}").await.ctx("press Enter in q")?;
            ui.wait_new_page("pressing Enter in the filter").await?;
        }
    }
    let url = ui.c.current_url().await.ctx("read the address")?;
    check!(
        url.query_pairs().any(|(k, v)| k == "q" && v == "huatulco"),
        "the filter did not submit q=huatulco with GET: now at {url}"
    );
    let table = ui
        .find(Locator::Css("table#municipios"), "table#municipios after filtering")
        .await?;
    let rows = table.text().await.ctx("read the filtered #municipios")?;
    check!(
        rows.contains("Santa María Huatulco"),
        "the filter q=huatulco left no row \"Santa María Huatulco\""
    );
    check!(
        !rows.contains("Oaxaca de Juárez"),
        "the filter q=huatulco still lists \"Oaxaca de Juárez\""
    );
    let rows_after = table.find_all(Locator::Css("tr")).await.ctx("count rows")?.len();
    check!(
        rows_after < rows_before,
        "the filter did not narrow the list ({rows_before} rows before, {rows_after} after)"
    );

    // 3. A person: a wrong CURP is refused, a valid one is saved.
    *step = "person with a wrong CURP";
    ui.goto("/personas/nueva").await?;
    for name in ["curp", "given_names", "first_surname", "second_surname"] {
        ui.find(
            Locator::Css(&format!("form [name='{name}']")),
            &format!("field {name:?} on /personas/nueva"),
        )
        .await?;
    }
    let wrong = curp_with_wrong_digit("GOMA850312MOCNRR0");
    ui.type_into(Locator::Css("[name='curp']"), &wrong, "field curp")
        .await?;
    ui.type_into(Locator::Css("[name='given_names']"), "Ana", "field given_names")
        .await?;
    ui.type_into(Locator::Css("[name='first_surname']"), "Gómez", "field first_surname")
        .await?;
    let button = ui.submit_button("curp", "Guardar").await?;
    ui.click_and_wait(&button, "Guardar (wrong CURP)").await?;
    let error = ui
        .text(
            Locator::Css(".error, [role='alert']"),
            "an error (.error or [role=alert]) for the wrong CURP",
        )
        .await?;
    check!(
        error.contains("CURP"),
        "the error for a wrong CURP does not mention CURP: {error:?}"
    );
    ui.find(
        Locator::Css("form [name='curp']"),
        "the form shown again after the wrong CURP",
    )
    .await?;

    *step = "person with a valid CURP";
    let curp = valid_curp("PEHL900215MOCRRS0");
    ui.type_into(Locator::Css("[name='curp']"), &curp, "field curp").await?;
    ui.type_into(Locator::Css("[name='given_names']"), "Lucía", "field given_names")
        .await?;
    ui.type_into(Locator::Css("[name='first_surname']"), "Pérez", "field first_surname")
        .await?;
    ui.type_into(Locator::Css("[name='second_surname']"), "", "field second_surname")
        .await?;
    let button = ui.submit_button("curp", "Guardar").await?;
    ui.click_and_wait(&button, "Guardar (valid CURP)").await?;
    let path = ui.path().await?;
    let id = path.strip_prefix("/personas/").unwrap_or("");
    check!(
        !id.is_empty() && !id.contains('/') && id != "nueva",
        "saving a person with a valid CURP led to {path}, expected /personas/{{id}}"
    );
    let h1 = ui.text(Locator::Css("h1"), "<h1> of the person's page").await?;
    check!(
        h1.contains("Lucía Pérez"),
        "the person's <h1> is {h1:?}, expected it to contain \"Lucía Pérez\""
    );

    // 4. The audit log records the creation.
    *step = "audit log";
    ui.goto("/auditoria").await?;
    let audit = ui
        .find(Locator::Css("table#auditoria"), "table#auditoria on /auditoria")
        .await?;
    let mut newest = None;
    for row in audit
        .find_all(Locator::Css("tr"))
        .await
        .ctx("read the rows of #auditoria")?
    {
        if !row.find_all(Locator::Css("td")).await.ctx("read a row")?.is_empty() {
            newest = Some(row.text().await.ctx("read a row")?);
            break;
        }
    }
    let newest = newest.ok_or("#auditoria has no data rows")?;
    check!(
        newest.contains("persona.crear"),
        "the newest row of #auditoria does not mention persona.crear: {newest:?}"
    );

    // 5. Sign out; people are then out of reach.
    *step = "sign out";
    let salir = ui
        .find(
            Locator::XPath(
                "//form[@action='/salir' and translate(@method,'POST','post')='post']\
                 //*[(self::button and normalize-space(.)='Salir') or (self::input and @type='submit' and @value='Salir')]",
            ),
            "button Salir in <form method=post action=/salir>",
        )
        .await?;
    ui.click_and_wait(&salir, "Salir").await?;
    ui.goto("/personas").await?;
    let path = ui.path().await?;
    check!(
        path == "/entrar",
        "after signing out, /personas led to {path}, expected /entrar"
    );

    *step = "final screenshot";
    let png = ui.c.screenshot().await.ctx("take the final screenshot")?;
    let shot = dir.join("final.png");
    std::fs::write(&shot, png).ctx("write final.png")?;
    eprintln!("[browser] final screenshot: {}", shot.display());
    Ok(())
}

#[test]
fn curp_helpers_agree_with_the_dictionary() {
    let valid = valid_curp("PEHL900215MOCRRS0");
    let wrong = curp_with_wrong_digit("PEHL900215MOCRRS0");
    assert_eq!(valid.len(), 18);
    assert_ne!(valid, wrong);
    assert_eq!(valid[..17], wrong[..17]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_core_path_in_chromium() {
    if std::env::var("VIOLETA_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("[browser] SKIPPED: VIOLETA_SKIP_BROWSER=1");
        return;
    }
    for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: install Debian's `chromium` and `chromium-driver` \
             (scripts/test does it; package {package}), or set VIOLETA_SKIP_BROWSER=1 to skip this test"
        );
    }

    let dir = work_dir("browser");
    eprintln!("[browser] work folder: {}", dir.display());

    // The server: `violeta demo`, unless one is given.
    let mut _server = None;
    let base = match std::env::var("VIOLETA_BROWSER_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let port = free_port();
            let data = dir.join("demo");
            std::fs::create_dir_all(&data).expect("create the demo folder");
            let log = dir.join("server.log");
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_violeta"));
            cmd.arg("demo")
                .arg("--dir")
                .arg(&data)
                .arg("--addr")
                .arg(format!("127.0.0.1:{port}"))
                .current_dir(&workspace);
            let mut server = Reaper::spawn("violeta demo", cmd, &log);
            wait_http_ok(port, "/healthz", Duration::from_secs(60), Some(&mut server), &log);
            _server = Some(server);
            format!("http://127.0.0.1:{port}")
        }
    };

    // The browser.
    let driver_port = free_port();
    let driver_log = dir.join("chromedriver.log");
    let mut cmd = Command::new(CHROMEDRIVER);
    cmd.arg(format!("--port={driver_port}"));
    let mut driver = Reaper::spawn("chromedriver", cmd, &driver_log);
    wait_http_ok(
        driver_port,
        "/status",
        Duration::from_secs(30),
        Some(&mut driver),
        &driver_log,
    );

    let profile = dir.join("chrome");
    let capabilities = serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
                "--window-size=1280,900",
            ],
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .unwrap_or_else(|e| panic!("cannot start a Chromium session: {e}\n{}", tail(&driver_log, 40)));

    let ui = Ui { c, base };
    let mut step = "start";
    let outcome = tokio::time::timeout(TOTAL_TIMEOUT, walk(&ui, &dir, &mut step)).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(format!("the walk took more than {} s", TOTAL_TIMEOUT.as_secs())),
    };
    if let Some(message) = &failure {
        eprintln!("[browser] FAILED at step {step:?}: {message}");
        ui.report(&dir).await;
    }
    let _ = ui.c.close().await;
    drop(driver);
    drop(_server);

    if let Some(message) = failure {
        let server_log = dir.join("server.log");
        let logs = if server_log.exists() {
            tail(&server_log, 40)
        } else {
            String::new()
        };
        panic!(
            "browser walk failed at step {step:?}: {message}\n{logs}\n(everything is in {})",
            dir.display()
        );
    }
    // Keep the logs and the screenshot; drop the bulky parts.
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_dir_all(dir.join("demo"));
}
