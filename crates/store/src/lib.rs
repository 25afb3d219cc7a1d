//! Violeta's store: one codebase on SQLite (the embedded default) and PostgreSQL (the
//! production store, shared by any number of server processes).
//!
//! Every query is written once, in the SQL both engines speak (`$1` placeholders,
//! `RETURNING`, `ON CONFLICT`), and compiled for each backend by [`on_pool!`] and
//! [`on_tx!`]. Timestamps and dates use native types on PostgreSQL and ISO text on SQLite.
//! Writes that matter run in a transaction that also appends to the audit trail, so a
//! change and its audit entry are committed together or not at all.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

pub mod accounts;
// Alerta Rosa: cases
pub mod alerts;
pub mod audit;
pub mod certification;
pub mod checkin;
pub mod credentials;
pub mod institutions;
pub mod jobs;
pub mod learning;
pub mod people;
pub mod safety;
pub mod seed;
pub mod territory;
pub mod testing;
pub mod training;
// Alerta Rosa dissemination (branch alerta-difusion)
pub mod dissemination;

pub use violeta_domain as domain;

/// Runs `$body` with `$pool` bound to the backend's pool.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool, _) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection (use `&mut *$conn`).
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(t, _) => {
                let $conn: &mut sqlx::SqliteConnection = &mut *t;
                $body
            }
            $crate::Tx::Postgres(t) => {
                let $conn: &mut sqlx::PgConnection = &mut *t;
                $body
            }
        }
    };
}
pub(crate) use {on_pool, on_tx};

#[derive(Clone)]
pub(crate) enum Pool {
    /// SQLite admits one writer at a time. Writers in this process queue on the mutex in
    /// turn, instead of all retrying on SQLite's busy handler, which sleeps between
    /// attempts and makes tail latency jump under load. Other processes are still kept
    /// apart by `BEGIN IMMEDIATE` and the busy timeout.
    Sqlite(SqlitePool, std::sync::Arc<tokio::sync::Mutex<()>>),
    Postgres(PgPool),
}

/// A write transaction on either backend.
pub(crate) enum Tx {
    /// With the process's SQLite write turn, held until the transaction ends.
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>, tokio::sync::OwnedMutexGuard<()>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(..) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t, _turn) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Errors from the store. `Conflict`, `NotFound` and `Invalid` carry messages for users
/// (Spanish); `Database` is an internal failure whose details are logged, not shown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("error de base de datos: {0}")]
    Database(sqlx::Error),
    #[error("error al migrar la base de datos: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            // A reference to a row that is not there (a municipality outside the catalogue,
            // say) is bad input, not a failure of ours. Checks before writing name the exact
            // field; this is the net under them, so the user never sees the engine's words.
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                tracing::info!(error = %d, "write refused: missing reference");
                StoreError::Invalid("uno de los datos se refiere a un registro que no existe (por ejemplo, un municipio que no está en el catálogo o una institución que ya no existe); revise los datos".into())
            }
            e => StoreError::Database(e),
        }
    }
}

impl StoreError {
    /// Whether the error is a unique-constraint violation (used to turn races into
    /// clear conflicts).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The store. Cheap to clone: it holds a connection pool.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    /// The QR check-in writer and the sessions' titles and secrets ([`checkin`]).
    pub(crate) checkins: std::sync::Arc<checkin::CheckIns>,
}

impl Store {
    /// Opens the store named by a URL: `postgres://…` or `sqlite://PATH` (a plain path is
    /// taken as a SQLite file). Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Store { pool: Pool::Postgres(pool), checkins: Default::default() })
        } else {
            let path = sqlite_path(url).unwrap_or(url);
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                // Bulk writes (imports) touch more pages than SQLite's default 2 MiB cache
                // holds, and it spills them to the WAL mid-transaction; a multi-row statement
                // also keeps a statement journal, which belongs in memory, not a temp file.
                .pragma("cache_size", "-32768")
                .pragma("temp_store", "memory")
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
            Ok(Store { pool: Pool::Sqlite(pool, Default::default()), checkins: Default::default() })
        }
    }

    /// Opens the store and brings it up to date: the usual way in. On SQLite, several
    /// processes opening the same new file at once (two `violeta serve`, or `serve` and
    /// `migrate`) take turns through a lock file beside it, so only one creates the schema.
    pub async fn open(url: &str) -> Result<Store> {
        let lock = match sqlite_path(url) {
            Some(path) => {
                let lock_path = format!("{path}.lock");
                let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(|e| {
                    StoreError::Invalid(format!("no se pudo crear el archivo de bloqueo {lock_path}: {e}"))
                })?;
                let file = tokio::task::spawn_blocking(move || file.lock().map(|_| file))
                    .await
                    .map_err(|e| StoreError::Invalid(e.to_string()))?
                    .map_err(|e| StoreError::Invalid(format!("no se pudo bloquear {lock_path}: {e}")))?;
                Some(file)
            }
            None => None,
        };
        let store = Store::connect(url).await?;
        let migrated = store.migrate().await;
        drop(lock);
        migrated.map(|_| store)
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(..) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations of this backend, then loads reference data
    /// (INEGI territory, the CONOCER standards catalogue) if it is not there yet.
    pub async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p, _) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
            Pool::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
        }
        seed::load_territory(self).await?;
        certification::seed_standards(self).await
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a transaction that reads before it writes never fails
    /// half-way because another process wrote in between.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        Ok(match &self.pool {
            Pool::Sqlite(p, writer) => {
                let turn = writer.clone().lock_owned().await;
                Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        on_pool!(self, |p| sqlx::query("SELECT 1").execute(p).await.is_ok())
    }

    /// Writes a consistent copy of a SQLite database to `path` while it is in use.
    /// PostgreSQL is backed up with its own tools (`pg_dump`).
    pub async fn backup(&self, path: &str) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p, _) => {
                if std::path::Path::new(path).exists() {
                    return Err(StoreError::Conflict(format!("el archivo {path} ya existe; elija otro nombre")));
                }
                sqlx::query("VACUUM INTO $1").bind(path).execute(p).await?;
                Ok(())
            }
            Pool::Postgres(_) => Err(StoreError::Invalid(
                "con PostgreSQL, respalde con pg_dump (por ejemplo: pg_dump -Fc -f respaldo.dump violeta)".into(),
            )),
        }
    }

    pub async fn close(&self) {
        on_pool!(self, |p| p.close().await)
    }
}

/// The file of a SQLite URL (`sqlite://PATH`, `sqlite:PATH` or a plain path); `None` for PostgreSQL.
fn sqlite_path(url: &str) -> Option<&str> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    Some(url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url))
}

/// Now, truncated to microseconds: the precision both backends keep, so a timestamp
/// read back equals the one written (the audit chain hashes them).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
