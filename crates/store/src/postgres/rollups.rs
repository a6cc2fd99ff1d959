//! Rollups on PostgreSQL: added to by each batch inside its transaction
//! (conflict-safe upserts in a fixed key order), rebuilt from raw events on
//! demand, read by every analytics query.

use async_trait::async_trait;
use tally_core::{ActivityEvent, UsageTotals};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::convert::RowExt;
use super::{PgStore, R};
use crate::columns::Columns;
use crate::rollup::measure::COLUMNS as SUM_COLUMNS;
use crate::{AnalyticsStore, Dim, DimValue, Scope, StoreResult, UsageQuery};

const COLUMNS: &str = "org_id, bucket, api_key_id, provider, routed_model, canonical_model, app,
    project_id, created_by, requests, upstream_errors, gateway_errors, client_errors, canceled,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
    cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid";

/// `numeric` clamped into `bigint`: a sum saturates instead of failing the
/// batch (which would hold back every later one) with "out of range".
fn saturated(numeric: &str) -> String {
    // LEAST and GREATEST skip NULLs; a sum over no rows stays NULL.
    format!(
        "(CASE WHEN {numeric} IS NULL THEN NULL \
         ELSE GREATEST(LEAST({numeric}, 9223372036854775807), -9223372036854775808) END)::bigint"
    )
}

/// One statement for the whole batch: rows from parallel arrays, in array
/// order (`WITH ORDINALITY … ORDER BY`), each added to its existing row.
fn upsert_sql() -> String {
    let add = SUM_COLUMNS
        .iter()
        .map(|c| {
            format!(
                "{c} = {}",
                saturated(&format!("usage_rollups.{c}::numeric + excluded.{c}"))
            )
        })
        .collect::<Vec<_>>()
        .join(",\n    ");
    format!(
        "INSERT INTO usage_rollups ({COLUMNS})
         SELECT {COLUMNS} FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[],
             $7::text[], $8::uuid[], $9::uuid[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[],
             $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[],
             $20::bigint[], $21::bigint[], $22::bigint[], $23::bigint[], $24::bigint[], $25::bigint[],
             $26::bigint[])
             WITH ORDINALITY AS v({COLUMNS}, ord)
         ORDER BY ord
         ON CONFLICT (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app) DO UPDATE SET
    {add}"
    )
}

/// Adds a batch of events to the rollups (call inside the batch's transaction).
pub(super) async fn add_events(tx: &deadpool_postgres::Transaction<'_>, events: &[&ActivityEvent]) -> R<()> {
    let sums = crate::rollup::key::sum_by_key(events.iter().copied());
    if sums.is_empty() {
        return Ok(());
    }
    let n = sums.len();
    let (mut org, mut bucket, mut api_key) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut provider, mut routed, mut canonical, mut app) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut project, mut created_by) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut totals: [Vec<i64>; crate::rollup::measure::MEASURE_COUNT] = Default::default();
    for (k, t) in sums {
        org.push(k.org);
        bucket.push(k.bucket);
        api_key.push(k.api_key);
        provider.push(k.provider);
        routed.push(k.routed);
        canonical.push(k.canonical);
        app.push(k.app);
        project.push(k.project);
        created_by.push(k.created_by);
        let values = crate::rollup::measure::values(&t);
        for (column, v) in totals.iter_mut().zip(values) {
            column.push(v);
        }
    }
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![
        &org,
        &bucket,
        &api_key,
        &provider,
        &routed,
        &canonical,
        &app,
        &project,
        &created_by,
    ];
    params.extend(totals.iter().map(|c| c as &(dyn ToSql + Sync)));
    let stmt = tx.prepare_cached(&upsert_sql()).await?;
    tx.execute(&stmt, &params).await?;
    Ok(())
}

/// floor(started_at / 900000), also for instants before 1970.
const BUCKET_OF_STARTED_AT: &str = "((started_at - ((started_at % 900000) + 900000) % 900000) / 900000)";

