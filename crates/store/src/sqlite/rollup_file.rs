//! The rollups' own database file, `tally.rollups.db` beside `tally.db`.
//! SQLite lets one connection write a file at a time; with the rollups in a
//! file of their own, their writer (`ingest/flusher.rs`) runs beside the inserts
//! of raw events instead of taking turns with them. Read connections attach
//! it as `rollups`; table names are unqualified in queries and resolve to
//! it, since the main file no longer has tables of those names.
//!
//! `rollup_state.watermark` says what the rollups count: every raw event of
//! the main file with a rowid up to it, and none after. SQLite gives each
//! new row the largest rowid plus one, so a later event always lands after
//! the watermark, provided the newest event is never deleted (pruning keeps
//! it) and rowids are never renumbered (do not `VACUUM` `tally.db`).
//!
//! Back the two files up together: after pruning, the rollups are the only
//! record of the days whose raw events are gone. A rollups file found
//! missing, or ahead of its main file (restored from different backups),
//! is recounted from the raw events that are left, with an error in the log.
//! So is a damaged one (not a database, or failing SQLite's quick check): it
//! is derived data, moved aside as `tally.rollups.db.corrupt-<time>` and
//! rebuilt.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, Transaction};

use super::migrate;
use crate::StoreResult;

/// The rollups' file of the main database file at `main`.
pub fn path_for(main: &Path) -> PathBuf {
    main.with_extension("rollups.db")
}

/// Opens the rollups' file of the main file `writer` is connected to,
/// bringing both to the current schema; returns a connection to it.
pub(super) fn open(writer: &mut Connection, main: &Path) -> StoreResult<Connection> {
    let path = path_for(main);
    let existed = path.exists();
    let mut rollups = match connect_sound(&path) {
        Ok(c) => c,
        Err(e) if is_damage(&e) => {
            let aside = set_aside(&path)?;
            tracing::error!(
                file = %path.display(),
                moved_to = %aside.display(),
                error = %e,
                "the rollups file is damaged: moved it aside and counting the raw events into a new one \
                 (days whose raw events were pruned are lost; restore it from a backup to keep them)"
            );
            super::conn::connect(&path)?
        }
        Err(e) => return Err(e.into()),
    };
    migrate::apply(&mut rollups, migrate::ROLLUPS)?;
    if !existed && migrate::version(writer)? > 0 {
        tracing::error!(
            file = %path.display(),
            "the rollups file is missing: counting the raw events into a new one \
             (days whose raw events were pruned are lost; restore it from a backup to keep them)"
        );
    }
    migrate::apply(writer, migrate::MAIN)?;
    let newest: i64 = writer.query_row("SELECT COALESCE(MAX(rowid), 0) FROM activity_events", [], |r| r.get(0))?;
    if super::state::watermark(&rollups)? > newest {
        tracing::error!(
            file = %path.display(),
            "the rollups file counts events the main file does not have (restored from different backups?): \
             counting the raw events into it again"
        );
        let tx = rollups.transaction()?;
        clear(&tx)?;
        tx.commit()?;
    }
    rollups.execute_batch("PRAGMA journal_size_limit = 67108864; PRAGMA cache_size = -32768;")?;
    Ok(rollups)
}

/// A connection to the rollups' file at `path`, if SQLite finds it sound.
fn connect_sound(path: &Path) -> rusqlite::Result<Connection> {
    let c = super::conn::connect_raw(path)?;
    let verdict: String = c.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
    if verdict != "ok" {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(verdict),
        ));
    }
    Ok(c)
}

/// Whether `e` says the file is not a sound database.
fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// Moves the damaged file at `path` (and its log) aside; returns where.
fn set_aside(path: &Path) -> StoreResult<PathBuf> {
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S%.3fZ").to_string();
    let name = |suffix: &str| {
        let mut n = path.as_os_str().to_owned();
        n.push(suffix);
        PathBuf::from(n)
    };
    let aside = name(&format!(".corrupt-{stamp}"));
    let moved = |from: &Path, to: &Path| {
        std::fs::rename(from, to).map_err(|e| {
            crate::StoreError::Database(format!(
                "the rollups file {} is damaged and cannot be moved aside ({e}); \
                 move it away and run `tally rollups rebuild`",
                from.display()
            ))
        })
    };
    moved(path, &aside)?;
    for log in ["-wal", "-shm"] {
        let from = name(log);
        if from.exists() {
            moved(&from, &name(&format!(".corrupt-{stamp}{log}")))?;
        }
    }
    Ok(aside)
}

/// Makes the rollups' file available to `conn` as `rollups`.
pub(super) fn attach(conn: &Connection, main: &Path) -> rusqlite::Result<()> {
    let path = path_for(main);
    conn.execute("ATTACH DATABASE ?1 AS rollups", [path.to_string_lossy()])?;
    Ok(())
}

pub(super) fn set_watermark(tx: &Transaction<'_>, watermark: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE rollup_state SET watermark = ?1")?
        .execute([watermark])?;
    Ok(())
}

/// Empties every rollup table and its bookkeeping (the open day, the
/// watermark) and counts nothing; the kept local-day phases stay.
pub(super) fn clear(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    for table in crate::rollup::shape::tables() {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    tx.execute("DELETE FROM open_day_leads", [])?;
    tx.execute(
        "UPDATE rollup_state SET open_day = 0, newest_day = 0, watermark = 0, spans_open = 0",
        [],
    )?;
    Ok(())
}

/// The rows of every rollup table.
pub(super) fn rows(c: &Connection) -> rusqlite::Result<u64> {
    let mut rows = 0;
    for table in crate::rollup::shape::tables() {
        let n: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        rows += u64::try_from(n).unwrap_or(0);
    }
    Ok(rows)
}
