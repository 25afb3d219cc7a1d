//! Alerta Rosa pages. Staff (`/alerta-rosa…`): the case list, the new case form, the case
//! with its timeline, risk check and consent, activation, translations, localization or
//! deactivation, the private part on request (audited), and the report with its CSV.
//! Public (`/alertas…`): the active alerts, each alert's page with its ficha, its CAP
//! message, and the Atom index; all cached until public alert data changes.

use super::{render, render_invalid, see_other};
use crate::AppState;
use crate::alert_cache::{Folio, Snapshot};
use crate::auth::Ctx;
use crate::error::{AppError, PageResult};
use crate::layout::{Layout, datetime};
use crate::public_cache::{Fnv, cache_control, not_modified};
use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use violeta_app::alerta::{self as app, Rendering, cap, ficha, publication, report};
use violeta_domain::access::Permission;
use violeta_domain::alerta::{
    AlertFolio, AlertInput, AlertStatus, Closing, Consent, FieldErrors, PrivateData, PublicFacts, RecordedSex, RiskCheckInput, RiskLevel,
    TranslationInput, check_activation, duration_label, long_local,
};
use violeta_domain::dissemination::Takedown;
use violeta_domain::territory::StateKey;
use violeta_store::alerts::{AlertEvent, AlertFilter, AlertRecord, AlertSummary, CapMessage, PublicAlert, PublicAlertState, RiskCheckRecord, TranslationRecord};

pub const PUBLIC_TITLE: &str = "Alertas Rosa activas";

fn rendering<'a>(state: &AppState, base: &'a str) -> Rendering<'a> {
    Rendering { base_url: base, demo: state.config.demo }
}

fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    super::constancias::base_url(state, headers)
}

fn header_value(s: &str) -> Result<HeaderValue, AppError> {
    HeaderValue::from_str(s).map_err(|e| AppError::Internal(e.to_string()))
}

// ---------------------------------------------------------------------------
// Staff: list

#[derive(Template)]
#[template(path = "alerta_lista.html")]
struct ListPage {
    l: Layout,
    alerts: Vec<AlertSummary>,
    q: String,
    open_only: bool,
}

impl ListPage {
    fn when(&self, t: &DateTime<Utc>) -> String {
        datetime(t)
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    abiertas: Option<String>,
    aviso: Option<String>,
}

pub async fn list(State(state): State<AppState>, ctx: Ctx, Query(q): Query<ListQuery>) -> PageResult {
    let open_only = q.abiertas.as_deref() == Some("1");
    let alerts = state.store.alerts(&AlertFilter { open_only, query: q.q.clone() }).await?;
    render(&ListPage {
        l: Layout::new(&ctx, &state, "Alerta Rosa: casos").with_notice(q.aviso.as_deref()),
        alerts,
        q: q.q.unwrap_or_default(),
        open_only,
    })
}

// ---------------------------------------------------------------------------
// Staff: the case form (new and correction)

/// The form as typed, with the state used to find the municipality by name.
#[derive(Deserialize, Default, Clone)]
pub struct CaseForm {
    #[serde(flatten)]
    input: AlertInput,
    #[serde(default)]
    state: String,
    #[serde(default)]
    expected: String,
}

#[derive(Template)]
#[template(path = "alerta_form.html")]
struct FormPage {
    l: Layout,
    action: String,
    editing: bool,
    f: AlertInput,
    state_key: String,
    expected: String,
    errors: FieldErrors,
    sexes: &'static [RecordedSex],
    hotline: &'static str,
}

impl FormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }
    fn is_drill(&self) -> bool {
        matches!(self.f.drill.as_str(), "si" | "1" | "on")
    }
}

fn form_page(ctx: &Ctx, state: &AppState, f: CaseForm, editing: Option<i64>, errors: FieldErrors) -> FormPage {
    let title = if editing.is_some() { "Corregir el caso" } else { "Nuevo caso de Alerta Rosa" };
    FormPage {
        l: Layout::new(ctx, state, title),
        action: editing.map(|id| format!("/alerta-rosa/{id}")).unwrap_or_else(|| "/alerta-rosa".into()),
        editing: editing.is_some(),
        state_key: if f.state.is_empty() { "20".into() } else { f.state.clone() },
        expected: f.expected.clone(),
        f: f.input,
        errors,
        sexes: RecordedSex::ALL,
        hotline: violeta_domain::alerta::DEFAULT_HOTLINE,
    }
}

