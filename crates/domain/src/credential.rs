//! Constancias: the certificate that a person completed a course of the learning centre or
//! attended a training session. One mechanism for both, generic over what it certifies
//! ([`CredentialKind`]).
//!
//! Each constancia is an Open Badges 3.0 `OpenBadgeCredential` (a W3C Verifiable Credential
//! v2) secured with a Data Integrity proof of the `eddsa-jcs-2022` cryptosuite:
//!
//! 1. the document without `proof` and the proof options (with the document's `@context`)
//!    are canonicalized with the JSON Canonicalization Scheme (RFC 8785, [`canonical_json`]);
//! 2. each is hashed with SHA-256; the hash of the proof options comes first;
//! 3. the 64 bytes are signed with Ed25519, and the signature is written as multibase
//!    base58btc (`z…`) in `proofValue`.
//!
//! The issuer is identified by a `did:key` built from its Ed25519 public key, so anyone with
//! the public key (published at `/.well-known/violeta/emisor.json`) verifies a constancia
//! offline with [`verify`].
//!
//! The recipient's CURP never appears in the document: it is hashed with a random salt
//! (`sha256$` + SHA-256 of the CURP followed by the salt, as Open Badges defines an
//! `IdentityHash`), so whoever holds the CURP can check it matches and nobody can read it.
//!
//! The issuer's private key is stored sealed ([`seal`]) with a key that never enters the
//! database ([`MasterKey`], from `VIOLETA_SECRET_KEY`).
//!
//! Nothing here does I/O: randomness (folios, salts, keys, nonces) comes in as bytes.

use base64::Engine;
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, Verifier};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub use ed25519_dalek::{SigningKey, VerifyingKey};

/// The W3C Verifiable Credentials 2.0 context.
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The Open Badges 3.0 context.
pub const OB_CONTEXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";

// ----- folio -----

/// Crockford's base32: no I, L, O or U, so a folio read aloud or typed is not misread.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const FOLIO_PREFIX: &str = "VIO-";

/// A constancia's folio: `VIO-` and 12 Crockford base32 characters (60 random bits) in
/// groups of four, e.g. `VIO-7K2M-Q9XD-4TRB`. Unique (the store enforces it) and
/// unguessable: one folio does not lead to another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Folio(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("el folio «{0}» no es válido: tiene la forma VIO-XXXX-XXXX-XXXX")]
pub struct InvalidFolio(pub String);

