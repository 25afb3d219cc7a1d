//! Constancias: issuing them for a held training session, the PDF, revoking and reissuing
//! (staff), and the public verification of a folio — the page that shows every field of the
//! signed document (so an edited PDF is caught), the signed JSON itself, and the issuer's
//! public key and revocation list for verifying offline.

use super::{render, see_other};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, PageResult};
use crate::layout::Layout;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use violeta_domain::access::Permission;
use violeta_domain::credential::{Folio, MasterKey, Rejection, did_key, encode_status_list, sign, status_list_document, verify};
use violeta_store::credentials::{CredentialRecord, CredentialState, IssuerInput, Signing};

/// The public origin documents point at: the configured one, else the request's.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = state.config.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:8080");
    let scheme = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).filter(|s| *s == "https").unwrap_or("http");
    format!("{scheme}://{host}")
}

fn master_key(state: &AppState) -> Result<&MasterKey, AppError> {
    state.config.credential_key.as_ref().ok_or_else(|| {
        AppError::Conflict("Este servidor no puede firmar constancias: falta configurar VIOLETA_SECRET_KEY (consulte el README).".into())
    })
}

/// A folio from the path, or "not found" (a malformed folio names no constancia).
fn folio(raw: &str) -> Result<Folio, AppError> {
    Folio::parse(raw).map_err(|e| AppError::NotFound(e.to_string()))
}

async fn record(state: &AppState, folio: &Folio) -> Result<CredentialRecord, AppError> {
    state.store.credential(folio).await?.ok_or_else(|| AppError::NotFound(format!("no existe una constancia con el folio {folio}")))
}

/// Where a constancia stands, and whether its signed document still verifies.
pub struct Checked {
    pub state: CredentialState,
    /// `Ok` when the stored document verifies against the issuer's key; the reason otherwise.
    pub signature: Result<(), Rejection>,
}

impl Checked {
    pub fn valid(&self) -> bool {
        self.state == CredentialState::Valida && self.signature.is_ok()
    }
}

pub async fn check(state: &AppState, c: &CredentialRecord) -> Result<Checked, AppError> {
    let now = chrono::Utc::now();
    let standing = c.state(now);
    // Revocation and expiry are reported by `standing`: here, the signature alone.
    let signature = match state.signatures.get(c.id, c.issuer_id, &c.credential_json) {
        Some(answer) => answer,
        None => {
            let answer = match state.store.issuer_by_id(c.issuer_id).await? {
                None => Err(Rejection::IssuerMismatch),
                Some(issuer) => match verify(&c.document(), &issuer.verifying_key()?, None, now) {
                    Err(Rejection::Expired) => Ok(()),
                    other => other,
                },
            };
            state.signatures.remember(c.id, c.issuer_id, &c.credential_json, answer)
        }
    };
    Ok(Checked { state: standing, signature })
}

// ----- issuing (staff) -----

#[derive(Deserialize, Default)]
pub struct IssueForm {
    #[serde(default)]
    emisor: String,
    #[serde(default)]
    firmante: String,
    #[serde(default)]
    cargo: String,
}

/// Issues a constancia to every attendee of a held session who has none yet. The first time,
/// the form also names the issuing authority and its signatory (kept for later issues).
pub async fn issue(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>, Form(f): Form<IssueForm>) -> PageResult {
    let master = master_key(&state)?;
    let input = IssuerInput { name: f.emisor, signatory: f.firmante, signatory_title: f.cargo };
    let given = !(input.name.trim().is_empty() && input.signatory.trim().is_empty() && input.signatory_title.trim().is_empty());
    if given || state.store.active_issuer().await?.is_none() {
        state.store.ensure_issuer(&ctx.actor(), &input, master).await?;
    }
    let base = base_url(&state, &headers);
    state.store.issue_training_credentials(&ctx.actor(), id, Signing { master, base_url: &base }).await?;
    see_other(&format!("/capacitaciones/{id}"), "constancias")
}

// ----- the PDF (staff) -----

