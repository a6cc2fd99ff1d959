//! [`ActivityStore`] on SQLite: batches of raw events (and the bodies
//! captured for some of them) in one transaction.

use async_trait::async_trait;
use rusqlite::types::{Type, ValueRef};
use rusqlite::{Row, Transaction, params};
use tally_core::{ActivityEvent, EventId, OrgId};

use super::SqliteStore;
use super::convert::ms;
use super::ingest::events::{self as raw, EVENT_COLS};
use crate::log::{self, LogPage, LogQuery, Param};
use crate::rollup::event::{self, EVENT, Value};
use crate::rows::{bodies_row, insert_bodies_sql, prune_bodies_sql, select_bodies_sql};
use crate::{ActivityStore, LogStore, RequestBodies, StoreError, StoreResult};

/// SQLite's n-th placeholder.
fn placeholder(n: usize) -> String {
    format!("?{n}")
}

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

/// A log parameter as SQLite stores it.
fn sql_value(p: Param) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match p {
        Param::Uuid(u) => V::Blob(u.as_bytes().to_vec()),
        Param::Text(t) => V::Text(t),
        Param::Int(n, _) => V::Integer(n),
        Param::Bool(b) => V::Integer(i64::from(b)),
    }
}

/// Inserts captured bodies; one already stored is left as it was.
fn insert_bodies(tx: &Transaction<'_>, bodies: &[RequestBodies]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(&insert_bodies_sql(&placeholder))?;
    for b in bodies {
        stmt.execute(params![
            b.event_id.as_uuid(),
            b.project_id.as_uuid(),
            ms(b.started_at),
            b.request,
            b.response,
            b.request_truncated,
            b.response_truncated
        ])?;
    }
    Ok(())
}

#[async_trait]
impl ActivityStore for SqliteStore {
    async fn record_with_bodies(&self, events: Vec<ActivityEvent>, bodies: Vec<RequestBodies>) -> StoreResult<()> {
        let inner = self.inner.clone();
        let (_, newest) = self
            .write(move |c| {
                let tx = c.transaction()?;
                let rowids = raw::insert(&tx, &events)?;
                raw::touch_keys(&tx, &events)?;
                insert_bodies(&tx, &bodies)?;
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
            c.execute("DELETE FROM request_bodies WHERE started_at < ?1", [ms(before)])?;
            Ok(n as u64)
        })
        .await
    }

    async fn prune_bodies(&self, now: jiff::Timestamp) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let n = self
                .write(move |c| Ok(c.execute(&prune_bodies_sql(&placeholder), [ms(now)])?))
                .await?;
            total += n as u64;
            if n == 0 {
                return Ok(total);
            }
        }
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

#[async_trait]
impl LogStore for SqliteStore {
    async fn log(&self, query: LogQuery) -> StoreResult<LogPage> {
        self.read(move |c| {
            let sql = log::select(&query, &EVENT_COLS, &|n| format!("?{n}"));
            let mut stmt = c.prepare_cached(&sql.text)?;
            let params: Vec<_> = sql.params.into_iter().map(sql_value).collect();
            let rows = stmt.query_map(rusqlite::params_from_iter(params), event_row)?;
            let events = rows.collect::<Result<Vec<_>, _>>()?;
            Ok(LogPage::from_rows(&query, events))
        })
        .await
    }

    async fn event(&self, id: EventId) -> StoreResult<ActivityEvent> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!("SELECT {} FROM activity_events WHERE id = ?1", *EVENT_COLS))?;
            let mut rows = stmt.query_map([id.as_uuid()], event_row)?;
            Ok(rows.next().transpose()?)
        })
        .await?
        .ok_or(StoreError::NotFound)
    }

    async fn bodies(&self, id: EventId) -> StoreResult<Option<RequestBodies>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&select_bodies_sql(&placeholder))?;
            let mut rows = stmt.query_map([id.as_uuid()], |r| bodies_row(r))?;
            Ok(rows.next().transpose()?)
        })
        .await
    }
}
