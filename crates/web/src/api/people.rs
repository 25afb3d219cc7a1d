//! Institutions and people endpoints. People are scoped like the pages; contact data is
//! a separate, audited call.

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult, AppError};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use violeta_domain::person::{FieldError, PersonInput, SexConvention};
use violeta_store::people::{PeopleFilter, Person};

#[derive(Serialize, ToSchema)]
pub struct InstitutionDto {
    pub id: i64,
    pub nombre: String,
    pub siglas: String,
    pub tipo: String,
    pub nivel: String,
    pub municipio: Option<String>,
}

/// Instituciones (dependencias y entidades).
#[utoipa::path(get, path = "/api/v1/instituciones", tag = "registro", responses((status = 200, body = [InstitutionDto])))]
pub async fn institutions(State(state): State<AppState>) -> ApiResult<Vec<InstitutionDto>> {
    let rows = state.store.institutions(None).await?;
    Ok(Json(
        rows.into_iter()
            .map(|i| InstitutionDto { id: i.id, nombre: i.name, siglas: i.acronym, tipo: i.kind, nivel: i.level, municipio: i.cvegeo })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct PersonDto {
    pub id: i64,
    /// `null` para personas registradas sin CURP.
    pub curp: Option<String>,
    pub nombres: String,
    pub primer_apellido: String,
    pub segundo_apellido: String,
    /// `mujer`, `hombre` o `no_binario`.
    pub sexo: Option<String>,
    pub fecha_nacimiento: Option<NaiveDate>,
    pub institucion_id: Option<i64>,
    pub cargo: String,
    /// Para policías: `estatal`, `municipal`, `topil` u `otra`.
    pub corporacion: Option<String>,
    pub municipio: Option<String>,
    pub actualizado: DateTime<Utc>,
}

impl From<Person> for PersonDto {
    fn from(p: Person) -> Self {
        PersonDto {
            id: p.id,
            curp: p.curp,
            nombres: p.given_names,
            primer_apellido: p.first_surname,
            segundo_apellido: p.second_surname,
            sexo: p.sex,
            fecha_nacimiento: p.birth_date,
            institucion_id: p.institution_id,
            cargo: p.position,
            corporacion: p.corps,
            municipio: p.cvegeo,
            actualizado: p.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PersonPage {
    pub total: i64,
    pub personas: Vec<PersonDto>,
}

#[derive(Deserialize, IntoParams)]
pub struct PeopleQuery {
    /// Nombre o CURP.
    q: Option<String>,
    institucion: Option<i64>,
    municipio: Option<String>,
    /// `true`: solo personas sin CURP.
    sin_curp: Option<bool>,
    /// Máximo 500; 50 si se omite.
    limite: Option<i64>,
    desde: Option<i64>,
}

/// Personas del registro (las que el token puede ver).
#[utoipa::path(get, path = "/api/v1/personas", tag = "registro", params(PeopleQuery), responses((status = 200, body = PersonPage)))]
pub async fn list(State(state): State<AppState>, ctx: Ctx, Query(q): Query<PeopleQuery>) -> ApiResult<PersonPage> {
    let filter = PeopleFilter { query: q.q, institution_id: q.institucion, cvegeo: q.municipio, without_curp: q.sin_curp.unwrap_or(false) };
    let (rows, total) = state
        .store
        .people(ctx.principal.people_scope(), &filter, q.limite.unwrap_or(50).clamp(1, 500), q.desde.unwrap_or(0).max(0))
        .await?;
    Ok(Json(PersonPage { total, personas: rows.into_iter().map(PersonDto::from).collect() }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewPerson {
    #[serde(default)]
    pub curp: String,
    pub nombres: String,
    #[serde(default)]
    pub primer_apellido: String,
    #[serde(default)]
    pub segundo_apellido: String,
    /// Mujer, Hombre o No binario; si se omite, se toma de la CURP.
    #[serde(default)]
    pub sexo: String,
    pub institucion_id: Option<i64>,
    #[serde(default)]
    pub cargo: String,
    #[serde(default)]
    pub corporacion: String,
    /// Clave INEGI del municipio.
    #[serde(default)]
    pub municipio: String,
    #[serde(default)]
    pub correo: String,
    #[serde(default)]
    pub telefono: String,
}

#[derive(Serialize, ToSchema)]
pub struct ValidationErrors {
    pub errores: Vec<FieldErrorDto>,
}

#[derive(Serialize, ToSchema)]
pub struct FieldErrorDto {
    pub campo: String,
    pub mensaje: String,
}

impl From<Vec<FieldError>> for ValidationErrors {
    fn from(v: Vec<FieldError>) -> Self {
        ValidationErrors { errores: v.into_iter().map(|e| FieldErrorDto { campo: e.field.to_string(), mensaje: e.message }).collect() }
    }
}

/// Registra una persona. Una CURP inválida o repetida se rechaza con el motivo.
#[utoipa::path(post, path = "/api/v1/personas", tag = "registro", request_body = NewPerson,
    responses((status = 201, body = PersonDto), (status = 422, body = ValidationErrors), (status = 409, body = super::ErrorBody)))]
pub async fn create(State(state): State<AppState>, ctx: Ctx, Json(n): Json<NewPerson>) -> Result<Response, ApiError> {
    let input = PersonInput {
        curp: n.curp,
        given_names: n.nombres,
        first_surname: n.primer_apellido,
        second_surname: n.segundo_apellido,
        sex: n.sexo,
        institution_id: n.institucion_id,
        position: n.cargo,
        corps: n.corporacion,
        municipality: n.municipio,
        email: n.correo,
        phone: n.telefono,
    };
    if !ctx.principal.may_see_person_of(input.institution_id) {
        return Err(ApiError(AppError::Forbidden));
    }
    let draft = match input.validate(SexConvention::MujerHombre) {
        Ok(d) => d,
        Err(errors) => return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(ValidationErrors::from(errors))).into_response()),
    };
    let id = state.store.create_person(&ctx.actor(), &draft).await?;
    let person = state.store.person(ctx.principal.people_scope(), id).await?;
    Ok((StatusCode::CREATED, Json(PersonDto::from(person))).into_response())
}

/// Una persona.
#[utoipa::path(get, path = "/api/v1/personas/{id}", tag = "registro", params(("id" = i64, Path)), responses((status = 200, body = PersonDto), (status = 404, body = super::ErrorBody)))]
pub async fn show(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult<PersonDto> {
    Ok(Json(state.store.person(ctx.principal.people_scope(), id).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct ContactDto {
    pub correo: String,
    pub telefono: String,
}

/// Datos de contacto de una persona. Cada consulta queda en la bitácora de auditoría.
#[utoipa::path(get, path = "/api/v1/personas/{id}/contacto", tag = "registro", params(("id" = i64, Path)), responses((status = 200, body = ContactDto), (status = 404, body = super::ErrorBody)))]
pub async fn contact(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult<ContactDto> {
    let data = state.store.personal_data(&ctx.actor(), ctx.principal.people_scope(), id).await?;
    Ok(Json(ContactDto { correo: data.email, telefono: data.phone }))
}
