//! Training sessions: schedule, attendance (sign-in lists with a preview, capture by the
//! instructor, self check-in by a rotating QR code), and the three counts with their
//! definitions.

use super::{Notice, Upload, render, render_invalid, see_other};
use crate::AppState;
use crate::auth::{Ctx, random_token};
use crate::error::{AppError, PageResult};
use crate::layout::{Layout, date, thousands};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Deserialize;
use violeta_app::attendance::Preview;
use violeta_domain::access::Permission;
use violeta_domain::person::{PersonInput, SexConvention};
use violeta_domain::territory::{MunicipalityKey, StateKey};
use violeta_domain::training::{AttendanceStatus, Audience, Count, Modality, SessionStatus, checkin_code, checkin_code_is_valid};
use violeta_store::people::PersonRef;
use violeta_store::training::{AttendanceInput, AttendanceRow, CountFilter, Day, NewTraining, PendingImport, Programme, Training, TrainingDay};

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

// ----- list and counts -----

#[derive(Template)]
#[template(path = "trainings/list.html")]
struct ListPage {
    l: Layout,
    trainings: Vec<Training>,
    programmes: Vec<Programme>,
    states: Vec<violeta_store::territory::State>,
    q: ListQuery,
    counts: Vec<(&'static str, String, &'static str)>,
    can_edit: bool,
}

impl ListPage {
    fn status(&self, t: &Training) -> &'static str {
        SessionStatus::parse(&t.status).map(|s| s.label()).unwrap_or("")
    }
    fn modality(&self, t: &Training) -> &'static str {
        Modality::parse(&t.modality).map(|s| s.label()).unwrap_or("")
    }
    fn day(&self, t: &Training) -> String {
        t.first_day.as_ref().map(date).unwrap_or_default()
    }
    fn selected_programme(&self, id: &i64) -> bool {
        self.q.programa.as_deref() == Some(id.to_string().as_str())
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    programa: Option<String>,
    entidad: Option<String>,
    desde: Option<String>,
    hasta: Option<String>,
    aviso: Option<String>,
}

pub async fn list(State(state): State<AppState>, ctx: Ctx, Query(q): Query<ListQuery>) -> PageResult {
    let programme_id = q.programa.as_deref().and_then(|p| p.parse().ok());
    let parse = |s: &Option<String>| s.as_deref().and_then(violeta_app::avgm::parse_date);
    let filter = CountFilter { programme_id, cve_ent: q.entidad.clone().filter(|s| !s.is_empty()), from: parse(&q.desde), to: parse(&q.hasta) };
    let c = state.store.training_counts(&filter).await?;
    let counts = Count::ALL
        .iter()
        .map(|k| {
            let v = match k {
                Count::PersonasCapacitadas => c.personas_capacitadas,
                Count::Participaciones => c.participaciones,
                Count::CapacitacionesImpartidas => c.capacitaciones_impartidas,
            };
            (k.label(), thousands(v), k.definition())
        })
        .collect();
    render(&ListPage {
        l: Layout::new(&ctx, &state, "Capacitaciones").with_notice(q.aviso.as_deref()),
        trainings: state.store.trainings(programme_id).await?,
        programmes: state.store.programmes().await?,
        states: state.store.states().await?,
        q,
        counts,
        can_edit: ctx.can(Permission::ManageTrainings),
    })
}

#[derive(Deserialize)]
pub struct ProgrammeForm {
    name: String,
    #[serde(default)]
    objective: String,
    #[serde(default)]
    cve_ent: String,
}

pub async fn create_programme(State(state): State<AppState>, ctx: Ctx, Form(f): Form<ProgrammeForm>) -> PageResult {
    let st = StateKey::parse(&f.cve_ent).ok();
    state.store.create_programme(&ctx.actor(), &f.name, &f.objective, st.as_ref().map(|s| s.as_str())).await?;
    see_other("/capacitaciones", "creada")
}

// ----- schedule -----

#[derive(Template)]
#[template(path = "trainings/form.html")]
struct FormPage {
    l: Layout,
    f: TrainingForm,
    programmes: Vec<Programme>,
    states: Vec<violeta_store::territory::State>,
    modalities: &'static [Modality],
    audiences: &'static [Audience],
    error: Option<String>,
}

impl FormPage {
    fn has_audience(&self, code: &str) -> bool {
        self.f.audience.iter().any(|a| a == code)
    }
}

