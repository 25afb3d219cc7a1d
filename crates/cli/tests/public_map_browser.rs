//! The public map `/mapa` in a real browser (headless Debian Chromium through ChromeDriver
//! with `fantoccini`), at phone and desktop sizes, on `violeta demo`: the HTML list shows
//! Oaxaca's 61 espacios seguros per municipality and its 10 units, Leaflet starts from our
//! own static files and places the markers of the GeoJSON feed (tiles from OpenStreetMap
//! may fail offline: that is fine), and no private demo data reaches the page or the feed.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver`; `VIOLETA_SKIP_BROWSER=1` skips
//! it. Runs on the shared rig (`browser_support/rig.rs`); logs and screenshots stay in a
//! folder under `target/tmp/`.

#[macro_use]
mod browser_support;

use browser_support::rig::*;
use fantoccini::Locator;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

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

/// Waits until `script` returns a number of at least `min`; returns it.
async fn wait_count(ui: &Ui, script: &str, min: u64, what: &str) -> Res<u64> {
    let start = Instant::now();
    loop {
        let n = ui.js(script).await?.as_u64().unwrap_or(0);
        if n >= min {
            return Ok(n);
        }
        check!(start.elapsed() < STEP_TIMEOUT, "{what}: {n} after {} s, expected at least {min}", STEP_TIMEOUT.as_secs());
        tokio::time::sleep(Duration::from_millis(200)).await;
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
    wait_count(ui, "return document.querySelectorAll('#mapa.leaflet-container').length", 1, "Leaflet container").await?;
    let markers = wait_count(ui, "return document.querySelectorAll('#mapa .leaflet-marker-icon').length", 61, "markers on the map").await?;
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
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(rig) = Rig::start("mapa", "mapa") else {
        return;
    };
    let ui = rig.browser("público", "publico", 390, 844).await;
    let walk_start = rig.ready();
    let mut step = "start";
    let walk = async {
        for (size, width, height) in [("phone 390x844", 390, 844), ("desktop 1280x900", 1280, 900)] {
            step = size;
            ui.c.set_window_size(width, height).await.ctx("resize the window")?;
            check_page(&ui, size).await?;
            ui.screenshot(&rig.dir, &size.replace(' ', "-")).await?;
        }
        Ok(())
    };
    let outcome = tokio::time::timeout(TOTAL_TIMEOUT, walk).await;
    rig.finish(&[&ui], walk_start, step, outcome).await;
}
