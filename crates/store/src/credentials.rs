//! Constancias in the store: the issuer and its sealed signing key, issuing in bulk for a
//! held training session, reading by folio, revoking and reissuing, and the revocation
//! status list. The documents themselves are built and signed by the domain
//! (`violeta_domain::credential`); this module decides who gets one and keeps them.
//!
//! Every write runs in one transaction with its audit entry. Positions in the status list
//! are reserved by updating its single counter row, which also serializes concurrent
//! issuers on PostgreSQL (the row lock) as on SQLite (the write lock).

use crate::audit::{Event, append};
use crate::{Result, Store, StoreError, Tx, now, on_pool, on_tx};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use violeta_domain::audit::Actor;
use violeta_domain::credential::{
    Constancia, CredentialKind, Folio, IdentityType, Issuer, MasterKey, SigningKey, VerifyingKey, identity_hash, parse_public_multibase,
    public_multibase, seal, unseal,
};

/// How many credentials go in one multi-row INSERT (17 parameters each).
const CHUNK: usize = 200;

/// The issuing authority as staff enter it.
#[derive(Debug, Clone, Default)]
pub struct IssuerInput {
    pub name: String,
    pub signatory: String,
    pub signatory_title: String,
}

impl IssuerInput {
    fn cleaned(&self) -> Result<Issuer> {
        let clean = violeta_domain::text::clean;
        let issuer = Issuer { name: clean(&self.name), signatory: clean(&self.signatory), signatory_title: clean(&self.signatory_title) };
        if issuer.name.is_empty() {
            return Err(StoreError::Invalid("indique el nombre de la institución que emite las constancias".into()));
        }
        if issuer.signatory.is_empty() || issuer.signatory_title.is_empty() {
            return Err(StoreError::Invalid("indique el nombre y el cargo de quien firma las constancias".into()));
        }
        Ok(issuer)
    }
}

/// An issuer key, without its private half.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct IssuerRecord {
    pub id: i64,
    pub name: String,
    pub signatory: String,
    pub signatory_title: String,
    /// Ed25519, multibase (`z6Mk…`).
    pub public_key: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl IssuerRecord {
    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        parse_public_multibase(&self.public_key).map_err(StoreError::Invalid)
    }
    pub fn issuer(&self) -> Issuer {
        Issuer { name: self.name.clone(), signatory: self.signatory.clone(), signatory_title: self.signatory_title.clone() }
    }
}

/// What signing needs besides the store: the key that opens the issuer's private key, and
/// the public origin the documents point at (`https://violeta.example.gob.mx`).
#[derive(Debug, Clone, Copy)]
pub struct Signing<'a> {
    pub master: &'a MasterKey,
    pub base_url: &'a str,
}

/// A constancia as kept.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CredentialRecord {
    pub id: i64,
    pub folio: String,
    pub kind: String,
    pub subject_id: i64,
    pub person_id: i64,
    pub recipient_name: String,
    pub title: String,
    pub minutes: i64,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub issuer_id: i64,
    pub issuer_name: String,
    pub signatory: String,
    pub signatory_title: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: String,
    /// The folio of the constancia that replaced this one.
    pub replaced_by_folio: Option<String>,
    pub status_index: i64,
    /// The signed document, as issued.
    pub credential_json: String,
}

/// Where a constancia stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum CredentialState {
    Valida,
    Revocada { motivo: String },
    Reemplazada { folio: String, motivo: String },
    Vencida,
}

impl CredentialState {
    pub fn code(&self) -> &'static str {
        match self {
            CredentialState::Valida => "valida",
            CredentialState::Revocada { .. } => "revocada",
            CredentialState::Reemplazada { .. } => "reemplazada",
            CredentialState::Vencida => "vencida",
        }
    }
    pub fn label(&self) -> &'static str {
        match self {
            CredentialState::Valida => "Válida",
            CredentialState::Revocada { .. } => "Revocada",
            CredentialState::Reemplazada { .. } => "Reemplazada",
            CredentialState::Vencida => "Vencida",
        }
    }
    /// The revocation reason, when revoked or replaced.
    pub fn reason(&self) -> Option<&str> {
        match self {
            CredentialState::Revocada { motivo } | CredentialState::Reemplazada { motivo, .. } => Some(motivo),
            _ => None,
        }
    }
}

