//! The audit trail: append-only and hash-chained. Each entry's hash covers its own
//! fields and the previous entry's hash, so altering or removing any row breaks the
//! chain from that row on, and [`verify`] names the first row that does not hold.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash that precedes the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    /// Who, as shown to people: an email, "sistema", "línea de comandos".
    pub actor: String,
    /// What: a short verb code such as "persona.crear" or "persona.leer_datos_personales".
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    /// From where: the client's IP address, or "cli".
    pub origin: String,
    /// Details as JSON text. Never secrets, never personal data beyond identifiers.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The fields of an entry that the hash covers, in a fixed textual form.
/// Timestamps use microseconds, the precision both stores keep.
pub fn entry_hash(prev_hash: &str, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    let fields = [
        prev_hash.to_string(),
        e.seq.to_string(),
        e.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        e.actor_id.map(|v| v.to_string()).unwrap_or_default(),
        e.actor.clone(),
        e.action.clone(),
        e.entity.clone(),
        e.entity_id.clone(),
        e.origin.clone(),
        e.detail.clone(),
    ];
    for f in &fields {
        // Length-prefixed, so no two different entries serialize alike.
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Where the chain breaks. The `Display` text is for the administrator (Spanish).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("falta la entrada {expected}: se encontró la {found} en su lugar (se eliminaron entradas)")]
    Missing { expected: i64, found: i64 },
    #[error("la entrada {0} fue alterada: su hash no corresponde a su contenido")]
    Altered(i64),
    #[error("la entrada {0} no enlaza con la anterior (hash previo distinto)")]
    Unlinked(i64),
    #[error("faltan las entradas finales: la última registrada es la {last_seen}, pero el registro llegó a la {head}")]
    Truncated { last_seen: i64, head: i64 },
}

/// Incremental verifier: feed entries in sequence order, then call [`Verifier::finish`]
/// with the head (last sequence number) the store recorded.
pub struct Verifier {
    expected_seq: i64,
    prev_hash: String,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier { expected_seq: 1, prev_hash: GENESIS.to_string() }
    }
}

impl Verifier {
    pub fn push(&mut self, e: &AuditEntry) -> Result<(), ChainBreak> {
        if e.seq != self.expected_seq {
            return Err(ChainBreak::Missing { expected: self.expected_seq, found: e.seq });
        }
        if e.prev_hash != self.prev_hash {
            return Err(ChainBreak::Unlinked(e.seq));
        }
        if entry_hash(&e.prev_hash, e) != e.hash {
            return Err(ChainBreak::Altered(e.seq));
        }
        self.expected_seq += 1;
        self.prev_hash = e.hash.clone();
        Ok(())
    }

    /// Returns how many entries were verified.
    pub fn finish(self, head_seq: i64) -> Result<i64, ChainBreak> {
        let last_seen = self.expected_seq - 1;
        if last_seen != head_seq {
            return Err(ChainBreak::Truncated { last_seen, head: head_seq });
        }
        Ok(last_seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    seq,
                    at: DateTime::from_timestamp(1_700_000_000 + seq, 123_456_000).unwrap(),
                    actor_id: Some(1),
                    actor: "admin@example.org".into(),
                    action: "persona.crear".into(),
                    entity: "persona".into(),
                    entity_id: seq.to_string(),
                    origin: "127.0.0.1".into(),
                    detail: "{}".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = entry_hash(&prev, &e);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(entries: &[AuditEntry], head: i64) -> Result<i64, ChainBreak> {
        let mut v = Verifier::default();
        for e in entries {
            v.push(e)?;
        }
        v.finish(head)
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(5), 5), Ok(5));
    }

    #[test]
    fn names_the_first_altered_removed_or_truncated_row() {
        let mut c = chain(5);
        c[2].entity_id = "99".into();
        assert_eq!(verify(&c, 5), Err(ChainBreak::Altered(3)));

        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(&c, 5), Err(ChainBreak::Missing { expected: 2, found: 3 }));

        let c = chain(5);
        assert_eq!(verify(&c[..4], 5), Err(ChainBreak::Truncated { last_seen: 4, head: 5 }));
    }
}

/// Who does something, and from where: the first half of every audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<i64>,
    /// An email, or a name for a non-human actor.
    pub label: String,
    /// The client's IP address, or "cli" / "sistema".
    pub origin: String,
}

impl Actor {
    /// The administrator at the server's command line.
    pub fn command_line() -> Actor {
        Actor { user_id: None, label: "línea de comandos".into(), origin: "cli".into() }
    }
    /// Violeta itself (seeding, scheduled work).
    pub fn system() -> Actor {
        Actor { user_id: None, label: "sistema".into(), origin: "sistema".into() }
    }
}