#[derive(Default)]
pub struct TrainingForm {
    title: String,
    topic: String,
    protocol: String,
    modality: String,
    programme_id: String,
    course_key: String,
    state: String,
    municipality: String,
    venue: String,
    meeting_link: String,
    instructors: String,
    audience: Vec<String>,
    capacity: String,
    status: String,
    days: String,
}

impl TrainingForm {
    fn from_fields(fields: &[(String, String)]) -> TrainingForm {
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        TrainingForm {
            title: get("title"),
            topic: get("topic"),
            protocol: get("protocol"),
            modality: get("modality"),
            programme_id: get("programme_id"),
            course_key: get("course_key"),
            state: get("state"),
            municipality: get("municipality"),
            venue: get("venue"),
            meeting_link: get("meeting_link"),
            instructors: get("instructors"),
            audience: fields.iter().filter(|(k, _)| k == "audience").map(|(_, v)| v.clone()).collect(),
            capacity: get("capacity"),
            status: get("status"),
            days: get("days"),
        }
    }
}

pub async fn new_form(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    form_page(&state, &ctx, TrainingForm { modality: "presencial".into(), status: "planeada".into(), ..Default::default() }, None).await
}

async fn form_page(state: &AppState, ctx: &Ctx, f: TrainingForm, error: Option<String>) -> PageResult {
    let page = FormPage {
        l: Layout::new(ctx, state, "Programar capacitación"),
        f,
        programmes: state.store.programmes().await?,
        states: state.store.states().await?,
        modalities: Modality::ALL,
        audiences: Audience::ALL,
        error: error.clone(),
    };
    if error.is_some() { render_invalid(&page) } else { render(&page) }
}

/// Dates, one per line: "04/03/2025 09:00-13:00".
fn parse_days(text: &str) -> Result<Vec<TrainingDay>, String> {
    let mut days = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let bad = || format!("no se entiende «{line}»; escriba una fecha y su horario por línea, por ejemplo «04/03/2025 09:00-13:00»");
        let (d, hours) = line.split_once(' ').ok_or_else(bad)?;
        let day = violeta_app::avgm::parse_date(d).ok_or_else(bad)?;
        let (a, b) = hours.trim().split_once('-').ok_or_else(bad)?;
        let norm = |t: &str| -> Option<String> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
            (h < 24 && m < 60).then(|| format!("{h:02}:{m:02}"))
        };
        days.push(TrainingDay { day, starts_at: norm(a).ok_or_else(bad)?, ends_at: norm(b).ok_or_else(bad)? });
    }
    Ok(days)
}

pub async fn create(State(state): State<AppState>, ctx: Ctx, Form(fields): Form<Vec<(String, String)>>) -> PageResult {
    let f = TrainingForm::from_fields(&fields);
    let parsed: Result<NewTraining, String> = async {
        let modality = Modality::parse(&f.modality).ok_or("elija la modalidad")?;
        let municipality = match f.municipality.trim() {
            "" => None,
            m => {
                // A key names its own state; a name is looked up in the chosen one.
                let st = match MunicipalityKey::parse(m) {
                    Ok(k) => k.state(),
                    Err(_) => StateKey::parse(&f.state).map_err(|_| "elija la entidad de la sede o escriba la clave INEGI del municipio".to_string())?,
                };
                Some(
                    state
                        .store
                        .find_municipality(&st, m)
                        .await
                        .map_err(|e| AppError::from(e).to_string())?
                        .ok_or_else(|| format!("no existe el municipio «{m}» en la entidad"))?,
                )
            }
        };
        let capacity = match f.capacity.trim() {
            "" => None,
            c => Some(c.parse::<i64>().ok().filter(|n| *n > 0).ok_or("el cupo debe ser un número entero positivo")?),
        };
        Ok(NewTraining {
            title: f.title.clone(),
            topic: f.topic.clone(),
            protocol: f.protocol.clone(),
            modality,
            programme_id: f.programme_id.parse().ok(),
            course_key: f.course_key.clone(),
            municipality,
            venue: f.venue.clone(),
            meeting_link: f.meeting_link.clone(),
            instructors: f.instructors.clone(),
            audience: f.audience.iter().filter(|a| Audience::parse(a).is_some()).cloned().collect(),
            capacity,
            status: SessionStatus::parse(&f.status).unwrap_or(SessionStatus::Planeada),
            days: parse_days(&f.days)?,
            checkin_secret: random_token(),
        })
    }
    .await;
    let outcome = match parsed {
        Ok(t) => state.store.create_training(&ctx.actor(), &t).await.map_err(|e| AppError::from(e).to_string()),
        Err(m) => Err(m),
    };
    match outcome {
        Ok(id) => see_other(&format!("/capacitaciones/{id}"), "creada"),
        Err(m) => form_page(&state, &ctx, f, Some(m)).await,
    }
}