pub async fn new_form(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    render(&form_page(&ctx, &state, CaseForm::default(), None, Vec::new()))
}

/// Reads the multipart case form: its fields, and the photo when one was sent.
async fn read_case_form(mut multipart: Multipart, ctx: &Ctx) -> Result<(CaseForm, Option<Vec<u8>>), AppError> {
    let bad = |e: axum::extract::multipart::MultipartError| AppError::BadRequest(format!("no se pudo leer el formulario: {e}"));
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut photo = None;
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if field.file_name().is_some() {
            let bytes = field.bytes().await.map_err(bad)?;
            if name == "photo" && !bytes.is_empty() {
                photo = Some(bytes.to_vec());
            }
        } else {
            fields.push((name, field.text().await.map_err(bad)?));
        }
    }
    let csrf = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.clone()).unwrap_or_default();
    ctx.check_csrf(&csrf)?;
    let encoded = serde_urlencoded::to_string(&fields).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let form: CaseForm = serde_urlencoded::from_str(&encoded).map_err(|e| AppError::BadRequest(format!("formulario no válido: {e}")))?;
    Ok((form, photo))
}

/// Validates the form: the municipality by key or by name in its state, the photo, the
/// rest by the domain. Every problem at once.
async fn check_case(state: &AppState, f: &CaseForm, photo: Option<&[u8]>) -> Result<(violeta_domain::alerta::AlertDraft, Option<Vec<u8>>), FieldErrors> {
    let mut input = f.input.clone();
    let mut errors: FieldErrors = Vec::new();
    let municipality = input.municipality.trim().to_string();
    if !municipality.is_empty() {
        // A key names its own state; a name is looked up in the chosen one.
        let st = match violeta_domain::territory::MunicipalityKey::parse(&municipality) {
            Ok(k) => Ok(k.state()),
            Err(_) => StateKey::parse(&f.state),
        };
        match st {
            Ok(st) => match state.store.find_municipality(&st, &municipality).await {
                Ok(Some(k)) => input.municipality = k.to_string(),
                Ok(None) => errors.push(("municipality", format!("no existe el municipio «{municipality}» en la entidad elegida"))),
                Err(e) => errors.push(("municipality", AppError::from(e).to_string())),
            },
            Err(_) => errors.push(("municipality", "elija la entidad para buscar el municipio por su nombre".into())),
        }
    }
    // Decoding and re-encoding a photo is CPU work: off the request threads.
    let normalized = match photo.map(<[u8]>::to_vec) {
        Some(bytes) => match tokio::task::spawn_blocking(move || app::photo::normalize(&bytes)).await {
            Ok(Ok(p)) => Some(p),
            Ok(Err(e)) => {
                errors.push(("photo", e));
                None
            }
            Err(e) => {
                errors.push(("photo", format!("no se pudo procesar la fotografía: {e}")));
                None
            }
        },
        None => None,
    };
    let draft = input.validate(violeta_store::now());
    match draft {
        Ok(d) if errors.is_empty() => Ok((d, normalized)),
        Ok(_) => Err(errors),
        Err(mut e) => {
            e.retain(|(field, _)| !errors.iter().any(|(f, _)| f == field));
            errors.extend(e);
            Err(errors)
        }
    }
}

pub async fn create(State(state): State<AppState>, ctx: Ctx, multipart: Multipart) -> PageResult {
    let (f, photo) = read_case_form(multipart, &ctx).await?;
    let (draft, photo) = match check_case(&state, &f, photo.as_deref()).await {
        Ok(ok) => ok,
        Err(errors) => return render_invalid(&form_page(&ctx, &state, f, None, errors)),
    };
    let master = state.config.credential_key.as_ref();
    let (id, _) = state.store.create_alert(&ctx.actor(), &draft, photo.as_deref(), master).await?;
    see_other(&format!("/alerta-rosa/{id}"), "caso_creado")
}

