//! Editing a course's structure in a real browser (headless Debian Chromium through
//! ChromeDriver), on `violeta demo`, as coordinación:
//!
//! 1. opens the published demo course PG-101 from «Cursos»;
//! 2. adds a module and a lesson in it (the forms sit in folded sections, opened as a person
//!    would by clicking their summary);
//! 3. moves the new module up one place (↑) and sees its number change;
//! 4. deletes the new lesson: a confirmation page says what goes, «Confirmo» is ticked, and
//!    the lesson is gone;
//! 5. the demo participante, on a phone-sized browser, enrols, sees the new module in its new
//!    place at once, and reads the course's first lesson;
//! 6. coordinación tries to delete that lesson: the confirmation page refuses, saying why and
//!    what to do instead, and offers no button to go ahead.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver`; `VIOLETA_SKIP_BROWSER=1` skips it.

#[macro_use]
mod browser_support;

use browser_support::rig::*;
use fantoccini::Locator;
use std::time::{Duration, Instant};

const AUTHOR: &str = "coordinacion@demo.violeta.mx";
const COURSE_TITLE: &str = "Introducción a la perspectiva de género en el servicio público (demostración)";
const MODULE: &str = "Módulo de prueba del navegador";
const LESSON: &str = "Lección de prueba del navegador";
const TOTAL_TIMEOUT: Duration = Duration::from_secs(300);

/// Opens the folded section whose summary reads `summary`.
async fn unfold(ui: &Ui, summary: &str) -> Res<()> {
    let s = ui.find(Locator::XPath(&format!("//summary[normalize-space(.)='{summary}']")), summary).await?;
    s.click().await.ctx(&format!("open «{summary}»"))?;
    Ok(())
}

/// The number the course page shows before the module's title («3. Título» → 3).
async fn module_number(ui: &Ui, title: &str) -> Res<u32> {
    let h3 = ui.find(Locator::XPath(&format!("//section[starts-with(@id, 'modulo-')]/h3[contains(., '{title}')]")), title).await?;
    let text = h3.text().await.ctx("read the module heading")?;
    text.split_once(". ").and_then(|(n, _)| n.trim().parse().ok()).ok_or_else(|| format!("the module heading reads {text:?}"))
}

