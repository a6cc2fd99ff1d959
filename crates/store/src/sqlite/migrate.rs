//! Versioned migrations, applied in order at start, each in its own transaction.

use jiff::Timestamp;
use rusqlite::Connection;

use crate::{StoreError, StoreResult};

// Every migration of the main file (`MAIN`) and of the rollups' own file
// (`ROLLUPS`), in order, listed from `migrations/` and `rollup_migrations/`
// by the build script. Never edit one that has shipped: add a new one.
include!(concat!(env!("OUT_DIR"), "/sqlite_migrations.rs"));

/// The main file's migration that drops the rollup tables, once they are
/// copied into their own file (`rollup_file.rs`).
pub(super) const ROLLUPS_MOVED: i64 = 7;

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

/// Applies the migrations of `list` newer than the database and no newer than `through`.
pub(super) fn apply(conn: &mut Connection, list: &[(i64, &str)], through: i64) -> StoreResult<()> {
    let current = version(conn)?;
    let newest = list.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(StoreError::Database(format!(
            "the database is at schema version {current}, newer than this tally ({newest}); upgrade tally"
        )));
    }
    for (version, sql) in list.iter().filter(|(v, _)| *v > current && *v <= through) {
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
