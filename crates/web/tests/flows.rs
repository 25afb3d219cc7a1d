//! End-to-end flows through the pages: adding people (and seeing the write in the audit
//! trail), private contact data, and importing lists.

mod common;

use common::{TestApp, addr, curp, curp_bad_check_digit, demo_email, test_actor};
use violeta_domain::institution::{InstitutionKind, Level};
use violeta_domain::territory::{MunicipalityKey, StateKey};
use violeta_store::institutions::NewInstitution;

const SAMPLE_XLSX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/samples/asistencia/lista-asistencia-ejemplo.xlsx");

/// The issue's "done when": an administrator adds a person, an invalid CURP is refused
/// with the reason, and the write is in the audit trail.
#[tokio::test]
async fn administrator_adds_a_person_and_sees_it_audited() {
    let app = TestApp::demo().await;
    let admin = app.login_demo("admin", addr(60)).await;
    let instructor = app.login_demo("instruccion", addr(61)).await;
    let health = app.store().find_institution("Secretaría de Salud del Estado de México").await.unwrap().unwrap();
    let health = health.to_string();
    let first17 = "ROXG880412MMCSRD0";
    let before = app.people_count().await;

    // The form.
    let form = app.get(&admin, "/personas/nueva").await;
    form.expect(200).expect_contains(r#"name="curp""#);

    // A CURP with a wrong check digit: refused with the reason, the typed values kept.
    let bad = curp_bad_check_digit(first17);
    let fields = |c: &str| {
        vec![
            ("curp", c.to_string()),
            ("given_names", "Guadalupe".to_string()),
            ("first_surname", "Rosas".to_string()),
            ("second_surname", "Gómez".to_string()),
            ("sex", "".to_string()),
            ("institution", health.clone()),
            ("position", "Enfermera general".to_string()),
            ("corps", "".to_string()),
            ("municipality", "15106".to_string()),
            ("email", "guadalupe.rosas@ejemplo.gob.mx".to_string()),
            ("phone", "7221234567".to_string()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let bad_fields = as_refs(&fields(&bad));
    let bad_refs: Vec<(&str, &str)> = bad_fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.post_form(&admin, "/personas", &bad_refs).await;
    r.expect(422).expect_contains("dígito verificador").expect_contains("Guadalupe").expect_contains(&bad);
    assert_eq!(app.people_count().await, before, "an invalid person was stored");

    // A valid one: stored, and the browser is sent to its page.
    let good = curp(first17);
    let good_fields = fields(&good);
    let good_refs: Vec<(&str, &str)> = good_fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.post_form(&admin, "/personas", &good_refs).await;
    r.expect(303);
    let location = r.location().unwrap().to_string();
    let id: i64 = location
        .strip_prefix("/personas/")
        .and_then(|rest| rest.split('?').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("unexpected location {location}"));
    assert_eq!(app.people_count().await, before + 1);
    let page = app.get(&admin, &location).await;
    page.expect(200).expect_contains("Guadalupe Rosas Gómez").expect_contains(&good).expect_contains("El registro se creó.");
    // Contact data is not on the page until asked for.
    assert!(!page.body.contains("guadalupe.rosas@ejemplo.gob.mx"), "contact data shown without being asked for");
    page.expect_contains(&format!("/personas/{id}/contacto"));

    // The write is in the audit trail, on the page and in the store.
    let audit = app.get(&admin, &format!("/auditoria?entidad=persona&id={id}")).await;
    audit.expect(200).expect_contains("persona.crear").expect_contains(&format!("persona {id}")).expect_contains(&demo_email("admin"));
    let full = app.get(&admin, "/auditoria").await;
    full.expect(200).expect_contains("persona.crear");

    // Reading the contact data shows it and is audited.
    let reads_before = reads_of(&app, id).await;
    let contact = app.get(&admin, &format!("/personas/{id}/contacto")).await;
    contact.expect(200).expect_contains("guadalupe.rosas@ejemplo.gob.mx").expect_contains("7221234567");
    let reads: Vec<_> = app.audit_actions("persona", &id.to_string()).await.into_iter().filter(|e| e.action == "persona.leer_datos_personales").collect();
    assert_eq!(reads.len(), reads_before + 1, "the read was not audited");
    let admin_id = app.user_id(&demo_email("admin")).await;
    assert_eq!(reads[0].actor_id, Some(admin_id));
    assert_eq!(reads[0].origin, "10.0.0.60", "the audit entry records the client address");

    // An instructor sees the person, but neither the contact data nor the button.
    let as_instructor = app.get(&instructor, &format!("/personas/{id}")).await;
    as_instructor.expect(200).expect_contains("Guadalupe Rosas Gómez");
    assert!(!as_instructor.body.contains("/contacto"), "the instructor sees the contact button");
    assert!(!as_instructor.body.contains("guadalupe.rosas@ejemplo.gob.mx"));
    app.get(&instructor, &format!("/personas/{id}/contacto")).await.expect(403);
    app.get(&instructor, &format!("/api/v1/personas/{id}/contacto")).await.expect(403);
    // The instructor may edit, without seeing (or wiping) the contact data.
    let edit = app.get(&instructor, &format!("/personas/{id}/editar")).await;
    edit.expect(200);
    assert!(!edit.body.contains("guadalupe.rosas@ejemplo.gob.mx"));
    assert_eq!(reads_of(&app, id).await, reads_before + 1, "the instructor's edit form read personal data");
    let mut edited = fields(&good);
    for (k, v) in edited.iter_mut() {
        match *k {
            "position" => *v = "Jefa de enfermeras".into(),
            "email" | "phone" => v.clear(),
            _ => {}
        }
    }
    let edited_refs: Vec<(&str, &str)> = edited.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.post_form(&instructor, &format!("/personas/{id}"), &edited_refs).await.expect(303);
    let contact = app.get(&admin, &format!("/personas/{id}/contacto")).await;
    contact.expect(200).expect_contains("Jefa de enfermeras").expect_contains("guadalupe.rosas@ejemplo.gob.mx");

    // The same CURP again: refused with the reason.
    let count = app.people_count().await;
    let r = app.post_form(&admin, "/personas", &good_refs).await;
    r.expect(422).expect_contains("ya existe una persona con la CURP");
    assert_eq!(app.people_count().await, count);

    // Missing name and surname: each reason is given.
    let r = app.post_form(&admin, "/personas", &[("curp", ""), ("given_names", ""), ("first_surname", "")]).await;
    r.expect(422).expect_contains("falta el nombre").expect_contains("falta al menos un apellido");
    assert_eq!(app.people_count().await, count);
    app.cleanup().await;
}

async fn reads_of(app: &TestApp, id: i64) -> usize {
    app.audit_actions("persona", &id.to_string()).await.into_iter().filter(|e| e.action == "persona.leer_datos_personales").count()
}

/// The real attendance list: refused whole while institutions are missing from the
/// catalogue, imported once they exist.
#[tokio::test]
async fn importing_the_sample_attendance_list() {
    let app = TestApp::demo().await;
    let admin = app.login_demo("admin", addr(62)).await;
    let csrf = admin.csrf.clone().unwrap();
    let bytes = std::fs::read(SAMPLE_XLSX).unwrap_or_else(|e| panic!("{SAMPLE_XLSX}: {e}"));
    let before = app.people_count().await;
    let audit_before = app.audit_count().await;

    app.get(&admin, "/personas/importar").await.expect(200).expect_contains(r#"enctype="multipart/form-data""#);

    let fields = [("csrf", csrf.as_str()), ("entidad", "15")];
    let upload = || app.post_multipart(&admin, "/personas/importar", &fields, Some(("archivo", "lista-asistencia-ejemplo.xlsx", &bytes)));
    let r = upload().await;
    r.expect(422).expect_contains("No se importó nada").expect_contains("E (INSTITUCIÓN)");
    // Excel rows: the header is on row 4, so list entry #3 (Secretaría de Movilidad) is
    // row 7, #4 (H. Ayuntamiento de Ecatepec de Morelos) row 8, #8 (DIF Municipal de
    // Toluca) row 12. Entry #1 (Secretaría de Salud, in the catalogue) is row 5: no problem.
    for row in [7, 8, 12, 29] {
        r.expect_contains(&format!(r#"<td class="num">{row}</td>"#));
    }
    assert!(!r.body.contains(r#"<td class="num">5</td>"#), "row 5 has no problem");
    for name in ["Secretaría de Movilidad", "H. Ayuntamiento de Ecatepec de Morelos", "DIF Municipal de Toluca"] {
        r.expect_contains(name);
    }
    r.expect_contains("no está en el catálogo");
    assert_eq!(app.people_count().await, before, "a refused import wrote people");
    assert_eq!(app.audit_count().await, audit_before, "a refused import wrote to the audit trail");

    // Register the missing institutions, then the same file goes in whole.
    let ecatepec = app.store().find_municipality(&StateKey::parse("15").unwrap(), "Ecatepec de Morelos").await.unwrap().unwrap();
    for (name, kind, level, municipality) in [
        ("Secretaría de Movilidad", InstitutionKind::Dependencia, Level::Estatal, None),
        ("Ayuntamiento de Ecatepec de Morelos", InstitutionKind::Ayuntamiento, Level::Municipal, Some(ecatepec)),
        ("DIF Municipal de Toluca", InstitutionKind::Dependencia, Level::Municipal, None::<MunicipalityKey>),
    ] {
        app.store()
            .create_institution(&test_actor(), &NewInstitution { name: name.into(), acronym: String::new(), kind, level, municipality })
            .await
            .unwrap();
    }
    let r = upload().await;
    r.expect(200).expect_contains("Importación terminada").expect_contains("25 personas nuevas");
    assert_eq!(app.people_count().await, before + 25);
    let (found, _) = app
        .store()
        .people(violeta_domain::access::PeopleScope::All, &violeta_store::people::PeopleFilter { query: Some("MABQ890928MMCYKV26".into()), ..Default::default() }, 5, 0)
        .await
        .unwrap();
    let leticia = found.first().expect("the first person of the list");
    assert_eq!(leticia.full_name(), "Leticia Ibáñez Domínguez");
    assert_eq!(leticia.cvegeo.as_deref(), Some("15106"), "Toluca resolved within the chosen state");

    // Importing it again updates instead of duplicating.
    let r = upload().await;
    r.expect(200).expect_contains("0 personas nuevas, 25 actualizadas");
    assert_eq!(app.people_count().await, before + 25);
    app.cleanup().await;
}

#[tokio::test]
async fn a_broken_csv_is_refused_whole_with_its_rows() {
    let app = TestApp::demo().await;
    let admin = app.login_demo("coordinacion", addr(63)).await;
    let csrf = admin.csrf.clone().unwrap();
    let ok1 = curp("HEXM900101MOCRXT0");
    let ok2 = curp("LOXJ850505HOCPXN0");
    let bad = curp_bad_check_digit("CUXR770707MOCRZS0");
    let csv = format!(
        "CURP,Nombre completo,Sexo,Institución,Municipio\n\
         {ok1},María Hernández Cruz,Mujer,Secretaría de las Mujeres de Oaxaca,Oaxaca de Juárez\n\
         {bad},Rosa Cruz Ruiz,Mujer,,Oaxaca de Juárez\n\
         {ok1},María Hernández Cruz,Mujer,,\n\
         {ok2},José López Pérez,Hombre,,Santa María Huatulco\n"
    );
    let before = app.people_count().await;
    let r = app.post_multipart(&admin, "/personas/importar", &[("csrf", &csrf), ("entidad", "20")], Some(("archivo", "lista.csv", csv.as_bytes()))).await;
    r.expect(422).expect_contains("No se importó nada").expect_contains("A (CURP)");
    // Row 3: the check digit; row 4: the CURP of row 2 again. Rows 2 and 5 are fine.
    r.expect_contains(r#"<td class="num">3</td>"#).expect_contains("dígito verificador");
    r.expect_contains(r#"<td class="num">4</td>"#).expect_contains("ya aparece en la fila 2");
    assert!(!r.body.contains(r#"<td class="num">2</td>"#) && !r.body.contains(r#"<td class="num">5</td>"#));
    assert_eq!(app.people_count().await, before, "nothing is written when a row is wrong");

    // A file that is not a list at all gets a whole-file reason.
    let r = app.post_multipart(&admin, "/personas/importar", &[("csrf", &csrf)], Some(("archivo", "notas.csv", b"Hola,Mundo\n1,2\n"))).await;
    r.expect(422).expect_contains("No se importó nada");
    // No file.
    let r = app.post_multipart(&admin, "/personas/importar", &[("csrf", &csrf)], None).await;
    r.expect(422).expect_contains("no se recibió ningún archivo");
    assert_eq!(app.people_count().await, before);

    // Fixed, the same list goes in.
    let fixed = format!(
        "CURP,Nombre completo,Sexo,Institución,Municipio\n\
         {ok1},María Hernández Cruz,Mujer,Secretaría de las Mujeres de Oaxaca,Oaxaca de Juárez\n\
         {ok2},José López Pérez,Hombre,,Santa María Huatulco\n"
    );
    let r = app.post_multipart(&admin, "/personas/importar", &[("csrf", &csrf), ("entidad", "20")], Some(("archivo", "lista.csv", fixed.as_bytes()))).await;
    r.expect(200).expect_contains("Importación terminada").expect_contains("2 personas nuevas");
    assert_eq!(app.people_count().await, before + 2);
    app.cleanup().await;
}