impl Folio {
    /// A folio from random bytes (the low 60 bits are used).
    pub fn from_random(random: [u8; 8]) -> Folio {
        let n = u64::from_be_bytes(random) & ((1u64 << 60) - 1);
        let chars: String = (0..12).rev().map(|i| CROCKFORD[((n >> (5 * i)) & 31) as usize] as char).collect();
        Folio(format!("{FOLIO_PREFIX}{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12]))
    }

    /// Reads a folio as people type it: any case, with or without the prefix and hyphens,
    /// and with the letters Crockford's base32 reads as digits (O as 0, I and L as 1).
    pub fn parse(s: &str) -> Result<Folio, InvalidFolio> {
        let bad = || InvalidFolio(s.trim().chars().take(40).collect());
        let upper = s.trim().to_ascii_uppercase();
        let significant = |t: &str| t.chars().filter(|c| *c != '-' && *c != ' ').count();
        // The prefix is optional; twelve characters alone are the folio itself.
        let body = match upper.strip_prefix("VIO") {
            Some(rest) if significant(&upper) != 12 => rest,
            _ => upper.as_str(),
        };
        let mut chars = String::with_capacity(12);
        for c in body.chars().filter(|c| *c != '-' && *c != ' ') {
            let c = match c {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !CROCKFORD.contains(&(c as u8)) || !c.is_ascii() {
                return Err(bad());
            }
            chars.push(c);
        }
        if chars.len() != 12 {
            return Err(bad());
        }
        Ok(Folio(format!("{FOLIO_PREFIX}{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Folio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

// ----- what a constancia certifies -----

coded_enum!(
    /// What a constancia certifies.
    CredentialKind {
        Curso => ("curso", "Curso"),
        Capacitacion => ("capacitacion", "Capacitación"),
    }
);

impl CredentialKind {
    /// The document's heading.
    pub fn document_title(self) -> &'static str {
        match self {
            CredentialKind::Curso => "Constancia de acreditación",
            CredentialKind::Capacitacion => "Constancia de participación",
        }
    }
    /// The verb of the document's sentence: "acreditó" / "participó en".
    fn achieved(self) -> &'static str {
        match self {
            CredentialKind::Curso => "acreditó el curso",
            CredentialKind::Capacitacion => "participó en la capacitación",
        }
    }
    /// The path under the public origin that names the achievement (its `id`).
    fn path(self) -> &'static str {
        match self {
            CredentialKind::Curso => "cursos",
            CredentialKind::Capacitacion => "capacitaciones",
        }
    }
}

/// How the recipient is identified, hashed (Open Badges' `IdentifierTypeEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityType {
    /// The CURP: a national identity number.
    NationalIdentityNumber,
    EmailAddress,
    /// Violeta's own identifier of the person, when there is neither CURP nor email.
    Identifier,
}

impl IdentityType {
    pub fn code(self) -> &'static str {
        match self {
            IdentityType::NationalIdentityNumber => "nationalIdentityNumber",
            IdentityType::EmailAddress => "emailAddress",
            IdentityType::Identifier => "identifier",
        }
    }
    pub fn parse(code: &str) -> Option<IdentityType> {
        [IdentityType::NationalIdentityNumber, IdentityType::EmailAddress, IdentityType::Identifier].into_iter().find(|t| t.code() == code)
    }
}

/// Open Badges' `IdentityHash`: `sha256$` and the hex SHA-256 of the identity followed by
/// the salt (both UTF-8).
pub fn identity_hash(identity: &str, salt: &str) -> String {
    let digest = Sha256::new().chain_update(identity.as_bytes()).chain_update(salt.as_bytes()).finalize();
    format!("sha256${}", hex::encode(digest))
}

/// Who issues: the authority's name and the person who signs for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issuer {
    pub name: String,
    pub signatory: String,
    pub signatory_title: String,
}

/// Everything a constancia states.
#[derive(Debug, Clone)]
pub struct Constancia {
    pub folio: Folio,
    pub kind: CredentialKind,
    /// The course's or the training session's id.
    pub subject_id: i64,
    pub recipient_name: String,
    pub identity_type: IdentityType,
    /// `sha256$…` (see [`identity_hash`]).
    pub identity_hash: String,
    pub salt: String,
    pub title: String,
    /// What the course or session was about (may be empty).
    pub topic: String,
    /// Length of the activity, in minutes (hours are shown, minutes keep half hours exact).
    pub minutes: i64,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub issuer: Issuer,
    pub issued_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Position in the revocation status list.
    pub status_index: i64,
}

/// The public address of the verification page of a folio.
pub fn verify_url(base: &str, folio: &Folio) -> String {
    format!("{}/verificar/{folio}", base.trim_end_matches('/'))
}

/// The public address of the revocation status list.
pub fn status_list_url(base: &str) -> String {
    format!("{}/.well-known/violeta/estado.json", base.trim_end_matches('/'))
}

/// RFC 3339 in UTC with whole seconds: `2025-03-04T17:00:00Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Constancia {
    /// "5 horas", "1 hora", "4 horas y 30 minutos".
    pub fn hours_label(&self) -> String {
        hours_label(self.minutes)
    }

    /// "4 de marzo de 2025" or "del 4 al 6 de marzo de 2025".
    pub fn period_label(&self) -> String {
        period_label(self.first_day, self.last_day)
    }

    /// The sentence the document and the PDF share.
    pub fn statement(&self) -> String {
        format!("{} «{}», con duración de {}, {}.", self.kind.achieved(), self.title, self.hours_label(), on_period(self.first_day, self.last_day))
    }

    /// The unsigned Open Badges 3.0 credential. `base` is the public origin
    /// (`https://violeta.example.gob.mx`), `issuer_key` the key that will sign it.
    pub fn document(&self, base: &str, issuer_key: &VerifyingKey) -> Value {
        let base = base.trim_end_matches('/');
        let did = did_key(issuer_key);
        let status_list = status_list_url(base);
        let description = if self.topic.trim().is_empty() {
            format!("{} «{}», de {}.", self.kind.label(), self.title, self.hours_label())
        } else {
            format!("{} «{}», de {}. Tema: {}.", self.kind.label(), self.title, self.hours_label(), self.topic.trim())
        };
        let mut doc = json!({
            "@context": [VC_CONTEXT, OB_CONTEXT],
            "id": verify_url(base, &self.folio),
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": format!("{}: {}", self.kind.document_title(), self.title),
            "description": format!("{} certifica que {} {}", self.issuer.name, self.recipient_name, self.statement()),
            "issuer": {
                "id": did,
                "type": ["Profile"],
                "name": self.issuer.name,
                "official": format!("{}, {}", self.issuer.signatory, self.issuer.signatory_title),
            },
            "validFrom": timestamp(self.issued_at),
            "credentialSubject": {
                "type": ["AchievementSubject"],
                "identifier": [
                    {
                        "type": "IdentityObject",
                        "identityType": "name",
                        "hashed": false,
                        "identityHash": self.recipient_name,
                    },
                    {
                        "type": "IdentityObject",
                        "identityType": self.identity_type.code(),
                        "hashed": true,
                        "identityHash": self.identity_hash,
                        "salt": self.salt,
                    }
                ],
                // Calendar dates of the activity (midnight UTC by convention).
                "activityStartDate": format!("{}T00:00:00Z", self.first_day.format("%Y-%m-%d")),
                "activityEndDate": format!("{}T00:00:00Z", self.last_day.format("%Y-%m-%d")),
                "achievement": {
                    "id": format!("{base}/{}/{}", self.kind.path(), self.subject_id),
                    "type": ["Achievement"],
                    "name": self.title,
                    "description": description,
                    "criteria": { "narrative": format!("La persona {}", self.statement()) },
                    "inLanguage": "es-MX",
                },
            },
            "credentialStatus": {
                "id": format!("{status_list}#{}", self.status_index),
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": self.status_index.to_string(),
                "statusListCredential": status_list,
            },
        });
        if let Some(until) = self.expires_at {
            doc["validUntil"] = Value::String(timestamp(until));
        }
        doc
    }

    /// The signed credential.
    pub fn issue(&self, base: &str, key: &SigningKey) -> Result<Value, CanonError> {
        sign(&self.document(base, &key.verifying_key()), key, self.issued_at)
    }
}

/// "5 horas", "1 hora", "4 horas y 30 minutos", "45 minutos".
pub fn hours_label(minutes: i64) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    let hours = if h == 1 { "1 hora".to_string() } else { format!("{h} horas") };
    match (h, m) {
        (0, m) => format!("{m} minutos"),
        (_, 0) => hours,
        (_, m) => format!("{hours} y {m} minutos"),
    }
}

