//! The public map `/mapa` in a real browser (headless Debian Chromium through ChromeDriver
//! with `fantoccini`), at phone and desktop sizes, on `violeta demo`: the HTML list shows
//! Oaxaca's 61 espacios seguros per municipality and its 10 units, Leaflet starts from our
//! own static files and places the markers of the GeoJSON feed (tiles from OpenStreetMap
//! may fail offline: that is fine), and no private demo data reaches the page or the feed.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver`; `VIOLETA_SKIP_BROWSER=1` skips
//! it. `VIOLETA_BROWSER_URL=http://127.0.0.1:PORT` uses a running demo server instead of
//! starting one. Logs and screenshots stay in a folder under `target/tmp/`.

mod browser_support;

use browser_support::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const STEP_TIMEOUT: Duration = Duration::from_secs(20);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(240);

/// Oaxaca's espacios seguros per municipality in the demo (the 2018–2019 report's counts).
const SPACES: [(&str, usize); 6] = [
    ("Oaxaca de Juárez", 25),
    ("Santa Lucía del Camino", 4),
    ("Santa María Huatulco", 10),
    ("Miahuatlán de Porfirio Díaz", 7),
    ("San Juan Bautista Tuxtepec", 11),
    ("Villa de Zaachila", 4),
];
const UNITS: usize = 10;
/// Private demo data (contact people, their phones, internal notes, agreements).
const PRIVATE: [&str; 5] = ["Contacto (demostración)", "951 600 ", "Nota interna de demostración", "Registro de demostración", "Convenio de colaboración"];

type Res<T> = Result<T, String>;

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

struct Ui {
    c: Client,
    base: String,
}

