//! [`ActivityStore`] on SQLite: batches of raw events in one transaction.

use async_trait::async_trait;
use rusqlite::{Connection, Row, Transaction, params};
use tally_core::{ActivityEvent, ApiKeyId, Endpoint, EventId, Money, OrgId, Outcome, ProjectId, Usage, UserId};

use super::SqliteStore;
use super::convert::{RowExt, ms};
use crate::{ActivityStore, StoreResult};

const EVENT_COLS: &str = "id, started_at, org_id, project_id, api_key_id, created_by,
    requested_model, provider, routed_model, canonical_model, app, endpoint, stream, outcome, http_status, error,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
    cost_nanos, estimated, unpriced, latency_us, ttft_us";

fn tokens(r: &Row<'_>, idx: usize) -> rusqlite::Result<Option<u64>> {
    Ok(r.get::<_, Option<i64>>(idx)?.map(|v| u64::try_from(v).unwrap_or(0)))
}

fn event_row(r: &Row<'_>) -> rusqlite::Result<ActivityEvent> {
    Ok(ActivityEvent {
        id: EventId::from_uuid(r.uuid(0)?),
        started_at: r.ts(1)?,
        org_id: OrgId::from_uuid(r.uuid(2)?),
        project_id: ProjectId::from_uuid(r.uuid(3)?),
        api_key_id: ApiKeyId::from_uuid(r.uuid(4)?),
        created_by: UserId::from_uuid(r.uuid(5)?),
        requested_model: r.get(6)?,
        provider: r.get(7)?,
        routed_model: r.get(8)?,
        canonical_model: r.get(9)?,
        app: r.get(10)?,
        endpoint: r.parsed::<Endpoint>(11)?,
        stream: r.get(12)?,
        outcome: r.parsed::<Outcome>(13)?,
        http_status: r.get(14)?,
        error: r.get(15)?,
        usage: Usage {
            input: tokens(r, 16)?,
            cached_input: tokens(r, 17)?,
            cache_write: tokens(r, 18)?,
            output: tokens(r, 19)?,
            reasoning: tokens(r, 20)?,
        },
        cost: Money::from_nanos(r.get(21)?),
        estimated: r.get(22)?,
        unpriced: r.get(23)?,
        latency_us: tokens(r, 24)?.unwrap_or(0),
        ttft_us: tokens(r, 25)?,
    })
}

fn count(v: Option<u64>) -> Option<i64> {
    v.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// Inserts a batch of raw events; returns the first and last rowid given.
fn insert(tx: &Transaction<'_>, events: &[ActivityEvent]) -> rusqlite::Result<(i64, i64)> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO activity_events (
            id, started_at, org_id, project_id, api_key_id, created_by,
            requested_model, provider, routed_model, canonical_model, app,
            endpoint, stream, outcome, http_status, error,
            input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
            cost_nanos, estimated, unpriced, latency_us, ttft_us
        ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                  ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
    )?;
    let mut first = None;
    for e in events {
        stmt.execute(params![
            e.id.as_uuid(),
            ms(e.started_at),
            e.org_id.as_uuid(),
            e.project_id.as_uuid(),
            e.api_key_id.as_uuid(),
            e.created_by.as_uuid(),
            e.requested_model,
            e.provider,
            e.routed_model,
            e.canonical_model,
            e.app,
            e.endpoint.as_str(),
            e.stream,
            e.outcome.as_str(),
            e.http_status,
            e.error,
            count(e.usage.input),
            count(e.usage.cached_input),
            count(e.usage.cache_write),
            count(e.usage.output),
            count(e.usage.reasoning),
            e.cost.nanos(),
            e.estimated,
            e.unpriced,
            count(Some(e.latency_us)),
            count(e.ttft_us),
        ])?;
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

/// The raw events with rowids `first..=last` (a batch of the backlog).
pub(super) fn events_between(c: &Connection, first: i64, last: i64) -> rusqlite::Result<Vec<ActivityEvent>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {EVENT_COLS} FROM activity_events WHERE rowid BETWEEN ?1 AND ?2"
    ))?;
    let rows = stmt.query_map(params![first, last], event_row)?;
    rows.collect()
}

#[async_trait]
impl ActivityStore for SqliteStore {
    async fn record(&self, events: Vec<ActivityEvent>) -> StoreResult<()> {
        let inner = self.inner.clone();
        self.write(move |c| {
            let tx = c.transaction()?;
            let rowids = insert(&tx, &events)?;
            touch_keys(&tx, &events)?;
            // Rollups ride along in the same transaction, or are deferred
            // (see `pending`) by the process that owns the file.
            match &inner.pending {
                Some(pending) => super::pending::commit_deferred(tx, pending, &events, rowids)?,
                None => {
                    super::pending::write_events(&tx, &events)?;
                    tx.commit()?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn flush(&self) -> StoreResult<()> {
        let inner = self.inner.clone();
        self.write(move |c| {
            if let Some(pending) = &inner.pending {
                super::pending::flush(c, pending)?;
            }
            Ok(())
        })
        .await
    }

    async fn recent_events(&self, org: OrgId, limit: u32) -> StoreResult<Vec<ActivityEvent>> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {EVENT_COLS} FROM activity_events WHERE org_id = ?1 ORDER BY started_at DESC, id DESC LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![org.as_uuid(), limit], event_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn prune_events(&self, before: jiff::Timestamp) -> StoreResult<u64> {
        let inner = self.inner.clone();
        self.write(move |c| {
            // Flushed first, so no backlog refers to the events deleted.
            if let Some(pending) = &inner.pending {
                super::pending::flush(c, pending)?;
            }
            let n = c.execute("DELETE FROM activity_events WHERE started_at < ?1", [ms(before)])?;
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