pub async fn edit_form(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let a = state.store.alert(id).await?;
    if a.status().is_closed() {
        return Err(AppError::Conflict("la alerta ya concluyó: su expediente no se modifica".into()));
    }
    // The form shows the private part: reading it is audited.
    let p = state.store.alert_private(&ctx.actor(), id, state.config.credential_key.as_ref()).await?;
    let local = violeta_domain::alerta::to_local(a.last_seen_at);
    let input = AlertInput {
        full_name: a.full_name.clone(),
        age: a.age.to_string(),
        sex: a.sex.clone(),
        gender_identity: a.gender_identity.clone(),
        height_cm: a.height_cm.map(|h| h.to_string()).unwrap_or_default(),
        complexion: a.complexion.clone(),
        skin: a.skin.clone(),
        hair: a.hair.clone(),
        eyes: a.eyes.clone(),
        marks: a.marks.clone(),
        clothing: a.clothing.clone(),
        last_seen_date: local.format("%Y-%m-%d").to_string(),
        last_seen_time: local.format("%H:%M").to_string(),
        last_seen_place: a.last_seen_place.clone(),
        municipality: a.cvegeo.clone(),
        lat: a.lat.map(|v| v.to_string()).unwrap_or_default(),
        lon: a.lon.map(|v| v.to_string()).unwrap_or_default(),
        radius_km: a.radius_km.to_string(),
        circumstances: a.circumstances.clone(),
        authority: a.authority.clone(),
        hotline: a.hotline.clone(),
        reporter_name: p.reporter_name,
        reporter_relationship: p.reporter_relationship,
        reporter_phone: p.reporter_phone,
        reporter_email: p.reporter_email,
        file_number: p.file_number,
        health: p.health,
        drill: if a.drill { "si".into() } else { String::new() },
    };
    let f = CaseForm { input, state: a.cvegeo[..2].to_string(), expected: a.updated_at.timestamp_micros().to_string() };
    render(&form_page(&ctx, &state, f, Some(id), Vec::new()))
}

fn parse_expected(s: &str) -> Result<DateTime<Utc>, AppError> {
    s.trim()
        .parse::<i64>()
        .ok()
        .and_then(|m| Utc.timestamp_micros(m).single())
        .ok_or_else(|| AppError::BadRequest("el formulario no indica qué versión del caso se corrige; vuelva a abrirlo".into()))
}

pub async fn update(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>, multipart: Multipart) -> PageResult {
    let (f, photo) = read_case_form(multipart, &ctx).await?;
    state.store.alert(id).await?;
    let expected = parse_expected(&f.expected)?;
    let (draft, photo) = match check_case(&state, &f, photo.as_deref()).await {
        Ok(ok) => ok,
        Err(errors) => return render_invalid(&form_page(&ctx, &state, f, Some(id), errors)),
    };
    let base = base_url(&state, &headers);
    app::update(&state.store, &ctx.actor(), id, expected, &draft, photo.as_deref(), state.config.credential_key.as_ref(), rendering(&state, &base)).await?;
    see_other(&format!("/alerta-rosa/{id}"), "guardado")
}

// ---------------------------------------------------------------------------
// Staff: the case

#[derive(Template)]
#[template(path = "alerta_caso.html")]
struct CasePage {
    l: Layout,
    a: AlertRecord,
    facts: PublicFacts,
    status: AlertStatus,
    events: Vec<AlertEvent>,
    risk: Option<RiskCheckRecord>,
    translations: Vec<TranslationRecord>,
    documents: Vec<String>,
    /// What activation would publish, to preview: (file name, label).
    previews: Vec<(String, String)>,
    messages: Vec<CapMessage>,
    /// Why it cannot be activated yet (without the confirmation, which the form asks).
    blockers: Vec<String>,
    private: Option<PrivateData>,
    can_private: bool,
    public_link: String,
    post: Option<publication::Post>,
    levels: &'static [RiskLevel],
    consents: &'static [Consent],
    closings: &'static [Closing],
    takedowns: &'static [Takedown],
    /// Deliveries of the alert to the official channels: (posted, total, still open).
    deliveries: (usize, usize, usize),
    error: Option<String>,
}

impl CasePage {
    fn when(&self, t: &DateTime<Utc>) -> String {
        datetime(t)
    }
    fn size_label(&self, name: &str) -> String {
        document_label(name, &self.translations)
    }
    fn expected(&self) -> String {
        self.a.updated_at.timestamp_micros().to_string()
    }
}

/// "Ficha cuadrada, 1080 × 1080 … (Zapoteco)", "Ficha en PDF".
fn document_label(name: &str, translations: &[TranslationRecord]) -> String {
    let language = translations.iter().find(|t| name.contains(&format!(".{}.", t.language))).map(|t| format!(" — {}", t.language_name)).unwrap_or_default();
    let kind = if name.ends_with(".pdf") {
        "PDF para imprimir (carta)".to_string()
    } else {
        ficha::Size::ALL.iter().find(|s| name.contains(&s.slug())).map(|s| s.label().to_string()).unwrap_or_else(|| name.to_string())
    };
    format!("{kind}{language}")
}