impl CredentialRecord {
    pub fn kind(&self) -> CredentialKind {
        CredentialKind::parse(&self.kind).unwrap_or(CredentialKind::Capacitacion)
    }
    pub fn state(&self, at: DateTime<Utc>) -> CredentialState {
        match (&self.revoked_at, &self.replaced_by_folio, &self.expires_at) {
            (Some(_), Some(folio), _) => CredentialState::Reemplazada { folio: folio.clone(), motivo: self.revocation_reason.clone() },
            (Some(_), None, _) => CredentialState::Revocada { motivo: self.revocation_reason.clone() },
            (None, _, Some(until)) if *until < at => CredentialState::Vencida,
            _ => CredentialState::Valida,
        }
    }
    /// The signed document.
    pub fn document(&self) -> serde_json::Value {
        serde_json::from_str(&self.credential_json).unwrap_or(serde_json::Value::Null)
    }
    pub fn hours_label(&self) -> String {
        violeta_domain::credential::hours_label(self.minutes)
    }
    pub fn period_label(&self) -> String {
        violeta_domain::credential::period_label(self.first_day, self.last_day)
    }
}

/// What issuing did.
#[derive(Debug, Clone, Default)]
pub struct Issued {
    /// (person, folio) of each new constancia.
    pub issued: Vec<(i64, Folio)>,
    /// Attendees who already had a standing constancia.
    pub already: usize,
}

const CREDENTIAL_SELECT: &str = "SELECT c.id, c.folio, c.kind, c.subject_id, c.person_id, c.recipient_name, c.title, c.minutes, \
    c.first_day, c.last_day, c.issuer_id, c.issuer_name, c.signatory, c.signatory_title, c.issued_at, c.expires_at, c.revoked_at, \
    c.revocation_reason, r.folio AS replaced_by_folio, c.status_index, c.credential_json \
    FROM credentials c LEFT JOIN credentials r ON r.id = c.replaced_by";

const ISSUER_SELECT: &str = "SELECT id, name, signatory, signatory_title, public_key, active, created_at FROM issuer_keys";

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("el sistema operativo no dio aleatoriedad");
    bytes
}

/// What a constancia certifies, read from its subject.
struct Facts {
    title: String,
    topic: String,
    minutes: i64,
    first_day: NaiveDate,
    last_day: NaiveDate,
    /// Courses that must be renewed: the constancia expires this many months after issue.
    valid_months: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Recipient {
    person_id: i64,
    given_names: String,
    first_surname: String,
    second_surname: String,
    curp: Option<String>,
    email: String,
}

impl Recipient {
    fn name(&self) -> String {
        [&self.given_names, &self.first_surname, &self.second_surname].iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
    }
    /// The identity hashed into the document: the CURP, else the email, else Violeta's id.
    fn identity(&self) -> (IdentityType, String) {
        match (&self.curp, self.email.trim()) {
            (Some(c), _) if !c.is_empty() => (IdentityType::NationalIdentityNumber, c.clone()),
            (_, e) if !e.is_empty() => (IdentityType::EmailAddress, e.to_lowercase()),
            _ => (IdentityType::Identifier, format!("violeta:persona:{}", self.person_id)),
        }
    }
}

/// Takes the issuing lock (the status list's counter row) before anything is read, so two
/// issuers of the same session never both see the same attendee without a constancia
/// (PostgreSQL: a row lock held to commit; SQLite: the write lock is held already).
pub(crate) async fn lock_issuing(tx: &mut Tx) -> Result<()> {
    on_tx!(tx, |c| sqlx::query("UPDATE credential_status_list SET next_index = next_index WHERE id = 1").execute(&mut *c).await?.rows_affected());
    Ok(())
}

/// The active issuer and its opened signing key, inside `tx`.
async fn signing_issuer(tx: &mut Tx, master: &MasterKey) -> Result<(IssuerRecord, SigningKey)> {
    let row: Option<(i64, String)> = on_tx!(tx, |c| sqlx::query_as("SELECT id, private_key FROM issuer_keys WHERE active").fetch_optional(&mut *c).await?);
    let (id, sealed) = row.ok_or_else(|| StoreError::Invalid("todavía no hay institución emisora: indique quién emite y firma las constancias".into()))?;
    let sql = format!("{ISSUER_SELECT} WHERE id = $1");
    let issuer: IssuerRecord = on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_one(&mut *c).await?);
    let secret = unseal(master, &sealed).map_err(StoreError::Invalid)?;
    let secret: [u8; 32] = secret.as_slice().try_into().map_err(|_| StoreError::Invalid("la llave de firma guardada no tiene el tamaño de una llave Ed25519".into()))?;
    let key = SigningKey::from_bytes(&secret);
    if public_multibase(&key.verifying_key()) != issuer.public_key {
        return Err(StoreError::Invalid("la llave de firma guardada no corresponde a su llave pública".into()));
    }
    Ok((issuer, key))
}