/// `/constancias/VIO-XXXX-XXXX-XXXX.pdf`: the printable constancia, for staff who may see the
/// person (an enlace, only its institution's people).
pub async fn pdf(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(file): Path<String>) -> PageResult {
    let raw = file.strip_suffix(".pdf").ok_or_else(|| AppError::NotFound("no existe esa constancia".into()))?;
    let c = record(&state, &folio(raw)?).await?;
    state.store.person(ctx.principal.people_scope(), c.person_id).await?;
    let base = base_url(&state, &headers);
    let bytes = tokio::task::spawn_blocking(move || violeta_app::constancia::pdf(&c, &base).map(|b| (b, c.folio)))
        .await
        .map_err(|e| AppError::Internal(format!("pdf: {e}")))?
        .map_err(AppError::Internal)?;
    let (bytes, folio) = bytes;
    let disposition = HeaderValue::from_str(&format!("inline; filename=\"constancia-{folio}.pdf\"")).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf")), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}

// ----- revoking and reissuing (staff) -----

#[derive(Deserialize, Default)]
pub struct ReasonForm {
    #[serde(default)]
    motivo: String,
}

pub async fn revoke(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>, Form(f): Form<ReasonForm>) -> PageResult {
    let folio = folio(&raw)?;
    state.store.revoke_credential(&ctx.actor(), &folio, &f.motivo).await?;
    see_other(&format!("/verificar/{folio}"), "revocada")
}

pub async fn reissue(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(raw): Path<String>, Form(f): Form<ReasonForm>) -> PageResult {
    let folio = folio(&raw)?;
    let master = master_key(&state)?;
    let base = base_url(&state, &headers);
    let new = state.store.reissue_credential(&ctx.actor(), &folio, &f.motivo, Signing { master, base_url: &base }).await?;
    see_other(&format!("/verificar/{new}"), "reemitida")
}

// ----- public verification -----

#[derive(Template)]
#[template(path = "constancias/verify.html")]
struct VerifyPage {
    l: Layout,
    c: CredentialRecord,
    checked: Checked,
    can_manage: bool,
    can_download: bool,
}

impl VerifyPage {
    fn document_title(&self) -> &'static str {
        self.c.kind().document_title()
    }
    fn subject_label(&self) -> &'static str {
        match self.c.kind() {
            violeta_domain::credential::CredentialKind::Curso => "Curso",
            violeta_domain::credential::CredentialKind::Capacitacion => "Capacitación",
        }
    }
    fn issued(&self) -> String {
        violeta_domain::credential::long_date(self.c.issued_at.date_naive())
    }
    fn expires(&self) -> String {
        self.c.expires_at.map(|d| violeta_domain::credential::long_date(d.date_naive())).unwrap_or_else(|| "Sin vencimiento".into())
    }
    fn revoked_on(&self) -> String {
        self.c.revoked_at.map(|d| violeta_domain::credential::long_date(d.date_naive())).unwrap_or_default()
    }
    fn signature_problem(&self) -> Option<String> {
        self.checked.signature.as_ref().err().map(|e| e.to_string())
    }
}

