//! Versioned migrations, applied in order at start, each in its own transaction.

use jiff::Timestamp;
use rusqlite::Connection;

use crate::{StoreError, StoreResult};

/// Every migration of the main file, in order. Never edit one that has
/// shipped: add a new one.
pub(super) const MAIN: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_initial.sql")),
    (2, include_str!("migrations/0002_model_settings.sql")),
    (3, include_str!("migrations/0003_rollups.sql")),
    (4, include_str!("migrations/0004_rollup_shapes.sql")),
    (5, include_str!("migrations/0005_local_days.sql")),
    (6, include_str!("migrations/0006_deferred_rollups.sql")),
    (
        ROLLUPS_MOVED,
        include_str!("migrations/0007_rollups_in_their_own_file.sql"),
    ),
    (8, include_str!("migrations/0008_usage_invalid.sql")),
    (9, include_str!("migrations/0009_invitations.sql")),
];

/// The main file's migration that drops the rollup tables, once they are
/// copied into their own file (`rollup_file.rs`).
pub(super) const ROLLUPS_MOVED: i64 = 7;

/// Every migration of the rollups' own file, in order.
pub(super) const ROLLUPS: &[(i64, &str)] = &[
    (1, include_str!("rollup_migrations/0001_rollups.sql")),
    (2, include_str!("rollup_migrations/0002_open_day.sql")),
    (3, include_str!("rollup_migrations/0003_usage_invalid.sql")),
];

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