/// A held training session's title, topic, length and dates.
async fn training_facts(tx: &mut Tx, session_id: i64) -> Result<Facts> {
    let row: Option<(String, String, String)> =
        on_tx!(tx, |c| sqlx::query_as("SELECT title, topic, status FROM training_sessions WHERE id = $1").bind(session_id).fetch_optional(&mut *c).await?);
    let (title, topic, status) = row.ok_or_else(|| StoreError::NotFound("no existe esa capacitación".into()))?;
    if status != "realizada" {
        return Err(StoreError::Invalid("solo se emiten constancias de capacitaciones realizadas: cambie primero su estado a «Realizada»".into()));
    }
    let days: Vec<(NaiveDate, String, String)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT day, starts_at, ends_at FROM training_session_days WHERE session_id = $1 ORDER BY day"
    )
    .bind(session_id)
    .fetch_all(&mut *c)
    .await?);
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Err(StoreError::Invalid("la capacitación no tiene fechas".into()));
    };
    let minutes_of = |t: &str| -> i64 {
        t.split_once(':').and_then(|(h, m)| Some(h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?)).unwrap_or(0)
    };
    let minutes = days.iter().map(|(_, a, b)| (minutes_of(b) - minutes_of(a)).max(0)).sum();
    Ok(Facts { title, topic, minutes, first_day: first.0, last_day: last.0, valid_months: None })
}

/// A completed enrolment's course and dates: from enrolment to completion.
async fn course_facts(tx: &mut Tx, course_id: i64, person_id: i64) -> Result<Facts> {
    let row: Option<(String, i64, String, i64, Option<i64>, DateTime<Utc>, Option<DateTime<Utc>>)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT c.title, c.version, c.summary, c.minutes, c.valid_months, e.enrolled_at, e.completed_at \
         FROM enrolments e JOIN courses c ON c.id = e.course_id WHERE e.course_id = $1 AND e.person_id = $2"
    )
    .bind(course_id)
    .bind(person_id)
    .fetch_optional(&mut *c)
    .await?);
    let (title, _version, summary, minutes, valid_months, enrolled_at, completed_at) =
        row.ok_or_else(|| StoreError::NotFound("la persona no está inscrita en ese curso".into()))?;
    let completed_at = completed_at.ok_or_else(|| StoreError::Invalid("la persona todavía no concluye el curso".into()))?;
    let day = |t: DateTime<Utc>| violeta_domain::hours::mexico_city_date(t);
    let first_day = day(enrolled_at).min(day(completed_at));
    Ok(Facts { title, topic: summary.lines().next().unwrap_or("").to_string(), minutes, first_day, last_day: day(completed_at), valid_months })
}

/// The enrolled person, if the enrolment is complete and has no standing constancia.
async fn course_recipient(tx: &mut Tx, course_id: i64, person_id: i64) -> Result<Vec<Recipient>> {
    Ok(on_tx!(tx, |c| sqlx::query_as(
        "SELECT p.id AS person_id, p.given_names, p.first_surname, p.second_surname, p.curp, p.email \
         FROM enrolments e JOIN people p ON p.id = e.person_id \
         WHERE e.course_id = $1 AND e.person_id = $2 AND e.completed_at IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.kind = 'curso' AND c.subject_id = e.course_id \
                         AND c.person_id = e.person_id AND c.revoked_at IS NULL)"
    )
    .bind(course_id)
    .bind(person_id)
    .fetch_all(&mut *c)
    .await?))
}

