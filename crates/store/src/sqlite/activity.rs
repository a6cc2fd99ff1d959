//! [`ActivityStore`] on SQLite: batches of raw events in one transaction.

use async_trait::async_trait;
use std::sync::LazyLock;

use rusqlite::types::{Type, ValueRef};
use rusqlite::{Connection, Row, Transaction, params};
use tally_core::{ActivityEvent, OrgId};

use super::SqliteStore;
use super::convert::ms;
use super::sums::Sums;
use crate::rollup::event::{self, EVENT, Value};
use crate::{ActivityStore, StoreResult, UsageQuery};

/// The columns of [`EVENT`], as a select or insert list.
static EVENT_COLS: LazyLock<String> = LazyLock::new(event::column_list);

/// A stored value read in place.
fn value<'r>(r: &'r Row<'_>, at: usize) -> rusqlite::Result<Value<'r>> {
    Ok(match r.get_ref(at)? {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Text(t) => Value::Text(std::str::from_utf8(t).map_err(rusqlite::Error::Utf8Error)?),
        ValueRef::Blob(b) => Value::Uuid(
            uuid::Uuid::from_slice(b)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(at, Type::Blob, Box::new(e)))?,
        ),
        ValueRef::Real(_) => return Err(rusqlite::Error::InvalidColumnType(at, "value".into(), Type::Real)),
    })
}

/// An event selected as [`EVENT_COLS`] lists its columns.
fn event_row(r: &Row<'_>) -> rusqlite::Result<ActivityEvent> {
    let values = (0..EVENT.len())
        .map(|i| value(r, i))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    event::read(values).map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, Type::Null, e.into()))
}

/// Inserts a batch of raw events; returns the first and last rowid given.
fn insert(tx: &Transaction<'_>, events: &[ActivityEvent]) -> rusqlite::Result<(i64, i64)> {
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
fn touch_keys(tx: &Transaction<'_>, events: &[ActivityEvent]) -> rusqlite::Result<()> {
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
        *super::sums::COLUMNS
    ))?;
    let mut rows = stmt.query(params![after, upto, i64::try_from(limit).unwrap_or(i64::MAX)])?;
    let (mut n, mut last) = (0, after);
    while let Some(r) = rows.next()? {
        last = r.get(super::sums::COLUMN_COUNT)?;
        if let Err(e) = sums.add_row(r) {
            sums.skipped += 1;
            tracing::warn!(rowid = last, error = %e, "a raw event cannot be counted into the rollups; skipped");
        }
        n += 1;
    }
    Ok((n, last))
}

/// Adds the raw events after rowid `after` within the scope and range of
/// `q` (the tail the rollups do not count yet) to `sums`.
pub(super) fn add_tail(c: &Connection, after: i64, q: &UsageQuery, sums: &mut Sums) -> rusqlite::Result<()> {
    // Unary `+` keeps SQLite from scanning an index on the other terms
    // (all of an organization's history): the tail is a short rowid range.
    let terms = super::shapes::scope_terms(&q.scope);
    let scope = terms
        .iter()
        .enumerate()
        .map(|(i, (column, _))| format!("+{column} = ?{}", 4 + i))
        .collect::<Vec<_>>()
        .join(" AND ");
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {} FROM activity_events
         WHERE rowid > ?1 AND +started_at >= ?2 AND +started_at < ?3 AND {scope}",
        *super::sums::COLUMNS
    ))?;
    let bucket_ms = |b: i64| b.saturating_mul(tally_core::time::BUCKET_MS);
    stmt.raw_bind_parameter(1, after)?;
    stmt.raw_bind_parameter(2, bucket_ms(q.from_bucket))?;
    stmt.raw_bind_parameter(3, bucket_ms(q.to_bucket))?;
    for (i, (_, id)) in terms.iter().enumerate() {
        stmt.raw_bind_parameter(4 + i, id)?;
    }
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next()? {
        // As the rollup writer does: an event it cannot read is skipped
        // (and reported by the writer), so answers agree before and after.
        if sums.add_row(r).is_err() {
            sums.skipped += 1;
        }
    }
    Ok(())
}

#[async_trait]
impl ActivityStore for SqliteStore {
    async fn record(&self, events: Vec<ActivityEvent>) -> StoreResult<()> {
        let inner = self.inner.clone();
        let (_, newest) = self
            .write(move |c| {
                let tx = c.transaction()?;
                let rowids = insert(&tx, &events)?;
                touch_keys(&tx, &events)?;
                tx.commit()?;
                // In commit order: the writer lock is still held.
                inner.rollups.hold(&events, rowids);
                Ok(rowids)
            })
            .await?;
        // Counted into the rollups by their own writer, beside the next
        // inserts; far behind, it makes the caller wait.
        let rollups = &self.inner.rollups;
        rollups.nudge();
        if rollups.behind(newest) {
            self.on_rollups(move |rollups| {
                rollups.keep_up(newest);
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    async fn flush(&self) -> StoreResult<()> {
        self.on_rollups(|rollups| {
            rollups.catch_up()?;
            Ok(())
        })
        .await
    }

    async fn recent_events(&self, org: OrgId, limit: u32) -> StoreResult<Vec<ActivityEvent>> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {} FROM activity_events WHERE org_id = ?1 ORDER BY started_at DESC, id DESC LIMIT ?2",
                *EVENT_COLS
            ))?;
            let rows = stmt.query_map(params![org.as_uuid(), limit], event_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn prune_events(&self, before: jiff::Timestamp) -> StoreResult<u64> {
        let inner = self.inner.clone();
        self.write(move |c| {
            // Only events the rollups count (they keep those days), and never
            // the newest event: SQLite would give its rowid to the next one,
            // below the rollups' watermark.
            let counted = inner.rollups.catch_up()?;
            let n = c.execute(
                "DELETE FROM activity_events WHERE started_at < ?1 AND rowid <= ?2
                 AND rowid < (SELECT MAX(rowid) FROM activity_events)",
                params![ms(before), counted],
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn event_count(&self, org: OrgId) -> StoreResult<u64> {
        self.read(move |c| {
            let n: i64 = c.query_row(
                "SELECT COUNT(*) FROM activity_events WHERE org_id = ?1",
                [org.as_uuid()],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }
}
