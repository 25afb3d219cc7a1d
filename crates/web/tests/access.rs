//! Who gets in where: every route of the catalog, walked by the public and by each of
//! the seven roles, against an expectation table written here independently of the
//! route table in `src/routes.rs`.

mod common;

use common::{TestApp, Who, addr, test_actor, urlencode};
use std::collections::{BTreeMap, BTreeSet};
use violeta_domain::access::{PeopleScope, Role};
use violeta_domain::territory::StateKey;
use violeta_store::accounts::NewUser;

/// Who may use a route, as the specification says.
#[derive(Debug, Clone, Copy)]
enum May {
    Public,
    SignedIn,
    Roles(&'static [Role]),
}

use May::{Public, Roles, SignedIn};

const ADM: Role = Role::Administracion;
const COO: Role = Role::Coordinacion;
const INS: Role = Role::Instruccion;
const EVA: Role = Role::Evaluacion;
const ALE: Role = Role::OperacionAlertaRosa;
const ENL: Role = Role::EnlaceInstitucional;

/// Staff who consult territory, AVGM and institutions (everyone but participants).
const STAFF: &[Role] = &[ADM, COO, INS, EVA, ALE, ENL];
/// Keep the registries (regions, declarations, institutions).
const REGISTRARS: &[Role] = &[ADM, COO];
/// See people (enlace: only their institution's).
const PEOPLE_READERS: &[Role] = &[ADM, COO, INS, EVA, ENL];
/// Add and edit people.
const PEOPLE_EDITORS: &[Role] = &[ADM, COO, INS, ENL];
/// Read private contact data (audited).
const CONTACT_READERS: &[Role] = &[ADM, COO, ENL];
/// Bulk import and merge people.
const PEOPLE_MANAGERS: &[Role] = &[ADM, COO];
/// API tokens.
const TOKEN_HOLDERS: &[Role] = &[ADM, COO];
const ADMIN_ONLY: &[Role] = &[ADM];
/// Schedule training sessions and take attendance.
const TRAINERS: &[Role] = &[ADM, COO, INS];
/// Read the contact person of an espacio seguro: registry-wide roles only (not an enlace).
const SPACE_CONTACT_READERS: &[Role] = &[ADM, COO];
/// Consult competency certification (the enlace: only its institution's candidates).
const CERT_READERS: &[Role] = &[ADM, COO, EVA, ENL];
/// Keep the standards and cohorts; open and advance processes; record certificates.
const CERT_MANAGERS: &[Role] = &[ADM, COO];
/// Record evaluations.
const EVALUATORS: &[Role] = &[ADM, COO, EVA];
// Alerta Rosa
/// Operate Alerta Rosa: cases, channels and dissemination.
const ALERT_OPERATORS: &[Role] = &[ADM, ALE];
/// A case's private part (who reported, the investigation file, health): only the
/// operators who work the cases, not the administrator.
const ALERT_PRIVATE: &[Role] = &[ALE];
/// Every role takes courses: public servants among the staff too.
const LEARNERS: &[Role] = &[ADM, COO, INS, EVA, ALE, ENL, Role::Participante];
const COURSE_STAFF: &[Role] = &[ADM, COO, INS];

/// The expected access table: (method, path pattern, who may use it).
const EXPECTED: &[(&str, &str, May)] = &[
    // Public
    ("GET", "/", Public),
    ("GET", "/healthz", Public),
    ("GET", "/metrics", Public),
    ("GET", "/static/{*path}", Public),
    ("GET", "/mapa", Public),
    ("GET", "/api/v1/espacios-seguros.geojson", Public),
    ("GET", "/entrar", Public),
    ("POST", "/entrar", Public),
    ("GET", "/contrasena/{token}", Public),
    ("POST", "/contrasena/{token}", Public),
    ("GET", "/api/v1/openapi.json", Public),
    // Any account
    ("POST", "/salir", SignedIn),
    ("GET", "/panel", SignedIn),
    ("GET", "/cuenta", SignedIn),
    ("POST", "/cuenta/tokens", Roles(TOKEN_HOLDERS)),
    ("POST", "/cuenta/tokens/{id}/revocar", Roles(TOKEN_HOLDERS)),
    // Territory and AVGM
    ("GET", "/territorio", Roles(STAFF)),
    ("GET", "/territorio/{cve_ent}", Roles(STAFF)),
    ("GET", "/territorio/municipio/{cvegeo}", Roles(STAFF)),
    ("POST", "/territorio/{cve_ent}/regiones", Roles(REGISTRARS)),
    ("POST", "/territorio/regiones/{id}/municipios", Roles(REGISTRARS)),
    ("POST", "/territorio/regiones/{id}/quitar", Roles(REGISTRARS)),
    ("POST", "/territorio/regiones/{id}", Roles(REGISTRARS)),
    ("POST", "/territorio/{cve_ent}/regiones/importar", Roles(REGISTRARS)),
    ("GET", "/avgm", Roles(STAFF)),
    ("GET", "/avgm/nueva", Roles(REGISTRARS)),
    ("POST", "/avgm", Roles(REGISTRARS)),
    ("POST", "/avgm/importar", Roles(REGISTRARS)),
    ("GET", "/avgm/{id}", Roles(STAFF)),
    ("POST", "/avgm/{id}/municipios", Roles(REGISTRARS)),
    ("POST", "/avgm/{id}/medidas", Roles(REGISTRARS)),
    // Rapid-reaction units, espacios seguros and their visits, AVGM coverage.
    // (No written specification for these yet: consultation for staff, changes for
    // registrars, the trained contact person as personal data.)
    ("GET", "/capacitaciones", Roles(STAFF)),
    ("GET", "/capacitaciones/nueva", Roles(TRAINERS)),
    ("POST", "/capacitaciones", Roles(TRAINERS)),
    ("POST", "/programas", Roles(TRAINERS)),
    ("GET", "/capacitaciones/{id}", Roles(STAFF)),
    ("POST", "/capacitaciones/{id}/estado", Roles(TRAINERS)),
    ("POST", "/capacitaciones/{id}/lista", Roles(TRAINERS)),
    ("POST", "/capacitaciones/{id}/lista/confirmar", Roles(TRAINERS)),
    ("POST", "/capacitaciones/{id}/asistencia", Roles(TRAINERS)),
    ("POST", "/capacitaciones/{id}/evidencias", Roles(TRAINERS)),
    ("GET", "/capacitaciones/{id}/evidencias/{evidence_id}", Roles(STAFF)),
    ("GET", "/capacitaciones/{id}/codigo", Roles(TRAINERS)),
    ("GET", "/asistencia/{id}", Public),
    ("POST", "/asistencia/{id}", Public),
    // Constancias: issued, revoked and reissued by trainers; the PDF names a person, so
    // people readers (an enlace: its institution's); verifying a folio is public.
    ("POST", "/capacitaciones/{id}/constancias", Roles(TRAINERS)),
    ("GET", "/constancias/{archivo}", Roles(PEOPLE_READERS)),
    ("POST", "/constancias/{folio}/revocar", Roles(TRAINERS)),
    ("POST", "/constancias/{folio}/reemitir", Roles(TRAINERS)),
    ("GET", "/verificar", Public),
    ("POST", "/verificar/documento", Public),
    ("GET", "/verificar/{folio}", Public),
    ("GET", "/api/v1/constancias/{folio}", Public),
    ("GET", "/.well-known/violeta/emisor.json", Public),
    ("GET", "/.well-known/violeta/estado.json", Public),
    ("GET", "/aprender", Roles(LEARNERS)),
    ("POST", "/aprender/vincular", Roles(LEARNERS)),
    ("GET", "/aprender/cursos/{id}", Roles(LEARNERS)),
    ("POST", "/aprender/cursos/{id}/inscribirme", Roles(LEARNERS)),
    ("GET", "/aprender/cursos/{id}/elementos/{item}", Roles(LEARNERS)),
    ("POST", "/aprender/cursos/{id}/elementos/{item}/vista", Roles(LEARNERS)),
    ("POST", "/aprender/cursos/{id}/elementos/{item}/intentos", Roles(LEARNERS)),
    ("POST", "/aprender/cursos/{id}/elementos/{item}/intentos/{attempt}", Roles(LEARNERS)),
    ("GET", "/aprender/constancias/{archivo}", Roles(LEARNERS)),
    ("GET", "/cursos/{id}/archivos/{name}", SignedIn),
    ("GET", "/cursos", Roles(COURSE_STAFF)),
    ("POST", "/cursos", Roles(COURSE_STAFF)),
    ("POST", "/cursos/importar", Roles(COURSE_STAFF)),
    ("GET", "/cursos/reportes", Roles(COURSE_STAFF)),
    ("GET", "/cursos/reportes.csv", Roles(COURSE_STAFF)),
    ("GET", "/cursos/reportes.xlsx", Roles(COURSE_STAFF)),
    ("GET", "/cursos/reportes/personas", Roles(PEOPLE_MANAGERS)),
    ("GET", "/cursos/{id}", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/estado", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/modulos", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/elementos", Roles(COURSE_STAFF)),
    ("GET", "/cursos/{id}/elementos/{item}", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/elementos/{item}", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/elementos/{item}/preguntas", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/elementos/{item}/preguntas/{question}/quitar", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/elementos/{item}/preguntas/{question}", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/elementos/{item}/cuestionario", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/elementos/{item}/mover", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/elementos/{item}/eliminar", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/modulos/{module}", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/modulos/{module}/mover", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/modulos/{module}/eliminar", Roles(COURSE_STAFF)),
    // A course's participants (names: course staff, within their people scope; audited) and
    // an extra quiz attempt for one of them.
    ("GET", "/cursos/{id}/participantes", Roles(COURSE_STAFF)),
    ("GET", "/cursos/{id}/participantes/{enrolment}", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/participantes/{enrolment}/intentos", Roles(COURSE_STAFF)),
    ("GET", "/cursos/{id}/vista-previa/{item}", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/archivos", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/grupos", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/inscripciones", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/moodle", Roles(COURSE_STAFF)),
    ("POST", "/cursos/{id}/constancias", Roles(COURSE_STAFF)),
    ("GET", "/cursos/{id}/constancias.zip", Roles(COURSE_STAFF)),
    ("GET", "/cursos/{id}/curso.zip", Roles(COURSE_STAFF)),
    ("GET", "/unidades", Roles(STAFF)),
    ("GET", "/unidades/nueva", Roles(REGISTRARS)),
    ("POST", "/unidades", Roles(REGISTRARS)),
    ("GET", "/unidades/{id}", Roles(STAFF)),
    ("POST", "/unidades/{id}/estado", Roles(REGISTRARS)),
    ("POST", "/unidades/{id}/integrantes", Roles(REGISTRARS)),
    ("GET", "/espacios", Roles(STAFF)),
    ("GET", "/espacios/nuevo", Roles(REGISTRARS)),
    ("POST", "/espacios", Roles(REGISTRARS)),
    ("POST", "/espacios/importar", Roles(REGISTRARS)),
    ("GET", "/espacios/visitas-vencidas", Roles(STAFF)),
    ("POST", "/espacios/visitas/{id}", Roles(REGISTRARS)),
    ("GET", "/espacios/{id}", Roles(STAFF)),
    ("GET", "/espacios/{id}/contacto", Roles(SPACE_CONTACT_READERS)),
    ("POST", "/espacios/{id}/estado", Roles(REGISTRARS)),
    ("POST", "/espacios/{id}/visitas", Roles(REGISTRARS)),
    ("GET", "/avgm/{id}/cobertura", Roles(STAFF)),
    ("GET", "/avgm/{id}/cobertura.csv", Roles(STAFF)),
    ("GET", "/avgm/{id}/cobertura.xlsx", Roles(STAFF)),
    // Competency certification (CONOCER standards)
    ("GET", "/certificacion", Roles(CERT_READERS)),
    ("POST", "/certificacion/estandares", Roles(CERT_MANAGERS)),
    ("POST", "/certificacion/estandares/importar", Roles(CERT_MANAGERS)),
    ("GET", "/certificacion/estandares/{id}", Roles(CERT_READERS)),
    ("POST", "/certificacion/estandares/{id}", Roles(CERT_MANAGERS)),
    ("POST", "/certificacion/estandares/{id}/grupos", Roles(CERT_MANAGERS)),
    ("GET", "/certificacion/procesos", Roles(CERT_READERS)),
    ("POST", "/certificacion/procesos", Roles(CERT_MANAGERS)),
    ("GET", "/certificacion/procesos/{id}", Roles(CERT_READERS)),
    ("POST", "/certificacion/procesos/{id}/avanzar", Roles(CERT_MANAGERS)),
    ("POST", "/certificacion/procesos/{id}/evaluacion", Roles(EVALUATORS)),
    ("POST", "/certificacion/procesos/{id}/certificado", Roles(CERT_MANAGERS)),
    // Institutions
    ("GET", "/instituciones", Roles(STAFF)),
    ("GET", "/instituciones/nueva", Roles(REGISTRARS)),
    ("POST", "/instituciones", Roles(REGISTRARS)),
    ("GET", "/instituciones/{id}/editar", Roles(REGISTRARS)),
    ("POST", "/instituciones/{id}", Roles(REGISTRARS)),
    // People
    ("GET", "/personas", Roles(PEOPLE_READERS)),
    ("GET", "/personas/nueva", Roles(PEOPLE_EDITORS)),
    ("POST", "/personas", Roles(PEOPLE_EDITORS)),
    ("GET", "/personas/importar", Roles(PEOPLE_MANAGERS)),
    ("POST", "/personas/importar", Roles(PEOPLE_MANAGERS)),
    ("GET", "/personas/{id}", Roles(PEOPLE_READERS)),
    ("GET", "/personas/{id}/contacto", Roles(CONTACT_READERS)),
    ("GET", "/personas/{id}/editar", Roles(PEOPLE_EDITORS)),
    ("POST", "/personas/{id}", Roles(PEOPLE_EDITORS)),
    ("POST", "/personas/{id}/fusionar", Roles(PEOPLE_MANAGERS)),
    // Accounts and audit
    ("GET", "/usuarios", Roles(ADMIN_ONLY)),
    ("POST", "/usuarios", Roles(ADMIN_ONLY)),
    ("GET", "/usuarios/{id}", Roles(ADMIN_ONLY)),
    ("POST", "/usuarios/{id}/roles", Roles(ADMIN_ONLY)),
    ("POST", "/usuarios/{id}/enlace", Roles(ADMIN_ONLY)),
    ("GET", "/auditoria", Roles(ADMIN_ONLY)),
    ("POST", "/auditoria/verificar", Roles(ADMIN_ONLY)),
    // JSON API
    ("GET", "/api/v1/estados", Roles(STAFF)),
    ("GET", "/api/v1/estados/{cve_ent}/municipios", Roles(STAFF)),
    ("GET", "/api/v1/estados/{cve_ent}/regiones", Roles(STAFF)),
    ("GET", "/api/v1/municipios/{cvegeo}", Roles(STAFF)),
    ("GET", "/api/v1/avgm", Roles(STAFF)),
    ("GET", "/api/v1/avgm/{id}", Roles(STAFF)),
    ("GET", "/api/v1/instituciones", Roles(STAFF)),
    ("GET", "/api/v1/personas", Roles(PEOPLE_READERS)),
    ("POST", "/api/v1/personas", Roles(PEOPLE_EDITORS)),
    ("GET", "/api/v1/personas/{id}", Roles(PEOPLE_READERS)),
    ("GET", "/api/v1/personas/{id}/contacto", Roles(CONTACT_READERS)),
    ("GET", "/api/v1/auditoria", Roles(ADMIN_ONLY)),
    // Learning centre: every account that takes courses sees the catalogue (published only,
    // without figures, unless it manages courses) and its own courses; enrolments are for
    // course staff.
    ("GET", "/api/v1/cursos", Roles(LEARNERS)),
    ("GET", "/api/v1/cursos/{id}", Roles(LEARNERS)),
    ("GET", "/api/v1/cursos/{id}/inscripciones", Roles(COURSE_STAFF)),
    ("GET", "/api/v1/aprender/cursos", Roles(LEARNERS)),
    // Alerta Rosa: staff pages, public pages and feeds, JSON API
    ("GET", "/alerta-rosa", Roles(ALERT_OPERATORS)),
    ("GET", "/alerta-rosa/nuevo", Roles(ALERT_OPERATORS)),
    ("POST", "/alerta-rosa", Roles(ALERT_OPERATORS)),
    ("GET", "/alerta-rosa/informe", Roles(ALERT_OPERATORS)),
    ("GET", "/alerta-rosa/informe.csv", Roles(ALERT_OPERATORS)),
    ("GET", "/alerta-rosa/{id}", Roles(ALERT_OPERATORS)),
    ("GET", "/alerta-rosa/{id}/privado", Roles(ALERT_PRIVATE)),
    ("GET", "/alerta-rosa/{id}/editar", Roles(ALERT_PRIVATE)),
    ("POST", "/alerta-rosa/{id}", Roles(ALERT_PRIVATE)),
    ("POST", "/alerta-rosa/{id}/riesgo", Roles(ALERT_OPERATORS)),
    ("POST", "/alerta-rosa/{id}/activar", Roles(ALERT_OPERATORS)),
    ("POST", "/alerta-rosa/{id}/concluir", Roles(ALERT_OPERATORS)),
    ("POST", "/alerta-rosa/{id}/traducciones", Roles(ALERT_OPERATORS)),
    ("GET", "/alerta-rosa/{id}/foto", Roles(ALERT_OPERATORS)),
    ("GET", "/alerta-rosa/{id}/ficha/{archivo}", Roles(ALERT_OPERATORS)),
    ("GET", "/alertas", Public),
    ("GET", "/alertas.atom", Public),
    ("GET", "/alertas/{folio}", Public),
    ("GET", "/alertas/{folio}/cap.xml", Public),
    ("GET", "/alertas/{folio}/{archivo}", Public),
    ("GET", "/api/v1/alertas", Roles(ALERT_OPERATORS)),
    ("POST", "/api/v1/alertas", Roles(ALERT_OPERATORS)),
    ("GET", "/api/v1/alertas/informe", Roles(ALERT_OPERATORS)),
    ("GET", "/api/v1/alertas/{id}", Roles(ALERT_OPERATORS)),
    ("GET", "/api/v1/alertas/{id}/privado", Roles(ALERT_PRIVATE)),
    ("POST", "/api/v1/alertas/{id}/riesgo", Roles(ALERT_OPERATORS)),
    ("POST", "/api/v1/alertas/{id}/activar", Roles(ALERT_OPERATORS)),
    ("POST", "/api/v1/alertas/{id}/concluir", Roles(ALERT_OPERATORS)),
    // Alerta Rosa dissemination (branch alerta-difusion)
    ("GET", "/canales", Roles(ALERT_OPERATORS)),
    ("POST", "/canales", Roles(ALERT_OPERATORS)),
    ("POST", "/canales/grupos", Roles(ALERT_OPERATORS)),
    ("POST", "/canales/grupos/{id}", Roles(ALERT_OPERATORS)),
    ("POST", "/canales/repeticion", Roles(ALERT_OPERATORS)),
    ("GET", "/canales/{id}", Roles(ALERT_OPERATORS)),
    ("POST", "/canales/{id}", Roles(ALERT_OPERATORS)),
    ("GET", "/alerta-rosa/{id}/difusion", Roles(ALERT_OPERATORS)),
    ("POST", "/difusion/{id}/manual", Roles(ALERT_OPERATORS)),
    ("POST", "/difusion/{id}/reintentar", Roles(ALERT_OPERATORS)),
    ("GET", "/api/v1/alertas/{id}/difusion", Roles(ALERT_OPERATORS)),
];

/// Demo accounts: (local part of the email, role).
const ACCOUNTS: [(&str, Role); 7] = [
    ("admin", Role::Administracion),
    ("coordinacion", Role::Coordinacion),
    ("instruccion", Role::Instruccion),
    ("evaluacion", Role::Evaluacion),
    ("alerta", Role::OperacionAlertaRosa),
    ("enlace", Role::EnlaceInstitucional),
    ("participante", Role::Participante),
];

/// Routes whose POST body is multipart (the file uploads).
const MULTIPART: &[&str] =
    &["/territorio/{cve_ent}/regiones/importar", "/avgm/importar", "/personas/importar", "/espacios/importar", "/certificacion/estandares/importar"];

// Alerta Rosa: the case forms are multipart (they carry the photo).
const ALERT_MULTIPART: &[&str] = &["/alerta-rosa", "/alerta-rosa/{id}"];

/// Example values for path parameters.
struct Examples {
    region: i64,
    declaration: i64,
    person: i64,
    user: i64,
    unit: i64,
    space: i64,
    visit: i64,
    standard: i64,
    process: i64,
    // Alerta Rosa: a demo case (concluded: its public page says only that) and its folio.
    alert: i64,
    alert_folio: String,
}

impl Examples {
    /// Records for the {id} parameters, from the demo data.
    async fn load(app: &TestApp) -> Examples {
        let store = app.store();
        let oaxaca = StateKey::parse("20").unwrap();
        let region = store.regions(&oaxaca).await.unwrap().first().expect("demo regions").id;
        let declaration = store.declarations(None).await.unwrap().first().expect("demo declarations").id;
        // A person the enlace may see too, so "allowed" means a real page for every role.
        let health = store.find_institution("Secretaría de Salud del Estado de México").await.unwrap().expect("demo institution");
        let (people, _) = store.people(PeopleScope::Institution(health), &Default::default(), 1, 0).await.unwrap();
        let person = people.first().expect("demo people in Salud Edomex").id;
        // A throw-away account, so POST /usuarios/{id}/roles with no roles harms no demo account.
        let user = store
            .create_user(
                &test_actor(),
                &NewUser { email: "objetivo@prueba.violeta.mx".into(), display_name: "Objetivo".into(), roles: vec![Role::Participante], institution_id: None, person_id: None },
            )
            .await
            .unwrap();
        let places = violeta_store::safety::PlaceFilter::default();
        let unit = store.units(&places).await.unwrap().first().expect("demo units").id;
        let space = store.safe_spaces(&places).await.unwrap().first().expect("demo espacios seguros").id;
        let visit = store.schedule_visit(&test_actor(), space, chrono::NaiveDate::from_ymd_opt(2030, 1, 15).unwrap()).await.unwrap();
        let standard = store.standard_by_code("EC0539").await.unwrap().expect("shipped standard").id;
        // A candidate the enlace may see too.
        let process = store.processes(PeopleScope::Institution(health), &Default::default()).await.unwrap().first().expect("demo candidates in Salud Edomex").id;
        // Alerta Rosa
        let first_alert = store.alerts(&Default::default()).await.unwrap().into_iter().find(|a| a.closed_at.is_some()).expect("demo alerts");
        let (alert, alert_folio) = (first_alert.id, first_alert.folio);
        Examples { region, declaration, person, user, unit, space, visit, standard, process, alert, alert_folio }
    }

    fn path(&self, pattern: &str) -> String {
        // Alerta Rosa
        if ["/alertas/", "/alerta-rosa/", "/api/v1/alertas/"].iter().any(|p| pattern.starts_with(p)) {
            let file = if pattern.starts_with("/alertas/") { "foto.jpg" } else { "ficha-1080x1080.png" };
            return pattern.replace("{folio}", &self.alert_folio).replace("{id}", &self.alert.to_string()).replace("{archivo}", file);
        }
        let id = if pattern.starts_with("/territorio/regiones/") {
            self.region.to_string()
        } else if pattern.starts_with("/avgm/") || pattern.starts_with("/api/v1/avgm/") {
            self.declaration.to_string()
        } else if pattern.starts_with("/personas/") || pattern.starts_with("/api/v1/personas/") {
            self.person.to_string()
        } else if pattern.starts_with("/usuarios/") {
            self.user.to_string()
        } else if pattern.starts_with("/unidades/") {
            self.unit.to_string()
        } else if pattern.starts_with("/certificacion/estandares/") {
            self.standard.to_string()
        } else if pattern.starts_with("/certificacion/procesos/") {
            self.process.to_string()
        } else if pattern.starts_with("/espacios/visitas/") {
            self.visit.to_string()
        } else if pattern.starts_with("/espacios/") {
            self.space.to_string()
        } else {
            // API token ids: revoking an id that is not one's own changes nothing.
            "1".into()
        };
        let path = pattern
            .replace("{*path}", "violeta.css")
            .replace("{file}", "violeta.css")
            .replace("{token}", "enlace-inventado-que-no-existe-0123456789")
            .replace("{cve_ent}", "20")
            .replace("{cvegeo}", "20067")
            .replace("{evidence_id}", "1")
            .replace("{item}", "1")
            .replace("{attempt}", "1")
            .replace("{question}", "1")
            .replace("{module}", "1")
            .replace("{enrolment}", "1")
            .replace("{name}", "portada.png")
            .replace("{folio}", "VIO-0000-0000-0000")
            .replace("{archivo}", "VIO-0000-0000-0000.pdf")
            .replace("{id}", &id);
        assert!(!path.contains('{'), "no example for a parameter of {pattern}; add one to the access test");
        path
    }
}

fn may(rule: May, role: Option<Role>) -> bool {
    match (rule, role) {
        (Public, _) => true,
        (SignedIn, r) => r.is_some(),
        (Roles(list), Some(r)) => list.contains(&r),
        (Roles(_), None) => false,
    }
}

async fn call(app: &TestApp, who: &Who, method: &str, pattern: &str, path: &str) -> common::Resp {
    match method {
        "GET" => app.get(who, path).await,
        "POST" if pattern.starts_with("/api/") => app.post_json(who, path, &serde_json::json!({})).await,
        "POST" if ALERT_MULTIPART.contains(&pattern) => {
            let csrf = who.csrf.clone().unwrap_or_default();
            app.post_multipart(who, path, &[("csrf", &csrf)], None).await
        }
        "POST" if MULTIPART.contains(&pattern) => {
            let csrf = who.csrf.clone().unwrap_or_default();
            app.post_multipart(who, path, &[("csrf", &csrf)], None).await
        }
        "POST" => app.post_form(who, path, &[]).await,
        other => panic!("method {other} not covered by the access test"),
    }
}

#[test]
fn expectation_table_has_no_duplicates() {
    let mut seen = BTreeSet::new();
    for (m, p, _) in EXPECTED {
        assert!(seen.insert((*m, *p)), "{m} {p} appears twice in EXPECTED");
    }
}

#[tokio::test]
async fn every_route_with_every_role() {
    let app = TestApp::demo().await;

    // The table covers exactly the routes the application has.
    let catalog: BTreeSet<(String, String)> =
        violeta_web::routes::catalog(app.state.clone()).into_iter().map(|r| (r.method.to_string(), r.path.to_string())).collect();
    let expected: BTreeSet<(String, String)> = EXPECTED.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    let missing: Vec<_> = catalog.difference(&expected).collect();
    let stale: Vec<_> = expected.difference(&catalog).collect();
    assert!(missing.is_empty(), "routes without an expectation in the access test: {missing:?}");
    assert!(stale.is_empty(), "expectations for routes that do not exist: {stale:?}");

    let examples = Examples::load(&app).await;

    // Principals: the public (with the pre-session CSRF cookie, so its POSTs pass the
    // CSRF check and reach the access rule) and one session per role.
    let mut principals: Vec<(Option<Role>, Who)> = vec![(None, app.visitor(addr(1)).await)];
    for (i, (local, role)) in ACCOUNTS.iter().enumerate() {
        principals.push((Some(*role), app.login_demo(local, addr(10 + i as u8)).await));
    }

    // Signing out goes last, so it does not end the session before the other checks.
    let mut routes: Vec<&(&str, &str, May)> = EXPECTED.iter().collect();
    routes.sort_by_key(|(m, p, _)| (*m == "POST" && *p == "/salir", *m, *p));

    let mut failures = Vec::new();
    let mut outcomes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (role, who) in &principals {
        let who_name = role.map(|r| r.code()).unwrap_or("anónimo");
        for (method, pattern, rule) in &routes {
            let path = examples.path(pattern);
            let r = call(&app, who, method, pattern, &path).await;
            let status = r.status.as_u16();
            let api = pattern.starts_with("/api/");
            outcomes.entry(format!("{method} {pattern}")).or_default().push(format!("{who_name}={status}"));
            let problem = if may(*rule, *role) {
                if status == 403 || status == 401 || r.is_sign_in_redirect() {
                    Some(format!("should be let in, got {status} {:?}", r.location()))
                } else if status >= 500 {
                    Some(format!("let in but failed with {status}: {}", r.body))
                } else {
                    None
                }
            } else if role.is_some() {
                if status != 403 {
                    Some(format!("should be refused with 403, got {status} {:?}", r.location()))
                } else if api && r.json()["error"]["codigo"] != "prohibido" {
                    Some(format!("403 without the JSON error body: {}", r.body))
                } else {
                    None
                }
            } else if api {
                if status != 401 {
                    Some(format!("should be 401, got {status}"))
                } else if r.json()["error"]["codigo"] != "no_autenticado" {
                    Some(format!("401 without codigo no_autenticado: {}", r.body))
                } else {
                    None
                }
            } else {
                // Pages send the visitor to sign in, coming back to the page for a GET.
                let back = if *method == "GET" { path.clone() } else { "/".into() };
                let target = format!("/entrar?siguiente={}", urlencode(&back));
                if !r.is_redirect() || r.location() != Some(target.as_str()) {
                    Some(format!("should redirect to {target}, got {status} {:?}", r.location()))
                } else {
                    None
                }
            };
            if let Some(p) = problem {
                failures.push(format!("{who_name:>22} {method:4} {path}: {p}"));
            }
        }
    }
    // `VIOLETA_ACCESS_TABLE=1 cargo test -p violeta-web --test access -- --nocapture` prints the table.
    if std::env::var_os("VIOLETA_ACCESS_TABLE").is_some() {
        for (route, statuses) in &outcomes {
            eprintln!("{route:50} {}", statuses.join(" "));
        }
    }
    assert!(failures.is_empty(), "access matrix failures:\n{}\n\nall outcomes:\n{:#?}", failures.join("\n"), outcomes);

    // Signing out really ended every session.
    for (role, who) in &principals[1..] {
        let r = app.get(who, "/panel").await;
        assert!(r.is_sign_in_redirect(), "{role:?}: the session still works after /salir: {}", r.status);
    }
    app.cleanup().await;
}

/// The enlace institucional sees only its own institution's people: anyone else is
/// "not found" (never "forbidden", so existence does not leak), on pages and API alike.
#[tokio::test]
async fn enlace_sees_only_its_institution() {
    let app = TestApp::demo().await;
    let store = app.store();
    let health = store.find_institution("Secretaría de Salud del Estado de México").await.unwrap().unwrap();
    let other = store.find_institution("Fiscalía General del Estado de Oaxaca").await.unwrap().unwrap();
    let (own, own_total) = store.people(PeopleScope::Institution(health), &Default::default(), 1, 0).await.unwrap();
    let (foreign, _) = store.people(PeopleScope::Institution(other), &Default::default(), 1, 0).await.unwrap();
    let (own, foreign) = (own[0].clone(), foreign[0].clone());
    let all_total = store.count_people().await.unwrap();
    assert!(own_total < all_total);

    let enlace = app.login_demo("enlace", addr(30)).await;
    let own_email = store.personal_data(&common::test_actor(), PeopleScope::All, own.id).await.unwrap().email;

    // Own institution: visible, contact data included.
    app.get(&enlace, &format!("/personas/{}", own.id)).await.expect(200);
    app.get(&enlace, &format!("/personas/{}/contacto", own.id)).await.expect(200).expect_contains(&own_email);
    app.get(&enlace, &format!("/api/v1/personas/{}", own.id)).await.expect(200);
    let c = app.get(&enlace, &format!("/api/v1/personas/{}/contacto", own.id)).await;
    c.expect(200);
    assert_eq!(c.json()["correo"], own_email.as_str());

    // Another institution: 404 everywhere.
    for path in [
        format!("/personas/{}", foreign.id),
        format!("/personas/{}/contacto", foreign.id),
        format!("/personas/{}/editar", foreign.id),
    ] {
        let r = app.get(&enlace, &path).await;
        r.expect(404);
        assert!(r.content_type().starts_with("text/html"), "{path}: {}", r.content_type());
    }
    for path in [format!("/api/v1/personas/{}", foreign.id), format!("/api/v1/personas/{}/contacto", foreign.id)] {
        let r = app.get(&enlace, &path).await;
        r.expect(404);
        assert_eq!(r.json()["error"]["codigo"], "no_encontrado", "{path}");
    }

    // Lists and counts are scoped too.
    let list = app.get(&enlace, "/api/v1/personas?limite=500").await;
    list.expect(200);
    let list = list.json();
    assert_eq!(list["total"].as_i64(), Some(own_total));
    assert!(list["personas"].as_array().unwrap().iter().all(|p| p["institucion_id"].as_i64() == Some(health)));
    let page = app.get(&enlace, "/personas").await;
    page.expect(200);
    assert!(!page.body.contains(&format!("/personas/{}\"", foreign.id)), "the list shows a person of another institution");

    // The enlace cannot register people for another institution either.
    let before = app.people_count().await;
    let new_curp = common::curp("EXEX900101MMCXXX0");
    let r = app
        .post_form(&enlace, "/personas", &[("curp", &new_curp), ("given_names", "Prueba"), ("first_surname", "Ajena"), ("institution", &other.to_string())])
        .await;
    r.expect(422).expect_contains("solo puede registrar personas de su institución");
    let r = app
        .post_json(&enlace, "/api/v1/personas", &serde_json::json!({"curp": new_curp, "nombres": "Prueba", "primer_apellido": "Ajena", "institucion_id": other}))
        .await;
    r.expect(403);
    assert_eq!(app.people_count().await, before, "nothing was written");
    // No reads of the foreign person's contact data were recorded.
    let reads = app.audit_actions("persona", &foreign.id.to_string()).await;
    assert!(reads.iter().all(|e| e.action != "persona.leer_datos_personales"), "{reads:?}");
    app.cleanup().await;
}

/// No POST route takes a cookie-authenticated request without the CSRF token, whatever
/// the body's encoding: form, multipart (also on routes that read no body, such as
/// /salir or /usuarios/{id}/enlace) or JSON. Checked as the administrator, who may use
/// every route, so a refusal can only come from the CSRF check.
#[tokio::test]
async fn every_post_route_refuses_a_request_without_csrf() {
    let app = TestApp::demo().await;
    let examples = Examples::load(&app).await;
    let admin = app.login_demo("admin", addr(31)).await;
    let mut no_token = admin.clone();
    no_token.csrf = None;
    let people = app.people_count().await;
    let audit = app.audit_count().await;

    let mut failures = Vec::new();
    for route in violeta_web::routes::catalog(app.state.clone()).into_iter().filter(|r| r.method == "POST") {
        let path = examples.path(route.path);
        let form = app.post_form(&no_token, &path, &[("name", "x"), ("municipalities", "20067")]).await;
        let multipart = app.post_multipart(&no_token, &path, &[("name", "x"), ("municipalities", "20067")], Some(("archivo", "lista.csv", b"CURP,Nombre\n"))).await;
        let json = app.post_json(&no_token, &path, &serde_json::json!({"nombres": "x"})).await;
        let wrong = app.post_form(&Who { csrf: Some("no-es-el-token-de-esta-sesion-000000000".into()), ..admin.clone() }, &path, &[]).await;
        for (kind, r) in [("form", &form), ("multipart", &multipart), ("json", &json), ("wrong token", &wrong)] {
            if !matches!(r.status.as_u16(), 403 | 422) {
                failures.push(format!("POST {path} ({kind}) without a valid token: {} {:?}", r.status, r.location()));
            } else if r.status == 422 && !r.body.contains("el formulario caducó") {
                failures.push(format!("POST {path} ({kind}): 422 from the handler, not the CSRF check: {}", r.body));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(app.people_count().await, people, "a refused request wrote people");
    assert_eq!(app.audit_count().await, audit, "a refused request wrote to the audit trail");
    // POST /salir without the token did not end the session.
    app.get(&admin, "/panel").await.expect(200);
    app.cleanup().await;
}
