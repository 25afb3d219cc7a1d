//! Alerta Rosa cases in the store: the case and its private part (sealed), the risk check,
//! translations, the timeline, activation with its public documents, localization or
//! deactivation with the takedown, the CAP messages issued, and the public view.
//!
//! Public reads ([`Store::public_alerts`], [`Store::public_alert`],
//! [`Store::public_document`]) select only public columns of active alerts that are not
//! drills: that one condition ([`PUBLIC_WHERE`]) is what takes her data off every public
//! page and feed the moment an alert concludes. Every change to what the public sees bumps
//! the `alertas` version in the same transaction, so every server's cache drops it at once.
//!
//! Every write runs in one transaction with its audit entry; every read of the private part
//! is audited in the transaction that reads it. Decrypted data is never logged: audit
//! entries name the case and the fields that changed, never their values.

use crate::audit::{Event, append};
use crate::{Result, Store, StoreError, Tx, now, on_pool, on_tx};
use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use violeta_domain::alerta::{
    AlertDraft, AlertFolio, AlertStatus, Closing, Consent, PrivateData, PublicFacts, RecordedSex, RiskCheck, RiskLevel, Timeline,
    Translation, check_activation, is_public, to_local,
};
use violeta_domain::audit::Actor;
use violeta_domain::credential::{MasterKey, seal_for, unseal_for};
use violeta_domain::dissemination::{PublicationKind, Takedown};
use violeta_domain::geo::Point;
use crate::dissemination::Publication;

/// What binds the sealed private part to its purpose.
const PRIVATE_CONTEXT: &[u8] = b"violeta:alerta-rosa-privado:v1";

/// The one condition for public visibility (see [`violeta_domain::alerta::is_public`]).
pub const PUBLIC_WHERE: &str = "a.status IN ('activada', 'difundida') AND a.drill = FALSE";

/// A case as staff see it, without its private part and without the photo's bytes.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AlertRecord {
    pub id: i64,
    pub folio: String,
    pub drill: bool,
    pub status: String,
    pub full_name: String,
    pub age: i64,
    pub sex: String,
    pub gender_identity: String,
    pub height_cm: Option<i64>,
    pub complexion: String,
    pub skin: String,
    pub hair: String,
    pub eyes: String,
    pub marks: String,
    pub clothing: String,
    pub last_seen_at: DateTime<Utc>,
    pub last_seen_place: String,
    pub cvegeo: String,
    pub municipality: String,
    pub state: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub head_lat: Option<f64>,
    pub head_lon: Option<f64>,
    pub radius_km: f64,
    pub circumstances: String,
    pub hotline: String,
    pub authority: String,
    pub has_photo: bool,
    pub has_private: bool,
    pub reported_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub disseminated_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_note: String,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
}

const ALERT_SELECT: &str = "SELECT a.id, a.folio, a.drill, a.status, a.full_name, a.age, a.sex, a.gender_identity, a.height_cm, \
    a.complexion, a.skin, a.hair, a.eyes, a.marks, a.clothing, a.last_seen_at, a.last_seen_place, a.cvegeo, m.name AS municipality, \
    st.name AS state, a.lat, a.lon, m.head_lat, m.head_lon, a.radius_km, a.circumstances, a.hotline, a.authority, \
    (a.photo IS NOT NULL) AS has_photo, (a.private_sealed <> '') AS has_private, a.reported_at, a.activated_at, a.disseminated_at, \
    a.closed_at, a.close_note, a.created_by, a.updated_at \
    FROM alerts a JOIN municipalities m ON m.cvegeo = a.cvegeo JOIN states st ON st.cve_ent = m.cve_ent";

/// A case's public facts, whatever record they come from.
macro_rules! facts_of {
    ($r:expr) => {
        PublicFacts {
            folio: $r.folio.clone(),
            full_name: $r.full_name.clone(),
            age: $r.age,
            sex: RecordedSex::parse(&$r.sex).unwrap_or(RecordedSex::Mujer),
            gender_identity: $r.gender_identity.clone(),
            height_cm: $r.height_cm,
            complexion: $r.complexion.clone(),
            skin: $r.skin.clone(),
            hair: $r.hair.clone(),
            eyes: $r.eyes.clone(),
            marks: $r.marks.clone(),
            clothing: $r.clothing.clone(),
            last_seen_at: $r.last_seen_at,
            last_seen_place: $r.last_seen_place.clone(),
            municipality: $r.municipality.clone(),
            state: $r.state.clone(),
            circumstances: $r.circumstances.clone(),
            hotline: $r.hotline.clone(),
            drill: false,
        }
    };
}

impl AlertRecord {
    pub fn status(&self) -> AlertStatus {
        AlertStatus::parse(&self.status).unwrap_or(AlertStatus::Reportada)
    }

    pub fn facts(&self) -> PublicFacts {
        PublicFacts { drill: self.drill, ..facts_of!(self) }
    }

    /// Whether her data is public now.
    pub fn is_public(&self) -> bool {
        is_public(self.status(), self.drill)
    }

    /// The centre of the search area: the last-seen place, or the municipality's head town.
    pub fn center(&self) -> Option<Point> {
        center(self.lat, self.lon, self.head_lat, self.head_lon)
    }

    pub fn timeline(&self) -> Timeline {
        Timeline {
            reported_at: self.reported_at,
            activated_at: self.activated_at,
            all_posted_at: self.disseminated_at,
            closed_at: self.closed_at,
            status: self.status(),
        }
    }
}

fn center(lat: Option<f64>, lon: Option<f64>, head_lat: Option<f64>, head_lon: Option<f64>) -> Option<Point> {
    match (lat, lon) {
        (Some(lat), Some(lon)) => Some(Point { lat, lon }),
        _ => match (head_lat, head_lon) {
            (Some(lat), Some(lon)) => Some(Point { lat, lon }),
            _ => None,
        },
    }
}

