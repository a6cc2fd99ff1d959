//! [`ActivityStore`] on PostgreSQL: a batch of raw events, its rollups and
//! its keys' last use in one transaction.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use jiff::Timestamp;
use tally_core::{ActivityEvent, ApiKeyId, Endpoint, EventId, Money, OrgId, Outcome, ProjectId, Usage, UserId};
use tokio_postgres::Row;
use uuid::Uuid;

use super::convert::{RowExt, count, int, ms};
use super::{PgError, PgStore, R};
use crate::{ActivityStore, StoreResult};

const EVENT_COLS: &str = "id, started_at, org_id, project_id, api_key_id, created_by,
    requested_model, provider, routed_model, canonical_model, app, endpoint, stream, outcome, http_status, error,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
    cost_nanos, estimated, unpriced, latency_us, ttft_us, usage_invalid";

/// Inserts the batch from parallel arrays in one statement; ids already
/// stored are skipped and the inserted ids returned.
const INSERT_EVENTS: &str = "INSERT INTO activity_events (
        id, started_at, org_id, project_id, api_key_id, created_by,
        requested_model, provider, routed_model, canonical_model, app,
        endpoint, stream, outcome, http_status, error,
        input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
        cost_nanos, estimated, unpriced, latency_us, ttft_us, usage_invalid)
    SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[],
        $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
        $12::text[], $13::boolean[], $14::text[], $15::integer[], $16::text[],
        $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[],
        $22::bigint[], $23::boolean[], $24::boolean[], $25::bigint[], $26::bigint[],
        $27::boolean[])
    ON CONFLICT (id) DO NOTHING
    RETURNING id";

fn tokens(r: &Row, idx: usize) -> R<Option<u64>> {
    Ok(r.col::<Option<i64>>(idx)?.map(count))
}

fn event_row(r: &Row) -> R<ActivityEvent> {
    let http_status: i32 = r.col(14)?;
    Ok(ActivityEvent {
        id: EventId::from_uuid(r.uuid(0)?),
        started_at: r.ts(1)?,
        org_id: OrgId::from_uuid(r.uuid(2)?),
        project_id: ProjectId::from_uuid(r.uuid(3)?),
        api_key_id: ApiKeyId::from_uuid(r.uuid(4)?),
        created_by: UserId::from_uuid(r.uuid(5)?),
        requested_model: r.col(6)?,
        provider: r.col(7)?,
        routed_model: r.col(8)?,
        canonical_model: r.col(9)?,
        app: r.col(10)?,
        endpoint: r.parsed::<Endpoint>(11)?,
        stream: r.col(12)?,
        outcome: r.parsed::<Outcome>(13)?,
        http_status: u16::try_from(http_status).unwrap_or(0),
        error: r.col(15)?,
        usage: Usage {
            input: tokens(r, 16)?,
            cached_input: tokens(r, 17)?,
            cache_write: tokens(r, 18)?,
            output: tokens(r, 19)?,
            reasoning: tokens(r, 20)?,
        },
        cost: Money::from_nanos(r.col(21)?),
        estimated: r.col(22)?,
        unpriced: r.col(23)?,
        latency_us: tokens(r, 24)?.unwrap_or(0),
        ttft_us: tokens(r, 25)?,
        usage_invalid: r.col(26)?,
    })
}

fn opt_int(v: Option<u64>) -> Option<i64> {
    v.map(int)
}

/// The batch as parallel columns, in the order of [`INSERT_EVENTS`].
struct Columns<'a> {
    id: Vec<Uuid>,
    started_at: Vec<i64>,
    org_id: Vec<Uuid>,
    project_id: Vec<Uuid>,
    api_key_id: Vec<Uuid>,
    created_by: Vec<Uuid>,
    requested_model: Vec<Option<&'a str>>,
    provider: Vec<Option<&'a str>>,
    routed_model: Vec<Option<&'a str>>,
    canonical_model: Vec<Option<&'a str>>,
    app: Vec<Option<&'a str>>,
    endpoint: Vec<&'static str>,
    stream: Vec<bool>,
    outcome: Vec<&'static str>,
    http_status: Vec<i32>,
    error: Vec<Option<&'a str>>,
    input: Vec<Option<i64>>,
    cached_input: Vec<Option<i64>>,
    cache_write: Vec<Option<i64>>,
    output: Vec<Option<i64>>,
    reasoning: Vec<Option<i64>>,
    cost: Vec<i64>,
    estimated: Vec<bool>,
    unpriced: Vec<bool>,
    latency_us: Vec<i64>,
    ttft_us: Vec<Option<i64>>,
    usage_invalid: Vec<bool>,
}

