//! [`ActivityStore`] on PostgreSQL: a batch of raw events, its rollups,
//! its keys' last use and the bodies captured for some of its events in
//! one transaction.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use async_trait::async_trait;
use jiff::Timestamp;
use tally_core::{ActivityEvent, EventId, OrgId};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::convert::{RowExt, count, ms};
use super::{PgError, PgStore, R};
use crate::columns::Columns;
use crate::log::{self, LogPage, LogQuery, Param};
use crate::rollup::event::{self, EVENT, Kind, Value};
use crate::rows::{bodies_row, insert_bodies_sql, prune_bodies_sql, select_bodies_sql};
use crate::{ActivityStore, LogStore, RequestBodies, StoreError, StoreResult};

/// PostgreSQL's n-th placeholder.
fn placeholder(n: usize) -> String {
    format!("${n}")
}

/// The columns of [`EVENT`], as a select or insert list.
static EVENT_COLS: LazyLock<String> = LazyLock::new(event::column_list);

/// Inserts the batch from parallel arrays (one per column of [`EVENT`]) in
/// one statement; ids already stored are skipped and the inserted ids returned.
static INSERT_EVENTS: LazyLock<String> = LazyLock::new(|| {
    let arrays: Vec<String> = EVENT
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}[]", i + 1, c.kind.postgres()))
        .collect();
    format!(
        "INSERT INTO activity_events ({}) SELECT * FROM unnest({}) ON CONFLICT (id) DO NOTHING RETURNING id",
        *EVENT_COLS,
        arrays.join(", ")
    )
});

/// A stored value read in place.
fn value(r: &Row, at: usize, kind: Kind) -> R<Value<'_>> {
    let v = match kind {
        Kind::Uuid => r.col::<Option<Uuid>>(at)?.map(Value::Uuid),
        Kind::Text => r.col::<Option<&str>>(at)?.map(Value::Text),
        Kind::Int8 => r.col::<Option<i64>>(at)?.map(Value::Int),
        Kind::Int4 => r.col::<Option<i32>>(at)?.map(|n| Value::Int(i64::from(n))),
        Kind::Bool => r.col::<Option<bool>>(at)?.map(Value::Bool),
        Kind::Bytes => None,
    };
    Ok(v.unwrap_or(Value::Null))
}

/// A log parameter typed as PostgreSQL stores its column.
fn pg_value(p: Param) -> Box<dyn ToSql + Sync + Send> {
    match p {
        Param::Uuid(u) => Box::new(u),
        Param::Text(t) => Box::new(t),
        Param::Int(n, Kind::Int4) => Box::new(i32::try_from(n).unwrap_or(i32::MAX)),
        Param::Int(n, _) => Box::new(n),
        Param::Bool(b) => Box::new(b),
    }
}

/// An event selected as [`EVENT_COLS`] lists its columns.
fn event_row(r: &Row) -> R<ActivityEvent> {
    let values = EVENT
        .iter()
        .enumerate()
        .map(|(i, c)| value(r, i, c.kind))
        .collect::<R<Vec<_>>>()?;
    event::read(values).map_err(|e| PgError::Store(crate::StoreError::Corrupt(format!("activity event: {e}"))))
}

/// One column of a batch, in its PostgreSQL type.
enum Array<'a> {
    Uuid(Vec<Option<Uuid>>),
    Text(Vec<Option<&'a str>>),
    Int8(Vec<Option<i64>>),
    Int4(Vec<Option<i32>>),
    Bool(Vec<Option<bool>>),
}

impl<'a> Array<'a> {
    /// The column `at` of [`EVENT`] over a batch.
    fn of(events: &'a [ActivityEvent], at: usize) -> Self {
        let Some(column) = EVENT.get(at) else {
            return Array::Bool(Vec::new());
        };
        let values = events.iter().map(|e| (column.get)(e));
        match column.kind {
            Kind::Uuid => Array::Uuid(
                values
                    .map(|v| if let Value::Uuid(u) = v { Some(u) } else { None })
                    .collect(),
            ),
            Kind::Text => Array::Text(
                values
                    .map(|v| if let Value::Text(t) = v { Some(t) } else { None })
                    .collect(),
            ),
            Kind::Int8 => Array::Int8(
                values
                    .map(|v| if let Value::Int(n) = v { Some(n) } else { None })
                    .collect(),
            ),
            Kind::Int4 => Array::Int4(
                values
                    .map(|v| {
                        if let Value::Int(n) = v {
                            Some(i32::try_from(n).unwrap_or(i32::MAX))
                        } else {
                            None
                        }
                    })
                    .collect(),
            ),
            Kind::Bool | Kind::Bytes => Array::Bool(
                values
                    .map(|v| if let Value::Bool(b) = v { Some(b) } else { None })
                    .collect(),
            ),
        }
    }

    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Array::Uuid(v) => v,
            Array::Text(v) => v,
            Array::Int8(v) => v,
            Array::Int4(v) => v,
            Array::Bool(v) => v,
        }
    }
}

impl PgStore {
    async fn record_once(&self, events: &[ActivityEvent], bodies: &[RequestBodies]) -> R<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let arrays: Vec<Array<'_>> = (0..EVENT.len()).map(|i| Array::of(events, i)).collect();
        let params: Vec<&(dyn ToSql + Sync)> = arrays.iter().map(Array::as_sql).collect();
        let insert = tx.prepare_cached(&INSERT_EVENTS).await?;
        let inserted = tx.query(&insert, &params).await?;
        // Only what was stored now counts: an event already stored (a batch
        // retried after its commit was in doubt) is not counted again.
        let mut new: HashSet<Uuid> = inserted.iter().map(|r| r.uuid(0)).collect::<R<_>>()?;
        let fresh: Vec<&ActivityEvent> = events.iter().filter(|e| new.remove(e.id.as_uuid())).collect();
        super::rollups::add_events(&tx, &fresh).await?;

