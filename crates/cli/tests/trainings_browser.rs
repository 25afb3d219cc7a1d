//! Training sessions end to end in a real browser (headless Debian Chromium through
//! ChromeDriver with `fantoccini`), on `violeta demo` — issue #6's "Done when":
//!
//! 1. the instructor (instruccion@demo.violeta.mx) schedules a session held today in Toluca;
//! 2. uploads a sign-in sheet (XLSX built here, with title rows, a "No." column, a total
//!    line and one CURP with a wrong check digit): the preview names the broken row and the
//!    problem, and nothing is saved yet;
//! 3. uploads the corrected sheet and imports its 6 attendances;
//! 4. opens the venue screen with the rotating code and its QR link;
//! 5. a second, signed-out browser at phone size checks in with that link; a wrong code is
//!    refused in Spanish; the page does not scroll sideways;
//! 6. the venue screen lists the new person, and /capacitaciones shows the three counts,
//!    with their definitions, each grown by what this walk added.
//!
//! A second walk takes a CONOCER certification process in EC0539 to the certificate:
//! coordinación (coordinacion@demo.violeta.mx) opens it by CURP for a demo person with no
//! process in the standard and moves it through diagnóstico, alineación and evaluación; a
//! stale tab still showing «Pasar a alineación» is refused with the Spanish message and
//! changes nothing; the evaluator (evaluacion@demo.violeta.mx), in a browser of their own,
//! records «Competente»; coordinación records the certificate's folio, date and certifying
//! entity; the page shows «Certificado» and a history of every step, and the catalogue
//! counts one more certified person.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver`; `VIOLETA_SKIP_BROWSER=1` skips
//! both. The two walks take turns (each starts its own demo server and browsers). Logs,
//! the spreadsheets and the screenshots stay in a folder under `target/tmp/`, printed at
//! the start.

#[macro_use]
mod browser_support;

use browser_support::rig::*;
use browser_support::*;
use fantoccini::Locator;
use std::path::Path;
use std::time::{Duration, Instant};

const EMAIL: &str = "instruccion@demo.violeta.mx";
const TITLE: &str = "Atención de primer contacto (prueba)";
const INSTITUTION: &str = "Secretaría de Salud del Estado de México";
/// The whole walk, browsers included.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(420);

// ---------------------------------------------------------------------------
// Processes

// ---------------------------------------------------------------------------
// CURPs and the sign-in sheet

/// One person of the sheet: full name, first 17 CURP characters (state MC), SEXO ("F"
/// femenino or "M" masculino, matching the CURP's 11th character) and position.
struct Row {
    name: &'static str,
    curp17: &'static str,
    sex: &'static str,
    position: &'static str,
}

const PEOPLE: [Row; 6] = [
    Row {
        name: "María Fernanda López Hernández",
        curp17: "LOHM880312MMCPRR0",
        sex: "F",
        position: "Enfermera",
    },
    Row {
        name: "Juan Carlos Ramírez Soto",
        curp17: "RASJ750921HMCMTN0",
        sex: "M",
        position: "Médico general",
    },
    Row {
        name: "Guadalupe Sánchez Ortiz",
        curp17: "SAOG920704MMCNRD0",
        sex: "F",
        position: "Trabajadora social",
    },
    Row {
        name: "Rosa Elena Martínez Cruz",
        curp17: "MACR850115MMCRRS0",
        sex: "F",
        position: "Psicóloga",
    },
    Row {
        name: "Pedro Gutiérrez Vega",
        curp17: "GUVP800530HMCTGD0",
        sex: "M",
        position: "Jefe de departamento",
    },
    Row {
        name: "Ana Laura Díaz Morales",
        curp17: "DIMA990228MMCZRN0",
        sex: "F",
        position: "Promotora de salud",
    },
];
/// The person whose CURP is broken in the first sheet (index into `PEOPLE`).
const BROKEN: usize = 3;
/// Her Excel row: two title rows, the header in row 3, people from row 4.
const BROKEN_LINE: usize = 4 + BROKEN;
/// Who checks in from the phone, and who tries with a wrong code.
const PHONE_CURP17: &str = "RAXI010610MMCMXTA";
const PHONE_GIVEN: &str = "Itzel";
const PHONE_SURNAME: &str = "Ramos";
const INTRUDER_CURP17: &str = "TOXW950101MMCRXN0";
const INTRUDER_GIVEN: &str = "Wendy";
const INTRUDER_SURNAME: &str = "Torres";

