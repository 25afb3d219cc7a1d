//! What every page shares: title, navigation by permission, the signed-in user, the CSRF
//! token for forms, the demonstration banner and a notice after a redirect.

use crate::AppState;
use crate::auth::Ctx;
use askama::Template;
use axum::http::StatusCode;
use violeta_domain::access::Permission;

pub struct Layout {
    pub title: String,
    pub user: Option<String>,
    pub csrf: String,
    pub demo: bool,
    pub notice: Option<String>,
    pub nav_registry: bool,
    pub nav_people: bool,
    pub nav_certification: bool,
    pub nav_users: bool,
    pub nav_audit: bool,
    /// Alerta Rosa cases.
    pub nav_alerts: bool,
    pub nav_learn: bool,
    pub nav_courses: bool,
}

impl Layout {
    pub fn new(ctx: &Ctx, state: &AppState, title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            user: ctx.user.as_ref().map(|u| if u.display_name.is_empty() { u.email.clone() } else { u.display_name.clone() }),
            csrf: ctx.csrf.clone(),
            demo: state.config.demo,
            notice: None,
            nav_registry: ctx.can(Permission::ViewRegistry),
            nav_people: ctx.can(Permission::ViewPeople),
            nav_certification: ctx.can(Permission::ViewCertification),
            nav_users: ctx.can(Permission::ManageUsers),
            nav_audit: ctx.can(Permission::ViewAudit),
            nav_alerts: ctx.can(Permission::OperateAlerts),
            nav_learn: ctx.can(Permission::TakeCourses),
            nav_courses: ctx.can(Permission::ManageCourses),
        }
    }

    /// Shows a fixed notice chosen by a code in the query string (`?aviso=guardado`):
    /// never text from the URL itself.
    pub fn with_notice(mut self, code: Option<&str>) -> Layout {
        self.notice = code.and_then(notice_text).map(str::to_string);
        self
    }
}

fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "guardado" => "Los cambios se guardaron.",
        "creada" => "El registro se creó.",
        "fusionada" => "Los registros se fusionaron.",
        "importado" => "La importación terminó.",
        "contrasena" => "Su contraseña quedó guardada. Ya puede entrar.",
        "salio" => "Cerró su sesión.",
        "constancias" => "Las constancias se emitieron.",
        "revocada" => "La constancia quedó revocada.",
        "reemitida" => "Se emitió la constancia corregida; la anterior quedó reemplazada.",
        "eliminado" => "Se eliminó.",
        "intento" => "Se otorgó un intento más: la persona ya puede volver a presentar el cuestionario.",
        // Alerta Rosa
        "caso_creado" => "El caso quedó registrado con su folio.",
        "riesgo" => "La evaluación de riesgo y el consentimiento quedaron registrados.",
        "activada" => "La alerta quedó activada.",
        "traduccion" => "La traducción quedó guardada.",
        "concluida" => "La alerta concluyó: sus datos y su fotografía se retiraron de todo lo público.",
        "vinculada" => "Su cuenta quedó vinculada a su registro. Ya puede inscribirse en los cursos.",
        "inscrita" => "Quedó inscrita en el curso. Puede empezar cuando quiera.",
        "concluido" => "¡Concluyó el curso! Su constancia está en «Mis cursos».",
        "publicado" => "El curso quedó publicado.",
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

pub fn error_page(status: StatusCode, message: &str) -> String {
    ErrorPage { status: status.as_u16(), message }
        .render()
        .unwrap_or_else(|_| format!("<!doctype html><title>Error</title><p>{}</p>", status.as_u16()))
}

/// Percent-encodes a value for a query string.
pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).map(|e| e[2..].to_string()).unwrap_or_default()
}

/// Thousands separators as used in Mexico: 1,234,567.
pub fn thousands(n: impl std::borrow::Borrow<i64>) -> String {
    let n = *n.borrow();
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Dates as people read them in Mexico: 30/08/2018.
pub fn date(d: &chrono::NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// Timestamps in Mexico City time.
pub fn datetime(t: &chrono::DateTime<chrono::Utc>) -> String {
    // Central Mexico has had no daylight saving time since 2022: UTC−6 all year.
    let local = *t - chrono::Duration::hours(6);
    local.format("%d/%m/%Y %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        assert_eq!(super::thousands(1234567), "1,234,567");
        assert_eq!(super::thousands(12), "12");
        assert_eq!(super::urlencode("/personas?q=a b"), "%2Fpersonas%3Fq%3Da+b");
    }
}