        // The bodies of the events stored now (those of a retried batch's
        // stored events are stored already).
        let fresh_ids: HashSet<EventId> = fresh.iter().map(|e| e.id).collect();
        let fresh_bodies = bodies.iter().filter(|b| fresh_ids.contains(&b.event_id));
        let insert = tx.prepare_cached(&insert_bodies_sql(&placeholder)).await?;
        for b in fresh_bodies {
            let params: [&(dyn ToSql + Sync); 7] = [
                b.event_id.as_uuid(),
                b.project_id.as_uuid(),
                &ms(b.started_at),
                &b.request,
                &b.response,
                &b.request_truncated,
                &b.response_truncated,
            ];
            tx.execute(&insert, &params).await?;
        }

        // Keys' last use, in key order (the order every writer locks them in).
        let mut last_used: BTreeMap<Uuid, i64> = BTreeMap::new();
        for e in &fresh {
            let t = last_used.entry(*e.api_key_id.as_uuid()).or_insert(i64::MIN);
            *t = (*t).max(ms(e.started_at));
        }
        if !last_used.is_empty() {
            let touch = tx
                .prepare_cached(
                    "UPDATE api_keys SET last_used_at = GREATEST(COALESCE(last_used_at, 0), $2) WHERE id = $1",
                )
                .await?;
            for (key, at) in &last_used {
                tx.execute(&touch, &[key, at]).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn prune_once(&self, before: i64) -> R<u64> {
        let c = self.client().await?;
        // In slices, so that no single statement holds many row locks for long.
        let mut total = 0;
        loop {
            let n = c
                .execute(
                    "DELETE FROM activity_events WHERE id IN (
                        SELECT id FROM activity_events WHERE started_at < $1 LIMIT 10000)",
                    &[&before],
                )
                .await?;
            total += n;
            if n == 0 {
                return Ok(total);
            }
        }
    }
}

#[async_trait]
impl ActivityStore for PgStore {
    async fn record_with_bodies(&self, events: Vec<ActivityEvent>, bodies: Vec<RequestBodies>) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let (events, bodies) = (&events, &bodies);
        self.retrying(move || self.record_once(events, bodies)).await
    }

    async fn recent_events(&self, org: OrgId, limit: u32) -> StoreResult<Vec<ActivityEvent>> {
        let c = self.client().await?;
        let found = c
            .query(
                &format!(
                    "SELECT {} FROM activity_events WHERE org_id = $1
                     ORDER BY started_at DESC, id DESC LIMIT $2",
                    *EVENT_COLS
                ),
                &[org.as_uuid(), &i64::from(limit)],
            )
            .await
            .map_err(PgError::from)?;
        Ok(found.iter().map(event_row).collect::<R<_>>()?)
    }

    async fn event_count(&self, org: OrgId) -> StoreResult<u64> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT COUNT(*) FROM activity_events WHERE org_id = $1",
                &[org.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(count(row.col(0)?))
    }

    async fn prune_events(&self, before: Timestamp) -> StoreResult<u64> {
        let pruned = self.prune_once(ms(before)).await?;
        let c = self.client().await?;
        c.execute("DELETE FROM request_bodies WHERE started_at < $1", &[&ms(before)])
            .await
            .map_err(PgError::from)?;
        Ok(pruned)
    }

    async fn prune_bodies(&self, now: Timestamp) -> StoreResult<u64> {
        let c = self.client().await?;
        let mut total = 0;
        loop {
            let n = c
                .execute(&prune_bodies_sql(&placeholder), &[&ms(now)])
                .await
                .map_err(PgError::from)?;
            total += n;
            if n == 0 {
                return Ok(total);
            }
        }
    }
}

#[async_trait]
impl LogStore for PgStore {
    async fn log(&self, query: LogQuery) -> StoreResult<LogPage> {
        let sql = log::select(&query, &EVENT_COLS, &|n| format!("${n}"));
        let params: Vec<Box<dyn ToSql + Sync + Send>> = sql.params.into_iter().map(pg_value).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
        let c = self.client().await?;
        let stmt = c.prepare_cached(&sql.text).await.map_err(PgError::from)?;
        let rows = c.query(&stmt, &refs).await.map_err(PgError::from)?;
        let events = rows.iter().map(event_row).collect::<R<Vec<_>>>()?;
        Ok(LogPage::from_rows(&query, events))
    }

    async fn event(&self, id: EventId) -> StoreResult<ActivityEvent> {
        let c = self.client().await?;
        let found = c
            .query_opt(
                &format!("SELECT {} FROM activity_events WHERE id = $1", *EVENT_COLS),
                &[id.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        match found {
            Some(row) => Ok(event_row(&row)?),
            None => Err(StoreError::NotFound),
        }
    }

    async fn bodies(&self, id: EventId) -> StoreResult<Option<RequestBodies>> {
        let c = self.client().await?;
        let found = c
            .query_opt(&select_bodies_sql(&placeholder), &[id.as_uuid()])
            .await
            .map_err(PgError::from)?;
        Ok(found.as_ref().map(bodies_row).transpose()?)
    }
}
