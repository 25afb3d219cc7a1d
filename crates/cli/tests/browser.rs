//! End-to-end test in a real browser: headless Debian Chromium driven through
//! ChromeDriver (WebDriver) with `fantoccini`, on the shared rig
//! (`browser_support/rig.rs`).
//!
//! It starts `violeta demo` on a free loopback port and walks the core path of
//! the demonstration: sign in, territory of Oaxaca and its filter, register a
//! person (first with a wrong CURP, then with a valid one), read the audit log,
//! sign out.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian packages
//! `chromium` and `chromium-driver`; `scripts/test` installs them). Without them
//! the test fails, unless `VIOLETA_SKIP_BROWSER=1` is set, which skips it.
//!
//! Everything the run leaves (server and ChromeDriver logs, screenshots) is in
//! a folder under `target/tmp/`, printed at the start.

#[macro_use]
mod browser_support;

use browser_support::rig::*;
use browser_support::*;
use fantoccini::Locator;
use std::path::Path;
use std::time::Duration;

const ADMIN_EMAIL: &str = "admin@demo.violeta.mx";
/// The whole walk.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(300);

/// The submit button labelled `label` in the form that holds the field `#field`.
async fn submit_button(ui: &Ui, field: &str, label: &str) -> Res<fantoccini::elements::Element> {
    let xpath = format!("//form[.//*[@id='{field}']]//*[(self::button and normalize-space(.)='{label}') or (self::input and @type='submit' and @value='{label}')]");
    ui.find(Locator::XPath(&xpath), &format!("button «{label}» of the form with #{field}")).await
}

// ---------------------------------------------------------------------------
// The walk

async fn walk(ui: &Ui, dir: &Path, step: &mut &'static str) -> Res<()> {
    // 1. Sign in as the demo administrator.
    *step = "sign in";
    ui.goto("/entrar").await?;
    ui.type_into("email", ADMIN_EMAIL).await?;
    ui.type_into("password", PASSWORD).await?;
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
    let button = submit_button(ui, "email", "Entrar").await?;
    ui.click_and_wait(&button, "Entrar").await?;
    let path = ui.path().await?;
    check!(
        path == "/panel",
        "after signing in the browser is at {path}, expected /panel"
    );
    let h1 = ui.text("h1").await?;
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

    ui.type_into("q", "huatulco").await?;
    let filtrar = submit_button(ui, "q", "Filtrar").await?;
    ui.click_and_wait(&filtrar, "Filtrar").await?;
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
    ui.type_into("curp", &wrong).await?;
    ui.type_into("given_names", "Ana").await?;
    ui.type_into("first_surname", "Gómez").await?;
    let button = submit_button(ui, "curp", "Guardar").await?;
    ui.click_and_wait(&button, "Guardar (wrong CURP)").await?;
    let error = ui.text(".error, [role='alert']").await?;
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
    ui.type_into("curp", &curp).await?;
    ui.type_into("given_names", "Lucía").await?;
    ui.type_into("first_surname", "Pérez").await?;
    ui.type_into("second_surname", "").await?;
    let button = submit_button(ui, "curp", "Guardar").await?;
    ui.click_and_wait(&button, "Guardar (valid CURP)").await?;
    let path = ui.path().await?;
    let id = path.strip_prefix("/personas/").unwrap_or("");
    check!(
        !id.is_empty() && !id.contains('/') && id != "nueva",
        "saving a person with a valid CURP led to {path}, expected /personas/{{id}}"
    );
    let h1 = ui.text("h1").await?;
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
    ui.screenshot(dir, "final").await
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
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(rig) = Rig::start("browser", "browser") else {
        return;
    };
    let ui = rig.browser("administración", "admin", 1280, 900).await;
    let walk_start = rig.ready();
    let mut step = "start";
    let outcome = tokio::time::timeout(TOTAL_TIMEOUT, walk(&ui, &rig.dir, &mut step)).await;
    rig.finish(&[&ui], walk_start, step, outcome).await;
}
