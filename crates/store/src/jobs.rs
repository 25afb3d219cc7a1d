//! A job queue in the store, shared by every server process. A worker claims a due job
//! with a lease; if the worker dies, the lease runs out and another process takes it.
//! Claims are atomic on both backends (`FOR UPDATE SKIP LOCKED` on PostgreSQL; the
//! single writer lock on SQLite), so a job is never run by two workers at once.

use crate::{Backend, Result, Store, now, on_tx};
use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
}

impl Store {
    pub async fn enqueue_job(&self, kind: &str, payload: &str, run_at: DateTime<Utc>) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "INSERT INTO jobs (kind, payload, run_at) VALUES ($1, $2, $3) RETURNING id"
        )
        .bind(kind)
        .bind(payload)
        .bind(run_at)
        .fetch_one(c)
        .await?);
        tx.commit().await?;
        Ok(id)
    }

    /// Claims the oldest due job of `kind` for `worker`, for `lease`.
    pub async fn claim_job(&self, kind: &str, worker: &str, lease: Duration) -> Result<Option<Job>> {
        let skip_locked = if self.backend() == Backend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1 WHERE id = ( \
               SELECT id FROM jobs WHERE kind = $3 AND done_at IS NULL AND run_at <= $4 \
               AND (locked_until IS NULL OR locked_until < $4) ORDER BY run_at, id LIMIT 1 {skip_locked}) \
             RETURNING id, kind, payload, attempts"
        );
        let mut tx = self.begin().await?;
        let job: Option<Job> = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(worker)
            .bind(now() + lease)
            .bind(kind)
            .bind(now())
            .fetch_optional(c)
            .await?);
        tx.commit().await?;
        Ok(job)
    }

    /// Marks a job done, if `worker` still holds it.
    pub async fn finish_job(&self, id: i64, worker: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, |c| sqlx::query("UPDATE jobs SET done_at = $1, locked_until = NULL WHERE id = $2 AND locked_by = $3 AND done_at IS NULL")
            .bind(now())
            .bind(id)
            .bind(worker)
            .execute(c)
            .await?
            .rows_affected());
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Gives a job back to the queue to retry at `retry_at`, recording why it failed.
    pub async fn fail_job(&self, id: i64, worker: &str, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE jobs SET locked_by = NULL, locked_until = NULL, run_at = $1, last_error = $2 WHERE id = $3 AND locked_by = $4"
        )
        .bind(retry_at)
        .bind(error)
        .bind(id)
        .bind(worker)
        .execute(c)
        .await?.rows_affected());
        tx.commit().await
    }
}