impl Ui {
    async fn goto(&self, path: &str) -> Res<()> {
        self.c.goto(&format!("{}{path}", self.base)).await.ctx(&format!("open {path}"))?;
        let start = Instant::now();
        loop {
            if let Ok(v) = self.c.execute("return document.readyState", vec![]).await
                && v.as_str() == Some("complete")
            {
                return Ok(());
            }
            check!(start.elapsed() < STEP_TIMEOUT, "{path} did not finish loading");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn js(&self, script: &str) -> Res<Value> {
        self.c.execute(script, vec![]).await.ctx(&format!("run {script:?}"))
    }

    /// Waits until `script` returns a number of at least `min`; returns it.
    async fn wait_count(&self, script: &str, min: u64, what: &str) -> Res<u64> {
        let start = Instant::now();
        loop {
            let n = self.js(script).await?.as_u64().unwrap_or(0);
            if n >= min {
                return Ok(n);
            }
            check!(start.elapsed() < STEP_TIMEOUT, "{what}: {n} after {} s, expected at least {min}", STEP_TIMEOUT.as_secs());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn report(&self, dir: &Path, name: &str) {
        if let Ok(png) = self.c.screenshot().await {
            let path = dir.join(format!("{name}.png"));
            if std::fs::write(&path, png).is_ok() {
                eprintln!("[mapa] screenshot: {}", path.display());
            }
        }
    }
}

/// The list, the map and the privacy of `/mapa?entidad=20` at the current window size.
async fn check_page(ui: &Ui, size: &str) -> Res<()> {
    ui.goto("/mapa?entidad=20").await?;
    let h1 = ui.c.find(Locator::Css("h1")).await.ctx("find <h1>")?.text().await.ctx("read <h1>")?;
    check!(h1 == "Espacios seguros y unidades de reacción", "[{size}] <h1> is {h1:?}");

    // The HTML list, per municipality.
    let per_municipality = ui
        .js("var c = {}; document.querySelectorAll('li.espacio').forEach(function (li) { var m = li.getAttribute('data-municipio'); c[m] = (c[m] || 0) + 1; }); return c;")
        .await?;
    let got: BTreeMap<String, u64> = serde_json::from_value(per_municipality).ctx("read the counts")?;
    let want: BTreeMap<String, u64> = SPACES.iter().map(|(m, n)| (m.to_string(), *n as u64)).collect();
    check!(got == want, "[{size}] espacios seguros per municipality in the list: {got:?}, expected {want:?}");
    let units = ui.js("return document.querySelectorAll('li.unidad').length").await?.as_u64().unwrap_or(0);
    check!(units == UNITS as u64, "[{size}] {units} units in the list, expected {UNITS}");
    let counts = ui.c.find(Locator::Css(".conteos")).await.ctx("find the counts per municipality")?.text().await.ctx("read them")?;
    check!(counts.contains("25 espacios seguros"), "[{size}] the counts do not say «25 espacios seguros»: {counts}");
    let badges = ui.js("return document.querySelectorAll('li.espacio .estado').length").await?.as_u64().unwrap_or(0);
    check!(badges == 61, "[{size}] {badges} open/closed badges, expected 61");

    // Leaflet started and placed the feed's markers (tiles may fail offline).
    ui.wait_count("return document.querySelectorAll('#mapa.leaflet-container').length", 1, "Leaflet container").await?;
    let markers = ui.wait_count("return document.querySelectorAll('#mapa .leaflet-marker-icon').length", 61, "markers on the map").await?;
    let placed = ui.js("return Number(document.getElementById('mapa').getAttribute('data-marcadores'))").await?.as_u64().unwrap_or(0);
    check!(markers == placed && placed >= 61, "[{size}] {markers} marker elements, the script placed {placed}");
    let focusable = ui.js("return document.querySelectorAll('#mapa .leaflet-marker-icon[tabindex=\"0\"]').length").await?.as_u64().unwrap_or(0);
    check!(focusable == markers, "[{size}] {focusable} of {markers} markers reachable with the keyboard");
    let attribution = ui.c.find(Locator::Css(".leaflet-control-attribution")).await.ctx("find the attribution")?.text().await.ctx("read it")?;
    check!(attribution.contains("© OpenStreetMap"), "[{size}] attribution is {attribution:?}");
    let scripts = ui.js("return Array.from(document.scripts).map(function (s) { return s.src; }).join(' ')").await?;
    check!(scripts.as_str().is_some_and(|s| s.contains("/static/leaflet/leaflet.js") && !s.contains("unpkg") && !s.contains("cdn")), "[{size}] scripts: {scripts}");

    // Nothing private in the page or the feed.
    let source = ui.c.source().await.ctx("read the page source")?;
    let feed = ui
        .c
        .execute_async(
            "var done = arguments[arguments.length - 1]; fetch('/api/v1/espacios-seguros.geojson?entidad=20').then(function (r) { return r.text(); }).then(done, function (e) { done('ERROR ' + e); });",
            vec![],
        )
        .await
        .ctx("fetch the feed")?;
    let feed = feed.as_str().unwrap_or_default().to_string();
    check!(feed.contains("FeatureCollection"), "[{size}] the feed: {}", &feed[..feed.len().min(300)]);
    for secret in PRIVATE {
        check!(!source.contains(secret), "[{size}] the page shows private data «{secret}»");
        check!(!feed.contains(secret), "[{size}] the feed shows private data «{secret}»");
    }

    // A marker opens its popup from the keyboard.
    let marker = ui.c.find(Locator::Css("#mapa .leaflet-marker-icon[title^='Espacio seguro']")).await.ctx("find a marker")?;
    marker.send_keys("\u{E007}").await.ctx("press Enter on a marker")?;
    let start = Instant::now();
    loop {
        // The popup fades in: read it once it is shown.
        let text = ui.js("var p = document.querySelector('.leaflet-popup-content'); return p ? p.innerText : '';").await?;
        let text = text.as_str().unwrap_or_default();
        if text.contains("Espacio seguro") && text.contains("Horario:") {
            break;
        }
        check!(start.elapsed() < STEP_TIMEOUT, "[{size}] no popup with the place's details after Enter on a marker: {text:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // No sideways scrolling; the map and the list both on screen, in order.
    let layout = ui
        .js("var m = document.getElementById('mapa').getBoundingClientRect(), l = document.querySelector('.lista').getBoundingClientRect(); \
             return {inner: document.documentElement.clientWidth, scroll: document.documentElement.scrollWidth, mapTop: m.top, mapLeft: m.left, mapWidth: m.width, mapHeight: m.height, listTop: l.top, listLeft: l.left};")
        .await?;
    let n = |k: &str| layout[k].as_f64().unwrap_or(f64::NAN);
    check!(n("scroll") <= n("inner") + 1.0, "[{size}] the page scrolls sideways: {layout}");
    check!(n("mapHeight") >= 250.0 && n("mapWidth") >= 300.0, "[{size}] the map is too small: {layout}");
    if n("inner") < 600.0 {
        check!(n("listTop") > n("mapTop"), "[{size}] on a phone the list goes below the map: {layout}");
    } else {
        check!(n("listLeft") > n("mapLeft") + n("mapWidth") - 1.0, "[{size}] on a desktop the list goes beside the map: {layout}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_map_in_chromium() {
    if std::env::var("VIOLETA_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("[mapa] SKIPPED: VIOLETA_SKIP_BROWSER=1");
        return;
    }
    for path in [CHROMEDRIVER, CHROMIUM] {
        assert!(Path::new(path).exists(), "{path} is missing: install Debian's chromium and chromium-driver, or set VIOLETA_SKIP_BROWSER=1");
    }
    let dir = work_dir("mapa");
    eprintln!("[mapa] work folder: {}", dir.display());

    let mut _server = None;
    let base = match std::env::var("VIOLETA_BROWSER_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let port = free_port();
            let data = dir.join("demo");
            std::fs::create_dir_all(&data).expect("create the demo folder");
            let log = dir.join("server.log");
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_violeta"));
            cmd.arg("demo").arg("--dir").arg(&data).arg("--addr").arg(format!("127.0.0.1:{port}"));
            cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
            for var in ["DATABASE_URL", "VIOLETA_DIR", "VIOLETA_ADDR"] {
                cmd.env_remove(var);
            }
            let mut server = Reaper::spawn("violeta demo", cmd, &log);
            wait_http_ok(port, "/healthz", Duration::from_secs(90), Some(&mut server), &log);
            _server = Some(server);
            format!("http://127.0.0.1:{port}")
        }
    };

    let driver_port = free_port();
    let driver_log = dir.join("chromedriver.log");
    let mut cmd = Command::new(CHROMEDRIVER);
    cmd.arg(format!("--port={driver_port}"));
    let mut driver = Reaper::spawn("chromedriver", cmd, &driver_log);
    wait_http_ok(driver_port, "/status", Duration::from_secs(30), Some(&mut driver), &driver_log);

    let profile = dir.join("chrome");
    let capabilities = serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
                "--window-size=390,844",
            ],
        }
    });
    let Value::Object(capabilities) = capabilities else { unreachable!() };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .unwrap_or_else(|e| panic!("cannot start a Chromium session: {e}\n{}", tail(&driver_log, 40)));
    let ui = Ui { c, base };

    let mut failure = None;
    for (size, width, height) in [("phone 390x844", 390, 844), ("desktop 1280x900", 1280, 900)] {
        let outcome = async {
            ui.c.set_window_size(width, height).await.ctx("resize the window")?;
            check_page(&ui, size).await
        };
        let result = match tokio::time::timeout(TOTAL_TIMEOUT / 2, outcome).await {
            Ok(r) => r,
            Err(_) => Err(format!("[{size}] took more than {} s", TOTAL_TIMEOUT.as_secs() / 2)),
        };
        ui.report(&dir, &size.replace(' ', "-")).await;
        if let Err(e) = result {
            failure = Some(e);
            break;
        }
    }
    let _ = ui.c.close().await;
    drop(driver);
    drop(_server);
    if let Some(message) = failure {
        let server_log = dir.join("server.log");
        let logs = if server_log.exists() { tail(&server_log, 30) } else { String::new() };
        panic!("public map check failed: {message}\n{logs}\n(everything is in {})", dir.display());
    }
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_dir_all(dir.join("demo"));
}
