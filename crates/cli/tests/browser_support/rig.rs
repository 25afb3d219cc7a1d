//! The browser rig the walks share: `violeta demo` on a free port, ChromeDriver, one
//! Chromium session per simulated person (`Ui`), and the helpers a walk uses on a page
//! (open, click and wait for the next page, type, choose, read tables, screenshots, and a
//! report of what each browser shows when a walk fails).

use super::*;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The demo accounts' password.
pub const PASSWORD: &str = "violeta-demo";
/// How long to wait for a page or an element after an action (the machine is shared).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

pub type Res<T> = Result<T, String>;

pub trait Ctx<T> {
    fn ctx(self, what: &str) -> Res<T>;
}
impl<T, E: std::fmt::Display> Ctx<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Res<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

#[macro_export]
macro_rules! check {
    // `match`, not `if !`: a comparison of floats that is false because of a NaN fails too.
    ($cond:expr, $($msg:tt)+) => {
        match $cond {
            true => {}
            false => return Err(format!($($msg)+)),
        }
    };
}

// ---------------------------------------------------------------------------
// Browser helpers

pub struct Ui {
    pub name: &'static str,
    pub c: Client,
    pub base: String,
}

impl Ui {
    pub async fn goto(&self, path: &str) -> Res<()> {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        self.c
            .goto(&url)
            .await
            .ctx(&format!("[{}] open {path}", self.name))?;
        self.wait_loaded().await
    }

    pub async fn path(&self) -> Res<String> {
        Ok(self
            .c
            .current_url()
            .await
            .ctx("read the current address")?
            .path()
            .to_string())
    }