/// A sign-in sheet as units keep it: merged title rows, a header with a "No." column,
/// one row per person and a total line at the bottom.
fn sign_in_sheet(broken: Option<usize>) -> Vec<u8> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name("Lista").expect("sheet name");
    sheet
        .merge_range(0, 0, 0, 6, "SECRETARÍA DE LAS MUJERES", &bold)
        .expect("title row 1");
    sheet
        .merge_range(1, 0, 1, 6, "LISTA DE ASISTENCIA", &bold)
        .expect("title row 2");
    for (col, header) in [
        "No.",
        "NOMBRE COMPLETO",
        "CURP",
        "SEXO",
        "INSTITUCIÓN",
        "CARGO",
        "MUNICIPIO",
    ]
    .iter()
    .enumerate()
    {
        sheet
            .write_string_with_format(2, col as u16, *header, &bold)
            .expect("header");
    }
    for (i, p) in PEOPLE.iter().enumerate() {
        let row = 3 + i as u32;
        let curp = if broken == Some(i) {
            curp_with_wrong_digit(p.curp17)
        } else {
            valid_curp(p.curp17)
        };
        sheet.write_number(row, 0, (i + 1) as f64).expect("No.");
        sheet.write_string(row, 1, p.name).expect("name");
        sheet.write_string(row, 2, &curp).expect("CURP");
        sheet.write_string(row, 3, p.sex).expect("sex");
        sheet
            .write_string(row, 4, INSTITUTION)
            .expect("institution");
        sheet.write_string(row, 5, p.position).expect("position");
        sheet.write_string(row, 6, "Toluca").expect("municipality");
    }
    sheet
        .write_string_with_format(
            3 + PEOPLE.len() as u32,
            0,
            format!("TOTAL: {}", PEOPLE.len()),
            &bold,
        )
        .expect("total");
    sheet.set_column_width(1, 36).expect("width");
    sheet.set_column_width(4, 44).expect("width");
    book.save_to_buffer().expect("build the XLSX")
}

/// Today in Mexico City (UTC−6, no daylight saving since 2022), as DD/MM/YYYY.
fn today_in_mexico_city() -> String {
    (chrono::Utc::now() - chrono::Duration::hours(6))
        .format("%d/%m/%Y")
        .to_string()
}

#[test]
fn synthetic_curps_are_valid_for_the_domain() {
    use violeta_domain::curp::{Curp, CurpError, CurpSex};
    for p in &PEOPLE {
        let c = Curp::parse(&valid_curp(p.curp17)).unwrap_or_else(|e| panic!("{}: {e}", p.curp17));
        let want = if p.sex == "F" {
            CurpSex::Mujer
        } else {
            CurpSex::Hombre
        };
        assert_eq!(
            c.sex(),
            want,
            "{}: SEXO {} must match the CURP",
            p.name,
            p.sex
        );
        assert_eq!(c.state_code(), "MC");
    }
    for first17 in [PHONE_CURP17, INTRUDER_CURP17] {
        Curp::parse(&valid_curp(first17)).unwrap_or_else(|e| panic!("{first17}: {e}"));
    }
    let broken = Curp::parse(&curp_with_wrong_digit(PEOPLE[BROKEN].curp17));
    assert!(
        matches!(broken, Err(CurpError::CheckDigit { .. })),
        "{broken:?}"
    );
    assert!(!sign_in_sheet(Some(BROKEN)).is_empty());
}