// ----- one session -----

#[derive(Template)]
#[template(path = "trainings/show.html")]
struct ShowPage {
    l: Layout,
    evidence: Vec<violeta_store::training::Evidence>,
    t: Training,
    days: Vec<Day>,
    attendance: Vec<AttendanceRow>,
    statuses: &'static [SessionStatus],
    attendance_statuses: &'static [AttendanceStatus],
    states: Vec<violeta_store::territory::State>,
    can_edit: bool,
    preview: Option<Preview>,
    preview_token: String,
    preview_file: String,
    outcome: Option<violeta_app::attendance::Outcome>,
    report: Option<violeta_app::ImportReport>,
    error: Option<String>,
    /// Standing constancia folio of each attendee who has one.
    folios: std::collections::HashMap<i64, String>,
    issuer: Option<violeta_store::credentials::IssuerRecord>,
    can_download: bool,
}

impl ShowPage {
    fn folio(&self, person_id: &i64) -> Option<&str> {
        self.folios.get(person_id).map(String::as_str)
    }
    fn status(&self) -> &'static str {
        SessionStatus::parse(&self.t.status).map(|s| s.label()).unwrap_or("")
    }
    fn modality(&self) -> &'static str {
        Modality::parse(&self.t.modality).map(|s| s.label()).unwrap_or("")
    }
    fn audience(&self) -> String {
        self.t.audience.split(',').filter_map(Audience::parse).map(|a| a.label()).collect::<Vec<_>>().join(", ")
    }
    fn attendance_label(&self, code: &str) -> &'static str {
        AttendanceStatus::parse(code).map(|s| s.label()).unwrap_or("")
    }
    fn source_label(&self, code: &str) -> &'static str {
        match code {
            "lista" => "Lista importada",
            "captura" => "Captura",
            "qr" => "Código QR",
            _ => "",
        }
    }
    fn score(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x:.0}")).unwrap_or_else(|| "—".into())
    }
}

#[derive(Default)]
struct Extras {
    preview: Option<Preview>,
    preview_token: String,
    preview_file: String,
    outcome: Option<violeta_app::attendance::Outcome>,
    report: Option<violeta_app::ImportReport>,
    error: Option<String>,
}

async fn show_page(state: &AppState, ctx: &Ctx, id: i64, notice: Option<&str>, x: Extras) -> PageResult {
    let (t, days) = state.store.training(id).await?;
    let invalid = x.report.is_some() || x.error.is_some();
    let folios = state.store.training_credentials(id).await?.into_iter().filter(|c| c.revoked_at.is_none()).map(|c| (c.person_id, c.folio)).collect();
    let page = ShowPage {
        l: Layout::new(ctx, state, t.title.clone()).with_notice(notice),
        evidence: state.store.evidence_list(id).await?,
        attendance: state.store.attendance(id).await?,
        t,
        days,
        statuses: SessionStatus::ALL,
        attendance_statuses: AttendanceStatus::ALL,
        states: state.store.states().await?,
        can_edit: ctx.can(Permission::ManageTrainings),
        preview: x.preview,
        preview_token: x.preview_token,
        preview_file: x.preview_file,
        outcome: x.outcome,
        report: x.report,
        error: x.error,
        folios,
        issuer: state.store.active_issuer().await?,
        can_download: ctx.can(Permission::ViewPeople),
    };
    if invalid { render_invalid(&page) } else { render(&page) }
}

pub async fn show(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(n): Query<Notice>) -> PageResult {
    show_page(&state, &ctx, id, n.aviso.as_deref(), Extras::default()).await
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
}