    pub async fn wait_loaded(&self) -> Res<()> {
        let start = Instant::now();
        loop {
            if let Ok(v) = self.c.execute("return document.readyState", vec![]).await
                && v.as_str() == Some("complete")
            {
                return Ok(());
            }
            check!(
                start.elapsed() < STEP_TIMEOUT,
                "[{}] the page did not finish loading",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn js(&self, script: &str) -> Res<Value> {
        self.c
            .execute(script, vec![])
            .await
            .ctx(&format!("[{}] run {script:?}", self.name))
    }

    /// Clicks `element` and waits until another page has replaced the current one (forms
    /// here answer a POST with a page, sometimes at the same address).
    pub async fn click_and_wait(&self, element: &Element, what: &str) -> Res<()> {
        self.js("window.__violetaOldPage = true; return null;")
            .await?;
        element.click().await.ctx(&format!("click {what}"))?;
        let start = Instant::now();
        loop {
            if let Ok(v) = self.c.execute("return window.__violetaOldPage === undefined && document.readyState === 'complete';", vec![]).await
                && v.as_bool() == Some(true)
            {
                return Ok(());
            }
            check!(
                start.elapsed() < STEP_TIMEOUT,
                "[{}] no new page loaded after clicking {what}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn find(&self, locator: Locator<'_>, what: &str) -> Res<Element> {
        self.c
            .wait()
            .at_most(STEP_TIMEOUT)
            .for_element(locator)
            .await
            .map_err(|e| format!("[{}] {what} not found: {e}", self.name))
    }

    pub async fn text(&self, css: &str) -> Res<String> {
        self.find(Locator::Css(css), css)
            .await?
            .text()
            .await
            .ctx(&format!("read {css}"))
    }

    pub async fn type_into(&self, id: &str, value: &str) -> Res<()> {
        let field = self.find(Locator::Id(id), &format!("field #{id}")).await?;
        field.clear().await.ctx(&format!("clear #{id}"))?;
        field
            .send_keys(value)
            .await
            .ctx(&format!("type into #{id}"))?;
        let typed = field
            .prop("value")
            .await
            .ctx(&format!("read back #{id}"))?
            .unwrap_or_default();
        check!(
            typed == value,
            "[{}] #{id}: typed {value:?} but the field holds {typed:?}",
            self.name
        );
        Ok(())
    }

    pub async fn select(&self, id: &str, value: &str) -> Res<()> {
        let field = self.find(Locator::Id(id), &format!("select #{id}")).await?;
        field
            .select_by_value(value)
            .await
            .ctx(&format!("choose {value} in #{id}"))?;
        let chosen = field
            .prop("value")
            .await
            .ctx(&format!("read back #{id}"))?
            .unwrap_or_default();
        check!(
            chosen == value,
            "[{}] #{id}: chose {value:?} but it holds {chosen:?}",
            self.name
        );
        Ok(())
    }

    /// Fills an `<input type="date">` with `iso` (YYYY-MM-DD). Typing into a date field
    /// depends on the browser's locale, so the value is set as a script would, with the
    /// `input` and `change` events a person's typing fires.
    pub async fn set_date(&self, id: &str, iso: &str) -> Res<()> {
        self.find(Locator::Id(id), &format!("date field #{id}"))
            .await?;
        let got = self
            .js(&format!(
                "var f = document.getElementById('{id}'); f.value = '{iso}'; \
                 f.dispatchEvent(new Event('input', {{ bubbles: true }})); \
                 f.dispatchEvent(new Event('change', {{ bubbles: true }})); return f.value;"
            ))
            .await?;
        check!(
            got.as_str() == Some(iso),
            "[{}] #{id}: set {iso:?} but the field holds {got}",
            self.name
        );
        Ok(())
    }

    /// The submit button labelled `label` (whitespace-normalized) inside the form of `action`.
    pub async fn button(&self, action: &str, label: &str) -> Res<Element> {
        let xpath = format!("//form[@action='{action}']//button[normalize-space(.)='{label}']");
        self.find(
            Locator::XPath(&xpath),
            &format!("button «{label}» of the form {action}"),
        )
        .await
    }

    /// The text of every row of a table's body, cells joined by " | ".
    pub async fn rows(&self, table_css: &str) -> Res<Vec<String>> {
        let script = format!(
            "return Array.from(document.querySelectorAll('{table_css} tbody tr')).map(function (tr) {{ \
               return Array.from(tr.cells).map(function (td) {{ return td.textContent.trim(); }}).join(' | '); }});"
        );
        serde_json::from_value(self.js(&script).await?)
            .ctx(&format!("read the rows of {table_css}"))
    }

    pub async fn screenshot(&self, dir: &Path, name: &str) -> Res<()> {
        let png = self
            .c
            .screenshot()
            .await
            .ctx(&format!("[{}] take a screenshot", self.name))?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).ctx(&format!("write {}", path.display()))?;
        eprintln!("[navegador] screenshot: {}", path.display());
        Ok(())
    }

    /// Address, page text and a screenshot, to understand a failure.
    pub async fn report(&self, dir: &Path) {
        match self.c.current_url().await {
            Ok(url) => eprintln!("[navegador] [{}] current address: {url}", self.name),
            Err(e) => eprintln!("[navegador] [{}] current address unknown: {e}", self.name),
        }
        if let Ok(source) = self.c.source().await {
            let body = source
                .find("<main")
                .or_else(|| source.find("<body"))
                .map(|i| &source[i..])
                .unwrap_or(&source);
            eprintln!(
                "[navegador] [{}] page source (excerpt):\n{}\n[navegador] (end of excerpt)",
                self.name,
                truncate(body, 5000)
            );
        }
        let _ = self
            .screenshot(dir, &format!("failure-{}", self.name))
            .await;
    }
}

/// Time per step, printed under the walk's tag.
pub struct Clock(pub Instant, pub &'static str);
impl Clock {
    pub fn lap(&mut self, step: &str) {
        eprintln!(
            "[{}] {step}: {:.1} s",
            self.1,
            self.0.elapsed().as_secs_f32()
        );
        self.0 = Instant::now();
    }
}

/// Signs in on /entrar with the demo password.
pub async fn sign_in(ui: &Ui, email: &str) -> Res<()> {
    ui.goto("/entrar").await?;
    ui.type_into("email", email).await?;
    ui.type_into("password", PASSWORD).await?;
    let entrar = ui
        .find(
            Locator::XPath("//form[.//*[@id='email']]//button[normalize-space(.)='Entrar']"),
            "button Entrar",
        )
        .await?;
    ui.click_and_wait(&entrar, "Entrar").await?;
    let path = ui.path().await?;
    check!(
        path != "/entrar",
        "[{}] signing in as {email} stayed on /entrar",
        ui.name
    );
    Ok(())
}

pub async fn session(
    driver_port: u16,
    profile: &Path,
    width: u32,
    height: u32,
    driver_log: &Path,
) -> Client {
    let capabilities = serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
                format!("--window-size={width},{height}"),
            ],
        }
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot start a Chromium session: {e}\n{}",
                tail(driver_log, 40)
            )
        });
    // Headless Chromium may ignore --window-size for the viewport; set it again.
    let _ = c.set_window_size(width, height).await;
    c
}

// ---------------------------------------------------------------------------
// The rig: `violeta demo`, ChromeDriver and the browser sessions of one test

/// One browser test at a time: each starts its own demo server, ChromeDriver and Chromium
/// sessions, too much to run side by side on a small shared machine.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Rig {
    pub tag: &'static str,
    pub started: Instant,
    pub dir: PathBuf,
    pub log: PathBuf,
    pub driver_log: PathBuf,
    pub driver_port: u16,
    pub base: String,
    // Dropped in this order: the browsers with ChromeDriver, then the server.
    driver: Reaper,
    server: Reaper,
}

