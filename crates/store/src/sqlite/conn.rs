//! Connections to the store's files, and SQLite's errors as the store's.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::{StoreError, StoreResult};

pub(super) fn connect(path: &Path) -> StoreResult<Connection> {
    Ok(connect_raw(path)?)
}

/// [`connect`] with SQLite's own error, to tell a damaged file apart.
pub(super) fn connect_raw(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -16384;
         PRAGMA temp_store = MEMORY;",
    )?;
    super::saturate::register(&conn)?;
    super::histogram::register(&conn)?;
    Ok(conn)
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            rusqlite::Error::FromSqlConversionFailure(_, _, inner) => StoreError::Corrupt(inner.to_string()),
            other => StoreError::Database(other.to_string()),
        }
    }
}

/// Maps a unique-constraint failure to [`StoreError::Conflict`] naming `what`.
pub(super) fn conflict_as(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {
            StoreError::Conflict(what)
        }
        rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            StoreError::Conflict(what)
        }
        _ => StoreError::from(e),
    }
}