#[derive(Template)]
#[template(path = "constancias/lookup.html")]
struct LookupPage {
    l: Layout,
    folio: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct LookupQuery {
    folio: Option<String>,
}

/// `/verificar`: type a folio.
pub async fn lookup(State(state): State<AppState>, ctx: Ctx, Query(q): Query<LookupQuery>) -> PageResult {
    let typed = q.folio.unwrap_or_default();
    if typed.trim().is_empty() {
        return render(&LookupPage { l: Layout::new(&ctx, &state, "Verificar una constancia"), folio: String::new(), error: None });
    }
    match Folio::parse(&typed) {
        Ok(f) => Ok(super::redirect(&format!("/verificar/{f}"))),
        Err(e) => {
            let page = LookupPage { l: Layout::new(&ctx, &state, "Verificar una constancia"), folio: typed, error: Some(e.to_string()) };
            super::render_invalid(&page)
        }
    }
}

#[derive(Deserialize, Default)]
pub struct VerifyQuery {
    aviso: Option<String>,
}

/// `/verificar/{folio}` shows the constancia; `/verificar/{folio}.json` returns its signed
/// document (the router cannot tell the two apart by pattern, so this handler does).
pub async fn verify_page(State(state): State<AppState>, ctx: Ctx, Path(raw): Path<String>, Query(q): Query<VerifyQuery>) -> PageResult {
    if let Some(stem) = raw.strip_suffix(".json") {
        let c = record(&state, &folio(stem)?).await?;
        let mut response = c.credential_json.clone().into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let disposition = HeaderValue::from_str(&format!("inline; filename=\"constancia-{}.json\"", c.folio)).map_err(|e| AppError::Internal(e.to_string()))?;
        response.headers_mut().insert(header::CONTENT_DISPOSITION, disposition);
        response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        return Ok(response);
    }
    let c = record(&state, &folio(&raw)?).await?;
    let checked = check(&state, &c).await?;
    let mut response = render(&VerifyPage {
        l: Layout::new(&ctx, &state, format!("Constancia {}", c.folio)).with_notice(q.aviso.as_deref()),
        c,
        checked,
        can_manage: ctx.can(Permission::ManageTrainings),
        can_download: ctx.can(Permission::ViewPeople),
    })?;
    // A verification page is not for search engines: it names a person.
    response.headers_mut().insert("x-robots-tag", HeaderValue::from_static("noindex"));
    Ok(response)
}

fn json_response(value: &serde_json::Value) -> Response {
    let mut response = axum::Json(value).into_response();
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// `/.well-known/violeta/emisor.json`: the issuer and every public key it has signed with,
/// for verifying constancias offline.
pub async fn issuer(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let issuers = state.store.issuers().await?;
    let active = issuers.iter().find(|i| i.active).ok_or_else(|| AppError::NotFound("todavía no hay institución emisora".into()))?;
    let key = active.verifying_key()?;
    let keys: Vec<serde_json::Value> = issuers
        .iter()
        .filter_map(|i| {
            let k = i.verifying_key().ok()?;
            Some(serde_json::json!({
                "id": violeta_domain::credential::verification_method(&k),
                "type": "Multikey",
                "controller": did_key(&k),
                "publicKeyMultibase": i.public_key,
                "activa": i.active,
                "desde": violeta_domain::credential::timestamp(i.created_at),
            }))
        })
        .collect();
    let base = base_url(&state, &headers);
    Ok(json_response(&serde_json::json!({
        "id": did_key(&key),
        "type": ["Profile"],
        "name": active.name,
        "official": format!("{}, {}", active.signatory, active.signatory_title),
        "publicKeyMultibase": active.public_key,
        "verificationMethod": keys,
        "criptosuite": violeta_domain::credential::CRYPTOSUITE,
        "listaDeEstado": violeta_domain::credential::status_list_url(&base),
        "verificar": format!("{base}/verificar/{{folio}}"),
    })))
}

/// `/.well-known/violeta/estado.json`: the revocation list (W3C Bitstring Status List),
/// signed by the issuer when this server holds its key.
pub async fn status_list(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let issuer = state.store.active_issuer().await?.ok_or_else(|| AppError::NotFound("todavía no hay institución emisora".into()))?;
    let (revoked, taken) = state.store.credential_status_list().await?;
    let base = base_url(&state, &headers);
    let now = violeta_store::now();
    let encoded = encode_status_list(&revoked, taken);
    let doc = status_list_document(&base, &issuer.verifying_key()?, &encoded, now);
    let doc = match state.config.credential_key.as_ref() {
        Some(master) => {
            let (_, key) = state.store.issuer_signing_key(master).await?;
            sign(&doc, &key, now).map_err(|e| AppError::Internal(e.to_string()))?
        }
        None => doc,
    };
    let mut response = json_response(&doc);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    Ok(response)
}

// ----- a holder's document -----

#[derive(Deserialize, Default)]
pub struct DocumentForm {
    #[serde(default)]
    documento: String,
}

#[derive(Template)]
#[template(path = "constancias/document.html")]
struct DocumentPage {
    l: Layout,
    error: Option<String>,
    check: Option<violeta_app::credentials::DocumentCheck>,
}

impl DocumentPage {
    fn reason(&self) -> String {
        match &self.check {
            Some(c) => c.result.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
            None => String::new(),
        }
    }
}

/// `POST /verificar/documento`: checks the signed JSON a holder presents (pasted), against
/// the published keys and the revocation records.
pub async fn verify_document(State(state): State<AppState>, ctx: Ctx, Form(f): Form<DocumentForm>) -> PageResult {
    let l = Layout::new(&ctx, &state, "Verificar el documento de una constancia");
    match violeta_app::credentials::check_document(&state.store, &f.documento).await {
        Ok(check) => render(&DocumentPage { l, error: None, check: Some(check) }),
        Err(e) => super::render_invalid(&DocumentPage { l, error: Some(e), check: None }),
    }
}