const MONTHS: [&str; 12] = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"];

/// "4 de marzo de 2025".
pub fn long_date(d: NaiveDate) -> String {
    format!("{} de {} de {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

/// "4 de marzo de 2025", "del 4 al 6 de marzo de 2025", "del 28 de febrero al 2 de marzo
/// de 2025", "del 30 de diciembre de 2024 al 2 de enero de 2025".
pub fn period_label(first: NaiveDate, last: NaiveDate) -> String {
    if first == last {
        long_date(first)
    } else if first.year() != last.year() {
        format!("del {} al {}", long_date(first), long_date(last))
    } else if first.month() != last.month() {
        format!("del {} de {} al {}", first.day(), MONTHS[first.month0() as usize], long_date(last))
    } else {
        format!("del {} al {}", first.day(), long_date(last))
    }
}

/// "el 4 de marzo de 2025" / "del 4 al 6 de marzo de 2025".
fn on_period(first: NaiveDate, last: NaiveDate) -> String {
    if first == last { format!("el {}", long_date(first)) } else { period_label(first, last) }
}

// ----- keys -----

/// Multicodec prefix of an Ed25519 public key.
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// Multicodec prefix of an Ed25519 private key.
const ED25519_PRIV: [u8; 2] = [0x80, 0x26];

/// The public key as multibase base58btc Multikey (`z6Mk…`).
pub fn public_multibase(key: &VerifyingKey) -> String {
    let mut bytes = ED25519_PUB.to_vec();
    bytes.extend_from_slice(key.as_bytes());
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Reads a `z6Mk…` public key.
pub fn parse_public_multibase(s: &str) -> Result<VerifyingKey, String> {
    let bad = || "la llave pública no es una llave Ed25519 en multibase (z6Mk…)".to_string();
    let raw = bs58::decode(s.trim().strip_prefix('z').ok_or_else(bad)?).into_vec().map_err(|_| bad())?;
    let bytes: [u8; 32] = raw.strip_prefix(&ED25519_PUB[..]).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
}

/// Reads a `z3u2…` private key (multicodec ed25519-priv): for test vectors and tools.
pub fn parse_private_multibase(s: &str) -> Result<SigningKey, String> {
    let bad = || "la llave privada no es una llave Ed25519 en multibase".to_string();
    let raw = bs58::decode(s.trim().strip_prefix('z').ok_or_else(bad)?).into_vec().map_err(|_| bad())?;
    let bytes: [u8; 32] = raw.strip_prefix(&ED25519_PRIV[..]).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// The issuer's identifier: `did:key:z6Mk…`.
pub fn did_key(key: &VerifyingKey) -> String {
    format!("did:key:{}", public_multibase(key))
}

/// The verification method of a `did:key`: `did:key:z6Mk…#z6Mk…`.
pub fn verification_method(key: &VerifyingKey) -> String {
    let mb = public_multibase(key);
    format!("did:key:{mb}#{mb}")
}

/// The key that seals issuers' private keys at rest: 32 bytes from `VIOLETA_SECRET_KEY`
/// (64 hexadecimal characters, or base64). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey(bytes)
    }

    /// 64 hexadecimal characters or 32 bytes in base64 (standard or URL-safe, padded or not).
    pub fn parse(s: &str) -> Result<MasterKey, String> {
        let s = s.trim();
        let bytes = if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
            hex::decode(s).ok()
        } else {
            let e = &base64::engine::general_purpose::STANDARD;
            let u = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
            e.decode(s).or_else(|_| u.decode(s.trim_end_matches('='))).ok()
        };
        bytes
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(MasterKey)
            .ok_or_else(|| "VIOLETA_SECRET_KEY debe tener 32 bytes: 64 caracteres hexadecimales o base64 (genere una con «openssl rand -hex 32»)".into())
    }

    /// The fixed key of `violeta demo` and the tests. Never for real data: anyone can read it here.
    pub fn demo() -> MasterKey {
        MasterKey(*b"violeta-demo-clave-no-es-secreta")
    }
}

/// What binds a sealed private key to its purpose (associated data of the cipher).
const SEAL_CONTEXT: &[u8] = b"violeta:issuer-private-key:v1";

/// Seals `secret` with XChaCha20-Poly1305 under `master`: `v1.` and base64 of the nonce
/// (24 bytes, random from the caller, never reused) followed by the ciphertext.
pub fn seal(master: &MasterKey, secret: &[u8], nonce: [u8; 24]) -> String {
    seal_for(master, SEAL_CONTEXT, secret, nonce)
}

/// Opens what [`seal`] sealed; fails when the master key is another one or the text was altered.
pub fn unseal(master: &MasterKey, sealed: &str) -> Result<Vec<u8>, String> {
    unseal_for(master, SEAL_CONTEXT, sealed).map_err(|SealBroken| {
        "no se pudo abrir la llave de firma: VIOLETA_SECRET_KEY no es la misma con la que se creó, o la llave guardada fue alterada".to_string()
    })
}

/// [`seal`] for another purpose: `context` (the cipher's associated data) binds the sealed
/// text to it, so text sealed for one purpose never opens as another.
pub fn seal_for(master: &MasterKey, context: &[u8], secret: &[u8], nonce: [u8; 24]) -> String {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(&master.0.into());
    let ciphertext = cipher.encrypt(&nonce.into(), Payload { msg: secret, aad: context }).expect("XChaCha20-Poly1305 cifra cualquier mensaje de este tamaño");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ciphertext);
    format!("v1.{}", base64::engine::general_purpose::STANDARD.encode(out))
}