impl<'a> Columns<'a> {
    fn of(events: &'a [ActivityEvent]) -> Self {
        let col = |f: &dyn Fn(&'a ActivityEvent) -> Option<&'a str>| events.iter().map(f).collect::<Vec<_>>();
        Columns {
            id: events.iter().map(|e| *e.id.as_uuid()).collect(),
            started_at: events.iter().map(|e| ms(e.started_at)).collect(),
            org_id: events.iter().map(|e| *e.org_id.as_uuid()).collect(),
            project_id: events.iter().map(|e| *e.project_id.as_uuid()).collect(),
            api_key_id: events.iter().map(|e| *e.api_key_id.as_uuid()).collect(),
            created_by: events.iter().map(|e| *e.created_by.as_uuid()).collect(),
            requested_model: col(&|e| e.requested_model.as_deref()),
            provider: col(&|e| e.provider.as_deref()),
            routed_model: col(&|e| e.routed_model.as_deref()),
            canonical_model: col(&|e| e.canonical_model.as_deref()),
            app: col(&|e| e.app.as_deref()),
            endpoint: events.iter().map(|e| e.endpoint.as_str()).collect(),
            stream: events.iter().map(|e| e.stream).collect(),
            outcome: events.iter().map(|e| e.outcome.as_str()).collect(),
            http_status: events.iter().map(|e| i32::from(e.http_status)).collect(),
            error: col(&|e| e.error.as_deref()),
            input: events.iter().map(|e| opt_int(e.usage.input)).collect(),
            cached_input: events.iter().map(|e| opt_int(e.usage.cached_input)).collect(),
            cache_write: events.iter().map(|e| opt_int(e.usage.cache_write)).collect(),
            output: events.iter().map(|e| opt_int(e.usage.output)).collect(),
            reasoning: events.iter().map(|e| opt_int(e.usage.reasoning)).collect(),
            cost: events.iter().map(|e| e.cost.nanos()).collect(),
            estimated: events.iter().map(|e| e.estimated).collect(),
            unpriced: events.iter().map(|e| e.unpriced).collect(),
            latency_us: events.iter().map(|e| int(e.latency_us)).collect(),
            ttft_us: events.iter().map(|e| opt_int(e.ttft_us)).collect(),
            usage_invalid: events.iter().map(|e| e.usage_invalid).collect(),
        }
    }
}

impl PgStore {
    async fn record_once(&self, events: &[ActivityEvent]) -> R<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let cols = Columns::of(events);
        let insert = tx.prepare_cached(INSERT_EVENTS).await?;
        let inserted = tx
            .query(
                &insert,
                &[
                    &cols.id,
                    &cols.started_at,
                    &cols.org_id,
                    &cols.project_id,
                    &cols.api_key_id,
                    &cols.created_by,
                    &cols.requested_model,
                    &cols.provider,
                    &cols.routed_model,
                    &cols.canonical_model,
                    &cols.app,
                    &cols.endpoint,
                    &cols.stream,
                    &cols.outcome,
                    &cols.http_status,
                    &cols.error,
                    &cols.input,
                    &cols.cached_input,
                    &cols.cache_write,
                    &cols.output,
                    &cols.reasoning,
                    &cols.cost,
                    &cols.estimated,
                    &cols.unpriced,
                    &cols.latency_us,
                    &cols.ttft_us,
                    &cols.usage_invalid,
                ],
            )
            .await?;
        // Only what was stored now counts: an event already stored (a batch
        // retried after its commit was in doubt) is not counted again.
        let mut new: HashSet<Uuid> = inserted.iter().map(|r| r.uuid(0)).collect::<R<_>>()?;
        let fresh: Vec<&ActivityEvent> = events.iter().filter(|e| new.remove(e.id.as_uuid())).collect();
        super::rollups::add_events(&tx, &fresh).await?;

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
    async fn record(&self, events: Vec<ActivityEvent>) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let events = &events;
        self.retrying(move || self.record_once(events)).await
    }

    async fn recent_events(&self, org: OrgId, limit: u32) -> StoreResult<Vec<ActivityEvent>> {
        let c = self.client().await?;
        let found = c
            .query(
                &format!(
                    "SELECT {EVENT_COLS} FROM activity_events WHERE org_id = $1
                     ORDER BY started_at DESC, id DESC LIMIT $2"
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
        Ok(self.prune_once(ms(before)).await?)
    }
}