async fn case_page(state: &AppState, ctx: &Ctx, headers: &HeaderMap, id: i64, private: Option<PrivateData>, error: Option<String>, notice: Option<&str>) -> Result<CasePage, AppError> {
    let store = &state.store;
    let a = store.alert(id).await?;
    let risk = store.latest_risk_check(id).await?;
    let status = a.status();
    let blockers = if status == AlertStatus::Reportada {
        check_activation(status, risk.as_ref().map(|r| r.check()).as_ref(), a.has_photo, true).err().unwrap_or_default()
    } else {
        Vec::new()
    };
    let base = base_url(state, headers);
    let facts = a.facts();
    let post = a.is_public().then(|| publication::activation(&facts, &base, Vec::new()));
    let all = store.deliveries(id).await?;
    let originals: Vec<_> = all.iter().filter(|d| d.kind == "alerta" && d.action == "publicar").collect();
    let deliveries = (originals.iter().filter(|d| d.status == "publicada").count(), originals.len(), all.iter().filter(|d| d.is_open()).count());
    let translations = store.translations(id).await?;
    let mut previews = Vec::new();
    for language in std::iter::once(None).chain(translations.iter().map(|t| Some(t.language.as_str()))) {
        for size in ficha::Size::ALL {
            previews.push(app::png_name(size, language));
        }
        previews.push(app::pdf_name(language));
    }
    let previews = previews.into_iter().map(|n| (n.clone(), document_label(&n, &translations))).collect();
    Ok(CasePage {
        l: Layout::new(ctx, state, format!("Alerta Rosa {}", a.folio)).with_notice(notice),
        events: store.alert_events(id).await?,
        translations,
        previews,
        documents: store.alert_document_names(id).await?,
        messages: store.cap_messages(id).await?,
        blockers,
        private,
        can_private: ctx.can(Permission::ViewAlertPrivate),
        public_link: publication::link(&base, &a.folio),
        post,
        levels: RiskLevel::ALL,
        consents: Consent::ALL,
        closings: Closing::ALL,
        takedowns: Takedown::ALL,
        deliveries,
        error,
        risk,
        status,
        facts,
        a,
    })
}

pub async fn show(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>, Query(n): Query<super::Notice>) -> PageResult {
    render(&case_page(&state, &ctx, &headers, id, None, None, n.aviso.as_deref()).await?)
}