impl Rig {
    /// Starts `violeta demo` on a free port and ChromeDriver; `None` when browser tests are
    /// skipped with `VIOLETA_SKIP_BROWSER=1`.
    pub fn start(tag: &'static str, folder: &str) -> Option<Rig> {
        if std::env::var("VIOLETA_SKIP_BROWSER").is_ok_and(|v| v == "1") {
            eprintln!("[{tag}] SKIPPED: VIOLETA_SKIP_BROWSER=1");
            return None;
        }
        for path in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: install Debian's chromium and chromium-driver, or set VIOLETA_SKIP_BROWSER=1"
            );
        }
        let started = Instant::now();
        let dir = work_dir(folder);
        eprintln!("[{tag}] work folder: {}", dir.display());

        let port = free_port();
        let data = dir.join("demo");
        std::fs::create_dir_all(&data).expect("create the demo folder");
        let log = dir.join("server.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_violeta"));
        cmd.arg("demo")
            .arg("--dir")
            .arg(&data)
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"));
        cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
        for var in [
            "DATABASE_URL",
            "VIOLETA_DIR",
            "VIOLETA_ADDR",
            "VIOLETA_PUBLIC_URL",
            "VIOLETA_SECURE_COOKIES",
            "VIOLETA_TRUST_PROXY",
        ] {
            cmd.env_remove(var);
        }
        let mut server = Reaper::spawn("violeta demo", cmd, &log);
        wait_http_ok(
            port,
            "/healthz",
            Duration::from_secs(120),
            Some(&mut server),
            &log,
        );

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
        Some(Rig {
            tag,
            started,
            base: format!("http://127.0.0.1:{port}"),
            dir,
            log,
            driver_log,
            driver_port,
            driver,
            server,
        })
    }

    /// A Chromium session of its own (own profile, so own cookies) at `width`×`height`.
    pub async fn browser(&self, name: &'static str, profile: &str, width: u32, height: u32) -> Ui {
        Ui {
            name,
            c: session(
                self.driver_port,
                &self.dir.join(format!("chrome-{profile}")),
                width,
                height,
                &self.driver_log,
            )
            .await,
            base: self.base.clone(),
        }
    }

    /// Says the rig is ready; the walk's clock starts here.
    pub fn ready(&self) -> Instant {
        eprintln!(
            "[{}] server and browsers ready after {:.1} s",
            self.tag,
            self.started.elapsed().as_secs_f32()
        );
        Instant::now()
    }

    /// After the walk (run under `tokio::time::timeout`): on failure prints what every
    /// browser shows and panics with the server log; stops everything and keeps only the
    /// logs, files and screenshots.
    pub async fn finish(
        self,
        uis: &[&Ui],
        walk_start: Instant,
        step: &str,
        outcome: Result<Res<()>, tokio::time::error::Elapsed>,
    ) {
        let tag = self.tag;
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(format!(
                "the walk took longer than allowed ({:.0} s)",
                walk_start.elapsed().as_secs_f32()
            )),
        };
        eprintln!(
            "[{tag}] walk: {:.1} s; total: {:.1} s",
            walk_start.elapsed().as_secs_f32(),
            self.started.elapsed().as_secs_f32()
        );
        if let Some(message) = &failure {
            eprintln!("[{tag}] FAILED at step {step:?}: {message}");
            for ui in uis {
                ui.report(&self.dir).await;
            }
        }
        for ui in uis {
            let _ = ui.c.clone().close().await;
        }
        let Rig {
            dir,
            log,
            driver,
            server,
            ..
        } = self;
        drop(driver);
        drop(server);
        if let Some(message) = failure {
            panic!(
                "{tag} walk failed at step {step:?}: {message}\n{}\n(everything is in {})",
                tail(&log, 40),
                dir.display()
            );
        }
        // Keep the logs, sheets and screenshots; drop the bulky parts.
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name == "demo" || name.starts_with("chrome-") {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
}


/// Fails when the page is wider than the window (a phone must not scroll sideways).
pub async fn no_sideways_scroll(ui: &Ui, what: &str) -> Res<()> {
    let m = ui
        .js("return [document.documentElement.scrollWidth, window.innerWidth];")
        .await?;
    let (scroll, inner) = (
        m[0].as_f64().unwrap_or(f64::NAN),
        m[1].as_f64().unwrap_or(f64::NAN),
    );
    check!(
        scroll <= inner,
        "[{}] {what} scrolls sideways: scrollWidth {scroll} > innerWidth {inner}",
        ui.name
    );
    Ok(())
}