/// Issues, inside `tx`, the constancia of a completed course to one person, unless she has a
/// standing one. The caller has taken the issuing lock ([`lock_issuing`]).
pub(crate) async fn issue_course_in_tx(tx: &mut Tx, course_id: i64, person_id: i64, signing: Signing<'_>) -> Result<Option<(i64, Folio)>> {
    let recipients = course_recipient(tx, course_id, person_id).await?;
    if recipients.is_empty() {
        return Ok(None);
    }
    let facts = course_facts(tx, course_id, person_id).await?;
    let issuer = signing_issuer(tx, signing.master).await?;
    let issued = issue_in_tx(tx, CredentialKind::Curso, course_id, &facts, &recipients, &issuer, signing.base_url).await?;
    Ok(issued.into_iter().next().map(|(id, _, folio)| (id, folio)))
}

/// Attendees (on time or late) of a session without a standing constancia for it.
async fn training_recipients(tx: &mut Tx, session_id: i64, only: Option<i64>) -> Result<Vec<Recipient>> {
    Ok(on_tx!(tx, |c| sqlx::query_as(
        "SELECT p.id AS person_id, p.given_names, p.first_surname, p.second_surname, p.curp, p.email \
         FROM attendance a JOIN people p ON p.id = a.person_id \
         WHERE a.session_id = $1 AND a.status IN ('asistio', 'retardo') AND ($2 IS NULL OR a.person_id = $2) \
         AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.kind = 'capacitacion' AND c.subject_id = a.session_id \
                         AND c.person_id = a.person_id AND c.revoked_at IS NULL) \
         ORDER BY p.first_surname, p.second_surname, p.given_names, p.id"
    )
    .bind(session_id)
    .bind(only)
    .fetch_all(&mut *c)
    .await?))
}

