//! Versioned migrations, applied in order at start, each in its own transaction.

use std::path::Path;

use jiff::Timestamp;
use rusqlite::Connection;

use crate::{StoreError, StoreResult};

// Every migration of the main file (`MAIN`) and of the rollups' own file
// (`ROLLUPS`), in order, listed from `migrations/` and `rollup_migrations/`
// by the build script. Never edit one that has shipped: add a new one.
include!(concat!(env!("OUT_DIR"), "/sqlite_migrations.rs"));

/// The oldest schema version of an existing main file this build brings
/// up to date. Versions 1 to 6 kept the rollups in the main file (and
/// version 6 some of their sums in memory only); moving them out is left
/// to the last tally that did it (see [`refuse_outdated`]).
pub(super) const OLDEST_UPGRADED: i64 = 7;

/// The commit of the last tally that upgrades a main file older than
/// [`OLDEST_UPGRADED`].
pub(super) const LAST_TO_UPGRADE_OLDER: &str = "28f8d39";

/// The newest migration applied to the database of `conn` (0 for none).
pub(super) fn version(conn: &Connection) -> StoreResult<i64> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            applied_at INTEGER NOT NULL
        ) STRICT;",
    )?;
    Ok(
        conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| {
            r.get(0)
        })?,
    )
}

/// Refuses, before anything is written, a main file stopped at a schema
/// version from 1 to [`OLDEST_UPGRADED`] - 1. A fresh file (version 0)
/// takes every migration.
pub(super) fn refuse_outdated(conn: &Connection, path: &Path) -> StoreResult<()> {
    let version = version(conn)?;
    if (1..OLDEST_UPGRADED).contains(&version) {
        return Err(StoreError::Outdated {
            path: path.display().to_string(),
            version,
            oldest: OLDEST_UPGRADED,
            upgrade_with: LAST_TO_UPGRADE_OLDER,
        });
    }
    Ok(())
}

/// Applies the migrations of `list` newer than the database.
pub(super) fn apply(conn: &mut Connection, list: &[(i64, &str)]) -> StoreResult<()> {
    let current = version(conn)?;
    let newest = list.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(StoreError::Database(format!(
            "the database is at schema version {current}, newer than this tally ({newest}); upgrade tally"
        )));
    }
    for (version, sql) in list.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Database(format!("migration {version} failed: {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            (version, Timestamp::now().as_millisecond()),
        )?;
        tx.commit()?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