pub async fn set_status(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<StatusForm>) -> PageResult {
    let status = SessionStatus::parse(&f.status).ok_or_else(|| AppError::BadRequest("elija un estado".into()))?;
    state.store.set_training_status(&ctx.actor(), id, status).await?;
    see_other(&format!("/capacitaciones/{id}"), "guardado")
}

/// Step one of a list import: read and check the file, keep it, show the preview.
pub async fn upload_list(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, multipart: Multipart) -> PageResult {
    let upload = Upload::read(multipart, &ctx).await?;
    let default_state = upload.field("entidad").and_then(|s| StateKey::parse(&s).ok());
    match violeta_app::attendance::preview(&state.store, id, &upload.file_name, &upload.bytes, default_state.as_ref()).await {
        Err(report) => show_page(&state, &ctx, id, None, Extras { report: Some(report), ..Default::default() }).await,
        Ok(preview) => {
            let token = random_token();
            let user_id = ctx.principal.user_id.ok_or(AppError::Forbidden)?;
            let kind = format!("asistencia:{}", default_state.as_ref().map(|s| s.as_str()).unwrap_or(""));
            state
                .store
                .keep_pending_import(user_id, &token, &PendingImport { kind, target_id: Some(id), file_name: upload.file_name.clone(), bytes: upload.bytes })
                .await?;
            show_page(&state, &ctx, id, None, Extras { preview: Some(preview), preview_token: token, preview_file: upload.file_name, ..Default::default() }).await
        }
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    token: String,
    /// "todo" (all or nothing) or "validas" (only the valid rows).
    #[serde(default)]
    modo: String,
}

/// Step two: import the kept file.
pub async fn confirm_list(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<ConfirmForm>) -> PageResult {
    let user_id = ctx.principal.user_id.ok_or(AppError::Forbidden)?;
    let pending = state
        .store
        .pending_import(user_id, &f.token)
        .await?
        .filter(|p| p.target_id == Some(id) && p.kind.starts_with("asistencia:"))
        .ok_or_else(|| AppError::NotFound("la vista previa caducó; vuelva a subir el archivo".into()))?;
    let default_state = pending.kind.strip_prefix("asistencia:").and_then(|s| StateKey::parse(s).ok());
    let only_valid = f.modo == "validas";
    let result =
        violeta_app::attendance::import(&state.store, &ctx.actor(), id, &pending.file_name, &pending.bytes, default_state.as_ref(), only_valid, &|_, _| {})
            .await;
    match result {
        Ok(outcome) => {
            state.store.drop_pending_import(&f.token).await?;
            show_page(&state, &ctx, id, Some("importado"), Extras { outcome: Some(outcome), ..Default::default() }).await
        }
        Err(report) => show_page(&state, &ctx, id, None, Extras { report: Some(report), ..Default::default() }).await,
    }
}

#[derive(Deserialize)]
pub struct CaptureForm {
    #[serde(flatten)]
    person: PersonInput,
    #[serde(default)]
    attendance: String,
}

/// The instructor captures one attendance by hand.
pub async fn capture(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<CaptureForm>) -> PageResult {
    let status = AttendanceStatus::parse(&f.attendance).unwrap_or(AttendanceStatus::Asistio);
    match f.person.validate(SexConvention::MujerHombre) {
        Err(errors) => {
            let message = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; ");
            show_page(&state, &ctx, id, None, Extras { error: Some(message), ..Default::default() }).await
        }
        Ok(draft) => {
            let row = AttendanceInput { person: PersonRef::Draft(Box::new(draft)), status, pre_score: None, post_score: None };
            match state.store.record_attendance(&ctx.actor(), id, "captura", &[row], &|_, _| {}).await {
                Ok(_) => see_other(&format!("/capacitaciones/{id}"), "guardado"),
                Err(e) => show_page(&state, &ctx, id, None, Extras { error: Some(AppError::from(e).to_string()), ..Default::default() }).await,
            }
        }
    }
}

// ----- evidence -----

/// Attaches a photo, a signed list or another document to the session.
pub async fn add_evidence(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, multipart: Multipart) -> PageResult {
    let upload = Upload::read(multipart, &ctx).await?;
    match state.store.add_evidence(&ctx.actor(), id, &upload.file_name, &upload.bytes).await {
        Ok(_) => see_other(&format!("/capacitaciones/{id}"), "guardado"),
        Err(e) => show_page(&state, &ctx, id, None, Extras { error: Some(AppError::from(e).to_string()), ..Default::default() }).await,
    }
}

/// Downloads an evidence file: always as an attachment, never rendered by the browser.
pub async fn evidence(State(state): State<AppState>, Path((id, evidence_id)): Path<(i64, i64)>) -> PageResult {
    let (meta, bytes) = state.store.evidence(id, evidence_id).await?;
    let disposition = format!("attachment; filename=\"{}\"", meta.file_name.replace(['"', '\\', '\r', '\n'], "_"));
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, meta.content_type.clone()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}

// ----- QR check-in -----

/// The origin users reach this server at, for the QR link.
fn public_origin(headers: &HeaderMap) -> String {
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:8080");
    let scheme = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
    format!("{scheme}://{host}")
}

#[derive(Template)]
#[template(path = "trainings/code.html")]
struct CodePage {
    t: Training,
    code: String,
    link: String,
    qr_svg: String,
    attendance: Vec<AttendanceRow>,
    seconds: i64,
}

/// The screen shown at the venue: the current code as a QR image and in digits, and the
/// live list of who has checked in. It refreshes itself when the code changes.
pub async fn code_screen(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>) -> PageResult {
    let (t, _) = state.store.training(id).await?;
    if t.status == "cancelada" {
        return Err(AppError::BadRequest("la capacitación está cancelada".into()));
    }
    let now = unix_now();
    let code = checkin_code(&t.checkin_secret, now);
    let link = format!("{}/asistencia/{id}?codigo={code}", public_origin(&headers));
    let qr_svg = qrcode::QrCode::new(link.as_bytes())
        .map(|q| q.render::<qrcode::render::svg::Color>().min_dimensions(280, 280).build())
        .map_err(|e| AppError::Internal(format!("qr: {e}")))?;
    let window = violeta_domain::training::CHECKIN_WINDOW_SECONDS;
    let _ = &ctx;
    render(&CodePage {
        attendance: state.store.attendance(id).await?,
        t,
        code,
        link,
        qr_svg,
        seconds: window - now.rem_euclid(window) + 1,
    })
}

#[derive(Template)]
#[template(path = "trainings/checkin.html")]
struct CheckinPage {
    l: Layout,
    id: i64,
    title: String,
    code: String,
    f: PersonInput,
    error: Option<String>,
    done: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct CheckinQuery {
    codigo: Option<String>,
}

/// The phone page a participant reaches by scanning the QR code.
pub async fn checkin_form(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Query(q): Query<CheckinQuery>) -> PageResult {
    let (title, _) = state.store.training_checkin(id).await?;
    render(&CheckinPage {
        l: Layout::new(&ctx, &state, "Registro de asistencia"),
        id,
        title,
        code: q.codigo.unwrap_or_default(),
        f: PersonInput::default(),
        error: None,
        done: None,
    })
}

#[derive(Deserialize)]
pub struct CheckinForm {
    #[serde(flatten)]
    person: PersonInput,
    #[serde(default)]
    codigo: String,
}

pub async fn checkin(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<CheckinForm>) -> PageResult {
    let (title, secret) = state.store.training_checkin(id).await?;
    let mut page = CheckinPage {
        l: Layout::new(&ctx, &state, "Registro de asistencia"),
        id,
        title,
        code: f.codigo.clone(),
        f: f.person.clone(),
        error: None,
        done: None,
    };
    if !checkin_code_is_valid(&secret, &f.codigo, unix_now()) {
        page.error = Some("El código no es válido o ya cambió. Escanee de nuevo el código que se muestra en la sede.".into());
        return render_invalid(&page);
    }
    if f.person.curp.trim().is_empty() {
        page.error = Some("Escriba su CURP para registrar su asistencia.".into());
        return render_invalid(&page);
    }
    let draft = match f.person.validate(SexConvention::MujerHombre) {
        Ok(d) => d,
        Err(errors) => {
            page.error = Some(errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; "));
            return render_invalid(&page);
        }
    };
    let name = draft.full_name();
    match state.store.check_in(&ctx.actor(), id, draft).await {
        Ok(_) => {
            page.done = Some(format!("Listo, {name}: su asistencia quedó registrada."));
            page.f = PersonInput::default();
            render(&page)
        }
        Err(e) => {
            page.error = Some(AppError::from(e).to_string());
            render_invalid(&page)
        }
    }
}
