//! The JSON API, `/api/v1`. Authenticated by API token (`Authorization: Bearer …`) or by
//! a session cookie (then state-changing calls carry `X-CSRF-Token`). Every endpoint is
//! described in the OpenAPI document served at `/api/v1/openapi.json`.

pub mod audit;
pub mod constancias;
pub mod people;
pub mod territory;
pub mod map;
// Alerta Rosa
pub mod alerts;
// Alerta Rosa dissemination (branch alerta-difusion)
pub mod dissemination;
// Centro de Aprendizaje Digital
pub mod learning;

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Violeta API", description = "API de Violeta: territorio, declaratorias de AVGM, instituciones, personas, cursos del Centro de Aprendizaje Digital y auditoría. Todos los mensajes de error vienen en español."),
    paths(
        territory::states, territory::municipalities, territory::regions, territory::municipality,
        territory::declarations, territory::declaration,
        people::institutions, people::list, people::create, people::show, people::contact,
        audit::list,
        map::geojson,
        constancias::verify,
        // Alerta Rosa
        alerts::list, alerts::create, alerts::show, alerts::private, alerts::risk, alerts::activate, alerts::close, alerts::report,
        // Alerta Rosa dissemination
        dissemination::deliveries,
        // Centro de Aprendizaje Digital
        learning::list, learning::outline, learning::mine, learning::enrolments,
    ),
    components(schemas(
        territory::StateDto, territory::MunicipalityDto, territory::RegionDto, territory::DeclarationDto, territory::DeclarationDetail,
        people::InstitutionDto, people::PersonDto, people::PersonPage, people::ContactDto, people::NewPerson, people::ValidationErrors,
        audit::AuditDto, ErrorBody, ErrorDetail,
        map::FeatureCollection, map::Feature, map::Point, map::Properties, map::SpaceProperties, map::UnitProperties,
        constancias::VerificationDto,
        // Alerta Rosa
        alerts::AlertSummaryDto, alerts::AlertDto, alerts::NewAlert, alerts::ValidationErrors, alerts::FieldErrorDto, alerts::PrivateDto,
        alerts::RiskDto, alerts::ActivateDto, alerts::CloseDto, alerts::MetricDto, alerts::ReportDto,
        // Alerta Rosa dissemination
        dissemination::DisseminationDto, dissemination::PublicationDto, dissemination::DeliveryDto,
        // Centro de Aprendizaje Digital
        learning::CourseDto, learning::OutlineDto, learning::ModuleDto, learning::ItemDto, learning::LearnerCourseDto,
        learning::EnrolmentDto, learning::EnrolmentPage,
    )),
    modifiers(&BearerAuth),
    security(("token" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("token", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// Every error: `{"error": {"codigo": "...", "mensaje": "..."}}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub codigo: String,
    pub mensaje: String,
}

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
