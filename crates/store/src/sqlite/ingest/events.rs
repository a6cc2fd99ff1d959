//! Raw events into the main file, and read back in rowid order to be
//! counted into the rollups.

use std::sync::LazyLock;

use rusqlite::{Connection, Transaction, params};
use tally_core::ActivityEvent;

use crate::rollup::event::{self, EVENT, Value};
use crate::sqlite::convert::ms;
use crate::sqlite::sums::{COLUMN_COUNT, COLUMNS, Sums};

/// The columns of [`EVENT`], as a select or insert list.
pub(in crate::sqlite) static EVENT_COLS: LazyLock<String> = LazyLock::new(event::column_list);

/// Inserts a batch of raw events; returns the first and last rowid given.
pub(in crate::sqlite) fn insert(tx: &Transaction<'_>, events: &[ActivityEvent]) -> rusqlite::Result<(i64, i64)> {
    let placeholders: Vec<String> = (1..=EVENT.len()).map(|i| format!("?{i}")).collect();
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO activity_events ({}) VALUES ({})",
        *EVENT_COLS,
        placeholders.join(", ")
    ))?;
    let mut first = None;
    for e in events {
        for (i, column) in EVENT.iter().enumerate() {
            match (column.get)(e) {
                Value::Null => stmt.raw_bind_parameter(i + 1, rusqlite::types::Null)?,
                Value::Uuid(u) => stmt.raw_bind_parameter(i + 1, u)?,
                Value::Text(t) => stmt.raw_bind_parameter(i + 1, t)?,
                Value::Int(n) => stmt.raw_bind_parameter(i + 1, n)?,
                Value::Bool(b) => stmt.raw_bind_parameter(i + 1, b)?,
            }
        }
        stmt.raw_execute()?;
        first.get_or_insert_with(|| tx.last_insert_rowid());
    }
    let last = tx.last_insert_rowid();
    Ok((first.unwrap_or(last), last))
}

/// Moves each key's last use forward to its newest event of the batch.
pub(in crate::sqlite) fn touch_keys(tx: &Transaction<'_>, events: &[ActivityEvent]) -> rusqlite::Result<()> {
    let mut last_used: rustc_hash::FxHashMap<uuid::Uuid, i64> = rustc_hash::FxHashMap::default();
    for e in events {
        let t = last_used.entry(*e.api_key_id.as_uuid()).or_insert(i64::MIN);
        *t = (*t).max(ms(e.started_at));
    }
    let mut touch =
        tx.prepare_cached("UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?2) WHERE id = ?1")?;
    for (key, at) in last_used {
        touch.execute(params![key, at])?;
    }
    Ok(())
}

/// Adds the first `limit` raw events with rowids after `after` and up to
/// `upto` (in rowid order) to `sums`; returns how many and the last one's rowid.
pub(super) fn add_after(
    c: &Connection,
    after: i64,
    upto: i64,
    limit: usize,
    sums: &mut Sums,
) -> rusqlite::Result<(usize, i64)> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {}, rowid FROM activity_events WHERE rowid > ?1 AND rowid <= ?2 ORDER BY rowid LIMIT ?3",
        *COLUMNS
    ))?;
    let mut rows = stmt.query(params![after, upto, i64::try_from(limit).unwrap_or(i64::MAX)])?;
    let (mut n, mut last) = (0, after);
    while let Some(r) = rows.next()? {
        last = r.get(COLUMN_COUNT)?;
        if let Err(e) = sums.add_row(r) {
            sums.skipped += 1;
            tracing::warn!(rowid = last, error = %e, "a raw event cannot be counted into the rollups; skipped");
        }
        n += 1;
    }
    Ok((n, last))
}
