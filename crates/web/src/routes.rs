//! The route table: every path, its method, and who may use it, in one place.
//! [`build`] returns the router and the catalog the access tests walk.

use crate::auth::Ctx;
use crate::error::{ApiError, AppError};
use crate::{AppState, api, assets, auth, metrics, pages};
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use violeta_domain::access::Permission;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in account.
    SignedIn,
    /// A signed-in account holding the permission.
    Needs(Permission),
}

#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

struct Routes {
    router: Router<AppState>,
    catalog: Vec<RouteInfo>,
}

impl Routes {
    fn add(mut self, method: &'static str, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> Routes {
        let api = path.starts_with("/api/");
        let guarded = handler.route_layer(middleware::from_fn(move |req: Request, next: Next| guard(access, api, req, next)));
        self.router = self.router.route(path, guarded);
        self.catalog.push(RouteInfo { method, path, access });
        self
    }
    fn get(self, path: &'static str, access: Access, h: MethodRouter<AppState>) -> Routes {
        self.add("GET", path, access, h)
    }
    fn post(self, path: &'static str, access: Access, h: MethodRouter<AppState>) -> Routes {
        self.add("POST", path, access, h)
    }
}

async fn guard(access: Access, api: bool, req: Request, next: Next) -> Response {
    let Some(ctx) = req.extensions().get::<Ctx>() else {
        return AppError::Internal("falta el contexto de autenticación".into()).into_response();
    };
    let allowed = match access {
        Access::Public => true,
        Access::SignedIn => ctx.principal.is_authenticated(),
        Access::Needs(p) => ctx.principal.can(p),
    };
    if !allowed {
        let error = if ctx.principal.is_authenticated() {
            AppError::Forbidden
        } else {
            let next_path = if req.method() == axum::http::Method::GET { req.uri().path().to_string() } else { "/".into() };
            AppError::SignIn { next: next_path }
        };
        return if api { ApiError(error).into_response() } else { error.into_response() };
    }
    // Only once access is granted is a body read, to check its CSRF token.
    let limit = if access == Access::Public { auth::FORM_BYTES } else { auth::MAX_UPLOAD_BYTES };
    match auth::verify_csrf(req, limit).await {
        Ok(req) => next.run(req).await,
        Err(refused) => refused,
    }
}