/// What the public may see of an active alert. No reporter, no investigation file, no
/// health details, no investigating authority's internal data.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PublicAlert {
    pub id: i64,
    pub folio: String,
    pub full_name: String,
    pub age: i64,
    pub sex: String,
    pub gender_identity: String,
    pub height_cm: Option<i64>,
    pub complexion: String,
    pub skin: String,
    pub hair: String,
    pub eyes: String,
    pub marks: String,
    pub clothing: String,
    pub last_seen_at: DateTime<Utc>,
    pub last_seen_place: String,
    pub cvegeo: String,
    pub municipality: String,
    pub state: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub head_lat: Option<f64>,
    pub head_lon: Option<f64>,
    pub radius_km: f64,
    pub circumstances: String,
    pub hotline: String,
    pub activated_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub photo_size: Option<i64>,
}

impl PublicAlert {
    pub fn facts(&self) -> PublicFacts {
        facts_of!(self)
    }
    pub fn center(&self) -> Option<Point> {
        center(self.lat, self.lon, self.head_lat, self.head_lon)
    }
}

/// The public columns only: the one query behind every public surface.
const PUBLIC_SELECT: &str = "SELECT a.id, a.folio, a.full_name, a.age, a.sex, a.gender_identity, a.height_cm, a.complexion, a.skin, \
    a.hair, a.eyes, a.marks, a.clothing, a.last_seen_at, a.last_seen_place, a.cvegeo, m.name AS municipality, st.name AS state, \
    a.lat, a.lon, m.head_lat, m.head_lon, a.radius_km, a.circumstances, a.hotline, a.activated_at, a.updated_at, \
    CAST(LENGTH(a.photo) AS BIGINT) AS photo_size \
    FROM alerts a JOIN municipalities m ON m.cvegeo = a.cvegeo JOIN states st ON st.cve_ent = m.cve_ent";

/// What the public learns of a folio.
#[derive(Debug, Clone)]
pub enum PublicAlertState {
    Active(Box<PublicAlert>),
    /// The alert was public and concluded: nothing about her is shown any more.
    Concluded { folio: String, closed_at: DateTime<Utc> },
}

/// One line of the staff list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AlertSummary {
    pub id: i64,
    pub folio: String,
    pub drill: bool,
    pub status: String,
    pub full_name: String,
    pub age: i64,
    pub municipality: String,
    pub last_seen_at: DateTime<Utc>,
    pub reported_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl AlertSummary {
    pub fn status_label(&self) -> &'static str {
        AlertStatus::parse(&self.status).map(|s| s.label()).unwrap_or("")
    }
}

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Only cases not yet concluded.
    pub open_only: bool,
    /// Folio, or part of her name.
    pub query: Option<String>,
}

/// One step of a case's timeline.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AlertEvent {
    /// A status code, or `riesgo`, `traduccion`, `edicion`, `lectura_privada` is never here
    /// (reads go to the audit trail only).
    pub kind: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub note: String,
}

impl AlertEvent {
    pub fn label(&self) -> String {
        match self.kind.as_str() {
            "riesgo" => "Evaluación de riesgo y consentimiento".into(),
            "traduccion" => "Traducción de la ficha".into(),
            "edicion" => "Datos corregidos".into(),
            k => AlertStatus::parse(k).map(|s| s.label().to_string()).unwrap_or_else(|| k.to_string()),
        }
    }
}

/// A recorded risk check, with who and when.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RiskCheckRecord {
    pub id: i64,
    pub level: String,
    pub publish_ok: bool,
    pub notes: String,
    pub consent: String,
    pub consent_by: String,
    pub consent_relationship: String,
    pub consent_note: String,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
}

