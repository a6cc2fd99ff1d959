//! [`ActivityStore`] on SQLite: batches of raw events in one transaction.

use async_trait::async_trait;
use rusqlite::{Connection, Row, Transaction, params};
use tally_core::{ActivityEvent, ApiKeyId, Endpoint, EventId, Money, OrgId, Outcome, ProjectId, Usage, UserId};

use super::SqliteStore;
use super::convert::{RowExt, ms};
use super::sums::Sums;
use crate::{ActivityStore, StoreResult, UsageQuery};

const EVENT_COLS: &str = "id, started_at, org_id, project_id, api_key_id, created_by,
    requested_model, provider, routed_model, canonical_model, app, endpoint, stream, outcome, http_status, error,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
    cost_nanos, estimated, unpriced, latency_us, ttft_us, usage_invalid";

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
        usage_invalid: r.get(26)?,
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
            cost_nanos, estimated, unpriced, latency_us, ttft_us, usage_invalid
        ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                  ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)",
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
            e.usage_invalid,
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
        super::sums::COLUMNS
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
        super::sums::COLUMNS
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