/// The three counts of /capacitaciones: (label, value, definition), in page order.
async fn counts(ui: &Ui) -> Res<Vec<(String, u64, String)>> {
    ui.goto("/capacitaciones").await?;
    ui.find(Locator::Id("cifras"), "#cifras on /capacitaciones")
        .await?;
    let raw = ui
        .js("return Array.from(document.querySelectorAll('#cifras > li')).map(function (li) { \
               var s = li.querySelector('strong'), p = li.querySelector('p'); \
               var label = Array.from(li.childNodes).filter(function (n) { return n.nodeType === 3; }).map(function (n) { return n.textContent; }).join('').trim(); \
               return [label, s ? s.textContent : '', p ? p.textContent.trim() : '']; });")
        .await?;
    let raw: Vec<(String, String, String)> = serde_json::from_value(raw).ctx("read #cifras")?;
    let mut out = Vec::new();
    for (label, value, definition) in raw {
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        let n = digits
            .parse()
            .map_err(|_| format!("the count «{label}» shows {value:?}, not a number"))?;
        out.push((label, n, definition));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// The walk

async fn walk(desk: &Ui, phone: &Ui, dir: &Path, step: &mut &'static str) -> Res<()> {
    let mut clock = Clock(Instant::now(), "capacitaciones");

    // 1. Sign in; remember the counts; schedule a session held today.
    *step = "1. sign in";
    sign_in(desk, EMAIL).await?;
    let before = counts(desk).await?;
    check!(
        before.len() == 3,
        "/capacitaciones shows {} counts, expected 3: {before:?}",
        before.len()
    );

    *step = "1. schedule the session";
    desk.goto("/capacitaciones/nueva").await?;
    let h1 = desk.text("h1").await?;
    check!(
        h1 == "Programar capacitación",
        "/capacitaciones/nueva has <h1> {h1:?}"
    );
    let today = today_in_mexico_city();
    desk.type_into("title", TITLE).await?;
    desk.type_into("topic", "Atención a mujeres en situación de violencia")
        .await?;
    desk.select("modality", "presencial").await?;
    desk.select("state", "15").await?;
    desk.type_into("municipality", "Toluca").await?;
    desk.type_into("venue", "Auditorio del Hospital General de Toluca")
        .await?;
    desk.type_into("days", &format!("{today} 09:00-14:00"))
        .await?;
    desk.type_into("instructors", "Instructora de prueba")
        .await?;
    desk.select("status", "realizada").await?;
    let guardar = desk.button("/capacitaciones", "Guardar").await?;
    desk.click_and_wait(&guardar, "Guardar").await?;
    let path = desk.path().await?;
    let id: i64 = match path
        .strip_prefix("/capacitaciones/")
        .and_then(|s| s.parse().ok())
    {
        Some(id) => id,
        None => {
            let error = desk
                .js("var e = document.querySelector('.error'); return e ? e.textContent : '';")
                .await?;
            return Err(format!(
                "saving the session led to {path}, expected /capacitaciones/{{id}}; error shown: {error}"
            ));
        }
    };
    let h1 = desk.text("h1").await?;
    check!(
        h1 == TITLE,
        "the session's page has <h1> {h1:?}, expected {TITLE:?}"
    );
    let card = desk.text("dl.ficha").await?;
    check!(
        card.contains("Realizada"),
        "the session is not «Realizada»: {card}"
    );
    check!(
        card.contains("Toluca"),
        "the venue does not name Toluca: {card}"
    );
    check!(
        card.contains("de 09:00 a 14:00"),
        "the dates do not show 09:00–14:00: {card}"
    );
    let empty = desk.rows("#asistencia").await?;
    check!(
        empty == ["Sin asistencia registrada."],
        "a new session already has attendance: {empty:?}"
    );
    clock.lap("step 1 (sign in, schedule)");

    // 2. The sheet with a broken CURP: preview only, with the problem named.
    *step = "2. preview the sheet with a broken CURP";
    let broken_file = dir.join("lista-asistencia-con-error.xlsx");
    std::fs::write(&broken_file, sign_in_sheet(Some(BROKEN))).ctx("write the broken sheet")?;
    let upload_action = format!("/capacitaciones/{id}/lista");
    upload(desk, &upload_action, &broken_file).await?;
    let preview = desk
        .find(
            Locator::Id("vista-previa"),
            "#vista-previa after uploading the broken sheet",
        )
        .await?;
    let preview_text = preview.text().await.ctx("read #vista-previa")?;
    check!(
        preview_text.contains("Nada se ha guardado todavía"),
        "the preview does not say nothing was saved: {preview_text}"
    );
    let problems = desk.rows("#vista-previa .errores table").await?;
    check!(
        problems
            .iter()
            .any(|r| r.starts_with(&format!("{BROKEN_LINE} | C (CURP) |"))
                && r.contains("dígito verificador")),
        "the problems table does not name row {BROKEN_LINE}, column C (CURP), «dígito verificador»: {problems:?}"
    );
    check!(
        problems.len() == 1,
        "only row {BROKEN_LINE} has a problem, the table lists: {problems:?}"
    );
    let listed = desk.rows("#filas-vista-previa").await?;
    for (i, p) in PEOPLE.iter().enumerate().filter(|(i, _)| *i != BROKEN) {
        let line = 4 + i;
        check!(
            listed.iter().any(|r| r.starts_with(&format!(
                "{line} | {} | {} | Nueva |",
                p.name,
                valid_curp(p.curp17)
            )) && r.ends_with("| Lista")),
            "the preview does not list row {line} ({}) as new and ready: {listed:?}",
            p.name
        );
    }
    check!(
        preview_text.contains("TOTAL: 6"),
        "the preview does not say the «TOTAL: 6» line is left out: {preview_text}"
    );
    desk.find(Locator::XPath("//section[@id='vista-previa']//button[normalize-space(.)='Importar solo las 5 filas válidas']"), "button «Importar solo las 5 filas válidas»")
        .await?;
    let still = desk.rows("#asistencia").await?;
    check!(
        still == ["Sin asistencia registrada."],
        "the preview already imported something: {still:?}"
    );
    desk.screenshot(dir, "vista-previa-con-error").await?;
    clock.lap("step 2 (preview with a problem)");

    // 3. The corrected sheet: clean preview, then the import.
    *step = "3. import the corrected sheet";
    let good_file = dir.join("lista-asistencia.xlsx");
    std::fs::write(&good_file, sign_in_sheet(None)).ctx("write the corrected sheet")?;
    upload(desk, &upload_action, &good_file).await?;
    let preview_text = desk.text("#vista-previa").await?;
    check!(
        preview_text.contains("6 personas en la lista: 6 sin problemas (6 nuevas en el registro)"),
        "the corrected sheet's preview: {preview_text}"
    );
    let problems = desk
        .js("return document.querySelectorAll('#vista-previa .errores').length")
        .await?;
    check!(
        problems.as_u64() == Some(0),
        "the corrected sheet still shows problems: {preview_text}"
    );
    let import = desk
        .find(Locator::XPath("//section[@id='vista-previa']//button[normalize-space(.)='Importar las 6 asistencias']"), "button «Importar las 6 asistencias»")
        .await?;
    desk.click_and_wait(&import, "Importar las 6 asistencias")
        .await?;
    let result = desk.text("#resultado").await?;
    check!(
        result.contains("6 asistencias registradas"),
        "#resultado says {result:?}"
    );
    check!(
        result.contains("6 personas nuevas"),
        "#resultado does not count 6 new people: {result:?}"
    );
    let rows = desk.rows("#asistencia").await?;
    check!(
        rows.len() == 6,
        "#asistencia has {} rows after the import, expected 6: {rows:?}",
        rows.len()
    );
    for p in &PEOPLE {
        check!(
            rows.iter().any(|r| r.starts_with(p.name)
                && r.contains(INSTITUTION)
                && r.contains("Asistió")
                && r.contains("Lista importada")),
            "#asistencia has no row for {} ({INSTITUTION}, Asistió, Lista importada): {rows:?}",
            p.name
        );
    }
    clock.lap("step 3 (import)");

    // 4. The venue screen: the code and its link.
    *step = "4. venue screen";
    desk.goto(&format!("/capacitaciones/{id}/codigo")).await?;
    desk.find(Locator::Css("#qr svg"), "the QR image #qr svg")
        .await?;
    // One read for both: the page refreshes itself when the code changes.
    let read = desk.js("return [document.getElementById('codigo').textContent.trim(), document.querySelector('p.ayuda code').textContent.trim()];").await?;
    let (code, link): (String, String) =
        serde_json::from_value(read).ctx("read the code and the link")?;
    check!(
        code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()),
        "#codigo shows {code:?}, expected six digits"
    );
    let want = format!("{}/asistencia/{id}?codigo={code}", desk.base);
    check!(
        link == want,
        "the link under the QR is {link:?}, expected {want:?}"
    );
    let registered = desk
        .js("return document.querySelectorAll('#registradas li').length")
        .await?;
    check!(
        registered.as_u64() == Some(6),
        "#registradas lists {registered} people before the check-in, expected 6"
    );
    clock.lap("step 4 (venue screen)");

    // 5. The phone: check in with the link; a wrong code is refused.
    *step = "5. check in from the phone";
    phone.goto(&link).await?;
    let size = phone
        .js("return [window.innerWidth, document.documentElement.scrollWidth];")
        .await?;
    check!(
        size[0].as_u64().is_some_and(|w| w <= 400),
        "the phone window is {size} wide, expected about 390"
    );
    let h1 = phone.text("h1").await?;
    check!(
        h1 == "Registro de asistencia",
        "the check-in page has <h1> {h1:?}"
    );
    let prefilled = phone
        .find(Locator::Id("codigo"), "field #codigo")
        .await?
        .prop("value")
        .await
        .ctx("read #codigo")?
        .unwrap_or_default();
    check!(
        prefilled == code,
        "the link filled the code field with {prefilled:?}, expected {code:?}"
    );
    let phone_curp = valid_curp(PHONE_CURP17);
    phone.type_into("curp", &phone_curp).await?;
    phone.type_into("given_names", PHONE_GIVEN).await?;
    phone.type_into("first_surname", PHONE_SURNAME).await?;
    no_sideways_scroll(phone, "the check-in form").await?;
    let send = phone
        .button(&format!("/asistencia/{id}"), "Registrar mi asistencia")
        .await?;
    phone
        .click_and_wait(&send, "Registrar mi asistencia")
        .await?;
    let done = phone.text("#listo").await?;
    check!(
        done.contains("su asistencia quedó registrada") && done.contains(PHONE_GIVEN),
        "#listo says {done:?}"
    );
    let form_left = phone
        .js("return document.querySelectorAll('form[action^=\"/asistencia/\"]').length")
        .await?;
    check!(
        form_left.as_u64() == Some(0),
        "the form is still shown after checking in"
    );
    no_sideways_scroll(phone, "the confirmation").await?;
    phone.screenshot(dir, "telefono-registrada").await?;

    *step = "5. wrong code";
    let wrong = if code == "000000" { "111111" } else { "000000" };
    phone
        .goto(&format!("/asistencia/{id}?codigo={wrong}"))
        .await?;
    phone
        .type_into("curp", &valid_curp(INTRUDER_CURP17))
        .await?;
    phone.type_into("given_names", INTRUDER_GIVEN).await?;
    phone.type_into("first_surname", INTRUDER_SURNAME).await?;
    let send = phone
        .button(&format!("/asistencia/{id}"), "Registrar mi asistencia")
        .await?;
    phone
        .click_and_wait(&send, "Registrar mi asistencia (wrong code)")
        .await?;
    let error = phone.text(".error[role='alert']").await?;
    check!(
        error.contains("El código no es válido"),
        "a wrong code shows {error:?}"
    );
    let listo = phone
        .js("return document.querySelectorAll('#listo').length")
        .await?;
    check!(listo.as_u64() == Some(0), "a wrong code was accepted");
    let kept = phone
        .find(Locator::Id("given_names"), "#given_names after the error")
        .await?
        .prop("value")
        .await
        .ctx("read #given_names")?
        .unwrap_or_default();
    check!(
        kept == INTRUDER_GIVEN,
        "the form lost what was typed after the error: #given_names = {kept:?}"
    );
    no_sideways_scroll(phone, "the error").await?;
    phone.screenshot(dir, "telefono-final").await?;
    clock.lap("step 5 (phone)");

    // 6. Back on the desktop: the venue screen and the counts.
    *step = "6. venue screen after the check-in";
    desk.goto(&format!("/capacitaciones/{id}/codigo")).await?;
    let names: Vec<String> = serde_json::from_value(
        desk.js("return Array.from(document.querySelectorAll('#registradas li')).map(function (li) { return li.textContent.trim(); });").await?,
    )
    .ctx("read #registradas")?;
    check!(
        names.len() == 7,
        "#registradas lists {} people, expected 7 (6 from the sheet, 1 from the phone): {names:?}",
        names.len()
    );
    check!(
        names
            .iter()
            .any(|n| n.contains(PHONE_GIVEN) && n.contains(PHONE_SURNAME)),
        "#registradas does not list {PHONE_GIVEN} {PHONE_SURNAME}: {names:?}"
    );
    check!(
        !names.iter().any(|n| n.contains(INTRUDER_GIVEN)),
        "the wrong code registered {INTRUDER_GIVEN}: {names:?}"
    );
    desk.goto(&format!("/capacitaciones/{id}")).await?;
    let rows = desk.rows("#asistencia").await?;
    check!(
        rows.iter()
            .any(|r| r.starts_with(&format!("{PHONE_GIVEN} {PHONE_SURNAME}"))
                && r.contains("Código QR")),
        "the session's #asistencia does not show the phone check-in as «Código QR»: {rows:?}"
    );

    *step = "6. counts";
    let after = counts(desk).await?;
    let want = [
        ("Personas capacitadas", "Personas distintas", 7),
        ("Participaciones", "Asistencias registradas", 7),
        ("Capacitaciones impartidas", "«realizada»", 1),
    ];
    check!(
        after.len() == 3,
        "#cifras has {} counts: {after:?}",
        after.len()
    );
    for (i, (label, definition, added)) in want.iter().enumerate() {
        let (got_label, value, got_def) = &after[i];
        check!(
            got_label == label,
            "count {} is {got_label:?}, expected {label:?}",
            i + 1
        );
        check!(
            got_def.contains(definition) && got_def.len() > 60,
            "«{label}» has the definition {got_def:?}"
        );
        check!(
            *value == before[i].1 + added,
            "«{label}» went from {} to {value}, expected +{added}",
            before[i].1
        );
    }
    let cifras = desk.text("#cifras").await?;
    for label in [
        "Personas capacitadas",
        "Participaciones",
        "Capacitaciones impartidas",
    ] {
        check!(
            cifras.contains(label),
            "#cifras does not contain {label:?}: {cifras}"
        );
    }
    let listed = desk.rows("#capacitaciones").await?;
    check!(
        listed.iter().any(|r| r.contains(TITLE)
            && r.contains("Toluca")
            && r.contains("Realizada")
            && r.ends_with("| 7")),
        "/capacitaciones does not list the session in Toluca, realizada, with 7 attendees: {listed:?}"
    );
    desk.screenshot(dir, "escritorio-final").await?;
    clock.lap("step 6 (venue screen, counts)");
    Ok(())
}

/// Uploads `file` with the list form of the session page and waits for the answer.
async fn upload(ui: &Ui, action: &str, file: &Path) -> Res<()> {
    let input = ui
        .find(Locator::Id("archivo-lista"), "file input #archivo-lista")
        .await?;
    input
        .send_keys(&file.display().to_string())
        .await
        .ctx("choose the file")?;
    ui.select("entidad-lista", "15").await?;
    let button = ui.button(action, "Ver vista previa").await?;
    ui.click_and_wait(&button, "Ver vista previa").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trainings_sheet_qr_and_counts_in_chromium() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(rig) = Rig::start("capacitaciones", "capacitaciones") else {
        return;
    };
    let desk = rig.browser("escritorio", "escritorio", 1280, 900).await;
    let phone = rig.browser("teléfono", "telefono", 390, 844).await;
    let walk_start = rig.ready();
    let mut step = "start";
    let outcome =
        tokio::time::timeout(TOTAL_TIMEOUT, walk(&desk, &phone, &rig.dir, &mut step)).await;
    rig.finish(&[&desk, &phone], walk_start, step, outcome)
        .await;
}

// ---------------------------------------------------------------------------
// A CONOCER certification process, from diagnóstico to the certificate

const COORDINATION: &str = "coordinacion@demo.violeta.mx";
const EVALUATION: &str = "evaluacion@demo.violeta.mx";
/// The evaluator account's display name in the demo, which its evaluation form proposes.
const EVALUATOR_NAME: &str = "Evaluación (demo)";
const STANDARD: &str = "EC0539";
const ALIGNMENT: &str = "Curso de alineación al EC0539 (prueba de navegador)";
const FOLIO: &str = "PRUEBA-EC0539-0002";
const CERTIFIER: &str = "ECE de prueba del Estado de México";
/// The certification walk, browsers included.
const CERTIFICATION_TIMEOUT: Duration = Duration::from_secs(300);

/// Today in Mexico City as YYYY-MM-DD, the value of an `<input type="date">`.
fn today_iso_in_mexico_city() -> String {
    (chrono::Utc::now() - chrono::Duration::hours(6))
        .format("%Y-%m-%d")
        .to_string()
}

/// The catalogue row of `code` on /certificacion: (standard id, «Personas certificadas»,
/// «Procesos abiertos»).
async fn standard_counts(ui: &Ui, code: &str) -> Res<(i64, u64, u64)> {
    ui.goto("/certificacion").await?;
    ui.find(Locator::Id("estandares"), "#estandares on /certificacion")
        .await?;
    let raw = ui
        .js(&format!(
            "var out = null; document.querySelectorAll('#estandares tbody tr').forEach(function (tr) {{ \
               var a = tr.cells[0].querySelector('a'); \
               if (a && a.textContent.trim() === '{code}') {{ \
                 out = [a.getAttribute('href'), tr.cells[4].textContent.trim(), tr.cells[5].textContent.trim()]; }} }}); \
             return out;"
        ))
        .await?;
    let (href, certified, open): (String, String, String) = serde_json::from_value(raw.clone())
        .map_err(|_| format!("/certificacion does not list {code} in #estandares (got {raw})"))?;
    let id = href
        .strip_prefix("/certificacion/estandares/")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{code} links to {href:?}"))?;
    let number = |what: &str, s: &str| -> Res<u64> {
        s.replace(',', "")
            .parse()
            .map_err(|_| format!("{code}: «{what}» shows {s:?}, not a number"))
    };
    Ok((
        id,
        number("Personas certificadas", &certified)?,
        number("Procesos abiertos", &open)?,
    ))
}

/// The process page's history: (stage in bold, whole line), oldest first.
async fn history(ui: &Ui) -> Res<Vec<(String, String)>> {
    ui.find(Locator::Id("historial"), "#historial").await?;
    serde_json::from_value(
        ui.js("return Array.from(document.querySelectorAll('#historial > li')).map(function (li) { \
                 var s = li.querySelector('strong'); return [s ? s.textContent.trim() : '', li.textContent.trim()]; });")
            .await?,
    )
    .ctx("read #historial")
}

/// The actions of the step forms the process page offers (its "Siguiente paso").
async fn step_forms(ui: &Ui) -> Res<Vec<String>> {
    serde_json::from_value(
        ui.js("return Array.from(document.querySelectorAll('form')).map(function (f) { return f.getAttribute('action') || ''; }) \
                 .filter(function (a) { return /^\\/certificacion\\/procesos\\/\\d+\\//.test(a); });")
            .await?,
    )
    .ctx("read the step forms")
}

/// The stage shown in the process card, checked against `want`.
async fn expect_stage(ui: &Ui, want: &str, when: &str) -> Res<()> {
    let stage = ui.text("#etapa").await?;
    check!(
        stage == want,
        "[{}] {when}: the process is in «{stage}», expected «{want}»",
        ui.name
    );
    Ok(())
}

async fn certification_walk(
    coord: &Ui,
    evaluator: &Ui,
    dir: &Path,
    step: &mut &'static str,
) -> Res<()> {
    let mut clock = Clock(Instant::now(), "certificación");
    let today = today_in_mexico_city();
    let today_iso = today_iso_in_mexico_city();

    // 1. Coordinación signs in; the standard's counts before the walk.
    *step = "1. coordinación signs in";
    sign_in(coord, COORDINATION).await?;
    let (standard_id, certified_before, open_before) = standard_counts(coord, STANDARD).await?;
    let h1 = coord.text("h1").await?;
    check!(
        h1 == "Certificación de competencias",
        "/certificacion has <h1> {h1:?}"
    );
    let standard_path = format!("/certificacion/estandares/{standard_id}");

    // 2. A demo person with a CURP and no process in the standard yet.
    *step = "2. choose a person";
    coord.goto(&standard_path).await?;
    let candidates: Vec<String> = serde_json::from_value(
        coord
            .js("return Array.from(document.querySelectorAll('#procesos tbody tr td:first-child a')).map(function (a) { return a.textContent.trim(); });")
            .await?,
    )
    .ctx("read the candidates")?;
    check!(
        !candidates.is_empty(),
        "the demo's {STANDARD} has no candidates on {standard_path}"
    );
    coord.goto("/personas").await?;
    let people: Vec<(String, String)> = serde_json::from_value(
        coord
            .js("return Array.from(document.querySelectorAll('#personas tbody tr')).filter(function (tr) { return tr.cells.length > 1; }) \
                   .map(function (tr) { var c = tr.cells[1].querySelector('code'); return [tr.cells[0].textContent.trim(), c ? c.textContent.trim() : '']; });")
            .await?,
    )
    .ctx("read /personas")?;
    let Some((name, curp)) = people
        .iter()
        .find(|(name, curp)| curp.len() == 18 && !candidates.contains(name))
        .cloned()
    else {
        return Err(format!(
            "/personas shows nobody with a CURP outside the {STANDARD} candidates {candidates:?}: {people:?}"
        ));
    };
    eprintln!("[certificación] candidate: {name} ({curp})");
    clock.lap("steps 1–2 (sign in, choose a person)");

    // 3. Open the process in diagnóstico, by CURP, from the standard's page.
    *step = "3. open the process";
    coord.goto(&standard_path).await?;
    coord.type_into("curp", &curp).await?;
    coord.set_date("diagnosis_on", &today_iso).await?;
    coord
        .type_into("note", "Diagnóstico en la prueba de navegador")
        .await?;
    let open = coord
        .button("/certificacion/procesos", "Abrir proceso en diagnóstico")
        .await?;
    coord
        .click_and_wait(&open, "Abrir proceso en diagnóstico")
        .await?;
    let path = coord.path().await?;
    match path
        .strip_prefix("/certificacion/procesos/")
        .and_then(|s| s.parse::<i64>().ok())
    {
        Some(_) => {}
        None => {
            let error = coord
                .js("var e = document.querySelector('.error'); return e ? e.textContent : '';")
                .await?;
            return Err(format!(
                "opening the process led to {path}, expected /certificacion/procesos/{{id}}; error shown: {error}"
            ));
        }
    };
    let process_path = path;
    let h1 = coord.text("h1").await?;
    check!(
        h1 == format!("{name} — {STANDARD}"),
        "the process page has <h1> {h1:?}"
    );
    expect_stage(coord, "Diagnóstico", "after opening").await?;
    let card = coord.text("dl.ficha").await?;
    check!(
        card.contains(&curp) && card.contains(&today),
        "the process card does not show the CURP {curp} and the diagnosis of {today}: {card}"
    );
    check!(
        step_forms(coord).await? == [format!("{process_path}/avanzar")],
        "in diagnóstico the next step should be the one «avanzar» form"
    );

    // 4. A second tab keeps the page as it is now, with «Pasar a alineación».
    *step = "4. a second tab";
    let main_tab = coord.c.window().await.ctx("read the window handle")?;
    let stale_tab = coord
        .c
        .new_window(true)
        .await
        .ctx("open a second tab")?
        .handle;
    coord
        .c
        .switch_to_window(stale_tab.clone())
        .await
        .ctx("switch to the second tab")?;
    coord.goto(&process_path).await?;
    coord
        .button(&format!("{process_path}/avanzar"), "Pasar a alineación")
        .await?;
    coord
        .c
        .switch_to_window(main_tab.clone())
        .await
        .ctx("switch back to the first tab")?;

    // 5. Diagnóstico → alineación → evaluación.
    *step = "5. alineación";
    coord.type_into("alignment_note", ALIGNMENT).await?;
    coord.type_into("note", "Alineación en grupo").await?;
    let to_alignment = coord
        .button(&format!("{process_path}/avanzar"), "Pasar a alineación")
        .await?;
    coord
        .click_and_wait(&to_alignment, "Pasar a alineación")
        .await?;
    expect_stage(coord, "Alineación", "after «Pasar a alineación»").await?;
    let card = coord.text("dl.ficha").await?;
    check!(
        card.contains(ALIGNMENT),
        "the card does not show the alignment {ALIGNMENT:?}: {card}"
    );

    *step = "5. evaluación";
    let to_evaluation = coord
        .button(&format!("{process_path}/avanzar"), "Pasar a evaluación")
        .await?;
    coord
        .click_and_wait(&to_evaluation, "Pasar a evaluación")
        .await?;
    expect_stage(coord, "Evaluación", "after «Pasar a evaluación»").await?;
    let steps = history(coord).await?;
    check!(
        steps.len() == 3,
        "after two steps the history has {} lines: {steps:?}",
        steps.len()
    );
    clock.lap("steps 3–5 (open, alineación, evaluación)");

    // 6. The stale tab tries diagnóstico → alineación on a process now in evaluación.
    *step = "6. a wrong transition from the stale tab";
    coord
        .c
        .switch_to_window(stale_tab)
        .await
        .ctx("switch to the stale tab")?;
    expect_stage(coord, "Diagnóstico", "the stale tab before submitting").await?;
    let stale = coord
        .button(&format!("{process_path}/avanzar"), "Pasar a alineación")
        .await?;
    coord
        .click_and_wait(&stale, "Pasar a alineación (stale tab)")
        .await?;
    let refusal = coord.text("#error").await?;
    let want = "no se puede pasar de «Evaluación» a «Alineación»: los pasos posibles son «Certificado» o «Todavía no competente»";
    check!(
        refusal.contains(want),
        "the wrong transition shows {refusal:?}, expected {want:?}"
    );
    // The refusal is the process page again, answering the POST (422).
    let h1 = coord.text("h1").await?;
    check!(
        h1 == format!("{name} — {STANDARD}"),
        "the refusal is not shown on the process page: <h1> {h1:?}"
    );
    expect_stage(coord, "Evaluación", "after the refused transition").await?;
    let steps = history(coord).await?;
    check!(
        steps.len() == 3,
        "the refused transition changed the history: {steps:?}"
    );
    coord
        .screenshot(dir, "certificacion-paso-rechazado")
        .await?;
    coord.c.close_window().await.ctx("close the stale tab")?;
    coord
        .c
        .switch_to_window(main_tab)
        .await
        .ctx("switch back to the first tab")?;
    clock.lap("step 6 (wrong transition refused)");

    // 7. The evaluator, in a browser of their own, records «Competente».
    *step = "7. evaluación signs in";
    sign_in(evaluator, EVALUATION).await?;
    evaluator.goto(&process_path).await?;
    expect_stage(evaluator, "Evaluación", "the evaluator opens the process").await?;
    let forms = step_forms(evaluator).await?;
    check!(
        forms == [format!("{process_path}/evaluacion")],
        "the evaluator should be offered only the evaluation form, not {forms:?}"
    );
    let proposed = evaluator
        .find(Locator::Id("evaluator_name"), "#evaluator_name")
        .await?
        .prop("value")
        .await
        .ctx("read #evaluator_name")?
        .unwrap_or_default();
    check!(
        proposed == EVALUATOR_NAME,
        "the evaluation form proposes the evaluator {proposed:?}, expected {EVALUATOR_NAME:?}"
    );

    *step = "7. record the evaluation";
    evaluator.set_date("evaluated_on", &today_iso).await?;
    let competent = evaluator
        .find(
            Locator::Css("input[name='result'][value='competente']"),
            "the «Competente» option",
        )
        .await?;
    competent.click().await.ctx("choose «Competente»")?;
    check!(
        competent
            .prop("checked")
            .await
            .ctx("read «Competente»")?
            .as_deref()
            == Some("true"),
        "«Competente» is not chosen after clicking it"
    );
    evaluator
        .type_into(
            "portfolio",
            "Guía de observación y entrevista simulada completas",
        )
        .await?;
    let record = evaluator
        .button(
            &format!("{process_path}/evaluacion"),
            "Registrar evaluación",
        )
        .await?;
    evaluator
        .click_and_wait(&record, "Registrar evaluación")
        .await?;
    let errors = evaluator
        .js("var e = document.getElementById('error'); return e ? e.textContent : '';")
        .await?;
    check!(
        errors.as_str() == Some(""),
        "recording the evaluation was refused: {errors}"
    );
    expect_stage(evaluator, "Evaluación", "after the evaluation").await?;
    let card = evaluator.text("dl.ficha").await?;
    let evaluation = format!("{today} · Competente · evaluó {EVALUATOR_NAME}");
    check!(
        card.contains(&evaluation),
        "the card does not show {evaluation:?}: {card}"
    );
    let main = evaluator.text("main").await?;
    check!(
        main.contains("Resultado «Competente»: falta registrar el certificado expedido."),
        "the evaluator's page does not say the certificate is pending: {main}"
    );
    check!(
        step_forms(evaluator).await?.is_empty(),
        "the evaluator is still offered a step after the evaluation"
    );
    clock.lap("step 7 (evaluation)");

    // 8. Back in coordinación's browser: the certificate, copied from CONOCER's.
    *step = "8. record the certificate";
    coord.goto(&process_path).await?;
    let forms = step_forms(coord).await?;
    check!(
        forms == [format!("{process_path}/certificado")],
        "after «Competente» coordinación should be offered only the certificate form, not {forms:?}"
    );
    coord.type_into("folio", FOLIO).await?;
    coord.set_date("certified_on", &today_iso).await?;
    coord.type_into("certifying_entity", CERTIFIER).await?;
    coord
        .type_into("note", "Datos copiados del certificado de prueba")
        .await?;
    let certify = coord
        .button(
            &format!("{process_path}/certificado"),
            "Registrar certificado",
        )
        .await?;
    coord
        .click_and_wait(&certify, "Registrar certificado")
        .await?;
    let errors = coord
        .js("var e = document.getElementById('error'); return e ? e.textContent : '';")
        .await?;
    check!(
        errors.as_str() == Some(""),
        "recording the certificate was refused: {errors}"
    );
    expect_stage(coord, "Certificado", "after «Registrar certificado»").await?;
    let folio = coord.text("#folio").await?;
    check!(folio == FOLIO, "the card shows the folio {folio:?}");
    let card = coord.text("dl.ficha").await?;
    for want in [
        format!("Folio {FOLIO} del {today}, emitido por {CERTIFIER}"),
        // EC0539 has no validity recorded in the catalogue.
        "Sin vencimiento registrado".to_string(),
    ] {
        check!(
            card.contains(&want),
            "the card does not show {want:?}: {card}"
        );
    }
    let main = coord.text("main").await?;
    check!(
        main.contains("Proceso concluido con certificado."),
        "the page does not say the process is concluded: {main}"
    );
    check!(
        step_forms(coord).await?.is_empty(),
        "a certified process still offers a step"
    );

    // 9. The history lists every step, by whom, in order.
    *step = "9. history";
    let steps = history(coord).await?;
    let want = [
        (
            "Diagnóstico",
            COORDINATION,
            format!(
                "Proceso abierto; diagnóstico del {today}. Diagnóstico en la prueba de navegador"
            ),
        ),
        (
            "Alineación",
            COORDINATION,
            "Pasa a alineación. Alineación en grupo".to_string(),
        ),
        ("Evaluación", COORDINATION, "Pasa a evaluación".to_string()),
        (
            "Evaluación",
            EVALUATION,
            format!("Evaluación del {today}: Competente (evaluó {EVALUATOR_NAME})"),
        ),
        (
            "Certificado",
            COORDINATION,
            format!(
                "Certificado con folio {FOLIO} del {today}, emitido por {CERTIFIER}. Datos copiados del certificado de prueba"
            ),
        ),
    ];
    check!(
        steps.len() == want.len(),
        "the history has {} lines, expected {}: {steps:?}",
        steps.len(),
        want.len()
    );
    for (i, ((stage, line), (want_stage, by, note))) in steps.iter().zip(&want).enumerate() {
        check!(
            stage == want_stage && line.contains(&format!("— {by}: {note}")),
            "history line {} is {line:?}, expected «{want_stage}» — {by}: {note}",
            i + 1
        );
    }
    coord.screenshot(dir, "certificacion-final").await?;
    clock.lap("steps 8–9 (certificate, history)");

    // 10. The catalogue counts one more certified person; the list shows the folio.
    *step = "10. catalogue and list";
    let (_, certified_after, open_after) = standard_counts(coord, STANDARD).await?;
    check!(
        certified_after == certified_before + 1,
        "{STANDARD} «Personas certificadas» went from {certified_before} to {certified_after}, expected +1"
    );
    check!(
        open_after == open_before,
        "{STANDARD} «Procesos abiertos» went from {open_before} to {open_after}: the certified process should not stay open"
    );
    coord
        .goto(&format!("/certificacion/procesos?estandar={standard_id}"))
        .await?;
    let rows = coord.rows("#procesos").await?;
    check!(
        rows.iter()
            .any(|r| r.starts_with(&name) && r.contains("| Certificado |") && r.contains(FOLIO)),
        "/certificacion/procesos does not list {name} as «Certificado» with {FOLIO}: {rows:?}"
    );
    clock.lap("step 10 (catalogue, list)");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certification_to_competente_in_chromium() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(rig) = Rig::start("certificación", "certificacion") else {
        return;
    };
    let coord = rig.browser("coordinación", "coordinacion", 1280, 900).await;
    let evaluator = rig.browser("evaluación", "evaluacion", 1280, 900).await;
    let walk_start = rig.ready();
    let mut step = "start";
    let outcome = tokio::time::timeout(
        CERTIFICATION_TIMEOUT,
        certification_walk(&coord, &evaluator, &rig.dir, &mut step),
    )
    .await;
    rig.finish(&[&coord, &evaluator], walk_start, step, outcome)
        .await;
}
