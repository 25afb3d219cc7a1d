//! Alerta Rosa end to end in a real browser (headless Debian Chromium through ChromeDriver), on
//! `violeta demo`, whose 30 official accounts post to loopback fakes of the networks:
//!
//! 1. the operator (alerta@demo.violeta.mx) opens the case reported three hours ago, sees its
//!    risk check and consent, confirms and activates it;
//! 2. someone on a phone-sized browser, not signed in, finds her on «Alertas Rosa activas»,
//!    opens her ficha (name, photo, the number to call) without sideways scrolling;
//! 3. the operator's dissemination page shows all 30 channels «Publicada»;
//! 4. the operator concludes the alert, «Localizada con vida», asking to delete the posts;
//! 5. the phone reloads: the list has no alert, the ficha page says it concluded and shows
//!    neither her name nor her photo, and the ficha image is gone (410);
//! 6. the takedown reaches all 30 channels.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver`; `VIOLETA_SKIP_BROWSER=1` skips it.

#[macro_use]
mod browser_support;

use browser_support::rig::*;
use fantoccini::Locator;
use std::time::{Duration, Instant};

const OPERATOR: &str = "alerta@demo.violeta.mx";
const NAME: &str = "Itzel Ramírez Santiago";
const CHANNELS: usize = 30;
const TOTAL_TIMEOUT: Duration = Duration::from_secs(300);

/// Reloads the operator's dissemination page until every channel has a delivery of `action`
/// in state `publicada`; returns how many did.
async fn wait_deliveries(ui: &Ui, path: &str, action: &str) -> Res<usize> {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        ui.goto(path).await?;
        let script = format!(
            "return Array.from(document.querySelectorAll('tr[data-estado]')).filter(function (r) {{ \
             return r.dataset.estado === 'publicada' && r.cells[1].textContent.trim() === {}; }}).length;",
            serde_json::to_string(action).unwrap()
        );
        let done = ui.js(&script).await?.as_u64().unwrap_or(0) as usize;
        if done >= CHANNELS || Instant::now() > until {
            return Ok(done);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn walk(operator: &Ui, phone: &Ui, step: &mut &'static str) -> Res<()> {
    let mut clock = Clock(Instant::now(), "alerta");

    *step = "1. the operator activates the case";
    sign_in(operator, OPERATOR).await?;
    operator.goto("/alerta-rosa").await?;
    let case = operator.find(Locator::XPath(&format!("//table[@id='casos']//tr[td[normalize-space()='{NAME}']]//a")), "the case ready to activate").await?;
    let folio = case.text().await.ctx("read the folio")?;
    check!(folio.starts_with("AR-"), "the case's folio is {folio:?}");
    operator.click_and_wait(&case, "the case").await?;
    let case_path = operator.path().await?;
    let risk = operator.text("#riesgo").await?;
    check!(risk.contains("Otorgado") || risk.contains("otorgado"), "the risk check shows no consent: {risk}");
    let confirm = operator.find(Locator::Css("#activar input[name=confirmo]"), "the confirmation checkbox").await?;
    confirm.click().await.ctx("tick Confirmo")?;
    let activate = operator.button(&format!("{case_path}/activar"), "Activar la alerta").await?;
    operator.click_and_wait(&activate, "Activar la alerta").await?;
    let status = operator.text("#estado").await?;
    check!(status == "Activada" || status == "Difundida", "after activating, the case is {status:?}");
    clock.lap("activated");

    *step = "2. the public finds her on a phone";
    phone.goto("/alertas").await?;
    no_sideways_scroll(phone, "/alertas").await?;
    let card = phone.find(Locator::LinkText(NAME), "her card on the public list").await?;
    phone.click_and_wait(&card, "her ficha").await?;
    check!(phone.path().await? == format!("/alertas/{folio}"), "the card does not lead to /alertas/{folio}");
    let h1 = phone.text("h1").await?;
    check!(h1.contains(NAME), "the public ficha's heading is {h1:?}");
    let phones = phone.text("#telefonos").await?;
    check!(phones.contains("comunícate"), "the ficha shows no number to call: {phones}");
    let image = phone.js("var i = document.querySelector('img.ficha-publica, img.foto-caso'); return i ? [i.complete, i.naturalWidth, i.getAttribute('src')] : null;").await?;
    check!(image[0] == true && image[1].as_u64().unwrap_or(0) > 0, "her image did not load: {image}");
    let image_path = image[2].as_str().unwrap_or("").to_string();
    no_sideways_scroll(phone, "her ficha").await?;
    clock.lap("public");

    *step = "3. all official accounts post it";
    let deliveries = format!("{case_path}/difusion");
    let posted = wait_deliveries(operator, &deliveries, "Publicar").await?;
    check!(posted == CHANNELS, "{posted} of {CHANNELS} channels posted the alert");
    clock.lap("posted");

    *step = "4. the operator concludes it";
    operator.goto(&case_path).await?;
    operator.select("cierre", "localizada_con_vida").await?;
    operator.select("retiro", "borrar").await?;
    let close = operator.button(&format!("{case_path}/concluir"), "Concluir la alerta").await?;
    operator.click_and_wait(&close, "Concluir la alerta").await?;
    let status = operator.text("#estado").await?;
    check!(status == "Localizada con vida", "after concluding, the case is {status:?}");
    clock.lap("concluded");

    *step = "5. her data leaves the public pages";
    phone.goto("/alertas").await?;
    let list = phone.text("main").await?;
    check!(!list.contains(NAME), "the public list still shows her: {list}");
    phone.goto(&format!("/alertas/{folio}")).await?;
    let page = phone.text("main").await?;
    check!(page.contains("concluyó") && !page.contains(NAME), "the concluded ficha page shows: {page}");
    let gone = phone
        .js(&format!("var r = new XMLHttpRequest(); r.open('GET', {}, false); r.send(); return r.status;", serde_json::to_string(&image_path).unwrap()))
        .await?;
    check!(gone == 410, "her image answers {gone} after the alert concluded, expected 410");
    clock.lap("withdrawn");

    *step = "6. the takedown reaches every account";
    let removed = wait_deliveries(operator, &deliveries, "Borrar la publicación original").await?;
    check!(removed == CHANNELS, "{removed} of {CHANNELS} channels deleted the post");
    clock.lap("takedown");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_activates_and_concludes_an_alerta_rosa_and_the_public_sees_it_in_chromium() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(rig) = Rig::start("alerta", "alerta-rosa") else {
        return;
    };
    let operator = rig.browser("operación", "operacion", 1280, 900).await;
    let phone = rig.browser("teléfono", "telefono", 390, 844).await;
    let walk_start = rig.ready();
    let mut step = "start";
    let outcome = tokio::time::timeout(TOTAL_TIMEOUT, walk(&operator, &phone, &mut step)).await;
    rig.finish(&[&operator, &phone], walk_start, step, outcome).await;
}
