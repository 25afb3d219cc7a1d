//! The audit trail in the store: appended inside the transaction of the write it
//! records, read back page by page, verified end to end.

use crate::{Result, Store, Tx, now, on_pool, on_tx};
use chrono::{DateTime, Utc};
use violeta_domain::audit::{Actor, AuditEntry, ChainBreak, Verifier, entry_hash};

/// What happened, for [`append`]: the "what" half of an entry.
pub struct Event<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: String,
    /// JSON details. Identifiers and changed field names only: never secrets.
    pub detail: serde_json::Value,
}

impl<'a> Event<'a> {
    pub fn new(action: &'a str, entity: &'a str, entity_id: impl ToString) -> Event<'a> {
        Event { action, entity, entity_id: entity_id.to_string(), detail: serde_json::Value::Null }
    }
    pub fn with(mut self, detail: serde_json::Value) -> Event<'a> {
        self.detail = detail;
        self
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    at: DateTime<Utc>,
    actor_id: Option<i64>,
    actor: String,
    action: String,
    entity: String,
    entity_id: String,
    origin: String,
    detail: String,
    prev_hash: String,
    hash: String,
}

impl From<Row> for AuditEntry {
    fn from(r: Row) -> AuditEntry {
        AuditEntry {
            seq: r.seq,
            at: r.at,
            actor_id: r.actor_id,
            actor: r.actor,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            origin: r.origin,
            detail: r.detail,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// Appends one entry inside `tx`. Taking the head row first serializes audited writers
/// (a row lock on PostgreSQL, the write lock on SQLite), so the chain never forks.
pub(crate) async fn append(tx: &mut Tx, actor: &Actor, event: Event<'_>) -> Result<()> {
    append_all(tx, vec![(actor, event)]).await
}

/// Appends several entries inside `tx`, chained in the order given, taking the head row
/// once: a write that records many things at once (a group of check-ins) still leaves one
/// entry for each.
pub(crate) async fn append_all(tx: &mut Tx, events: Vec<(&Actor, Event<'_>)>) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let n = events.len() as i64;
    let (last_seq, mut prev_hash): (i64, String) = on_tx!(tx, |c| sqlx::query_as(
        "UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash"
    )
    .bind(n)
    .fetch_one(&mut *c)
    .await?);
    let at = now();
    let mut entries = Vec::with_capacity(events.len());
    for (i, (actor, event)) in events.into_iter().enumerate() {
        let mut entry = AuditEntry {
            seq: last_seq - n + 1 + i as i64,
            at,
            actor_id: actor.user_id,
            actor: actor.label.clone(),
            action: event.action.to_string(),
            entity: event.entity.to_string(),
            entity_id: event.entity_id,
            origin: actor.origin.clone(),
            detail: if event.detail.is_null() { "{}".into() } else { event.detail.to_string() },
            prev_hash,
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry.prev_hash, &entry);
        prev_hash = entry.hash.clone();
        entries.push(entry);
    }
    for chunk in entries.chunks(crate::people::BULK_ROWS) {
        let sql = format!(
            "INSERT INTO audit_log (seq, at, actor_id, actor, action, entity, entity_id, origin, detail, prev_hash, hash) VALUES {}",
            crate::people::placeholders(tx.backend(), chunk.len(), 11)
        );
        on_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for e in chunk {
                q = q
                    .bind(e.seq)
                    .bind(e.at)
                    .bind(e.actor_id)
                    .bind(&e.actor)
                    .bind(&e.action)
                    .bind(&e.entity)
                    .bind(&e.entity_id)
                    .bind(&e.origin)
                    .bind(&e.detail)
                    .bind(&e.prev_hash)
                    .bind(&e.hash);
            }
            q.execute(&mut *c).await?;
        });
    }
    on_tx!(tx, |c| sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&prev_hash).execute(&mut *c).await?.rows_affected());
    Ok(())
}

/// Filters for reading the trail.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<i64>,
}

impl Store {
    /// Records something that is not a write of its own (a sign-in, a read of personal
    /// data) as a transaction with just its audit entry.
    pub async fn record(&self, actor: &Actor, event: Event<'_>) -> Result<()> {
        let mut tx = self.begin().await?;
        append(&mut tx, actor, event).await?;
        tx.commit().await
    }

    /// The newest entries first.
    pub async fn audit_entries(&self, filter: &AuditFilter, limit: i64, offset: i64) -> Result<Vec<AuditEntry>> {
        let rows: Vec<Row> = on_pool!(self, |p| sqlx::query_as(
            "SELECT seq, at, actor_id, actor, action, entity, entity_id, origin, detail, prev_hash, hash \
             FROM audit_log \
             WHERE ($1 IS NULL OR entity = $1) AND ($2 IS NULL OR entity_id = $2) AND ($3 IS NULL OR actor_id = $3) \
             ORDER BY seq DESC LIMIT $4 OFFSET $5"
        )
        .bind(&filter.entity)
        .bind(&filter.entity_id)
        .bind(filter.actor_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?);
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }

    /// Walks the whole chain in order. `Ok(n)`: n entries verified. `Err`: the first
    /// entry that was altered or removed.
    pub async fn verify_audit(&self) -> Result<Result<i64, ChainBreak>> {
        let head: i64 = on_pool!(self, |p| sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1").fetch_one(p).await?);
        let mut verifier = Verifier::default();
        let mut after = 0i64;
        loop {
            // Keyset pages keep memory flat however long the trail grows.
            let rows: Vec<Row> = on_pool!(self, |p| sqlx::query_as(
                "SELECT seq, at, actor_id, actor, action, entity, entity_id, origin, detail, prev_hash, hash \
                 FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000"
            )
            .bind(after)
            .fetch_all(p)
            .await?);
            let Some(last) = rows.last() else { break };
            after = last.seq;
            for row in rows {
                if let Err(b) = verifier.push(&AuditEntry::from(row)) {
                    return Ok(Err(b));
                }
            }
        }
        Ok(verifier.finish(head))
    }
}