/// The case with its private part: the read is audited.
pub async fn private(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>) -> PageResult {
    state.store.alert(id).await?;
    let p = state.store.alert_private(&ctx.actor(), id, state.config.credential_key.as_ref()).await?;
    let mut response = render(&case_page(&state, &ctx, &headers, id, Some(p), None, None).await?)?;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A refused action shows the case again with the reason (422).
async fn refused(state: &AppState, ctx: &Ctx, headers: &HeaderMap, id: i64, e: AppError) -> PageResult {
    match e {
        AppError::BadRequest(m) | AppError::Conflict(m) => render_invalid(&case_page(state, ctx, headers, id, None, Some(m), None).await?),
        other => Err(other),
    }
}

fn field_errors(errors: FieldErrors) -> AppError {
    AppError::BadRequest(errors.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("; "))
}

pub async fn risk(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>, Form(f): Form<RiskCheckInput>) -> PageResult {
    state.store.alert(id).await?;
    let outcome = match f.validate() {
        Ok(r) => state.store.record_risk_check(&ctx.actor(), id, &r).await.map_err(AppError::from),
        Err(errors) => Err(field_errors(errors)),
    };
    match outcome {
        Ok(()) => see_other(&format!("/alerta-rosa/{id}"), "riesgo"),
        Err(e) => refused(&state, &ctx, &headers, id, e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct ActivateForm {
    #[serde(default)]
    confirmo: String,
}

pub async fn activate(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>, Form(f): Form<ActivateForm>) -> PageResult {
    state.store.alert(id).await?;
    let confirmed = matches!(f.confirmo.as_str(), "si" | "1" | "on");
    let base = base_url(&state, &headers);
    match app::activate(&state.store, &ctx.actor(), id, confirmed, rendering(&state, &base)).await {
        Ok(()) => see_other(&format!("/alerta-rosa/{id}"), "activada"),
        Err(e) => refused(&state, &ctx, &headers, id, e.into()).await,
    }
}

#[derive(Deserialize, Default)]
pub struct CloseForm {
    #[serde(default)]
    cierre: String,
    #[serde(default)]
    nota: String,
    /// What becomes of the posts on the official channels; deleting them unless told.
    #[serde(default)]
    retiro: String,
}

/// The takedown asked for; by default the posts are deleted (her safety and privacy first).
pub fn takedown(code: &str) -> Result<Takedown, AppError> {
    match code.trim() {
        "" => Ok(Takedown::Borrar),
        c => Takedown::parse(c).ok_or_else(|| AppError::BadRequest(format!("«{c}» no es una opción de retiro: borrar, editar o conservar"))),
    }
}

pub async fn close(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>, Form(f): Form<CloseForm>) -> PageResult {
    state.store.alert(id).await?;
    let Some(closing) = Closing::parse(&f.cierre) else {
        return refused(&state, &ctx, &headers, id, AppError::BadRequest("elija cómo concluye la alerta: localizada con vida, localizada sin vida o desactivada".into())).await;
    };
    let takedown = match takedown(&f.retiro) {
        Ok(t) => t,
        Err(e) => return refused(&state, &ctx, &headers, id, e).await,
    };
    let base = base_url(&state, &headers);
    match app::close(&state.store, &ctx.actor(), id, closing, &f.nota, takedown, rendering(&state, &base)).await {
        Ok(()) => see_other(&format!("/alerta-rosa/{id}"), "concluida"),
        Err(e) => refused(&state, &ctx, &headers, id, e.into()).await,
    }
}

#[derive(Deserialize, Default)]
pub struct TranslationForm {
    #[serde(flatten)]
    t: TranslationInput,
    #[serde(default)]
    expected: String,
}

pub async fn translate(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>, Form(f): Form<TranslationForm>) -> PageResult {
    state.store.alert(id).await?;
    let base = base_url(&state, &headers);
    let outcome = match (f.t.validate(), parse_expected(&f.expected)) {
        (Err(errors), _) => Err(field_errors(errors)),
        (_, Err(e)) => Err(e),
        (Ok(t), Ok(expected)) => app::save_translation(&state.store, &ctx.actor(), id, expected, &t, rendering(&state, &base)).await.map_err(AppError::from),
    };
    match outcome {
        Ok(()) => see_other(&format!("/alerta-rosa/{id}"), "traduccion"),
        Err(e) => refused(&state, &ctx, &headers, id, e).await,
    }
}

fn private_file(content_type: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"))),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ],
        bytes,
    )
        .into_response()
}

pub async fn staff_photo(State(state): State<AppState>, Path(id): Path<i64>) -> PageResult {
    match state.store.alert_photo(id).await? {
        Some(bytes) => Ok(private_file("image/jpeg", bytes)),
        None => Err(AppError::NotFound("el caso no tiene fotografía".into())),
    }
}

/// A ficha for staff: the published one when the alert is active, otherwise rendered now
/// from the case's data (a preview before activation).
pub async fn staff_document(State(state): State<AppState>, headers: HeaderMap, Path((id, archivo)): Path<(i64, String)>) -> PageResult {
    if let Some((content_type, bytes)) = state.store.alert_document(id, &archivo).await? {
        return Ok(private_file(&content_type, bytes));
    }
    let a = state.store.alert(id).await?;
    let base = base_url(&state, &headers);
    match app::render_one(&state.store, &a, &archivo, rendering(&state, &base)).await? {
        Some(d) => Ok(private_file(&d.content_type, d.bytes)),
        None => Err(AppError::NotFound(format!("no existe el archivo «{archivo}» de este caso"))),
    }
}

// ---------------------------------------------------------------------------
// Staff: report

#[derive(Template)]
#[template(path = "alerta_informe.html")]
struct ReportPage {
    l: Layout,
    r: report::Report,
    from: i32,
    to: i32,
    query: String,
}

impl ReportPage {
    fn minutes(&self, m: &Option<i64>) -> String {
        report::minutes_label(*m)
    }
    fn spread(&self, s: &violeta_domain::alerta::Spread) -> String {
        match (s.median, s.min, s.max) {
            (Some(med), Some(min), Some(max)) => format!("{} (de {} a {}; {} casos)", duration_label(med), duration_label(min), duration_label(max), s.count),
            _ => "sin datos".into(),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    desde: Option<String>,
    hasta: Option<String>,
}

impl ReportQuery {
    pub fn years(from: Option<i32>, to: Option<i32>) -> ReportQuery {
        ReportQuery { desde: from.map(|y| y.to_string()), hasta: to.map(|y| y.to_string()) }
    }
}

/// The years asked for (default: the last ten), and the instants that bound them.
pub fn report_period(q: &ReportQuery) -> Result<(i32, i32, DateTime<Utc>, DateTime<Utc>), AppError> {
    use chrono::Datelike;
    let this_year = violeta_domain::alerta::to_local(violeta_store::now()).year();
    let year = |v: &Option<String>, default: i32| -> Result<i32, AppError> {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => s.parse::<i32>().ok().filter(|y| (2000..=2100).contains(y)).ok_or_else(|| AppError::BadRequest(format!("el año «{s}» no es válido"))),
        }
    };
    let (from, to) = (year(&q.desde, this_year - 9)?, year(&q.hasta, this_year)?);
    if from > to {
        return Err(AppError::BadRequest("el año inicial es posterior al final".into()));
    }
    let start = |y: i32| violeta_domain::alerta::from_local(chrono::NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or_default().and_hms_opt(0, 0, 0).unwrap_or_default());
    Ok((from, to, start(from), start(to + 1)))
}

pub async fn report(State(state): State<AppState>, ctx: Ctx, Query(q): Query<ReportQuery>) -> PageResult {
    let (from, to, start, end) = report_period(&q)?;
    let r = report::build(&state.store.alert_timings(start, end).await?);
    render(&ReportPage { l: Layout::new(&ctx, &state, "Alerta Rosa: informe"), r, from, to, query: format!("desde={from}&hasta={to}") })
}

pub async fn report_csv(State(state): State<AppState>, Query(q): Query<ReportQuery>) -> PageResult {
    let (from, to, start, end) = report_period(&q)?;
    let r = report::build(&state.store.alert_timings(start, end).await?);
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, header_value(&format!("attachment; filename=\"alerta-rosa-{from}-{to}.csv\""))?),
        ],
        report::to_csv(&r),
    )
        .into_response())
}