/// A sealed text that does not open: another master key, another purpose, or altered. Each
/// caller says what it was in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("el texto sellado no se pudo abrir")]
pub struct SealBroken;

/// Opens what [`seal_for`] sealed with the same `context`.
pub fn unseal_for(master: &MasterKey, context: &[u8], sealed: &str) -> Result<Vec<u8>, SealBroken> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let raw = sealed.strip_prefix("v1.").and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok()).ok_or(SealBroken)?;
    if raw.len() < 24 + 16 {
        return Err(SealBroken);
    }
    let (nonce, ciphertext) = raw.split_at(24);
    let nonce: [u8; 24] = nonce.try_into().map_err(|_| SealBroken)?;
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(&master.0.into());
    cipher.decrypt(&nonce.into(), Payload { msg: ciphertext, aad: context }).map_err(|_| SealBroken)
}

// ----- JSON Canonicalization Scheme (RFC 8785) -----

/// A document JCS cannot canonicalize here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("el documento contiene un número que no es entero ({0}); las constancias solo usan textos, enteros y valores lógicos")]
pub struct CanonError(pub String);

/// The JSON Canonicalization Scheme (RFC 8785) of `value`.
///
/// Assumption, checked: numbers are integers within ±2^53 (exact in IEEE 754, so their JCS
/// form is their decimal digits). Constancias hold only strings, such integers and booleans;
/// a fraction or a larger number is refused rather than risk a form other implementations
/// would not reproduce (RFC 8785 prints numbers as ECMAScript does).
///
/// Strings are written as serde_json writes them, which is JCS's form: `"` and `\` escaped,
/// the control characters as `\b \t \n \f \r` or `\u00xx` (lowercase), everything else as is
/// in UTF-8. Object keys are sorted by their UTF-16 code units, as JCS requires.
pub fn canonical_json(value: &Value) -> Result<String, CanonError> {
    let mut out = String::new();
    write_canonical(value, &mut out)?;
    Ok(out)
}