async fn walk(author: &Ui, learner: &Ui, step: &mut &'static str) -> Res<()> {
    let mut clock = Clock(Instant::now(), "cursos");

    *step = "1. open the demo course";
    sign_in(author, AUTHOR).await?;
    author.goto("/cursos").await?;
    let link = author.find(Locator::LinkText(COURSE_TITLE), "the demo course in the list").await?;
    author.click_and_wait(&link, "the course").await?;
    let course_path = author.path().await?;
    let status = author.text("#estado").await?;
    check!(status == "Publicado", "the demo course is {status:?}");
    clock.lap("opened");

    *step = "2. add a module and a lesson";
    unfold(author, "Agregar módulo").await?;
    author.type_into("titulo_modulo", MODULE).await?;
    let add = author.button(&format!("{course_path}/modulos"), "Agregar módulo").await?;
    author.click_and_wait(&add, "Agregar módulo").await?;
    let last = module_number(author, MODULE).await?;
    check!(last >= 2, "the new module is number {last}");
    unfold(author, "Agregar lección o cuestionario").await?;
    author.select("tipo", "leccion").await?;
    let module_option = author
        .js(&format!("return Array.from(document.querySelectorAll('#modulo option')).find(function (o) {{ return o.textContent.indexOf('{MODULE}') >= 0; }}).value;"))
        .await?;
    author.select("modulo", module_option.as_str().unwrap_or("")).await?;
    author.type_into("titulo_elemento", LESSON).await?;
    author.type_into("texto", "Texto de una lección **de prueba**.").await?;
    let add = author.button(&format!("{course_path}/elementos"), "Agregar").await?;
    author.click_and_wait(&add, "Agregar").await?;
    author.goto(&course_path).await?;
    author.find(Locator::LinkText(LESSON), "the new lesson in the course outline").await?;
    clock.lap("added");

    *step = "3. move the module up";
    let up = author.find(Locator::XPath(&format!("//button[@aria-label='Subir el módulo «{MODULE}»']")), "↑ of the new module").await?;
    author.click_and_wait(&up, "↑").await?;
    let now = module_number(author, MODULE).await?;
    check!(now == last - 1, "after ↑ the module is number {now}, expected {}", last - 1);
    clock.lap("moved");

    *step = "4. delete the new lesson, confirming";
    let lesson_id = author
        .js(&format!("return Array.from(document.querySelectorAll('li[id^=elemento-]')).find(function (li) {{ return li.textContent.indexOf('{LESSON}') >= 0; }}).id.replace('elemento-', '');"))
        .await?;
    let lesson_id = lesson_id.as_str().unwrap_or("").to_string();
    let delete = author.button(&format!("{course_path}/elementos/{lesson_id}/eliminar"), "Eliminar…").await?;
    author.click_and_wait(&delete, "Eliminar…").await?;
    let consequences = author.text("#consecuencias").await?;
    check!(!consequences.is_empty(), "the confirmation page says nothing of what goes");
    let confirm = author.find(Locator::Css("input[name=confirmo]"), "the «Confirmo» checkbox").await?;
    confirm.click().await.ctx("tick Confirmo")?;
    let go = author.find(Locator::Id("confirmar"), "button Eliminar").await?;
    author.click_and_wait(&go, "Eliminar").await?;
    author.goto(&course_path).await?;
    let outline = author.text("main").await?;
    check!(!outline.contains(LESSON), "the deleted lesson is still listed");
    check!(outline.contains(MODULE), "the module went with the lesson");
    clock.lap("deleted");

    *step = "5. the learner sees the new order and reads the first lesson";
    sign_in(learner, "participante@demo.violeta.mx").await?;
    learner.goto(&course_path.replace("/cursos/", "/aprender/cursos/")).await?;
    let enrol = learner.find(Locator::Id("inscribirme"), "button Inscribirme").await?;
    learner.click_and_wait(&enrol, "Inscribirme").await?;
    let headings: Vec<String> =
        serde_json::from_value(learner.js("return Array.from(document.querySelectorAll('section h2')).map(function (h) { return h.textContent.trim(); });").await?)
            .ctx("read the learner's module headings")?;
    let expected = format!("{now}. {MODULE}");
    check!(headings.contains(&expected), "the learner's course shows {headings:?}, expected {expected:?} among them");
    let first = learner.find(Locator::Css("section li a"), "the first lesson").await?;
    let first_title = first.text().await.ctx("read the first lesson's title")?;
    learner.click_and_wait(&first, "the first lesson").await?;
    let seen = learner.find(Locator::Id("continuar"), "button to continue").await?;
    learner.click_and_wait(&seen, "Marcar como vista y continuar").await?;
    clock.lap("learner");

    *step = "6. a lesson a learner has seen cannot be deleted";
    author.goto(&course_path).await?;
    let first_id = author
        .js(&format!("return Array.from(document.querySelectorAll('li[id^=elemento-]')).find(function (li) {{ return li.querySelector('a').textContent.trim() === {}; }}).id.replace('elemento-', '');", serde_json::to_string(&first_title).unwrap()))
        .await?;
    let first_id = first_id.as_str().unwrap_or("").to_string();
    let delete = author.button(&format!("{course_path}/elementos/{first_id}/eliminar"), "Eliminar…").await?;
    author.click_and_wait(&delete, "Eliminar…").await?;
    let refusal = author.text("#rechazo").await?;
    check!(refusal.contains("no se puede eliminar") && refusal.contains("versión nueva"), "the refusal reads {refusal:?}");
    let buttons = author.js("return document.querySelectorAll('#confirmar').length;").await?;
    check!(buttons == 0, "a refused deletion still offers its button");
    clock.lap("refused");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinacion_edits_a_published_course_structure_in_chromium() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(rig) = Rig::start("cursos", "cursos") else {
        return;
    };
    let author = rig.browser("coordinación", "coordinacion", 1280, 900).await;
    let learner = rig.browser("participante", "participante", 390, 844).await;
    let walk_start = rig.ready();
    let mut step = "start";
    let outcome = tokio::time::timeout(TOTAL_TIMEOUT, walk(&author, &learner, &mut step)).await;
    rig.finish(&[&author, &learner], walk_start, step, outcome).await;
}