// ---------------------------------------------------------------------------
// Public

/// One active alert in the public list.
pub struct PublicCard {
    pub folio: String,
    pub headline: String,
    pub name: String,
    pub age: String,
    pub last_seen: String,
    pub place: String,
    pub has_photo: bool,
}

#[derive(Template)]
#[template(path = "alerta_publica_lista.html")]
struct PublicListPage {
    l: Layout,
    cards: Vec<PublicCard>,
}

#[derive(Template)]
#[template(path = "alerta_publica.html")]
struct PublicPage {
    l: Layout,
    folio: String,
    active: Option<ActiveView>,
}

pub struct ActiveView {
    pub facts: PublicFacts,
    pub fields: Vec<(&'static str, String)>,
    pub alt: String,
    pub has_square: bool,
    pub downloads: Vec<(String, String)>,
    pub tel: Vec<(String, String)>,
    pub translations: Vec<(String, String)>,
}

/// Answers 304 when the client holds this version, or the body with its caching headers.
fn cached_response(ctx: &Ctx, headers: &HeaderMap, etag: &str, content_type: &str, body: Bytes, extra: Option<(header::HeaderName, HeaderValue)>) -> PageResult {
    let personal = ctx.user.is_some();
    let cc = cache_control(ctx, headers, personal);
    let etag_value = header_value(etag)?;
    if !personal && not_modified(headers, etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value), (header::CACHE_CONTROL, cc)]).into_response());
    }
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, header_value(content_type)?);
    h.insert(header::CACHE_CONTROL, cc);
    h.insert(header::VARY, HeaderValue::from_static("Cookie"));
    if !personal {
        h.insert(header::ETAG, etag_value);
    }
    if let Some((k, v)) = extra {
        h.insert(k, v);
    }
    Ok(response)
}

/// `"r{version}-{hash of what varies}"`.
fn etag(version: i64, parts: &[&str]) -> String {
    let mut h = Fnv::default();
    for p in parts {
        h.write(p.as_bytes());
        h.write(b"#");
    }
    format!("\"r{version}-{:016x}\"", h.finish())
}

