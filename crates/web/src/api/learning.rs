//! The learning centre's endpoints: the course catalogue and a course's outline (never its
//! quiz answers), the signed-in learner's own courses, and — for staff who manage courses —
//! a course's enrolments (personal data: every read is recorded in the audit trail).
//!
//! Who sees what is decided by permission: `ManageCourses` sees every course with its
//! figures; any other account that takes courses sees the published ones (and a course it is
//! enrolled in), without figures.

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult, AppError};
use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use violeta_domain::access::Permission;
use violeta_domain::learning::CourseStatus;
use violeta_store::learning::{Course, Item, Module};

#[derive(Serialize, ToSchema)]
pub struct CourseDto {
    pub id: i64,
    /// Clave estable entre versiones, por ejemplo `PG-101`.
    pub clave: String,
    pub version: i64,
    pub titulo: String,
    /// Markdown.
    pub resumen: String,
    pub dirigido_a: String,
    pub minutos: i64,
    /// `borrador`, `publicado` o `archivado`.
    pub estado: String,
    /// `todo` (todo visto y aprobado) o `seleccion` (solo lo obligatorio).
    pub regla_de_conclusion: String,
    pub vigencia_meses: Option<i64>,
    pub cierre_de_inscripciones: Option<NaiveDate>,
    pub programa: Option<String>,
    pub actualizado: DateTime<Utc>,
    /// Solo para quien administra cursos; `null` para las demás cuentas.
    pub inscripciones: Option<i64>,
    /// Solo para quien administra cursos; `null` para las demás cuentas.
    pub conclusiones: Option<i64>,
}

impl CourseDto {
    fn of(c: Course, figures: bool) -> CourseDto {
        CourseDto {
            id: c.id,
            clave: c.code,
            version: c.version,
            titulo: c.title,
            resumen: c.summary,
            dirigido_a: c.audience,
            minutos: c.minutes,
            estado: c.status,
            regla_de_conclusion: c.completion_rule,
            vigencia_meses: c.valid_months,
            cierre_de_inscripciones: c.enrolment_closes_on,
            programa: c.programme,
            actualizado: c.updated_at,
            inscripciones: figures.then_some(c.enrolled),
            conclusiones: figures.then_some(c.completed),
        }
    }
}

