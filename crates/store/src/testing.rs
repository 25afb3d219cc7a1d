//! Throw-away stores for tests, on either backend. Each test gets its own SQLite file
//! or its own PostgreSQL database, so parallel tests never collide.
//!
//! PostgreSQL is used when `VIOLETA_TEST_POSTGRES` names a server
//! (`postgres://postgres@127.0.0.1:5432/test`); `.ci/run` always sets it.

use crate::{Result, Store, on_pool};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("violeta_test_{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), nanos)
}

/// A migrated store that cleans up after itself with [`TestStore::cleanup`].
pub struct TestStore {
    pub store: Store,
    pub url: String,
    drop_db: Option<(String, String)>,
    file: Option<std::path::PathBuf>,
}

impl TestStore {
    pub async fn sqlite() -> Result<TestStore> {
        let dir = std::env::temp_dir().join("violeta-tests");
        std::fs::create_dir_all(&dir).ok();
        let file = dir.join(format!("{}.db", unique_name()));
        let url = format!("sqlite://{}", file.display());
        let store = Store::connect(&url).await?;
        store.migrate().await?;
        Ok(TestStore { store, url, drop_db: None, file: Some(file) })
    }

    /// `None` when no PostgreSQL server is configured for tests.
    pub async fn postgres() -> Result<Option<TestStore>> {
        let Ok(admin_url) = std::env::var("VIOLETA_TEST_POSTGRES") else { return Ok(None) };
        let name = unique_name();
        let admin = Store::connect(&admin_url).await?;
        on_pool!(admin, |p| sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(p).await?.rows_affected());
        admin.close().await;
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => format!("{admin_url}/{name}"),
        };
        let store = Store::connect(&url).await?;
        store.migrate().await?;
        Ok(Some(TestStore { store, url, drop_db: Some((admin_url, name)), file: None }))
    }

    /// Closes the store and removes its database.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.drop_db
            && let Ok(admin) = Store::connect(&admin_url).await
        {
            let _ = on_pool!(admin, |p| sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(p)
                .await
                .map(|_| ()));
            admin.close().await;
        }
        if let Some(file) = self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }

    /// The first column of a raw query's rows, as text: for tests of the schema itself.
    pub async fn raw_texts(&self, sql: &str) -> Result<Vec<String>> {
        Ok(on_pool!(self.store, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(p).await?))
    }

    /// Runs raw SQL against the test database: for tests that play an attacker with
    /// direct database access (tampering with the audit trail).
    pub async fn raw(&self, sql: &str) -> Result<u64> {
        Ok(on_pool!(self.store, |p| sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(p).await?.rows_affected()))
    }
}