fn write_canonical(value: &Value, out: &mut String) -> Result<(), CanonError> {
    const MAX_EXACT: i64 = 1 << 53;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_i64() {
            Some(i) if i.abs() <= MAX_EXACT => out.push_str(&i.to_string()),
            _ => return Err(CanonError(n.to_string())),
        },
        Value::String(s) => out.push_str(&Value::String(s.clone()).to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

// ----- Data Integrity proof, eddsa-jcs-2022 -----

/// Why a constancia does not verify. Displayed in Spanish, for the verification page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("falta la prueba")]
    MissingProof,
    #[error("la firma no corresponde al contenido")]
    BadSignature,
    #[error("el emisor no coincide")]
    IssuerMismatch,
    #[error("la credencial fue revocada{}", .0.as_deref().filter(|m| !m.is_empty()).map(|m| format!(": {m}")).unwrap_or_default())]
    Revoked(Option<String>),
    #[error("la credencial expiró")]
    Expired,
    #[error("la credencial aún no es válida")]
    NotYetValid,
    #[error("el documento no es una credencial válida: {0}")]
    Malformed(String),
}

/// The 64 bytes eddsa-jcs-2022 signs: SHA-256 of the canonical proof configuration, then
/// SHA-256 of the canonical document.
fn hash_data(document: &Map<String, Value>, proof_config: &Map<String, Value>) -> Result<Vec<u8>, CanonError> {
    let config = canonical_json(&Value::Object(proof_config.clone()))?;
    let doc = canonical_json(&Value::Object(document.clone()))?;
    let mut data = Sha256::digest(config.as_bytes()).to_vec();
    data.extend_from_slice(&Sha256::digest(doc.as_bytes()));
    Ok(data)
}

/// Adds a `DataIntegrityProof` (eddsa-jcs-2022) made with `key` at `created`.
pub fn sign(document: &Value, key: &SigningKey, created: DateTime<Utc>) -> Result<Value, CanonError> {
    let mut doc = document.as_object().cloned().ok_or_else(|| CanonError("el documento no es un objeto".into()))?;
    doc.remove("proof");
    let mut proof = Map::new();
    proof.insert("type".into(), "DataIntegrityProof".into());
    proof.insert("cryptosuite".into(), CRYPTOSUITE.into());
    proof.insert("created".into(), timestamp(created).into());
    proof.insert("verificationMethod".into(), verification_method(&key.verifying_key()).into());
    proof.insert("proofPurpose".into(), "assertionMethod".into());
    if let Some(ctx) = doc.get("@context") {
        proof.insert("@context".into(), ctx.clone());
    }
    let signature = key.sign(&hash_data(&doc, &proof)?);
    proof.insert("proofValue".into(), format!("z{}", bs58::encode(signature.to_bytes()).into_string()).into());
    doc.insert("proof".into(), Value::Object(proof));
    Ok(Value::Object(doc))
}

/// Checks only the proof: that `key` signed exactly this content (eddsa-jcs-2022).
pub fn verify_proof(document: &Value, key: &VerifyingKey) -> Result<(), Rejection> {
    let mut doc = document.as_object().cloned().ok_or_else(|| Rejection::Malformed("no es un objeto JSON".into()))?;
    let mut proof = match doc.remove("proof") {
        Some(Value::Object(p)) => p,
        Some(_) => return Err(Rejection::Malformed("la prueba no es un objeto".into())),
        None => return Err(Rejection::MissingProof),
    };
    if proof.get("type").and_then(Value::as_str) != Some("DataIntegrityProof") || proof.get("cryptosuite").and_then(Value::as_str) != Some(CRYPTOSUITE) {
        return Err(Rejection::Malformed(format!("la prueba no es del tipo DataIntegrityProof con {CRYPTOSUITE}")));
    }
    let proof_value = match proof.remove("proofValue") {
        Some(Value::String(v)) => v,
        _ => return Err(Rejection::MissingProof),
    };
    let signature = proof_value
        .strip_prefix('z')
        .and_then(|b| bs58::decode(b).into_vec().ok())
        .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
        .map(|b| Signature::from_bytes(&b))
        .ok_or(Rejection::BadSignature)?;
    // The proof's @context, when present, must be the document's (or its beginning).
    match (proof.get("@context"), doc.get("@context")) {
        (Some(Value::Array(p)), Some(Value::Array(d))) if d.starts_with(p) => {}
        (Some(p), Some(d)) if p == d => {}
        (Some(_), _) => return Err(Rejection::BadSignature),
        (None, Some(d)) => {
            proof.insert("@context".into(), d.clone());
        }
        (None, None) => {}
    }
    let data = hash_data(&doc, &proof).map_err(|e| Rejection::Malformed(e.to_string()))?;
    key.verify(&data, &signature).map_err(|_| Rejection::BadSignature)
}

/// Verifies a constancia against the issuer's public key: the proof is there, the issuer is
/// the key's, the signature covers the content, it is not revoked (`revocation`: `Some`
/// with the reason when the issuer's status list says so) and it is within its validity.
pub fn verify(document: &Value, key: &VerifyingKey, revocation: Option<&str>, now: DateTime<Utc>) -> Result<(), Rejection> {
    let proof = document.get("proof").ok_or(Rejection::MissingProof)?;
    let did = did_key(key);
    let issuer = match document.get("issuer") {
        Some(Value::String(id)) => id.as_str(),
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).unwrap_or(""),
        _ => "",
    };
    let method = proof.get("verificationMethod").and_then(Value::as_str).unwrap_or("");
    if issuer != did || method.split('#').next() != Some(did.as_str()) {
        return Err(Rejection::IssuerMismatch);
    }
    verify_proof(document, key)?;
    if let Some(reason) = revocation {
        return Err(Rejection::Revoked(Some(reason.to_string())));
    }
    let date = |field: &str| -> Result<Option<DateTime<Utc>>, Rejection> {
        match document.get(field) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| Some(d.with_timezone(&Utc)))
                .ok_or_else(|| Rejection::Malformed(format!("{field} no es una fecha"))),
        }
    };
    if date("validFrom")?.is_some_and(|from| now < from) {
        return Err(Rejection::NotYetValid);
    }
    if date("validUntil")?.is_some_and(|until| now > until) {
        return Err(Rejection::Expired);
    }
    Ok(())
}

/// What a holder's document claims, read for display: nothing here is trusted until
/// [`verify_against`] accepts the document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claimed {
    pub folio: Option<Folio>,
    pub recipient_name: String,
    pub title: String,
    pub issuer_name: String,
    pub status_index: Option<i64>,
}

/// Reads a constancia document as a holder brings it. Errors give the line and column.
pub fn parse_document(text: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| format!("el documento no es JSON válido (línea {}, columna {})", e.line(), e.column()))?;
    if !value.is_object() {
        return Err("el documento no es una credencial: se esperaba un objeto JSON".into());
    }
    Ok(value)
}

pub fn claimed(document: &Value) -> Claimed {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let subject = &document["credentialSubject"];
    let recipient_name = subject["identifier"]
        .as_array()
        .and_then(|ids| ids.iter().find(|i| i["identityType"] == "name"))
        .map(|i| text(&i["identityHash"]))
        .unwrap_or_default();
    Claimed {
        folio: document["id"].as_str().and_then(|id| id.rsplit('/').next()).and_then(|f| Folio::parse(f).ok()),
        recipient_name,
        title: text(&subject["achievement"]["name"]),
        issuer_name: text(&document["issuer"]["name"]),
        status_index: document["credentialStatus"]["statusListIndex"].as_str().and_then(|i| i.parse().ok()),
    }
}

/// Verifies a document with whichever of the published keys is its issuer's; `revocation`
/// as in [`verify`].
pub fn verify_against(document: &Value, keys: &[VerifyingKey], revocation: Option<&str>, now: DateTime<Utc>) -> Result<(), Rejection> {
    let issuer = match document.get("issuer") {
        Some(Value::String(id)) => id.as_str(),
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).unwrap_or(""),
        _ => "",
    };
    let key = keys.iter().find(|k| did_key(k) == issuer).ok_or(Rejection::IssuerMismatch)?;
    verify(document, key, revocation, now)
}