/// The router and its catalog.
pub fn build(state: AppState) -> (Router, Vec<RouteInfo>) {
    use Access::*;
    use Permission::*;
    use axum::routing::{get, post};
    let routes = Routes { router: Router::new(), catalog: Vec::new() }
        // Public
        .get("/", Public, get(pages::home::index))
        .get("/healthz", Public, get(pages::home::healthz))
        .get("/metrics", Public, get(metrics::render))
        .get("/static/{*path}", Public, get(assets::serve))
        .get("/entrar", Public, get(pages::account::login_form))
        .post("/entrar", Public, post(pages::account::login))
        .get("/contrasena/{token}", Public, get(pages::account::password_form))
        .post("/contrasena/{token}", Public, post(pages::account::set_password))
        .get("/api/v1/openapi.json", Public, get(api::openapi))
        // Any account
        .post("/salir", SignedIn, post(pages::account::logout))
        .get("/panel", SignedIn, get(pages::home::dashboard))
        .get("/cuenta", SignedIn, get(pages::account::mine))
        .post("/cuenta/tokens", Needs(ManageApiTokens), post(pages::account::create_token))
        .post("/cuenta/tokens/{id}/revocar", Needs(ManageApiTokens), post(pages::account::revoke_token))
        // Territory
        .get("/territorio", Needs(ViewRegistry), get(pages::territory::states))
        .get("/territorio/{cve_ent}", Needs(ViewRegistry), get(pages::territory::state))
        .get("/territorio/municipio/{cvegeo}", Needs(ViewRegistry), get(pages::territory::municipality))
        .post("/territorio/{cve_ent}/regiones", Needs(EditRegistry), post(pages::territory::create_region))
        .post("/territorio/regiones/{id}/municipios", Needs(EditRegistry), post(pages::territory::assign_region))
        .post("/territorio/regiones/{id}/quitar", Needs(EditRegistry), post(pages::territory::remove_from_region))
        .post("/territorio/regiones/{id}", Needs(EditRegistry), post(pages::territory::update_region))
        .post("/territorio/{cve_ent}/regiones/importar", Needs(EditRegistry), post(pages::territory::import_regions))
        .get("/avgm", Needs(ViewRegistry), get(pages::territory::declarations))
        .get("/avgm/nueva", Needs(EditRegistry), get(pages::territory::new_declaration))
        .post("/avgm", Needs(EditRegistry), post(pages::territory::create_declaration))
        .post("/avgm/importar", Needs(EditRegistry), post(pages::territory::import_declarations))
        .get("/avgm/{id}", Needs(ViewRegistry), get(pages::territory::declaration))
        .post("/avgm/{id}/municipios", Needs(EditRegistry), post(pages::territory::add_declaration_municipalities))
        .post("/avgm/{id}/medidas", Needs(EditRegistry), post(pages::territory::add_measure))
        // Training sessions and attendance
        .get("/capacitaciones", Needs(ViewRegistry), get(pages::trainings::list))
        .get("/capacitaciones/nueva", Needs(ManageTrainings), get(pages::trainings::new_form))
        .post("/capacitaciones", Needs(ManageTrainings), post(pages::trainings::create))
        .post("/programas", Needs(ManageTrainings), post(pages::trainings::create_programme))
        .get("/capacitaciones/{id}", Needs(ViewRegistry), get(pages::trainings::show))
        .post("/capacitaciones/{id}/estado", Needs(ManageTrainings), post(pages::trainings::set_status))
        .post("/capacitaciones/{id}/lista", Needs(ManageTrainings), post(pages::trainings::upload_list))
        .post("/capacitaciones/{id}/lista/confirmar", Needs(ManageTrainings), post(pages::trainings::confirm_list))
        .post("/capacitaciones/{id}/asistencia", Needs(ManageTrainings), post(pages::trainings::capture))
        .post("/capacitaciones/{id}/evidencias", Needs(ManageTrainings), post(pages::trainings::add_evidence))
        .get("/capacitaciones/{id}/evidencias/{evidence_id}", Needs(ViewRegistry), get(pages::trainings::evidence))
        .get("/capacitaciones/{id}/codigo", Needs(ManageTrainings), get(pages::trainings::code_screen))
        .get("/asistencia/{id}", Public, get(pages::trainings::checkin_form))
        .post("/asistencia/{id}", Public, post(pages::trainings::checkin))
        // Constancias
        .post("/capacitaciones/{id}/constancias", Needs(ManageTrainings), post(pages::constancias::issue))
        .get("/constancias/{archivo}", Needs(ViewPeople), get(pages::constancias::pdf))
        .post("/constancias/{folio}/revocar", Needs(ManageTrainings), post(pages::constancias::revoke))
        .post("/constancias/{folio}/reemitir", Needs(ManageTrainings), post(pages::constancias::reissue))
        .get("/verificar", Public, get(pages::constancias::lookup))
        .post("/verificar/documento", Public, post(pages::constancias::verify_document))
        // `{folio}` or `{folio}.json` (the signed document): the router has no suffix patterns.
        .get("/verificar/{folio}", Public, get(pages::constancias::verify_page))
        .get("/api/v1/constancias/{folio}", Public, get(api::constancias::verify))
        .get("/.well-known/violeta/emisor.json", Public, get(pages::constancias::issuer))
        .get("/.well-known/violeta/estado.json", Public, get(pages::constancias::status_list))
        // Learning centre: the learner
        .get("/aprender", Needs(TakeCourses), get(pages::learn::dashboard))
        .post("/aprender/vincular", Needs(TakeCourses), post(pages::learn::link))
        .get("/aprender/cursos/{id}", Needs(TakeCourses), get(pages::learn::course))
        .post("/aprender/cursos/{id}/inscribirme", Needs(TakeCourses), post(pages::learn::enrol))
        .get("/aprender/cursos/{id}/elementos/{item}", Needs(TakeCourses), get(pages::learn::item))
        .post("/aprender/cursos/{id}/elementos/{item}/vista", Needs(TakeCourses), post(pages::learn::seen))
        .post("/aprender/cursos/{id}/elementos/{item}/intentos", Needs(TakeCourses), post(pages::learn::start_attempt))
        .post("/aprender/cursos/{id}/elementos/{item}/intentos/{attempt}", Needs(TakeCourses), post(pages::learn::submit_attempt))
        .get("/aprender/constancias/{archivo}", Needs(TakeCourses), get(pages::learn::constancia_pdf))
        .get("/cursos/{id}/archivos/{name}", SignedIn, get(pages::learn::file))
        // Learning centre: staff
        .get("/cursos", Needs(ManageCourses), get(pages::courses::list))
        .post("/cursos", Needs(ManageCourses), post(pages::courses::create))
        .post("/cursos/importar", Needs(ManageCourses), post(pages::courses::import))
        .get("/cursos/reportes", Needs(ManageCourses), get(pages::courses::report))
        .get("/cursos/reportes.csv", Needs(ManageCourses), get(pages::courses::report_csv))
        .get("/cursos/reportes.xlsx", Needs(ManageCourses), get(pages::courses::report_xlsx))
        .get("/cursos/reportes/personas", Needs(ManagePeople), get(pages::courses::report_people))
        .get("/cursos/{id}", Needs(ManageCourses), get(pages::courses::show))
        .post("/cursos/{id}", Needs(ManageCourses), post(pages::courses::update))
        .post("/cursos/{id}/estado", Needs(ManageCourses), post(pages::courses::set_status))
        .post("/cursos/{id}/modulos", Needs(ManageCourses), post(pages::courses::add_module))
        .post("/cursos/{id}/elementos", Needs(ManageCourses), post(pages::courses::add_item))
        .get("/cursos/{id}/elementos/{item}", Needs(ManageCourses), get(pages::courses::item))
        .post("/cursos/{id}/elementos/{item}", Needs(ManageCourses), post(pages::courses::update_lesson))
        .post("/cursos/{id}/elementos/{item}/preguntas", Needs(ManageCourses), post(pages::courses::add_question))
        .post("/cursos/{id}/elementos/{item}/preguntas/{question}/quitar", Needs(ManageCourses), post(pages::courses::remove_question))
        .post("/cursos/{id}/elementos/{item}/preguntas/{question}", Needs(ManageCourses), post(pages::courses::update_question))
        .post("/cursos/{id}/elementos/{item}/cuestionario", Needs(ManageCourses), post(pages::courses::update_quiz))
        .post("/cursos/{id}/elementos/{item}/mover", Needs(ManageCourses), post(pages::courses::move_item))
        .post("/cursos/{id}/elementos/{item}/eliminar", Needs(ManageCourses), post(pages::courses::delete_item))
        .post("/cursos/{id}/modulos/{module}", Needs(ManageCourses), post(pages::courses::rename_module))
        .post("/cursos/{id}/modulos/{module}/mover", Needs(ManageCourses), post(pages::courses::move_module))
        .post("/cursos/{id}/modulos/{module}/eliminar", Needs(ManageCourses), post(pages::courses::delete_module))
        .get("/cursos/{id}/participantes", Needs(ManageCourses), get(pages::courses::participants))
        .get("/cursos/{id}/participantes/{enrolment}", Needs(ManageCourses), get(pages::courses::participant))
        .post("/cursos/{id}/participantes/{enrolment}/intentos", Needs(ManageCourses), post(pages::courses::grant_attempt))
        .get("/cursos/{id}/vista-previa/{item}", Needs(ManageCourses), get(pages::learn::preview))
        .post("/cursos/{id}/archivos", Needs(ManageCourses), post(pages::courses::add_file))
        .post("/cursos/{id}/grupos", Needs(ManageCourses), post(pages::courses::add_cohort))
        .post("/cursos/{id}/inscripciones", Needs(ManageCourses), post(pages::courses::enrol_file))
        .post("/cursos/{id}/moodle", Needs(ManageCourses), post(pages::courses::import_moodle))
        .post("/cursos/{id}/constancias", Needs(ManageCourses), post(pages::courses::issue))
        .get("/cursos/{id}/constancias.zip", Needs(ManageCourses), get(pages::courses::constancias_zip))
        .get("/cursos/{id}/curso.zip", Needs(ManageCourses), get(pages::courses::export))
        // Rapid-reaction units, espacios seguros, coverage
        .get("/unidades", Needs(ViewRegistry), get(pages::safety::units))
        .get("/unidades/nueva", Needs(EditRegistry), get(pages::safety::new_unit))
        .post("/unidades", Needs(EditRegistry), post(pages::safety::create_unit))
        .get("/unidades/{id}", Needs(ViewRegistry), get(pages::safety::unit))
        .post("/unidades/{id}/estado", Needs(EditRegistry), post(pages::safety::unit_status))
        .post("/unidades/{id}/integrantes", Needs(EditRegistry), post(pages::safety::add_member))
        .get("/espacios", Needs(ViewRegistry), get(pages::safety::spaces))
        .get("/espacios/nuevo", Needs(EditRegistry), get(pages::safety::new_space))
        .post("/espacios", Needs(EditRegistry), post(pages::safety::create_space))
        .post("/espacios/importar", Needs(EditRegistry), post(pages::safety::import_spaces))
        .get("/espacios/visitas-vencidas", Needs(ViewRegistry), get(pages::safety::overdue))
        .post("/espacios/visitas/{id}", Needs(EditRegistry), post(pages::safety::record_visit))
        .get("/espacios/{id}", Needs(ViewRegistry), get(pages::safety::space))
        .get("/espacios/{id}/contacto", Needs(ViewPersonalData), get(pages::safety::space_contact))
        .post("/espacios/{id}/estado", Needs(EditRegistry), post(pages::safety::space_status))
        .post("/espacios/{id}/visitas", Needs(EditRegistry), post(pages::safety::schedule_visit))
        .get("/avgm/{id}/cobertura", Needs(ViewRegistry), get(pages::safety::coverage))
        .get("/avgm/{id}/cobertura.csv", Needs(ViewRegistry), get(pages::safety::coverage_csv))
        .get("/avgm/{id}/cobertura.xlsx", Needs(ViewRegistry), get(pages::safety::coverage_xlsx))
        // Certification
        .get("/certificacion", Needs(ViewCertification), get(pages::certification::index))
        .post("/certificacion/estandares", Needs(ManageCertification), post(pages::certification::create_standard))
        .post("/certificacion/estandares/importar", Needs(ManageCertification), post(pages::certification::import_standards))
        .get("/certificacion/estandares/{id}", Needs(ViewCertification), get(pages::certification::standard))
        .post("/certificacion/estandares/{id}", Needs(ManageCertification), post(pages::certification::update_standard))
        .post("/certificacion/estandares/{id}/grupos", Needs(ManageCertification), post(pages::certification::create_cohort))
        .get("/certificacion/procesos", Needs(ViewCertification), get(pages::certification::processes))
        .post("/certificacion/procesos", Needs(ManageCertification), post(pages::certification::open))
        .get("/certificacion/procesos/{id}", Needs(ViewCertification), get(pages::certification::process))
        .post("/certificacion/procesos/{id}/avanzar", Needs(ManageCertification), post(pages::certification::advance))
        .post("/certificacion/procesos/{id}/evaluacion", Needs(RecordEvaluations), post(pages::certification::record_evaluation))
        .post("/certificacion/procesos/{id}/certificado", Needs(ManageCertification), post(pages::certification::record_certificate))
        // Institutions
        .get("/instituciones", Needs(ViewRegistry), get(pages::institutions::list))
        .get("/instituciones/nueva", Needs(EditRegistry), get(pages::institutions::new_form))
        .post("/instituciones", Needs(EditRegistry), post(pages::institutions::create))
        .get("/instituciones/{id}/editar", Needs(EditRegistry), get(pages::institutions::edit_form))
        .post("/instituciones/{id}", Needs(EditRegistry), post(pages::institutions::update))
        // People
        .get("/personas", Needs(ViewPeople), get(pages::people::list))
        .get("/personas/nueva", Needs(EditPeople), get(pages::people::new_form))
        .post("/personas", Needs(EditPeople), post(pages::people::create))
        .get("/personas/importar", Needs(ManagePeople), get(pages::people::import_form))
        .post("/personas/importar", Needs(ManagePeople), post(pages::people::import))
        .get("/personas/{id}", Needs(ViewPeople), get(pages::people::show))
        .get("/personas/{id}/contacto", Needs(ViewPersonalData), get(pages::people::contact))
        .get("/personas/{id}/editar", Needs(EditPeople), get(pages::people::edit_form))
        .post("/personas/{id}", Needs(EditPeople), post(pages::people::update))
        .post("/personas/{id}/fusionar", Needs(ManagePeople), post(pages::people::merge))
        // Accounts and audit
        .get("/usuarios", Needs(ManageUsers), get(pages::users::list))
        .post("/usuarios", Needs(ManageUsers), post(pages::users::create))
        .get("/usuarios/{id}", Needs(ManageUsers), get(pages::users::show))
        .post("/usuarios/{id}/roles", Needs(ManageUsers), post(pages::users::set_roles))
        .post("/usuarios/{id}/enlace", Needs(ManageUsers), post(pages::users::password_link))
        .get("/auditoria", Needs(ViewAudit), get(pages::audit::list))
        .post("/auditoria/verificar", Needs(ViewAudit), post(pages::audit::verify))
        // JSON API
        .get("/api/v1/estados", Needs(ViewRegistry), get(api::territory::states))
        .get("/api/v1/estados/{cve_ent}/municipios", Needs(ViewRegistry), get(api::territory::municipalities))
        .get("/api/v1/estados/{cve_ent}/regiones", Needs(ViewRegistry), get(api::territory::regions))
        .get("/api/v1/municipios/{cvegeo}", Needs(ViewRegistry), get(api::territory::municipality))
        .get("/api/v1/avgm", Needs(ViewRegistry), get(api::territory::declarations))
        .get("/api/v1/avgm/{id}", Needs(ViewRegistry), get(api::territory::declaration))
        .get("/api/v1/instituciones", Needs(ViewRegistry), get(api::people::institutions))
        .get("/api/v1/personas", Needs(ViewPeople), get(api::people::list))
        .post("/api/v1/personas", Needs(EditPeople), post(api::people::create))
        .get("/api/v1/personas/{id}", Needs(ViewPeople), get(api::people::show))
        .get("/api/v1/personas/{id}/contacto", Needs(ViewPersonalData), get(api::people::contact))
        .get("/api/v1/auditoria", Needs(ViewAudit), get(api::audit::list))
        // Centro de Aprendizaje Digital: the catalogue and outlines by permission, the learner's
        // own courses, and a course's enrolments for course staff (audited)
        .get("/api/v1/cursos", Needs(TakeCourses), get(api::learning::list))
        .get("/api/v1/cursos/{id}", Needs(TakeCourses), get(api::learning::outline))
        .get("/api/v1/cursos/{id}/inscripciones", Needs(ManageCourses), get(api::learning::enrolments))
        .get("/api/v1/aprender/cursos", Needs(TakeCourses), get(api::learning::mine))
        // Alerta Rosa dissemination: official accounts, and each alert's deliveries (branch alerta-difusion)
        .get("/canales", Needs(OperateAlerts), get(pages::channels::list))
        .post("/canales", Needs(OperateAlerts), post(pages::channels::create))
        .post("/canales/grupos", Needs(OperateAlerts), post(pages::channels::create_group))
        .post("/canales/grupos/{id}", Needs(OperateAlerts), post(pages::channels::update_group))
        .post("/canales/repeticion", Needs(OperateAlerts), post(pages::channels::set_repeat))
        .get("/canales/{id}", Needs(OperateAlerts), get(pages::channels::edit_form))
        .post("/canales/{id}", Needs(OperateAlerts), post(pages::channels::update))
        .get("/alerta-rosa/{id}/difusion", Needs(OperateAlerts), get(pages::channels::deliveries))
        .post("/difusion/{id}/manual", Needs(OperateAlerts), post(pages::channels::record_manual))
        .post("/difusion/{id}/reintentar", Needs(OperateAlerts), post(pages::channels::retry))
        .get("/api/v1/alertas/{id}/difusion", Needs(OperateAlerts), get(api::dissemination::deliveries))
        // Public map of espacios seguros and units
        .get("/mapa", Public, get(pages::map::page))
        .get("/api/v1/espacios-seguros.geojson", Public, get(api::map::geojson))
        // Alerta Rosa: cases (staff), public pages and feeds, JSON API
        .get("/alerta-rosa", Needs(OperateAlerts), get(pages::alerts::list))
        .get("/alerta-rosa/nuevo", Needs(OperateAlerts), get(pages::alerts::new_form))
        .post("/alerta-rosa", Needs(OperateAlerts), post(pages::alerts::create))
        .get("/alerta-rosa/informe", Needs(OperateAlerts), get(pages::alerts::report))
        .get("/alerta-rosa/informe.csv", Needs(OperateAlerts), get(pages::alerts::report_csv))
        .get("/alerta-rosa/{id}", Needs(OperateAlerts), get(pages::alerts::show))
        .get("/alerta-rosa/{id}/privado", Needs(ViewAlertPrivate), get(pages::alerts::private))
        .get("/alerta-rosa/{id}/editar", Needs(ViewAlertPrivate), get(pages::alerts::edit_form))
        .post("/alerta-rosa/{id}", Needs(ViewAlertPrivate), post(pages::alerts::update))
        .post("/alerta-rosa/{id}/riesgo", Needs(OperateAlerts), post(pages::alerts::risk))
        .post("/alerta-rosa/{id}/activar", Needs(OperateAlerts), post(pages::alerts::activate))
        .post("/alerta-rosa/{id}/concluir", Needs(OperateAlerts), post(pages::alerts::close))
        .post("/alerta-rosa/{id}/traducciones", Needs(OperateAlerts), post(pages::alerts::translate))
        .get("/alerta-rosa/{id}/foto", Needs(OperateAlerts), get(pages::alerts::staff_photo))
        .get("/alerta-rosa/{id}/ficha/{archivo}", Needs(OperateAlerts), get(pages::alerts::staff_document))
        .get("/alertas", Public, get(pages::alerts::public_list))
        .get("/alertas.atom", Public, get(pages::alerts::public_atom))
        .get("/alertas/{folio}", Public, get(pages::alerts::public_page))
        .get("/alertas/{folio}/cap.xml", Public, get(pages::alerts::public_cap))
        .get("/alertas/{folio}/{archivo}", Public, get(pages::alerts::public_file))
        .get("/api/v1/alertas", Needs(OperateAlerts), get(api::alerts::list))
        .post("/api/v1/alertas", Needs(OperateAlerts), post(api::alerts::create))
        .get("/api/v1/alertas/informe", Needs(OperateAlerts), get(api::alerts::report))
        .get("/api/v1/alertas/{id}", Needs(OperateAlerts), get(api::alerts::show))
        .get("/api/v1/alertas/{id}/privado", Needs(ViewAlertPrivate), get(api::alerts::private))
        .post("/api/v1/alertas/{id}/riesgo", Needs(OperateAlerts), post(api::alerts::risk))
        .post("/api/v1/alertas/{id}/activar", Needs(OperateAlerts), post(api::alerts::activate))
        .post("/api/v1/alertas/{id}/concluir", Needs(OperateAlerts), post(api::alerts::close));

    let Routes { router, catalog } = routes;
    let router = router
        .fallback(pages::home::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(auth::MAX_UPLOAD_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        // Spans name the route pattern, never the URI: paths may carry one-time tokens.
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req.extensions().get::<axum::extract::MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_default();
            tracing::info_span!("solicitud", method = %req.method(), route)
        }))
        .with_state(state);
    (router, catalog)
}

/// Every route and who may use it: for the access tests and the documentation.
pub fn catalog(state: AppState) -> Vec<RouteInfo> {
    build(state).1
}
