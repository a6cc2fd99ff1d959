//! The embedded store: SQLite in WAL mode, in two files: `tally.db` with
//! accounts, settings and raw events, and `tally.rollups.db` with the
//! rollups (`rollup_file.rs`), written by their own thread (`ingest/`) and
//! read by analytics queries (`read/`).
//! Writes to the main file go through one connection (SQLite has one writer
//! per file anyway); reads use a small pool of connections that see both
//! files. Every call runs on tokio's blocking pool so the async runtime
//! never waits on disk.

mod accounts;
mod activity;
mod analytics;
mod budgets;
mod checkpoint;
mod conn;
mod convert;
mod histogram;
mod ingest;
mod invitations;
mod migrate;
mod read;
mod rollup_file;
mod saturate;
mod settings;
mod state;
mod sums;
pub(crate) mod webhooks;

pub use rollup_file::path_for as rollups_path;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use conn::{conflict_as, connect};

use crate::{StoreError, StoreResult};

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "tally.db";

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    checkpointer: checkpoint::Checkpointer,
    /// Bumped after every revocation (`AccountStore::key_revision`).
    key_revision: std::sync::atomic::AtomicU64,
    /// Counts raw events into the rollups (declared last: dropped after
    /// the writer, it catches up with every committed event at close).
    rollups: ingest::flusher::Flusher,
}

impl SqliteStore {
    /// Opens (creating if needed) `tally.db` in `data_dir` and applies pending migrations.
    pub fn open(data_dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Database(format!("cannot create {}: {e}", data_dir.display())))?;
        Self::open_file(&data_dir.join(DB_FILE))
    }

    /// Opens (creating if needed) the main file at `path` and its rollups'
    /// file. A main file of schema version 1 to 6 is refused
    /// ([`StoreError::Outdated`]) and left as it was.
    pub fn open_file(path: &Path) -> StoreResult<Self> {
        let mut writer = connect(path)?;
        migrate::refuse_outdated(&writer, path)?;
        // Checkpoints happen mostly on their own thread (see `checkpoint`);
        // after one the log file is cut back to 64 MiB.
        // Page caches: 16 MiB per reader (`connect`), 8 MiB for the writer,
        // which only appends raw events; the rollup writer's connection has
        // 32 MiB (`rollup_file.rs`): its upserts revisit the same pages.
        writer.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = {}; PRAGMA journal_size_limit = 67108864; PRAGMA cache_size = -8192;",
            checkpoint::WRITER_CHECKPOINT_PAGES
        ))?;
        let rollups = rollup_file::open(&mut writer, path)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                checkpointer: checkpoint::Checkpointer::start(path)?,
                key_revision: std::sync::atomic::AtomicU64::new(0),
                rollups: ingest::flusher::Flusher::start(rollups, path)?,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// After a revocation: caches of active keys are stale.
    fn keys_revoked(&self) {
        self.inner
            .key_revision
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Runs `f` on the writer connection, off the async runtime.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .writer
                .lock()
                .map_err(|_| StoreError::Database("writer lock poisoned".into()))?;
            let result = f(&mut conn);
            drop(conn);
            inner.checkpointer.nudge();
            result
        })
        .await
        .map_err(|e| StoreError::Database(format!("store task failed: {e}")))?
    }

    /// Runs `f` with the rollup writer, off the async runtime.
    async fn on_rollups<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&ingest::flusher::Flusher) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner.rollups))
            .await
            .map_err(|e| StoreError::Database(format!("store task failed: {e}")))?
    }

    /// Runs `f` on a pooled read connection, off the async runtime.
    pub(crate) async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().ok().and_then(|mut pool| pool.pop());
            let conn = match pooled {
                Some(conn) => conn,
                None => {
                    let conn = connect(&inner.path)?;
                    rollup_file::attach(&conn, &inner.path)?;
                    conn
                }
            };
            let result = f(&conn);
            if let Ok(mut pool) = inner.readers.lock()
                && pool.len() < 8
            {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Database(format!("store task failed: {e}")))?
    }
}