/// Cursos: todos con sus cifras para quien administra cursos; los publicados para las demás
/// cuentas.
#[utoipa::path(get, path = "/api/v1/cursos", tag = "aprendizaje", responses((status = 200, body = [CourseDto])))]
pub async fn list(State(state): State<AppState>, ctx: Ctx) -> ApiResult<Vec<CourseDto>> {
    let staff = ctx.can(Permission::ManageCourses);
    let courses = state.store.courses(if staff { None } else { Some(CourseStatus::Publicado) }).await?;
    Ok(Json(courses.into_iter().map(|c| CourseDto::of(c, staff)).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct OutlineDto {
    pub curso: CourseDto,
    pub modulos: Vec<ModuleDto>,
}

#[derive(Serialize, ToSchema)]
pub struct ModuleDto {
    pub id: i64,
    pub posicion: i64,
    pub titulo: String,
    pub elementos: Vec<ItemDto>,
}

/// Una lección o un cuestionario. De los cuestionarios se dan sus reglas, nunca sus preguntas
/// ni sus respuestas.
#[derive(Serialize, ToSchema)]
pub struct ItemDto {
    pub id: i64,
    pub posicion: i64,
    /// `leccion` o `cuestionario`.
    pub tipo: String,
    pub titulo: String,
    pub obligatorio: bool,
    /// Cuestionarios: calificación aprobatoria en por ciento.
    pub calificacion_aprobatoria: Option<i64>,
    /// Cuestionarios: intentos permitidos (`null`: sin límite).
    pub intentos: Option<i64>,
    /// Cuestionarios: preguntas por intento (`null`: todas las del banco).
    pub preguntas_por_intento: Option<i64>,
}

fn module_dto(m: Module, items: Vec<Item>) -> ModuleDto {
    ModuleDto {
        id: m.id,
        posicion: m.position,
        titulo: m.title,
        elementos: items
            .into_iter()
            .map(|i| {
                let quiz = i.is_quiz();
                ItemDto {
                    id: i.id,
                    posicion: i.position,
                    tipo: i.kind,
                    titulo: i.title,
                    obligatorio: i.required,
                    calificacion_aprobatoria: if quiz { i.pass_percent } else { None },
                    intentos: if quiz { i.attempt_limit } else { None },
                    preguntas_por_intento: if quiz { i.draw_count } else { None },
                }
            })
            .collect(),
    }
}

/// El temario de un curso: módulos y elementos en orden. Quien no administra cursos ve solo
/// cursos publicados o aquellos en los que está inscrita; los demás no existen para ella.
#[utoipa::path(get, path = "/api/v1/cursos/{id}", tag = "aprendizaje", params(("id" = i64, Path)),
    responses((status = 200, body = OutlineDto), (status = 404, body = super::ErrorBody)))]
pub async fn outline(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> ApiResult<OutlineDto> {
    let staff = ctx.can(Permission::ManageCourses);
    let course = state.store.course(id).await?;
    if !staff && course.status() != CourseStatus::Publicado {
        let enrolled = match ctx.user.as_ref().and_then(|u| u.person_id) {
            Some(person) => state.store.enrolment_of(id, person).await?.is_some(),
            None => false,
        };
        if !enrolled {
            return Err(ApiError(AppError::NotFound("no existe ese curso".into())));
        }
    }
    let content = state.store.course_content(id).await?;
    Ok(Json(OutlineDto { curso: CourseDto::of(course, staff), modulos: content.modules.into_iter().map(|(m, items)| module_dto(m, items)).collect() }))
}

#[derive(Serialize, ToSchema)]
pub struct LearnerCourseDto {
    pub curso: CourseDto,
    pub inscrita: DateTime<Utc>,
    /// Avance en por ciento según la regla de conclusión del curso.
    pub avance: i64,
    pub concluido: Option<DateTime<Utc>>,
    /// Folio de su constancia vigente, si la tiene.
    pub constancia: Option<String>,
}

/// Los cursos de la persona de la cuenta (por sesión o por token de su cuenta), con su avance,
/// la fecha de conclusión y el folio de su constancia. Vacía si la cuenta aún no está
/// vinculada a un registro por CURP.
#[utoipa::path(get, path = "/api/v1/aprender/cursos", tag = "aprendizaje", responses((status = 200, body = [LearnerCourseDto])))]
pub async fn mine(State(state): State<AppState>, ctx: Ctx) -> ApiResult<Vec<LearnerCourseDto>> {
    let Some(person) = ctx.user.as_ref().and_then(|u| u.person_id) else {
        return Ok(Json(Vec::new()));
    };
    let courses = state.store.learner_courses(person).await?;
    Ok(Json(
        courses
            .into_iter()
            .map(|c| LearnerCourseDto {
                inscrita: c.enrolment.enrolled_at,
                avance: c.percent,
                concluido: c.enrolment.completed_at,
                constancia: c.folio,
                curso: CourseDto::of(c.course, false),
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct EnrolmentDto {
    pub inscripcion_id: i64,
    pub persona_id: i64,
    pub nombre: String,
    pub institucion: Option<String>,
    pub inscrita: DateTime<Utc>,
    /// Avance en por ciento según la regla de conclusión (100 una vez concluido).
    pub avance: i64,
    pub concluido: Option<DateTime<Utc>>,
    pub constancia: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EnrolmentPage {
    pub total: i64,
    pub inscripciones: Vec<EnrolmentDto>,
}

#[derive(Deserialize, IntoParams)]
pub struct EnrolmentQuery {
    /// Nombre o CURP.
    q: Option<String>,
    /// Máximo 500; 100 si se omite.
    limite: Option<i64>,
    desde: Option<i64>,
}

/// Las inscripciones de un curso: persona, avance y conclusión. Son datos personales: cada
/// consulta queda en la bitácora de auditoría con las personas devueltas.
#[utoipa::path(get, path = "/api/v1/cursos/{id}/inscripciones", tag = "aprendizaje", params(("id" = i64, Path), EnrolmentQuery),
    responses((status = 200, body = EnrolmentPage), (status = 404, body = super::ErrorBody)))]
pub async fn enrolments(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(q): Query<EnrolmentQuery>) -> ApiResult<EnrolmentPage> {
    let course = state.store.course(id).await?;
    let content = state.store.course_content(id).await?;
    let (people, total) = state
        .store
        .course_participants(&ctx.actor(), ctx.principal.people_scope(), id, q.q.as_deref(), q.limite.unwrap_or(100).clamp(1, 500), q.desde.unwrap_or(0).max(0))
        .await?;
    let rule = course.rule();
    Ok(Json(EnrolmentPage {
        total,
        inscripciones: people
            .into_iter()
            .map(|p| EnrolmentDto {
                avance: p.percent(&content, rule),
                inscripcion_id: p.enrolment_id,
                persona_id: p.person_id,
                nombre: p.name,
                institucion: p.institution,
                inscrita: p.enrolled_at,
                concluido: p.completed_at,
                constancia: p.folio,
            })
            .collect(),
    }))
}