/// Signs and inserts one constancia per recipient. Returns (id, person, folio) of each.
async fn issue_in_tx(
    tx: &mut Tx,
    kind: CredentialKind,
    subject_id: i64,
    facts: &Facts,
    recipients: &[Recipient],
    issuer: &(IssuerRecord, SigningKey),
    base_url: &str,
) -> Result<Vec<(i64, i64, Folio)>> {
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    let n = recipients.len() as i64;
    let end: i64 = on_tx!(tx, |c| sqlx::query_scalar("UPDATE credential_status_list SET next_index = next_index + $1 WHERE id = 1 RETURNING next_index")
        .bind(n)
        .fetch_one(&mut *c)
        .await?);
    let first_index = end - n;
    let issued_at = now();
    let (record, key) = issuer;
    let mut rows = Vec::with_capacity(recipients.len());
    for (i, r) in recipients.iter().enumerate() {
        let (identity_type, identity) = r.identity();
        let salt = hex_string(&random::<16>());
        let c = Constancia {
            folio: Folio::from_random(random()),
            kind,
            subject_id,
            recipient_name: r.name(),
            identity_type,
            identity_hash: identity_hash(&identity, &salt),
            salt,
            title: facts.title.clone(),
            topic: facts.topic.clone(),
            minutes: facts.minutes,
            first_day: facts.first_day,
            last_day: facts.last_day,
            issuer: record.issuer(),
            issued_at,
            expires_at: facts.valid_months.and_then(|m| issued_at.checked_add_months(chrono::Months::new(m as u32))),
            status_index: first_index + i as i64,
        };
        let json = c.issue(base_url, key).map_err(|e| StoreError::Invalid(e.to_string()))?;
        rows.push((r.person_id, c, json.to_string()));
    }
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO credentials (folio, kind, subject_id, person_id, recipient_name, title, minutes, first_day, last_day, issuer_id, \
             issuer_name, signatory, signatory_title, issued_at, expires_at, status_index, credential_json) VALUES {} RETURNING id, person_id, folio",
            crate::people::placeholders(tx.backend(), chunk.len(), 17)
        );
        let inserted: Vec<(i64, i64, String)> = on_tx!(tx, |c| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for (person_id, k, json) in chunk {
                q = q
                    .bind(k.folio.as_str())
                    .bind(k.kind.code())
                    .bind(k.subject_id)
                    .bind(*person_id)
                    .bind(&k.recipient_name)
                    .bind(&k.title)
                    .bind(k.minutes)
                    .bind(k.first_day)
                    .bind(k.last_day)
                    .bind(record.id)
                    .bind(&k.issuer.name)
                    .bind(&k.issuer.signatory)
                    .bind(&k.issuer.signatory_title)
                    .bind(k.issued_at)
                    .bind(k.expires_at)
                    .bind(k.status_index)
                    .bind(json);
            }
            q.fetch_all(&mut *c).await?
        });
        for (id, person_id, folio) in inserted {
            out.push((id, person_id, Folio::parse(&folio).map_err(|e| StoreError::Invalid(e.to_string()))?));
        }
    }
    Ok(out)
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// The issuer that signs new constancias, if one was set up.
    pub async fn active_issuer(&self) -> Result<Option<IssuerRecord>> {
        let sql = format!("{ISSUER_SELECT} WHERE active");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_optional(p).await?))
    }

    /// Every issuer key, the active one first: all of them stay published so that what an
    /// earlier key signed still verifies.
    pub async fn issuers(&self) -> Result<Vec<IssuerRecord>> {
        let sql = format!("{ISSUER_SELECT} ORDER BY active DESC, id DESC");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(p).await?))
    }

    pub async fn issuer_by_id(&self, id: i64) -> Result<Option<IssuerRecord>> {
        let sql = format!("{ISSUER_SELECT} WHERE id = $1");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?))
    }

    /// Sets up the issuer once: creates its Ed25519 key, sealed with `master`. When there is
    /// one already, its name and signatory are updated if they changed (the key stays).
    pub async fn ensure_issuer(&self, actor: &Actor, input: &IssuerInput, master: &MasterKey) -> Result<IssuerRecord> {
        let issuer = input.cleaned()?;
        let mut tx = self.begin().await?;
        let existing: Option<(i64, String, String, String)> =
            on_tx!(&mut tx, |c| sqlx::query_as("SELECT id, name, signatory, signatory_title FROM issuer_keys WHERE active").fetch_optional(&mut *c).await?);
        let id = match existing {
            Some((id, name, signatory, title)) if (name.as_str(), signatory.as_str(), title.as_str()) == (issuer.name.as_str(), issuer.signatory.as_str(), issuer.signatory_title.as_str()) => {
                return self.issuer_by_id(id).await?.ok_or_else(|| StoreError::NotFound("no existe ese emisor".into()));
            }
            Some((id, ..)) => {
                on_tx!(&mut tx, |c| sqlx::query("UPDATE issuer_keys SET name = $1, signatory = $2, signatory_title = $3 WHERE id = $4")
                    .bind(&issuer.name)
                    .bind(&issuer.signatory)
                    .bind(&issuer.signatory_title)
                    .bind(id)
                    .execute(&mut *c)
                    .await?
                    .rows_affected());
                append(&mut tx, actor, Event::new("emisor.actualizar", "emisor", id).with(serde_json::json!({"nombre": issuer.name, "firmante": issuer.signatory, "cargo": issuer.signatory_title}))).await?;
                id
            }
            None => {
                let key = SigningKey::from_bytes(&random());
                let public = public_multibase(&key.verifying_key());
                let sealed = seal(master, key.as_bytes(), random());
                let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
                    "INSERT INTO issuer_keys (name, signatory, signatory_title, public_key, private_key, active, created_at) \
                     VALUES ($1, $2, $3, $4, $5, TRUE, $6) RETURNING id"
                )
                .bind(&issuer.name)
                .bind(&issuer.signatory)
                .bind(&issuer.signatory_title)
                .bind(&public)
                .bind(&sealed)
                .bind(now())
                .fetch_one(&mut *c)
                .await?);
                append(&mut tx, actor, Event::new("emisor.crear", "emisor", id).with(serde_json::json!({"nombre": issuer.name, "llave_publica": public}))).await?;
                id
            }
        };
        tx.commit().await?;
        self.issuer_by_id(id).await?.ok_or_else(|| StoreError::NotFound("no existe ese emisor".into()))
    }

    /// The active issuer with its opened signing key (to sign the status list).
    pub async fn issuer_signing_key(&self, master: &MasterKey) -> Result<(IssuerRecord, SigningKey)> {
        let row: Option<(i64, String)> = on_pool!(self, |p| sqlx::query_as("SELECT id, private_key FROM issuer_keys WHERE active").fetch_optional(p).await?);
        let (id, sealed) = row.ok_or_else(|| StoreError::NotFound("todavía no hay institución emisora".into()))?;
        let issuer = self.issuer_by_id(id).await?.ok_or_else(|| StoreError::NotFound("no existe ese emisor".into()))?;
        let secret = unseal(master, &sealed).map_err(StoreError::Invalid)?;
        let secret: [u8; 32] = secret.as_slice().try_into().map_err(|_| StoreError::Invalid("la llave de firma guardada no es válida".into()))?;
        Ok((issuer, SigningKey::from_bytes(&secret)))
    }

    /// Issues, in one transaction, a constancia to every attendee (on time or late) of a held
    /// session who has no standing one yet. Running it again issues only to those missing.
    pub async fn issue_training_credentials(&self, actor: &Actor, session_id: i64, signing: Signing<'_>) -> Result<Issued> {
        let mut tx = self.begin().await?;
        lock_issuing(&mut tx).await?;
        let facts = training_facts(&mut tx, session_id).await?;
        let issuer = signing_issuer(&mut tx, signing.master).await?;
        let recipients = training_recipients(&mut tx, session_id, None).await?;
        let already: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM credentials WHERE kind = 'capacitacion' AND subject_id = $1 AND revoked_at IS NULL"
        )
        .bind(session_id)
        .fetch_one(&mut *c)
        .await?);
        if recipients.is_empty() {
            return Ok(Issued { issued: Vec::new(), already: already as usize });
        }
        let issued = issue_in_tx(&mut tx, CredentialKind::Capacitacion, session_id, &facts, &recipients, &issuer, signing.base_url).await?;
        let folios: Vec<&str> = issued.iter().map(|(_, _, f)| f.as_str()).collect();
        append(
            &mut tx,
            actor,
            Event::new("constancia.emitir", "capacitacion", session_id).with(serde_json::json!({"emitidas": issued.len(), "folios": folios, "emisor": issuer.0.id})),
        )
        .await?;
        tx.commit().await?;
        Ok(Issued { issued: issued.into_iter().map(|(_, p, f)| (p, f)).collect(), already: already as usize })
    }

    /// The constancia with this folio.
    pub async fn credential(&self, folio: &Folio) -> Result<Option<CredentialRecord>> {
        let sql = format!("{CREDENTIAL_SELECT} WHERE c.folio = $1");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(folio.as_str()).fetch_optional(p).await?))
    }

    /// Every constancia issued for a training session (revoked ones included), oldest first.
    pub async fn training_credentials(&self, session_id: i64) -> Result<Vec<CredentialRecord>> {
        let sql = format!("{CREDENTIAL_SELECT} WHERE c.kind = 'capacitacion' AND c.subject_id = $1 ORDER BY c.issued_at, c.id");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(session_id).fetch_all(p).await?))
    }

    /// Revokes a standing constancia, with the reason the verification page will show.
    pub async fn revoke_credential(&self, actor: &Actor, folio: &Folio, reason: &str) -> Result<()> {
        let reason = violeta_domain::text::clean(reason);
        if reason.is_empty() {
            return Err(StoreError::Invalid("indique el motivo de la revocación: se mostrará a quien verifique la constancia".into()));
        }
        let mut tx = self.begin().await?;
        let revoked: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "UPDATE credentials SET revoked_at = $1, revocation_reason = $2 WHERE folio = $3 AND revoked_at IS NULL RETURNING id"
        )
        .bind(now())
        .bind(&reason)
        .bind(folio.as_str())
        .fetch_optional(&mut *c)
        .await?);
        if revoked.is_none() {
            return Err(match self.credential(folio).await? {
                None => StoreError::NotFound(format!("no existe la constancia {folio}")),
                Some(_) => StoreError::Conflict(format!("la constancia {folio} ya estaba revocada")),
            });
        }
        append(&mut tx, actor, Event::new("constancia.revocar", "constancia", folio).with(serde_json::json!({"motivo": reason}))).await?;
        tx.commit().await
    }

    /// Replaces a standing constancia after a correction (of the person's name, or of the
    /// session): a new one with a new folio and the current data, and the old one revoked,
    /// pointing at it. Returns the new folio.
    pub async fn reissue_credential(&self, actor: &Actor, folio: &Folio, reason: &str, signing: Signing<'_>) -> Result<Folio> {
        let reason = match violeta_domain::text::clean(reason) {
            r if r.is_empty() => "Reemplazada por una corrección de datos".to_string(),
            r => r,
        };
        let old = self.credential(folio).await?.ok_or_else(|| StoreError::NotFound(format!("no existe la constancia {folio}")))?;
        if old.revoked_at.is_some() {
            return Err(StoreError::Conflict(format!("la constancia {folio} ya fue revocada o reemplazada")));
        }
        let kind = old.kind();
        let mut tx = self.begin().await?;
        lock_issuing(&mut tx).await?;
        let n = on_tx!(&mut tx, |c| sqlx::query("UPDATE credentials SET revoked_at = $1, revocation_reason = $2 WHERE id = $3 AND revoked_at IS NULL")
            .bind(now())
            .bind(&reason)
            .bind(old.id)
            .execute(&mut *c)
            .await?
            .rows_affected());
        if n == 0 {
            return Err(StoreError::Conflict(format!("la constancia {folio} ya fue revocada o reemplazada")));
        }
        let (facts, recipients) = match kind {
            CredentialKind::Capacitacion => (
                training_facts(&mut tx, old.subject_id).await?,
                training_recipients(&mut tx, old.subject_id, Some(old.person_id)).await?,
            ),
            CredentialKind::Curso => (course_facts(&mut tx, old.subject_id, old.person_id).await?, course_recipient(&mut tx, old.subject_id, old.person_id).await?),
        };
        let issuer = signing_issuer(&mut tx, signing.master).await?;
        if recipients.is_empty() {
            return Err(StoreError::Invalid(match kind {
                CredentialKind::Capacitacion => "la persona ya no figura como asistente de la capacitación: revoque la constancia en lugar de reemitirla",
                CredentialKind::Curso => "la persona ya no figura como egresada del curso: revoque la constancia en lugar de reemitirla",
            }.into()));
        }
        let issued = issue_in_tx(&mut tx, kind, old.subject_id, &facts, &recipients, &issuer, signing.base_url).await?;
        let (new_id, _, new_folio) = issued.into_iter().next().ok_or_else(|| StoreError::Invalid("no se pudo reemitir la constancia".into()))?;
        on_tx!(&mut tx, |c| sqlx::query("UPDATE credentials SET replaced_by = $1 WHERE id = $2").bind(new_id).bind(old.id).execute(&mut *c).await?.rows_affected());
        append(
            &mut tx,
            actor,
            Event::new("constancia.reemitir", "constancia", folio).with(serde_json::json!({"nueva": new_folio.as_str(), "motivo": reason})),
        )
        .await?;
        tx.commit().await?;
        Ok(new_folio)
    }

    /// The revocation status list: the positions revoked, and how many positions are taken.
    pub async fn credential_status_list(&self) -> Result<(Vec<i64>, i64)> {
        let revoked: Vec<i64> =
            on_pool!(self, |p| sqlx::query_scalar("SELECT status_index FROM credentials WHERE revoked_at IS NOT NULL ORDER BY status_index").fetch_all(p).await?);
        let taken: i64 = on_pool!(self, |p| sqlx::query_scalar("SELECT next_index FROM credential_status_list WHERE id = 1").fetch_one(p).await?);
        Ok((revoked, taken))
    }
}