pub async fn public_list(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap) -> PageResult {
    let snapshot = state.alert_cache.snapshot(&state.store).await?;
    let personal = ctx.user.is_some();
    let tag = etag(snapshot.version, &["lista", if state.config.demo { "demo" } else { "" }]);
    let build = || async {
        let cards = snapshot
            .alerts
            .iter()
            .map(|a| {
                let f = a.facts();
                PublicCard {
                    folio: a.folio.clone(),
                    headline: f.headline(),
                    name: f.full_name.clone(),
                    age: f.age_label(),
                    last_seen: long_local(f.last_seen_at),
                    place: f.place_label(),
                    has_photo: a.photo_size.is_some(),
                }
            })
            .collect();
        let html = PublicListPage { l: Layout::new(&ctx, &state, PUBLIC_TITLE), cards }.render().map_err(|e| violeta_store::StoreError::Invalid(e.to_string()))?;
        Ok(Bytes::from(html))
    };
    let body = if personal { build().await? } else { snapshot.body("lista", build).await? };
    cached_response(&ctx, &headers, &tag, "text/html; charset=utf-8", body, None)
}

fn folio_or_404(raw: &str) -> Result<AlertFolio, AppError> {
    AlertFolio::parse(raw).map_err(AppError::NotFound)
}

async fn public_folio(state: &AppState, raw: &str) -> Result<(std::sync::Arc<Snapshot>, AlertFolio, std::sync::Arc<Folio>), AppError> {
    let folio = folio_or_404(raw)?;
    let snapshot = state.alert_cache.snapshot(&state.store).await?;
    let f = snapshot.folio(&state.store, &folio).await?.ok_or_else(|| AppError::NotFound(format!("no hay una Alerta Rosa pública con el folio {folio}")))?;
    Ok((snapshot, folio, f))
}

/// Phone numbers in the hotline text, for `tel:` links: "911", "089".
fn phone_links(hotline: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in hotline.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            current.push(c);
        } else if !matches!(c, ' ' | '-') || current.len() >= 3 {
            if current.len() >= 3 {
                out.push((current.clone(), current.clone()));
            }
            current.clear();
        }
    }
    out
}

fn active_view(a: &PublicAlert, f: &Folio) -> ActiveView {
    let facts = a.facts();
    let mut downloads = Vec::new();
    let translations: Vec<TranslationRecord> = Vec::new();
    for name in &f.documents {
        downloads.push((name.clone(), document_label(name, &translations)));
    }
    for t in &f.translations {
        for d in downloads.iter_mut() {
            if d.0.contains(&format!(".{}.", t.language)) {
                d.1 = format!("{} — {}", d.1, t.language_name);
            }
        }
    }
    ActiveView {
        alt: publication::activation(&facts, "", Vec::new()).image_alt,
        fields: facts.fields(),
        has_square: f.documents.contains(&app::square_name()),
        downloads,
        tel: phone_links(&facts.hotline),
        translations: f.translations.iter().map(|t| (t.language_name.clone(), t.body.clone())).collect(),
        facts,
    }
}

pub async fn public_page(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(raw): Path<String>) -> PageResult {
    let (snapshot, folio, f) = public_folio(&state, &raw).await?;
    let tag = etag(snapshot.version, &["pagina", folio.as_str(), if state.config.demo { "demo" } else { "" }]);
    let concluded = matches!(f.state, PublicAlertState::Concluded { .. });
    let build = || async {
        let active = match &f.state {
            PublicAlertState::Active(a) => Some(active_view(a, &f)),
            PublicAlertState::Concluded { .. } => None,
        };
        let title = match &active {
            Some(v) => v.facts.headline(),
            None => format!("Alerta Rosa {folio}: concluida"),
        };
        let html = PublicPage { l: Layout::new(&ctx, &state, title), folio: folio.to_string(), active }
            .render()
            .map_err(|e| violeta_store::StoreError::Invalid(e.to_string()))?;
        Ok(Bytes::from(html))
    };
    let body = if ctx.user.is_some() { build().await? } else { snapshot.body(&format!("pagina|{folio}"), build).await? };
    // A concluded alert's page is not for search engines to keep.
    let extra = concluded.then(|| (header::HeaderName::from_static("x-robots-tag"), HeaderValue::from_static("noindex")));
    cached_response(&ctx, &headers, &tag, "text/html; charset=utf-8", body, extra)
}

/// The CAP message of a folio: the latest one issued, referencing those before it.
pub async fn public_cap(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(raw): Path<String>) -> PageResult {
    let (snapshot, folio, f) = public_folio(&state, &raw).await?;
    let base = base_url(&state, &headers);
    let tag = etag(snapshot.version, &["cap", folio.as_str(), &base]);
    let body = snapshot
        .body(&format!("cap|{folio}|{base}"), || async { Ok(Bytes::from(cap_body(&state, &base, &folio, &f).await?)) })
        .await?;
    cached_response(&ctx, &headers, &tag, cap::CAP_CONTENT_TYPE, body, None)
}

