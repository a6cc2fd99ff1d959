//! The PostgreSQL store, for several tally processes sharing one database.
//! Same traits, same answers as [`crate::sqlite::SqliteStore`]; what differs
//! is how concurrent writers are kept apart:
//!
//! - a batch of events and its rollup upserts commit in one transaction;
//!   rollups are added to with `INSERT … ON CONFLICT … DO UPDATE SET x =
//!   usage_rollups.x + excluded.x` (atomic in PostgreSQL, so no lost update),
//!   keys sorted so that concurrent batches lock rows in the same order;
//! - event ids are the primary key and a batch skips ids already stored, so
//!   a batch retried after an ambiguous commit is not counted twice;
//! - membership changes lock the organization's row first, so two
//!   concurrent demotions cannot both pass the last-owner check;
//! - transactions that hit a deadlock or serialization failure are retried.
//!
//! Migrations (`postgres/migrations/`) are applied at connect time under an
//! advisory lock, so replicas starting together do not race.

mod accounts;
mod activity;
mod budgets;
mod convert;
mod invitations;
mod migrate;
mod rollups;
mod settings;
mod webhooks;

use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use crate::{StoreError, StoreResult};

pub use migrate::MIGRATIONS;
pub(crate) use rollups::hist_json;

/// Connections kept open at most, unless configured.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How often a transaction that lost a deadlock or serialization race is retried.
const MAX_RETRIES: u32 = 10;

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Bumped after every revocation through this store (`AccountStore::key_revision`).
    key_revision: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool.status()).finish()
    }
}

impl PgStore {
    /// After a revocation: caches of active keys are stale.
    fn keys_revoked(&self) {
        self.key_revision.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Connects to `url` (`postgres://user:password@host:port/database`, or
    /// `postgres:///database?host=/run/postgresql` for a Unix socket), applies
    /// pending migrations and keeps up to `pool_size` connections.
    pub async fn connect(url: &str, pool_size: usize) -> StoreResult<Self> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("invalid PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("tally");
        }
        migrate::apply(&config).await?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig::default());
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError::Database(format!("cannot build the connection pool: {e}")))?;
        let store = Self {
            pool,
            key_revision: Default::default(),
        };
        // Fail at start, not on the first request, when the database is unreachable.
        drop(store.client().await.map_err(StoreError::from)?);
        Ok(store)
    }

    /// The largest number of connections this store opens.
    pub fn pool_size(&self) -> usize {
        self.pool.status().max_size
    }

    pub(crate) async fn client(&self) -> R<Object> {
        self.pool
            .get()
            .await
            .map_err(|e| PgError::Store(StoreError::Database(format!("no database connection: {e}"))))
    }

    /// Runs `attempt` again while it fails with a deadlock or a
    /// serialization failure (each attempt is a whole transaction).
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> StoreResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = R<T>>,
    {
        let mut tries = 0;
        loop {
            match attempt().await {
                Err(e) if e.retryable() && tries < MAX_RETRIES => {
                    tries += 1;
                    tracing::debug!(error = %StoreError::from(e), tries, "transaction lost a race; retrying");
                }
                other => return other.map_err(StoreError::from),
            }
        }
    }
}

/// A description of `url` without its password, for banners and logs.
pub fn describe_url(url: &str) -> String {
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return "PostgreSQL (unparseable URL)".to_owned();
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            tokio_postgres::config::Host::Tcp(h) => format!("{h}:{port}"),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => format!("{}/.s.PGSQL.{port}", p.display()),
        })
        .collect();
    format!(
        "PostgreSQL database {} at {} as {}",
        config.get_dbname().unwrap_or("(default)"),
        if hosts.is_empty() {
            "(default host)".to_owned()
        } else {
            hosts.join(", ")
        },
        config.get_user().unwrap_or("(default user)")
    )
}

/// A failure inside this module: kept as the driver's error until it leaves,
/// so that retryable ones can be recognised.
pub(crate) enum PgError {
    Db(tokio_postgres::Error),
    Store(StoreError),
}

pub(crate) type R<T> = Result<T, PgError>;

impl PgError {
    fn retryable(&self) -> bool {
        matches!(self, PgError::Db(e) if e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
            || e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED))
    }
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Db(e)
    }
}

impl From<StoreError> for PgError {
    fn from(e: StoreError) -> Self {
        PgError::Store(e)
    }
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::Store(e) => e,
            PgError::Db(e) => match e.as_db_error() {
                Some(db) => StoreError::Database(format!("{} ({})", db.message(), db.code().code())),
                None => StoreError::Database(e.to_string()),
            },
        }
    }
}

/// Maps a unique-constraint failure to [`StoreError::Conflict`] naming `what`.
fn conflict_as(what: &'static str) -> impl Fn(tokio_postgres::Error) -> PgError {
    move |e| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            PgError::Store(StoreError::Conflict(what))
        } else {
            PgError::Db(e)
        }
    }
}

/// Fails with `NotFound` when an UPDATE/DELETE touched no row.
fn touched(n: u64) -> R<()> {
    if n == 0 {
        Err(PgError::Store(StoreError::NotFound))
    } else {
        Ok(())
    }
}

/// `NotFound` for a missing row.
fn found<T>(row: Option<T>) -> R<T> {
    row.ok_or(PgError::Store(StoreError::NotFound))
}