// ----- revocation status list (W3C Bitstring Status List) -----

/// Bits in the list at least: 16 KiB, so one list hides who among many was revoked.
pub const STATUS_LIST_MIN_BITS: usize = 131_072;

/// The `encodedList` of a Bitstring Status List: the bits (index 0 is the first, most
/// significant bit), GZIP-compressed, base64url without padding, with the multibase `u`.
pub fn encode_status_list(revoked: &[i64], issued: i64) -> String {
    use std::io::Write;
    let bits = STATUS_LIST_MIN_BITS.max((issued.max(0) as usize).div_ceil(8) * 8);
    let mut list = vec![0u8; bits / 8];
    for &i in revoked {
        if i >= 0 && (i as usize) < bits {
            list[i as usize / 8] |= 0x80 >> (i as usize % 8);
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&list).expect("escribir en memoria no falla");
    let compressed = gz.finish().expect("escribir en memoria no falla");
    format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(compressed))
}

/// Whether bit `index` of an `encodedList` is set (`None` if the list cannot be read).
pub fn status_list_bit(encoded: &str, index: i64) -> Option<bool> {
    use std::io::Read;
    let compressed = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded.strip_prefix('u')?).ok()?;
    let mut list = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice()).read_to_end(&mut list).ok()?;
    let i = usize::try_from(index).ok()?;
    list.get(i / 8).map(|b| b & (0x80 >> (i % 8)) != 0)
}