fn issued(m: &CapMessage) -> cap::Issued {
    cap::Issued { identifier: m.identifier.clone(), sender: m.sender.clone(), sent_at: m.sent_at, msg_type: m.msg_type.clone() }
}

async fn cap_body(state: &AppState, base: &str, folio: &AlertFolio, f: &Folio) -> Result<String, violeta_store::StoreError> {
    let Some((last, earlier)) = f.messages.split_last() else {
        return Err(violeta_store::StoreError::NotFound(format!("la alerta {folio} todavía no tiene mensaje CAP")));
    };
    let earlier: Vec<cap::Issued> = earlier.iter().map(issued).collect();
    let page_url = publication::link(base, folio.as_str());
    Ok(match &f.state {
        PublicAlertState::Active(a) => {
            let facts = a.facts();
            let photo_url = format!("{page_url}/foto.jpg");
            let ficha_url = format!("{page_url}/{}", app::square_name());
            let body = cap::Body::Active(cap::Active {
                facts: &facts,
                cvegeo: &a.cvegeo,
                center: a.center(),
                radius_km: a.radius_km,
                page_url: &page_url,
                photo: a.photo_size.map(|s| (photo_url.as_str(), s)),
                ficha_url: f.documents.contains(&app::square_name()).then_some(ficha_url.as_str()),
                translations: &f.translations,
            });
            cap::message(&issued(last), &earlier, &body)
        }
        PublicAlertState::Concluded { .. } => {
            // The area's name is no personal data; read it from the record kept for the file.
            let a = state.store.alert_by_folio(folio).await?;
            let body = cap::Body::Concluded(cap::Concluded { folio: folio.as_str(), municipality: &a.municipality, state: &a.state, cvegeo: &a.cvegeo, page_url: &page_url });
            cap::message(&issued(last), &earlier, &body)
        }
    })
}

/// The Atom index of active alerts.
pub async fn public_atom(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap) -> PageResult {
    let snapshot = state.alert_cache.snapshot(&state.store).await?;
    let base = base_url(&state, &headers);
    let tag = etag(snapshot.version, &["atom", &base]);
    let body = snapshot
        .body(&format!("atom|{base}"), || async {
            let mut facts = Vec::new();
            for a in &snapshot.alerts {
                let folio = folio_or_404(&a.folio).map_err(|e| violeta_store::StoreError::Invalid(e.to_string()))?;
                let updated = snapshot.folio(&state.store, &folio).await?.and_then(|f| f.messages.last().map(|m| m.sent_at)).or(a.activated_at).unwrap_or(a.updated_at);
                facts.push((a.facts(), updated));
            }
            let entries: Vec<cap::Entry> = facts
                .iter()
                .map(|(f, updated)| {
                    let page_url = publication::link(&base, &f.folio);
                    cap::Entry { facts: f, cap_url: format!("{page_url}/cap.xml"), page_url, updated: *updated }
                })
                .collect();
            let updated = entries.iter().map(|e| e.updated).max().unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
            Ok(Bytes::from(cap::atom(&base, &entries, updated)))
        })
        .await?;
    cached_response(&ctx, &headers, &tag, cap::ATOM_CONTENT_TYPE, body, None)
}

/// A public file of an active alert: her photo or a ficha. Gone once the alert concludes.
pub async fn public_file(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path((raw, archivo)): Path<(String, String)>) -> PageResult {
    let (snapshot, folio, f) = public_folio(&state, &raw).await?;
    if let PublicAlertState::Concluded { .. } = f.state {
        return Ok((StatusCode::GONE, Html(crate::layout::error_page(StatusCode::GONE, "La alerta concluyó: sus datos y su fotografía se retiraron."))).into_response());
    }
    let store = state.store.clone();
    let key = format!("{folio}/{archivo}");
    let found = if archivo == "foto.jpg" {
        snapshot.file(&key, || async move { Ok(store.public_photo(&folio).await?.map(|b| ("image/jpeg".to_string(), b))) }).await?
    } else if f.documents.contains(&archivo) {
        let name = archivo.clone();
        snapshot.file(&key, || async move { store.public_document(&folio, &name).await }).await?
    } else {
        None
    };
    let Some((content_type, bytes)) = found else {
        return Err(AppError::NotFound(format!("no existe el archivo «{archivo}»")));
    };
    let tag = etag(snapshot.version, &["archivo", &key]);
    cached_response(&ctx, &headers, &tag, &content_type, bytes, None)
}