/// Recomputes every rollup row from the raw events, in one transaction.
/// The table lock makes concurrent batches wait at their upsert: a batch
/// that committed before is in the recount, one that commits after adds
/// its own events to the recounted rows.
async fn rebuild(store: &PgStore) -> R<u64> {
    let mut c = store.client().await?;
    let tx = c.transaction().await?;
    tx.batch_execute("LOCK TABLE usage_rollups IN EXCLUSIVE MODE; DELETE FROM usage_rollups")
        .await?;
    let text = |c: &str| format!("COALESCE({c}, '')");
    let sum = |c: &str| saturated(&format!("SUM({c})"));
    let group = format!(
        "org_id, {BUCKET_OF_STARTED_AT}, api_key_id, {}, {}, {}, {}",
        text("provider"),
        text("routed_model"),
        text("canonical_model"),
        text("app")
    );
    let rows = tx
        .execute(
            &format!(
                "INSERT INTO usage_rollups ({COLUMNS})
                 SELECT {group},
                    (array_agg(project_id ORDER BY project_id))[1], (array_agg(created_by ORDER BY created_by))[1],
                    COUNT(*),
                    COUNT(*) FILTER (WHERE outcome = 'upstream_error'),
                    COUNT(*) FILTER (WHERE outcome = 'gateway_error'),
                    COUNT(*) FILTER (WHERE outcome = 'client_error'),
                    COUNT(*) FILTER (WHERE outcome = 'canceled'),
                    {input}, {cached}, {write}, {output}, {reasoning}, {cost},
                    COUNT(*) FILTER (WHERE estimated), COUNT(*) FILTER (WHERE unpriced),
                    {latency}, {ttft}, COUNT(ttft_us), COUNT(*) FILTER (WHERE usage_invalid)
                 FROM activity_events
                 GROUP BY {group}",
                input = sum("COALESCE(input_tokens, 0)"),
                cached = sum("COALESCE(cached_input_tokens, 0)"),
                write = sum("COALESCE(cache_write_tokens, 0)"),
                output = sum("COALESCE(output_tokens, 0)"),
                reasoning = sum("COALESCE(reasoning_tokens, 0)"),
                cost = sum("cost_nanos"),
                latency = sum("latency_us"),
                ttft = sum("COALESCE(ttft_us, 0)"),
            ),
            &[],
        )
        .await?;
    tx.commit().await?;
    Ok(rows)
}

/// The sums of [`SUM_COLUMNS`], saturated into `bigint`.
fn sums() -> String {
    SUM_COLUMNS
        .iter()
        .map(|c| saturated(&format!("SUM({c})")))
        .collect::<Vec<_>>()
        .join(", ")
}

use crate::rollup::dim::column;

fn totals(r: &Row, at: usize) -> R<UsageTotals> {
    let mut v = [0_i64; crate::rollup::measure::MEASURE_COUNT];
    for (i, slot) in v.iter_mut().enumerate() {
        *slot = r.col::<Option<i64>>(at + i)?.unwrap_or(0);
    }
    Ok(crate::rollup::measure::totals(v))
}

async fn query(store: &PgStore, q: &UsageQuery) -> R<Vec<(Vec<DimValue>, UsageTotals)>> {
    let (filter, first, second): (&str, Uuid, Option<Uuid>) = match &q.scope {
        Scope::Org(org) => ("org_id = $1", *org.as_uuid(), None),
        Scope::Project(p) => ("project_id = $1", *p.as_uuid(), None),
        Scope::ApiKey(k) => ("api_key_id = $1", *k.as_uuid(), None),
        Scope::Member(org, user) => ("org_id = $1 AND created_by = $4", *org.as_uuid(), Some(*user.as_uuid())),
    };
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&first, &q.from_bucket, &q.to_bucket];
    if let Some(second) = &second {
        params.push(second);
    }
    // Grouped by periods, each bucket is labelled with its period's first
    // bucket (the greatest start at or before it; `from_bucket` is the first).
    let starts = q.period_starts();
    let label = match &starts {
        Some(starts) => {
            params.push(starts);
            let at = params.len();
            format!("(${at}::bigint[])[width_bucket(bucket, ${at}::bigint[])]")
        }
        None => column(Dim::Bucket).to_owned(),
    };
    let dims: Vec<&str> = q
        .group_by
        .iter()
        .map(|d| if *d == Dim::Bucket { label.as_str() } else { column(*d) })
        .collect();
    let (select, group) = if dims.is_empty() {
        (String::new(), String::new())
    } else {
        let positions: Vec<String> = (1..=dims.len()).map(|i| i.to_string()).collect();
        (
            format!("{}, ", dims.join(", ")),
            format!("GROUP BY {}", positions.join(", ")),
        )
    };
    let sql = format!(
        "SELECT {select}{} FROM usage_rollups WHERE {filter} AND bucket >= $2 AND bucket < $3 {group}",
        sums()
    );
    let c = store.client().await?;
    let stmt = c.prepare_cached(&sql).await?;
    let found = c.query(&stmt, &params).await?;
    let mut out = Vec::with_capacity(found.len());
    for r in &found {
        let mut key = Vec::with_capacity(q.group_by.len());
        for (i, d) in q.group_by.iter().enumerate() {
            key.push(match d {
                Dim::Bucket => DimValue::Bucket(r.col(i)?),
                Dim::ApiKey | Dim::Member | Dim::Project => DimValue::Id(r.uuid(i)?),
                _ => {
                    let s: String = r.col(i)?;
                    DimValue::Text((!s.is_empty()).then_some(s))
                }
            });
        }
        out.push((key, totals(r, q.group_by.len())?));
    }
    // An aggregate without GROUP BY yields one row even over nothing.
    out.retain(|(_, t)| t.requests > 0);
    Ok(out)
}

#[async_trait]
impl AnalyticsStore for PgStore {
    async fn usage(&self, q: UsageQuery) -> StoreResult<Vec<(Vec<DimValue>, UsageTotals)>> {
        Ok(query(self, &q).await?)
    }

    async fn rebuild_rollups(&self) -> StoreResult<u64> {
        self.retrying(|| rebuild(self)).await
    }
}