impl RiskCheckRecord {
    pub fn check(&self) -> RiskCheck {
        RiskCheck {
            level: RiskLevel::parse(&self.level).unwrap_or(RiskLevel::Alto),
            publish_ok: self.publish_ok,
            notes: self.notes.clone(),
            consent: Consent::parse(&self.consent).unwrap_or(Consent::Negado),
            consent_by: self.consent_by.clone(),
            consent_relationship: self.consent_relationship.clone(),
            consent_note: self.consent_note.clone(),
        }
    }
    pub fn level_label(&self) -> &'static str {
        RiskLevel::parse(&self.level).map(|l| l.label()).unwrap_or("")
    }
    pub fn consent_label(&self) -> &'static str {
        Consent::parse(&self.consent).map(|c| c.label()).unwrap_or("")
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TranslationRecord {
    pub language: String,
    pub language_name: String,
    pub heading: String,
    pub body: String,
    pub call_to_action: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl TranslationRecord {
    pub fn translation(&self) -> Translation {
        Translation {
            language: self.language.clone(),
            language_name: self.language_name.clone(),
            heading: self.heading.clone(),
            body: self.body.clone(),
            call_to_action: self.call_to_action.clone(),
        }
    }
}

/// A rendered public document of an alert (a ficha in PNG or PDF).
#[derive(Debug, Clone)]
pub struct Document {
    /// `ficha-1080x1080.png`, `ficha.zap.pdf`.
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A CAP message issued for an alert.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CapMessage {
    pub identifier: String,
    pub sender: String,
    pub sent_at: DateTime<Utc>,
    pub msg_type: String,
}

/// A past case, for loading an office's earlier register (and the demonstration):
/// concluded, with the times each step happened. No photo and no public documents.
#[derive(Debug, Clone)]
pub struct PastAlert {
    pub draft: AlertDraft,
    pub reported_at: DateTime<Utc>,
    pub activated_at: DateTime<Utc>,
    pub disseminated_at: Option<DateTime<Utc>>,
    pub closed_at: DateTime<Utc>,
    pub closing: Closing,
    pub close_note: String,
}

/// One case's times, for the report.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AlertTiming {
    pub id: i64,
    pub folio: String,
    pub status: String,
    pub cvegeo: String,
    pub municipality: String,
    pub reported_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub disseminated_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl AlertTiming {
    pub fn timeline(&self) -> Timeline {
        Timeline {
            reported_at: self.reported_at,
            activated_at: self.activated_at,
            all_posted_at: self.disseminated_at,
            closed_at: self.closed_at,
            status: AlertStatus::parse(&self.status).unwrap_or(AlertStatus::Reportada),
        }
    }
    /// The year of the report, in central Mexico time.
    pub fn year(&self) -> i32 {
        to_local(self.reported_at).year()
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("el sistema operativo no dio aleatoriedad");
    bytes
}

fn no_key() -> StoreError {
    StoreError::Conflict(
        "Este servidor no puede guardar ni abrir los datos privados de los casos: falta configurar VIOLETA_SECRET_KEY (consulte el README)."
            .into(),
    )
}

/// Seals the private part; an empty one is kept empty.
fn seal_private(private: &PrivateData, master: Option<&MasterKey>) -> Result<String> {
    if private.is_empty() {
        return Ok(String::new());
    }
    let master = master.ok_or_else(no_key)?;
    let json = serde_json::to_vec(private).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(seal_for(master, PRIVATE_CONTEXT, &json, random()))
}

fn not_found() -> StoreError {
    StoreError::NotFound("no existe ese caso de Alerta Rosa".into())
}

fn changed() -> StoreError {
    StoreError::Conflict("el caso cambió mientras se preparaba esta acción (otra persona lo actualizó); revise el caso e inténtelo de nuevo".into())
}

/// Marks the public alert data as changed (in the caller's transaction).
async fn bump_public_alerts(tx: &mut Tx) -> Result<()> {
    on_tx!(tx, |c| sqlx::query("UPDATE public_versions SET version = version + 1 WHERE name = 'alertas'").execute(c).await?.rows_affected());
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_notify('violeta_alertas', '')").execute(&mut **t).await?;
    }
    Ok(())
}

async fn insert_event(tx: &mut Tx, alert_id: i64, kind: &str, at: DateTime<Utc>, actor: &str, note: &str) -> Result<()> {
    on_tx!(tx, |c| sqlx::query("INSERT INTO alert_events (alert_id, kind, at, actor, note) VALUES ($1, $2, $3, $4, $5)")
        .bind(alert_id)
        .bind(kind)
        .bind(at)
        .bind(actor)
        .bind(note)
        .execute(c)
        .await?
        .rows_affected());
    Ok(())
}

/// Gives the next folio of the year.
async fn next_folio(tx: &mut Tx, drill: bool, at: DateTime<Utc>) -> Result<AlertFolio> {
    let year = to_local(at).year();
    let n: i64 = on_tx!(tx, |c| sqlx::query_scalar(
        "INSERT INTO alert_folios (prefix, year, last) VALUES ($1, $2, 1) \
         ON CONFLICT (prefix, year) DO UPDATE SET last = alert_folios.last + 1 RETURNING last"
    )
    .bind(AlertFolio::prefix(drill))
    .bind(i64::from(year))
    .fetch_one(c)
    .await?);
    Ok(AlertFolio::new(drill, year, n))
}

#[allow(clippy::too_many_arguments)]
async fn insert_alert(tx: &mut Tx, d: &AlertDraft, folio: &AlertFolio, status: AlertStatus, sealed: &str, photo: Option<&[u8]>, reported_at: DateTime<Utc>, by: &str) -> Result<i64> {
    Ok(on_tx!(tx, |c| sqlx::query_scalar(
        "INSERT INTO alerts (folio, drill, status, full_name, age, sex, gender_identity, height_cm, complexion, skin, hair, eyes, marks, \
         clothing, last_seen_at, last_seen_place, cvegeo, lat, lon, radius_km, circumstances, hotline, authority, photo, private_sealed, \
         reported_at, created_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28) \
         RETURNING id"
    )
    .bind(folio.as_str())
    .bind(d.drill)
    .bind(status.code())
    .bind(&d.full_name)
    .bind(d.age)
    .bind(d.sex.code())
    .bind(&d.gender_identity)
    .bind(d.height_cm)
    .bind(&d.complexion)
    .bind(&d.skin)
    .bind(&d.hair)
    .bind(&d.eyes)
    .bind(&d.marks)
    .bind(&d.clothing)
    .bind(d.last_seen_at)
    .bind(&d.last_seen_place)
    .bind(d.municipality.as_str())
    .bind(d.point.map(|p| p.lat))
    .bind(d.point.map(|p| p.lon))
    .bind(d.radius_km)
    .bind(&d.circumstances)
    .bind(&d.hotline)
    .bind(&d.authority)
    .bind(photo)
    .bind(sealed)
    .bind(reported_at)
    .bind(by)
    .bind(now())
    .fetch_one(c)
    .await?))
}

/// The state a write reads first, in its transaction.
#[derive(sqlx::FromRow)]
struct Head {
    folio: String,
    drill: bool,
    status: String,
    has_photo: bool,
    updated_at: DateTime<Utc>,
}

impl Head {
    fn status(&self) -> AlertStatus {
        AlertStatus::parse(&self.status).unwrap_or(AlertStatus::Reportada)
    }
    fn is_public(&self) -> bool {
        is_public(self.status(), self.drill)
    }
}

async fn head(tx: &mut Tx, id: i64) -> Result<Head> {
    let found: Option<Head> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT folio, drill, status, (photo IS NOT NULL) AS has_photo, updated_at FROM alerts WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await?);
    found.ok_or_else(not_found)
}

/// Takes the case for this write: fails when it changed since the caller read it at
/// `expected` (so what was rendered or checked from that reading is still true).
async fn touch(tx: &mut Tx, id: i64, expected: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let at = now();
    let n = on_tx!(tx, |c| sqlx::query("UPDATE alerts SET updated_at = $1 WHERE id = $2 AND updated_at = $3")
        .bind(at)
        .bind(id)
        .bind(expected)
        .execute(c)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(changed());
    }
    Ok(at)
}

async fn replace_documents(tx: &mut Tx, id: i64, docs: &[Document]) -> Result<()> {
    on_tx!(tx, |c| sqlx::query("DELETE FROM alert_documents WHERE alert_id = $1").bind(id).execute(c).await?.rows_affected());
    for d in docs {
        on_tx!(tx, |c| sqlx::query("INSERT INTO alert_documents (alert_id, name, content_type, bytes) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(&d.name)
            .bind(&d.content_type)
            .bind(&d.bytes)
            .execute(c)
            .await?
            .rows_affected());
    }
    Ok(())
}

/// Records the next CAP message of an alert: `{folio}-M{n}`.
async fn issue_cap(tx: &mut Tx, id: i64, folio: &str, sender: &str, msg_type: &str, at: DateTime<Utc>) -> Result<()> {
    let issued: i64 = on_tx!(tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM alert_cap_messages WHERE alert_id = $1").bind(id).fetch_one(c).await?);
    on_tx!(tx, |c| sqlx::query("INSERT INTO alert_cap_messages (alert_id, identifier, sender, sent_at, msg_type) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(format!("{folio}-M{}", issued + 1))
        .bind(sender)
        .bind(at)
        .bind(msg_type)
        .execute(c)
        .await?
        .rows_affected());
    Ok(())
}

/// The CAP sender of a public origin: `alerta-rosa@violeta.example.gob.mx`.
pub fn cap_sender(base_url: &str) -> String {
    let host = base_url.split("://").nth(1).unwrap_or(base_url).split(['/', ':']).next().unwrap_or("localhost");
    format!("alerta-rosa@{host}")
}

/// A post handed to dissemination must be about this alert, and of the kind the step makes.
fn check_post(p: &Publication, id: i64, kind: PublicationKind) -> Result<()> {
    if p.alert_id != id || p.kind != kind {
        return Err(StoreError::Invalid(format!("la publicación para los canales no corresponde a este paso (se esperaba «{}»)", kind.label())));
    }
    Ok(())
}

/// Called by dissemination, in its transaction, when a delivery of `alert_id` landed: once
/// every channel has posted the alert's first publication, the case becomes «difundida», at
/// the time the last post landed (what the report measures from the activation).
pub(crate) async fn after_delivery(tx: &mut Tx, alert_id: i64) -> Result<()> {
    let status: Option<String> = on_tx!(tx, |c| sqlx::query_scalar("SELECT status FROM alerts WHERE id = $1").bind(alert_id).fetch_optional(c).await?);
    if status.as_deref() != Some(AlertStatus::Activada.code()) {
        return Ok(());
    }
    let (total, posted, last): (i64, i64, Option<DateTime<Utc>>) = on_tx!(tx, |c| sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN d.status = 'publicada' THEN 1 ELSE 0 END), 0), MAX(d.done_at) \
         FROM deliveries d JOIN alert_dissemination s ON s.source_publication_id = d.publication_id \
         WHERE s.alert_id = $1 AND d.action = 'publicar'"
    )
    .bind(alert_id)
    .fetch_one(c)
    .await?);
    let Some(last) = last.filter(|_| total > 0 && posted == total) else { return Ok(()) };
    let n = on_tx!(tx, |c| sqlx::query("UPDATE alerts SET status = 'difundida', disseminated_at = $1, updated_at = $2 WHERE id = $3 AND status = 'activada'")
        .bind(last)
        .bind(now())
        .bind(alert_id)
        .execute(c)
        .await?
        .rows_affected());
    if n == 1 {
        let actor = Actor::system();
        insert_event(tx, alert_id, AlertStatus::Difundida.code(), last, &actor.label, &format!("Publicada en los {total} canales oficiales")).await?;
        append(tx, &actor, Event::new("alerta.difundida", "alerta", alert_id).with(serde_json::json!({"canales": total}))).await?;
    }
    Ok(())
}

impl Store {
    // ----- cases -----

    /// Registers a reported case and gives it its folio. The private part is sealed with
    /// `master`; without a key, a case with private data cannot be kept.
    pub async fn create_alert(&self, actor: &Actor, d: &AlertDraft, photo: Option<&[u8]>, master: Option<&MasterKey>) -> Result<(i64, AlertFolio)> {
        let sealed = seal_private(&d.private, master)?;
        let at = now();
        let mut tx = self.begin().await?;
        let folio = next_folio(&mut tx, d.drill, at).await?;
        let id = insert_alert(&mut tx, d, &folio, AlertStatus::Reportada, &sealed, photo, at, &actor.label).await?;
        insert_event(&mut tx, id, AlertStatus::Reportada.code(), at, &actor.label, if d.drill { "Simulacro" } else { "" }).await?;
        append(
            &mut tx,
            actor,
            Event::new("alerta.reportar", "alerta", id).with(serde_json::json!({"folio": folio, "simulacro": d.drill, "municipio": d.municipality})),
        )
        .await?;
        tx.commit().await?;
        Ok((id, folio))
    }

    /// Corrects a case's data. When it is public, `docs` are the fichas rendered from the
    /// new data and a CAP Update is issued, in the same transaction. `photo: None` keeps
    /// the current photo.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_alert(
        &self,
        actor: &Actor,
        id: i64,
        expected: DateTime<Utc>,
        d: &AlertDraft,
        photo: Option<&[u8]>,
        master: Option<&MasterKey>,
        docs: &[Document],
        sender: &str,
        post: Option<&Publication>,
    ) -> Result<()> {
        let sealed = seal_private(&d.private, master)?;
        let mut tx = self.begin().await?;
        let h = head(&mut tx, id).await?;
        if h.status().is_closed() {
            return Err(StoreError::Conflict("la alerta ya concluyó: su expediente no se modifica".into()));
        }
        if h.drill != d.drill {
            return Err(StoreError::Invalid("un caso no puede pasar de simulacro a real ni al revés; registre uno nuevo".into()));
        }
        if h.is_public() && docs.is_empty() {
            return Err(StoreError::Invalid("la alerta es pública: faltan las fichas actualizadas".into()));
        }
        let at = touch(&mut tx, id, expected).await?;
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE alerts SET full_name = $1, age = $2, sex = $3, gender_identity = $4, height_cm = $5, complexion = $6, skin = $7, \
             hair = $8, eyes = $9, marks = $10, clothing = $11, last_seen_at = $12, last_seen_place = $13, cvegeo = $14, lat = $15, \
             lon = $16, radius_km = $17, circumstances = $18, hotline = $19, authority = $20, private_sealed = $21, \
             photo = COALESCE($22, photo) WHERE id = $23"
        )
        .bind(&d.full_name)
        .bind(d.age)
        .bind(d.sex.code())
        .bind(&d.gender_identity)
        .bind(d.height_cm)
        .bind(&d.complexion)
        .bind(&d.skin)
        .bind(&d.hair)
        .bind(&d.eyes)
        .bind(&d.marks)
        .bind(&d.clothing)
        .bind(d.last_seen_at)
        .bind(&d.last_seen_place)
        .bind(d.municipality.as_str())
        .bind(d.point.map(|p| p.lat))
        .bind(d.point.map(|p| p.lon))
        .bind(d.radius_km)
        .bind(&d.circumstances)
        .bind(&d.hotline)
        .bind(&d.authority)
        .bind(&sealed)
        .bind(photo)
        .bind(id)
        .execute(c)
        .await?
        .rows_affected());
        if h.is_public() {
            replace_documents(&mut tx, id, docs).await?;
            issue_cap(&mut tx, id, &h.folio, sender, "Update", at).await?;
            bump_public_alerts(&mut tx).await?;
            // The corrected ficha goes to every channel too.
            if let Some(p) = post {
                check_post(p, id, PublicationKind::Actualizacion)?;
                crate::dissemination::publish(&mut tx, p, actor).await?;
            }
        }
        insert_event(&mut tx, id, "edicion", at, &actor.label, if photo.is_some() { "Con fotografía nueva" } else { "" }).await?;
        append(&mut tx, actor, Event::new("alerta.corregir", "alerta", id).with(serde_json::json!({"folio": h.folio, "foto_nueva": photo.is_some()})))
            .await?;
        tx.commit().await
    }

    pub async fn alerts(&self, f: &AlertFilter) -> Result<Vec<AlertSummary>> {
        let query = f.query.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(|q| format!("%{}%", q.to_lowercase()));
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT a.id, a.folio, a.drill, a.status, a.full_name, a.age, m.name AS municipality, a.last_seen_at, a.reported_at, \
             a.activated_at, a.closed_at FROM alerts a JOIN municipalities m ON m.cvegeo = a.cvegeo \
             WHERE ($1 = FALSE OR a.closed_at IS NULL) AND ($2 IS NULL OR LOWER(a.folio) LIKE $2 OR LOWER(a.full_name) LIKE $2) \
             ORDER BY a.closed_at IS NOT NULL, a.reported_at DESC, a.id DESC LIMIT 500"
        )
        .bind(f.open_only)
        .bind(query)
        .fetch_all(p)
        .await?))
    }

    /// A case for staff (without its private part).
    pub async fn alert(&self, id: i64) -> Result<AlertRecord> {
        let sql = format!("{ALERT_SELECT} WHERE a.id = $1");
        let found: Option<AlertRecord> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?);
        found.ok_or_else(not_found)
    }

    pub async fn alert_by_folio(&self, folio: &AlertFolio) -> Result<AlertRecord> {
        let id: Option<i64> = on_pool!(self, |p| sqlx::query_scalar("SELECT id FROM alerts WHERE folio = $1").bind(folio.as_str()).fetch_optional(p).await?);
        self.alert(id.ok_or_else(not_found)?).await
    }

    /// The photo, for staff.
    pub async fn alert_photo(&self, id: i64) -> Result<Option<Vec<u8>>> {
        let row: Option<Option<Vec<u8>>> = on_pool!(self, |p| sqlx::query_scalar("SELECT photo FROM alerts WHERE id = $1").bind(id).fetch_optional(p).await?);
        row.ok_or_else(not_found)
    }

    /// Opens the private part and records the read in the audit trail, in one transaction:
    /// no read without its entry.
    pub async fn alert_private(&self, actor: &Actor, id: i64, master: Option<&MasterKey>) -> Result<PrivateData> {
        let master = master.ok_or_else(no_key)?;
        let mut tx = self.begin().await?;
        let sealed: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT private_sealed FROM alerts WHERE id = $1").bind(id).fetch_optional(c).await?);
        let sealed = sealed.ok_or_else(not_found)?;
        let data = if sealed.is_empty() {
            PrivateData::default()
        } else {
            let bytes = unseal_for(master, PRIVATE_CONTEXT, &sealed).map_err(|_| {
                StoreError::Conflict(
                    "no se pudieron abrir los datos privados del caso: VIOLETA_SECRET_KEY no es la misma con la que se guardaron".into(),
                )
            })?;
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Invalid(format!("datos privados ilegibles: {e}")))?
        };
        append(&mut tx, actor, Event::new("alerta.leer_datos_privados", "alerta", id)).await?;
        tx.commit().await?;
        Ok(data)
    }

    pub async fn alert_events(&self, id: i64) -> Result<Vec<AlertEvent>> {
        Ok(on_pool!(self, |p| sqlx::query_as("SELECT kind, at, actor, note FROM alert_events WHERE alert_id = $1 ORDER BY at, id")
            .bind(id)
            .fetch_all(p)
            .await?))
    }

    // ----- risk check, translations -----

    /// Records a risk check and consent (the newest counts). Bumps the case, so an
    /// activation prepared before it has to look again.
    pub async fn record_risk_check(&self, actor: &Actor, id: i64, r: &RiskCheck) -> Result<()> {
        let mut tx = self.begin().await?;
        let h = head(&mut tx, id).await?;
        if h.status() != AlertStatus::Reportada {
            return Err(StoreError::Conflict(format!(
                "la evaluación de riesgo se registra antes de activar; el caso está «{}»",
                h.status().label()
            )));
        }
        let at = touch(&mut tx, id, h.updated_at).await?;
        on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO alert_risk_checks (alert_id, level, publish_ok, notes, consent, consent_by, consent_relationship, consent_note, \
             recorded_at, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )
        .bind(id)
        .bind(r.level.code())
        .bind(r.publish_ok)
        .bind(&r.notes)
        .bind(r.consent.code())
        .bind(&r.consent_by)
        .bind(&r.consent_relationship)
        .bind(&r.consent_note)
        .bind(at)
        .bind(&actor.label)
        .execute(c)
        .await?
        .rows_affected());
        let note = format!(
            "Riesgo {}; difusión {}; consentimiento: {}",
            r.level.label().to_lowercase(),
            if r.publish_ok { "procedente" } else { "no procedente" },
            r.consent.label().to_lowercase()
        );
        insert_event(&mut tx, id, "riesgo", at, &actor.label, &note).await?;
        append(
            &mut tx,
            actor,
            Event::new("alerta.evaluar_riesgo", "alerta", id)
                .with(serde_json::json!({"nivel": r.level.code(), "procede": r.publish_ok, "consentimiento": r.consent.code()})),
        )
        .await?;
        tx.commit().await
    }

    pub async fn latest_risk_check(&self, id: i64) -> Result<Option<RiskCheckRecord>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT id, level, publish_ok, notes, consent, consent_by, consent_relationship, consent_note, recorded_at, recorded_by \
             FROM alert_risk_checks WHERE alert_id = $1 ORDER BY id DESC LIMIT 1"
        )
        .bind(id)
        .fetch_optional(p)
        .await?))
    }

    /// Adds (or replaces) a translation. When the alert is public, `docs` are all its
    /// fichas rendered again with it, and a CAP Update is issued.
    pub async fn save_translation(&self, actor: &Actor, id: i64, expected: DateTime<Utc>, t: &Translation, docs: &[Document], sender: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let h = head(&mut tx, id).await?;
        if h.status().is_closed() {
            return Err(StoreError::Conflict("la alerta ya concluyó: no se agregan traducciones".into()));
        }
        if h.is_public() && docs.is_empty() {
            return Err(StoreError::Invalid("la alerta es pública: faltan las fichas con la traducción".into()));
        }
        let at = touch(&mut tx, id, expected).await?;
        on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO alert_translations (alert_id, language, language_name, heading, body, call_to_action, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (alert_id, language) DO UPDATE SET language_name = $3, heading = $4, \
             body = $5, call_to_action = $6, created_at = $7, created_by = $8"
        )
        .bind(id)
        .bind(&t.language)
        .bind(&t.language_name)
        .bind(&t.heading)
        .bind(&t.body)
        .bind(&t.call_to_action)
        .bind(at)
        .bind(&actor.label)
        .execute(c)
        .await?
        .rows_affected());
        if h.is_public() {
            replace_documents(&mut tx, id, docs).await?;
            issue_cap(&mut tx, id, &h.folio, sender, "Update", at).await?;
            bump_public_alerts(&mut tx).await?;
        }
        insert_event(&mut tx, id, "traduccion", at, &actor.label, &t.language_name).await?;
        append(&mut tx, actor, Event::new("alerta.traducir", "alerta", id).with(serde_json::json!({"idioma": t.language}))).await?;
        tx.commit().await
    }

    pub async fn translations(&self, id: i64) -> Result<Vec<TranslationRecord>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT language, language_name, heading, body, call_to_action, created_at, created_by FROM alert_translations \
             WHERE alert_id = $1 ORDER BY language"
        )
        .bind(id)
        .fetch_all(p)
        .await?))
    }

    // ----- activation and closing -----

    /// Activates a case: checks (again, in the transaction) the risk check, consent, photo
    /// and the operator's confirmation; keeps the rendered fichas; issues the CAP Alert;
    /// makes it public at once. `expected` is the `updated_at` the caller rendered from.
    /// A drill is activated the same way but nothing becomes public.
    /// `post` is what every official channel publishes (required unless it is a drill,
    /// which never reaches them): queued in this same transaction, so the alert is public
    /// and on its way to every channel, or neither.
    #[allow(clippy::too_many_arguments)]
    pub async fn activate_alert(
        &self,
        actor: &Actor,
        id: i64,
        expected: DateTime<Utc>,
        confirmed: bool,
        docs: &[Document],
        sender: &str,
        post: Option<&Publication>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let h = head(&mut tx, id).await?;
        let risk: Option<RiskCheckRecord> = on_tx!(&mut tx, |c| sqlx::query_as(
            "SELECT id, level, publish_ok, notes, consent, consent_by, consent_relationship, consent_note, recorded_at, recorded_by \
             FROM alert_risk_checks WHERE alert_id = $1 ORDER BY id DESC LIMIT 1"
        )
        .bind(id)
        .fetch_optional(c)
        .await?);
        check_activation(h.status(), risk.as_ref().map(RiskCheckRecord::check).as_ref(), h.has_photo, confirmed)
            .map_err(|reasons| StoreError::Invalid(format!("no se puede activar la alerta: {}", reasons.join("; "))))?;
        if docs.is_empty() {
            return Err(StoreError::Invalid("faltan las fichas de búsqueda de la alerta".into()));
        }
        let at = touch(&mut tx, id, expected).await?;
        on_tx!(&mut tx, |c| sqlx::query("UPDATE alerts SET status = 'activada', activated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(c)
            .await?
            .rows_affected());
        replace_documents(&mut tx, id, docs).await?;
        if !h.drill {
            issue_cap(&mut tx, id, &h.folio, sender, "Alert", at).await?;
            bump_public_alerts(&mut tx).await?;
            let post = post.ok_or_else(|| StoreError::Invalid("falta la publicación para los canales oficiales".into()))?;
            check_post(post, id, PublicationKind::Alerta)?;
            crate::dissemination::publish(&mut tx, post, actor).await?;
        }
        insert_event(&mut tx, id, AlertStatus::Activada.code(), at, &actor.label, if h.drill { "Simulacro: no se publica" } else { "" }).await?;
        append(
            &mut tx,
            actor,
            Event::new("alerta.activar", "alerta", id).with(serde_json::json!({"folio": h.folio, "simulacro": h.drill, "confirmado": confirmed})),
        )
        .await?;
        tx.commit().await
    }

    /// Records that every channel posted the alert (`at`: when the last one did).
    pub async fn mark_disseminated(&self, actor: &Actor, id: i64, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin().await?;
        let h = head(&mut tx, id).await?;
        h.status().check_move(AlertStatus::Difundida).map_err(StoreError::Conflict)?;
        on_tx!(&mut tx, |c| sqlx::query("UPDATE alerts SET status = 'difundida', disseminated_at = $1, updated_at = $2 WHERE id = $3")
            .bind(at)
            .bind(now())
            .bind(id)
            .execute(c)
            .await?
            .rows_affected());
        insert_event(&mut tx, id, AlertStatus::Difundida.code(), at, &actor.label, "").await?;
        append(&mut tx, actor, Event::new("alerta.difundida", "alerta", id).with(serde_json::json!({"folio": h.folio}))).await?;
        tx.commit().await
    }

    /// Concludes a case: she was located, or the alert is deactivated. Her photo and data
    /// leave every public page and feed in this transaction (the public documents are
    /// deleted; the public queries no longer match), a CAP message without personal data
    /// is issued when the alert had been public, and the full record stays for the file.
    /// `post` and `takedown`: what the channels that carried the alert publish now, and
    /// what becomes of their earlier posts (handed to dissemination in this transaction).
    #[allow(clippy::too_many_arguments)]
    pub async fn conclude_alert(&self, actor: &Actor, id: i64, closing: Closing, note: &str, sender: &str, post: Option<&Publication>, takedown: Takedown) -> Result<()> {
        closing.check_note(note).map_err(StoreError::Invalid)?;
        let mut tx = self.begin().await?;
        let h = head(&mut tx, id).await?;
        h.status().check_move(closing.status()).map_err(StoreError::Conflict)?;
        let was_public = h.is_public();
        let at = touch(&mut tx, id, h.updated_at).await?;
        let note = violeta_domain::text::clean(note);
        on_tx!(&mut tx, |c| sqlx::query("UPDATE alerts SET status = $1, closed_at = $2, close_note = $3 WHERE id = $4")
            .bind(closing.status().code())
            .bind(at)
            .bind(&note)
            .bind(id)
            .execute(c)
            .await?
            .rows_affected());
        on_tx!(&mut tx, |c| sqlx::query("DELETE FROM alert_documents WHERE alert_id = $1").bind(id).execute(c).await?.rows_affected());
        if was_public {
            let msg_type = if closing == Closing::Desactivada { "Cancel" } else { "Update" };
            issue_cap(&mut tx, id, &h.folio, sender, msg_type, at).await?;
            bump_public_alerts(&mut tx).await?;
            let post = post.ok_or_else(|| StoreError::Invalid("falta la publicación de cierre para los canales oficiales".into()))?;
            check_post(post, id, PublicationKind::Retiro)?;
            crate::dissemination::close_alert(&mut tx, id, post, takedown, actor).await?;
        }
        insert_event(&mut tx, id, closing.code(), at, &actor.label, &note).await?;
        append(
            &mut tx,
            actor,
            Event::new("alerta.concluir", "alerta", id).with(serde_json::json!({"folio": h.folio, "cierre": closing.code(), "retiro": takedown.code()})),
        )
            .await?;
        tx.commit().await
    }

    /// Loads a concluded case of the past with its times (see [`PastAlert`]).
    pub async fn record_past_alert(&self, actor: &Actor, a: &PastAlert, master: Option<&MasterKey>) -> Result<(i64, AlertFolio)> {
        let ordered = a.reported_at <= a.activated_at
            && a.disseminated_at.is_none_or(|d| a.activated_at <= d && d <= a.closed_at)
            && a.activated_at <= a.closed_at
            && a.closed_at <= now();
        if !ordered {
            return Err(StoreError::Invalid("las fechas del caso no siguen el orden reporte → activación → difusión → cierre".into()));
        }
        if a.draft.drill {
            return Err(StoreError::Invalid("un simulacro no se registra como caso pasado".into()));
        }
        a.closing.check_note(&a.close_note).map_err(StoreError::Invalid)?;
        let sealed = seal_private(&a.draft.private, master)?;
        let mut tx = self.begin().await?;
        let folio = next_folio(&mut tx, false, a.reported_at).await?;
        let id = insert_alert(&mut tx, &a.draft, &folio, a.closing.status(), &sealed, None, a.reported_at, &actor.label).await?;
        on_tx!(&mut tx, |c| sqlx::query("UPDATE alerts SET activated_at = $1, disseminated_at = $2, closed_at = $3, close_note = $4 WHERE id = $5")
            .bind(a.activated_at)
            .bind(a.disseminated_at)
            .bind(a.closed_at)
            .bind(&a.close_note)
            .bind(id)
            .execute(c)
            .await?
            .rows_affected());
        let mut steps = vec![(AlertStatus::Reportada.code(), a.reported_at, ""), (AlertStatus::Activada.code(), a.activated_at, "")];
        if let Some(d) = a.disseminated_at {
            steps.push((AlertStatus::Difundida.code(), d, ""));
        }
        steps.push((a.closing.code(), a.closed_at, a.close_note.as_str()));
        for (kind, at, note) in steps {
            insert_event(&mut tx, id, kind, at, &actor.label, note).await?;
        }
        append(&mut tx, actor, Event::new("alerta.registrar_caso_pasado", "alerta", id).with(serde_json::json!({"folio": folio})))
            .await?;
        tx.commit().await?;
        Ok((id, folio))
    }

    /// A stored document of a case (staff; drills included).
    pub async fn alert_document(&self, id: i64, name: &str) -> Result<Option<(String, Vec<u8>)>> {
        Ok(on_pool!(self, |p| sqlx::query_as("SELECT content_type, bytes FROM alert_documents WHERE alert_id = $1 AND name = $2")
            .bind(id)
            .bind(name)
            .fetch_optional(p)
            .await?))
    }

    pub async fn alert_document_names(&self, id: i64) -> Result<Vec<String>> {
        Ok(on_pool!(self, |p| sqlx::query_scalar("SELECT name FROM alert_documents WHERE alert_id = $1 ORDER BY name")
            .bind(id)
            .fetch_all(p)
            .await?))
    }

    pub async fn cap_messages(&self, id: i64) -> Result<Vec<CapMessage>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT identifier, sender, sent_at, msg_type FROM alert_cap_messages WHERE alert_id = $1 ORDER BY id"
        )
        .bind(id)
        .fetch_all(p)
        .await?))
    }

    // ----- public -----

    /// The version of the public alert data: changes with every change to it.
    pub async fn public_alerts_version(&self) -> Result<i64> {
        Ok(on_pool!(self, |p| sqlx::query_scalar("SELECT version FROM public_versions WHERE name = 'alertas'").fetch_one(p).await?))
    }

    /// On PostgreSQL, a feed of changes to public alert data (LISTEN/NOTIFY); `None` on SQLite.
    pub async fn public_alert_changes(&self) -> Result<Option<AlertChangeFeed>> {
        match &self.pool {
            crate::Pool::Postgres(p) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(p).await?;
                listener.listen("violeta_alertas").await?;
                Ok(Some(AlertChangeFeed(listener)))
            }
            crate::Pool::Sqlite(..) => Ok(None),
        }
    }

    /// Active alerts that are not drills, public columns only, newest first.
    pub async fn public_alerts(&self) -> Result<Vec<PublicAlert>> {
        let sql = format!("{PUBLIC_SELECT} WHERE {PUBLIC_WHERE} ORDER BY a.activated_at DESC, a.id DESC");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(p).await?))
    }

    /// What the public may learn of a folio: the alert while it is active, only that it
    /// concluded afterwards, nothing for a drill or a case never published.
    pub async fn public_alert(&self, folio: &AlertFolio) -> Result<Option<PublicAlertState>> {
        let sql = format!("{PUBLIC_SELECT} WHERE a.folio = $1 AND {PUBLIC_WHERE}");
        let active: Option<PublicAlert> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(folio.as_str()).fetch_optional(p).await?);
        if let Some(a) = active {
            return Ok(Some(PublicAlertState::Active(Box::new(a))));
        }
        let closed: Option<Option<DateTime<Utc>>> = on_pool!(self, |p| sqlx::query_scalar(
            "SELECT closed_at FROM alerts WHERE folio = $1 AND drill = FALSE AND activated_at IS NOT NULL AND closed_at IS NOT NULL"
        )
        .bind(folio.as_str())
        .fetch_optional(p)
        .await?);
        Ok(closed.flatten().map(|closed_at| PublicAlertState::Concluded { folio: folio.to_string(), closed_at }))
    }

    /// A public document (ficha) of an active alert that is not a drill.
    pub async fn public_document(&self, folio: &AlertFolio, name: &str) -> Result<Option<(String, Vec<u8>)>> {
        let sql = format!(
            "SELECT d.content_type, d.bytes FROM alert_documents d JOIN alerts a ON a.id = d.alert_id WHERE a.folio = $1 AND d.name = $2 AND {PUBLIC_WHERE}"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(folio.as_str()).bind(name).fetch_optional(p).await?))
    }

    /// The photo of an active alert that is not a drill.
    pub async fn public_photo(&self, folio: &AlertFolio) -> Result<Option<Vec<u8>>> {
        let sql = format!("SELECT a.photo FROM alerts a WHERE a.folio = $1 AND {PUBLIC_WHERE}");
        let row: Option<Option<Vec<u8>>> = on_pool!(self, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(folio.as_str()).fetch_optional(p).await?);
        Ok(row.flatten())
    }

    /// The public names of an active alert's documents.
    pub async fn public_document_names(&self, folio: &AlertFolio) -> Result<Vec<String>> {
        let sql = format!("SELECT d.name FROM alert_documents d JOIN alerts a ON a.id = d.alert_id WHERE a.folio = $1 AND {PUBLIC_WHERE} ORDER BY d.name");
        Ok(on_pool!(self, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(folio.as_str()).fetch_all(p).await?))
    }

    /// The CAP messages of a folio that was public (none for drills or unpublished cases).
    pub async fn public_cap_messages(&self, folio: &AlertFolio) -> Result<Vec<CapMessage>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT c.identifier, c.sender, c.sent_at, c.msg_type FROM alert_cap_messages c JOIN alerts a ON a.id = c.alert_id \
             WHERE a.folio = $1 AND a.drill = FALSE ORDER BY c.id"
        )
        .bind(folio.as_str())
        .fetch_all(p)
        .await?))
    }

    /// Public translations of an active alert.
    pub async fn public_translations(&self, folio: &AlertFolio) -> Result<Vec<TranslationRecord>> {
        let sql = format!(
            "SELECT t.language, t.language_name, t.heading, t.body, t.call_to_action, t.created_at, t.created_by FROM alert_translations t \
             JOIN alerts a ON a.id = t.alert_id WHERE a.folio = $1 AND {PUBLIC_WHERE} ORDER BY t.language"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(folio.as_str()).fetch_all(p).await?))
    }

    // ----- report -----

    /// The times of every real case (not drills) reported in `[from, to)`, oldest first.
    pub async fn alert_timings(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<AlertTiming>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT a.id, a.folio, a.status, a.cvegeo, m.name AS municipality, a.reported_at, a.activated_at, a.disseminated_at, a.closed_at \
             FROM alerts a JOIN municipalities m ON m.cvegeo = a.cvegeo \
             WHERE a.drill = FALSE AND a.reported_at >= $1 AND a.reported_at < $2 ORDER BY a.reported_at, a.id"
        )
        .bind(from)
        .bind(to)
        .fetch_all(p)
        .await?))
    }
}

/// PostgreSQL's word that public alert data changed, from any server process.
pub struct AlertChangeFeed(sqlx::postgres::PgListener);

impl AlertChangeFeed {
    /// Waits for the next change. `Ok(true)`: a change; `Ok(false)`: the connection was
    /// lost and made again, so changes may have been missed meanwhile.
    pub async fn next(&mut self) -> Result<bool> {
        Ok(self.0.try_recv().await?.is_some())
    }
}