/// The unsigned status list credential published at [`status_list_url`].
pub fn status_list_document(base: &str, key: &VerifyingKey, encoded_list: &str, valid_from: DateTime<Utc>) -> Value {
    let url = status_list_url(base);
    json!({
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": did_key(key),
        "validFrom": timestamp(valid_from),
        "credentialSubject": {
            "id": format!("{url}#lista"),
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_list,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn constancia() -> Constancia {
        let salt = "3f9a0c6e1b2d4a58";
        Constancia {
            folio: Folio::from_random([9, 8, 7, 6, 5, 4, 3, 2]),
            kind: CredentialKind::Capacitacion,
            subject_id: 12,
            recipient_name: "María José Gómez Ruíz".into(),
            identity_type: IdentityType::NationalIdentityNumber,
            identity_hash: identity_hash("GORM800101MOCMZR09", salt),
            salt: salt.into(),
            title: "Protocolo de actuación policial con perspectiva de género".into(),
            topic: "Atención a mujeres en situación de violencia".into(),
            minutes: 330,
            first_day: NaiveDate::from_ymd_opt(2025, 3, 4).unwrap(),
            last_day: NaiveDate::from_ymd_opt(2025, 3, 5).unwrap(),
            issuer: Issuer {
                name: "Secretaría de las Mujeres de Oaxaca".into(),
                signatory: "Mtra. Ana Pérez Núñez".into(),
                signatory_title: "Directora de Capacitación".into(),
            },
            issued_at: DateTime::parse_from_rfc3339("2025-03-06T17:00:00Z").unwrap().with_timezone(&Utc),
            expires_at: None,
            status_index: 41,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn folios_are_readable_and_parse_back() {
        let f = Folio::from_random([0xff; 8]);
        assert_eq!(f.as_str(), "VIO-ZZZZ-ZZZZ-ZZZZ");
        let f = Folio::from_random([0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(f.as_str(), "VIO-0000-0000-0000");
        let f = Folio::from_random([1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(f.as_str().len() == 18 && f.as_str().starts_with("VIO-"));
        assert_eq!(Folio::parse(f.as_str()).unwrap(), f);
        assert_eq!(Folio::parse(&f.as_str().to_lowercase().replace('-', "")).unwrap(), f);
        assert_eq!(Folio::parse("vio-oiLo-0000-0000").unwrap().as_str(), "VIO-0110-0000-0000");
        assert_eq!(Folio::parse("7K2M Q9XD 4TRB").unwrap().as_str(), "VIO-7K2M-Q9XD-4TRB");
        assert_eq!(Folio::parse("VIO1-2345-6789").unwrap().as_str(), "VIO-V101-2345-6789", "twelve characters without prefix");
        for bad in ["", "VIO-", "VIO-1234-5678", "VIO-UUUU-0000-0000", "VIO-1234-5678-9ABCD", "VIO-ÁÉÍÓ-0000-0000"] {
            assert!(Folio::parse(bad).is_err(), "{bad}");
        }
        assert!(Folio::parse("x").unwrap_err().to_string().contains("VIO-XXXX-XXXX-XXXX"));
    }

    #[test]
    fn jcs_sorts_keys_and_writes_strings_as_rfc8785() {
        let v: Value = serde_json::from_str(r#"{"b": [1, true, null, "x"], "a": {"z": -5, "é": "ñ\n\u0001\"\\/", "A": ""}, "\u20ac": 0, "\ud83d\ude00": 1, "\ufb33": 2}"#).unwrap();
        // Keys by UTF-16 code units: the emoji (surrogates D83D…) sorts before U+FB33.
        assert_eq!(
            canonical_json(&v).unwrap(),
            "{\"a\":{\"A\":\"\",\"z\":-5,\"é\":\"ñ\\n\\u0001\\\"\\\\/\"},\"b\":[1,true,null,\"x\"],\"€\":0,\"😀\":1,\"דּ\":2}"
        );
        // RFC 8785's own example of key order.
        let v: Value = serde_json::from_str(r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#).unwrap();
        let c = canonical_json(&v).unwrap();
        let positions: Vec<usize> = ["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"]
            .iter()
            .map(|s| c.find(s).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{c}");
        // Integers up to 2^53 only.
        assert_eq!(canonical_json(&json!(9007199254740992i64)).unwrap(), "9007199254740992");
        assert!(canonical_json(&json!(9007199254740993i64)).is_err());
        assert!(canonical_json(&json!({"horas": 4.5})).is_err());
        assert!(canonical_json(&serde_json::from_str::<Value>("1.0").unwrap()).is_err());
    }

    /// The W3C test vector of eddsa-jcs-2022 (vc-di-eddsa, TestVectors/eddsa-jcs-2022):
    /// our proof reproduces its signature byte for byte, and verifies.
    #[test]
    fn w3c_test_vector() {
        let sk = parse_private_multibase("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq").unwrap();
        assert_eq!(public_multibase(&sk.verifying_key()), "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2");
        let signed: Value = serde_json::from_str(
            r#"{"@context":["https://www.w3.org/ns/credentials/v2","https://www.w3.org/ns/credentials/examples/v2"],
            "id":"urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33","type":["VerifiableCredential","AlumniCredential"],
            "name":"Alumni Credential","description":"A minimum viable example of an Alumni Credential.",
            "issuer":"https://vc.example/issuers/5678","validFrom":"2023-01-01T00:00:00Z",
            "credentialSubject":{"id":"did:example:abcdefgh","alumniOf":"The School of Examples"},
            "proof":{"type":"DataIntegrityProof","cryptosuite":"eddsa-jcs-2022","created":"2023-02-24T23:36:38Z",
            "verificationMethod":"https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
            "proofPurpose":"assertionMethod","@context":["https://www.w3.org/ns/credentials/v2","https://www.w3.org/ns/credentials/examples/v2"],
            "proofValue":"z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQfmWqeRb8rRjmeEuCBEsddF9LsVogtuTsijJKh4"}}"#,
        )
        .unwrap();
        verify_proof(&signed, &sk.verifying_key()).expect("the W3C vector verifies");
        // Signing the same content with the same options gives the same (deterministic) signature.
        let mut doc = signed.as_object().unwrap().clone();
        let proof = doc.remove("proof").unwrap();
        let mut options = proof.as_object().unwrap().clone();
        options.remove("proofValue");
        let data = hash_data(&doc, &options).unwrap();
        let sig = sk.sign(&data);
        assert_eq!(format!("z{}", bs58::encode(sig.to_bytes()).into_string()), proof["proofValue"].as_str().unwrap());
        let mut tampered = signed.clone();
        tampered["credentialSubject"]["alumniOf"] = "The School of Counterfeits".into();
        assert_eq!(verify_proof(&tampered, &sk.verifying_key()), Err(Rejection::BadSignature));
    }

    #[test]
    fn sign_then_verify() {
        let sk = key(7);
        let signed = constancia().issue("https://violeta.example.gob.mx/", &sk).unwrap();
        assert_eq!(verify(&signed, &sk.verifying_key(), None, now()), Ok(()));
        assert_eq!(signed["type"], json!(["VerifiableCredential", "OpenBadgeCredential"]));
        assert_eq!(signed["@context"], json!([VC_CONTEXT, OB_CONTEXT]));
        assert_eq!(signed["id"], verify_url("https://violeta.example.gob.mx", &constancia().folio));
        assert_eq!(signed["issuer"]["id"], did_key(&sk.verifying_key()));
        assert_eq!(signed["proof"]["verificationMethod"], verification_method(&sk.verifying_key()));
        assert!(signed["proof"]["proofValue"].as_str().unwrap().starts_with('z'));
        let ids = signed["credentialSubject"]["identifier"].as_array().unwrap();
        assert_eq!(ids[0]["identityHash"], "María José Gómez Ruíz");
        assert_eq!(ids[1]["identityType"], "nationalIdentityNumber");
        assert_eq!(ids[1]["identityHash"], identity_hash("GORM800101MOCMZR09", "3f9a0c6e1b2d4a58"));
        assert!(!signed.to_string().contains("GORM800101"), "the CURP is only hashed");
        assert_eq!(signed["credentialStatus"]["statusListIndex"], "41");
        // Hours, dates, issuer and signatory are in the signed text.
        let text = signed.to_string();
        for part in ["5 horas y 30 minutos", "del 4 al 5 de marzo de 2025", "Mtra. Ana Pérez Núñez, Directora de Capacitación", "Secretaría de las Mujeres de Oaxaca"] {
            assert!(text.contains(part), "{part}");
        }
        // The document round-trips through text (as stored and downloaded).
        let reread: Value = serde_json::from_str(&serde_json::to_string_pretty(&signed).unwrap()).unwrap();
        assert_eq!(verify(&reread, &sk.verifying_key(), None, now()), Ok(()));
    }

    #[test]
    fn one_changed_character_breaks_the_signature() {
        let sk = key(7);
        let signed = constancia().issue("https://violeta.example.gob.mx", &sk).unwrap();
        let mut tampered = signed.clone();
        tampered["credentialSubject"]["identifier"][0]["identityHash"] = "María José Gómez Ruiz".into();
        let err = verify(&tampered, &sk.verifying_key(), None, now()).unwrap_err();
        assert_eq!(err, Rejection::BadSignature);
        assert_eq!(err.to_string(), "la firma no corresponde al contenido");
        let mut no_proof = signed.clone();
        no_proof.as_object_mut().unwrap().remove("proof");
        assert_eq!(verify(&no_proof, &sk.verifying_key(), None, now()).unwrap_err().to_string(), "falta la prueba");
    }

    #[test]
    fn wrong_key_revoked_and_expired_are_refused() {
        let sk = key(7);
        let signed = constancia().issue("https://violeta.example.gob.mx", &sk).unwrap();
        let other = key(8).verifying_key();
        assert_eq!(verify(&signed, &other, None, now()).unwrap_err().to_string(), "el emisor no coincide");
        // A forger who re-signs with their own key but keeps our issuer id: the signature fails.
        let mut forged = signed.clone();
        forged["credentialSubject"]["identifier"][0]["identityHash"] = "Otra Persona".into();
        let forged = sign(&forged, &key(8), now()).unwrap();
        let mut forged = forged;
        forged["proof"]["verificationMethod"] = verification_method(&sk.verifying_key()).into();
        assert_eq!(verify(&forged, &sk.verifying_key(), None, now()), Err(Rejection::BadSignature));
        let r = verify(&signed, &sk.verifying_key(), Some("datos incorrectos"), now()).unwrap_err();
        assert_eq!(r.to_string(), "la credencial fue revocada: datos incorrectos");
        assert_eq!(Rejection::Revoked(None).to_string(), "la credencial fue revocada");
        let mut c = constancia();
        c.expires_at = Some(DateTime::parse_from_rfc3339("2025-04-01T00:00:00Z").unwrap().with_timezone(&Utc));
        let expiring = c.issue("https://violeta.example.gob.mx", &sk).unwrap();
        assert!(expiring["validUntil"].is_string());
        assert_eq!(verify(&expiring, &sk.verifying_key(), None, now()).unwrap_err().to_string(), "la credencial expiró");
        let early = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(verify(&signed, &sk.verifying_key(), None, early), Err(Rejection::NotYetValid));
    }

    #[test]
    fn keys_in_multibase_and_sealed() {
        let sk = key(3);
        let mb = public_multibase(&sk.verifying_key());
        assert!(mb.starts_with("z6Mk"), "{mb}");
        assert_eq!(parse_public_multibase(&mb).unwrap(), sk.verifying_key());
        assert!(parse_public_multibase("z123").is_err());

        let master = MasterKey::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(format!("{master:?}"), "MasterKey(***)");
        assert_eq!(MasterKey::parse("q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=").unwrap(), master);
        assert!(MasterKey::parse("corta").is_err());
        let sealed = seal(&master, sk.as_bytes(), [5; 24]);
        assert!(!sealed.contains(&hex::encode(sk.as_bytes())));
        assert_eq!(unseal(&master, &sealed).unwrap(), sk.as_bytes().to_vec());
        assert!(unseal(&MasterKey::demo(), &sealed).is_err(), "another master key");
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(unseal(&master, &String::from_utf8(altered).unwrap()).is_err(), "altered ciphertext");
    }

    #[test]
    fn status_list_bits() {
        let encoded = encode_status_list(&[0, 41, 131_071], 50);
        assert!(encoded.starts_with('u'));
        assert_eq!(status_list_bit(&encoded, 0), Some(true));
        assert_eq!(status_list_bit(&encoded, 1), Some(false));
        assert_eq!(status_list_bit(&encoded, 41), Some(true));
        assert_eq!(status_list_bit(&encoded, 131_071), Some(true));
        assert_eq!(status_list_bit(&encoded, 131_072), None);
        let big = encode_status_list(&[200_000], 200_001);
        assert_eq!(status_list_bit(&big, 200_000), Some(true));
        let sk = key(1);
        let list = sign(&status_list_document("https://v.example", &sk.verifying_key(), &encoded, now()), &sk, now()).unwrap();
        assert_eq!(verify(&list, &sk.verifying_key(), None, now()), Ok(()));
    }

    #[test]
    fn spanish_labels() {
        assert_eq!(hours_label(60), "1 hora");
        assert_eq!(hours_label(300), "5 horas");
        assert_eq!(hours_label(270), "4 horas y 30 minutos");
        assert_eq!(hours_label(45), "45 minutos");
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(period_label(d(2025, 3, 4), d(2025, 3, 4)), "4 de marzo de 2025");
        assert_eq!(period_label(d(2025, 3, 4), d(2025, 3, 6)), "del 4 al 6 de marzo de 2025");
        assert_eq!(period_label(d(2025, 2, 28), d(2025, 3, 2)), "del 28 de febrero al 2 de marzo de 2025");
        assert_eq!(period_label(d(2024, 12, 30), d(2025, 1, 2)), "del 30 de diciembre de 2024 al 2 de enero de 2025");
        assert_eq!(CredentialKind::Capacitacion.document_title(), "Constancia de participación");
        assert_eq!(CredentialKind::Curso.document_title(), "Constancia de acreditación");
    }
}
