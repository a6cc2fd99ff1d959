//! Rollups on PostgreSQL: added to by each batch inside its transaction
//! (conflict-safe upserts in a fixed key order), rebuilt from raw events on
//! demand, read by every analytics query.

use std::sync::LazyLock;

use async_trait::async_trait;
use tally_core::latency::{Histogram, Latencies, bin_sql};
use tally_core::{ActivityEvent, UsageTotals};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::convert::RowExt;
use super::{PgStore, R};
use crate::columns::Columns;
use crate::rollup::dim::{BUCKET, Col, DimKind};
use crate::rollup::grain::Grain;
use crate::rollup::key::KeyValue;
use crate::rollup::measure::{COLUMNS as SUM_COLUMNS, HIST_COLUMNS, HISTOGRAMS, MEASURE_COUNT, MEASURES};
use crate::rollup::shape::QUARTERS;
use crate::{AnalyticsStore, Dim, DimValue, Scope, StoreResult, UsageQuery};

/// The columns of `usage_rollups` in the order the statements here list
/// them: the key columns of [`QUARTERS`], the bucket, the measures, the histograms.
static COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let mut cols: Vec<&str> = QUARTERS.cols.iter().map(|c| c.name()).collect();
    cols.push(BUCKET);
    cols.extend(SUM_COLUMNS);
    cols.extend(HIST_COLUMNS);
    cols.join(", ")
});

/// A histogram as the `jsonb` text PostgreSQL stores: bin to count; `None` when empty.
pub(crate) fn hist_json(h: &Histogram) -> Option<String> {
    let bins: Vec<String> = h.bins().map(|(b, n)| format!("\"{b}\":{n}")).collect();
    (!bins.is_empty()).then(|| format!("{{{}}}", bins.join(",")))
}

/// A histogram read back from the `jsonb` text of [`hist_json`] (as
/// PostgreSQL prints it, `{"37": 2, ...}`); anything else counts as empty.
fn hist_of_json(text: Option<&str>) -> Histogram {
    let mut h = Histogram::default();
    let Some(body) = text.and_then(|t| t.trim().strip_prefix('{')?.strip_suffix('}').map(str::to_owned)) else {
        return h;
    };
    for pair in body.split(',').filter(|p| !p.trim().is_empty()) {
        let parsed = pair.split_once(':').and_then(|(b, n)| {
            let bin = b.trim().trim_matches('"').parse::<i64>().ok()?;
            Some((bin, n.trim().parse::<u64>().ok()?))
        });
        match parsed {
            Some((bin, n)) => h.add(bin, n),
            None => {
                tracing::warn!("a rollup row's histogram is unreadable; counted as empty");
                return Histogram::default();
            }
        }
    }
    h
}

/// `numeric` clamped into `bigint`: a sum saturates instead of failing the
/// batch (which would hold back every later one) with "out of range".
fn saturated(numeric: &str) -> String {
    // LEAST and GREATEST skip NULLs; a sum over no rows stays NULL.
    format!(
        "(CASE WHEN {numeric} IS NULL THEN NULL \
         ELSE GREATEST(LEAST({numeric}, 9223372036854775807), -9223372036854775808) END)::bigint"
    )
}

/// One statement for the whole batch: rows from parallel arrays (one per
/// column of [`COLUMNS`]), in array order (`WITH ORDINALITY … ORDER BY`),
/// each added to its existing row.
fn upsert_sql() -> String {
    let add = SUM_COLUMNS
        .iter()
        .map(|c| {
            format!(
                "{c} = {}",
                saturated(&format!("usage_rollups.{c}::numeric + excluded.{c}"))
            )
        })
        .chain(
            HIST_COLUMNS
                .iter()
                .map(|c| format!("{c} = tally_hist_add(usage_rollups.{c}, excluded.{c})")),
        )
        .collect::<Vec<_>>()
        .join(",\n    ");
    let types = QUARTERS
        .cols
        .iter()
        .map(|c| c.kind().stored().postgres())
        .chain(std::iter::repeat_n("bigint", 1 + SUM_COLUMNS.len()))
        .chain(std::iter::repeat_n("text", HIST_COLUMNS.len()));
    // The histograms arrive as text and are stored as `jsonb`.
    let select = COLUMNS
        .split(", ")
        .map(|c| {
            if HIST_COLUMNS.contains(&c) {
                format!("{c}::jsonb")
            } else {
                c.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let arrays: Vec<String> = types.enumerate().map(|(i, t)| format!("${}::{t}[]", i + 1)).collect();
    let key: Vec<&str> = QUARTERS.primary_key(Grain::Quarter);
    format!(
        "INSERT INTO usage_rollups ({cols})
         SELECT {select} FROM unnest({arrays}) WITH ORDINALITY AS v({cols}, ord)
         ORDER BY ord
         ON CONFLICT ({key}) DO UPDATE SET
    {add}",
        cols = *COLUMNS,
        arrays = arrays.join(", "),
        key = key.join(", "),
    )
}

/// One column of a batch of rollup rows.
enum Array<'a> {
    Id(Vec<Uuid>),
    Text(Vec<&'a str>),
    Int(Vec<i64>),
}

impl Array<'_> {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Array::Id(v) => v,
            Array::Text(v) => v,
            Array::Int(v) => v,
        }
    }
}

/// Adds a batch of events to the rollups (call inside the batch's transaction).
pub(super) async fn add_events(tx: &deadpool_postgres::Transaction<'_>, events: &[&ActivityEvent]) -> R<()> {
    let sums = crate::rollup::key::sum_by_key(events.iter().copied());
    if sums.is_empty() {
        return Ok(());
    }
    let n = sums.len();
    let mut keys: Vec<Array<'_>> = QUARTERS
        .cols
        .iter()
        .map(|c| match c.kind() {
            DimKind::Text => Array::Text(Vec::with_capacity(n)),
            DimKind::Id => Array::Id(Vec::with_capacity(n)),
            DimKind::Int => Array::Int(Vec::with_capacity(n)),
        })
        .collect();
    let mut bucket = Vec::with_capacity(n);
    let mut totals: [Vec<i64>; MEASURE_COUNT] = Default::default();
    let mut hists: [Vec<Option<String>>; HISTOGRAMS.len()] = Default::default();
    for (k, t) in &sums {
        for (c, array) in QUARTERS.cols.iter().zip(&mut keys) {
            match (k.get(*c), array) {
                (KeyValue::Id(id), Array::Id(v)) => v.push(id),
                (KeyValue::Text(s), Array::Text(v)) => v.push(s),
                (KeyValue::Int(i), Array::Int(v)) => v.push(i),
                // A column's kind is its array's (both follow `Col::is_text`).
                _ => {}
            }
        }
        bucket.push(k.bucket);
        for (column, v) in totals.iter_mut().zip(crate::rollup::measure::values(&t.totals)) {
            column.push(v);
        }
        for (column, h) in hists.iter_mut().zip(&HISTOGRAMS) {
            column.push(hist_json((h.get)(&t.latencies)));
        }
    }
    let bucket = Array::Int(bucket);
    let mut params: Vec<&(dyn ToSql + Sync)> = keys.iter().map(Array::as_sql).collect();
    params.push(bucket.as_sql());
    params.extend(totals.iter().map(|c| c as &(dyn ToSql + Sync)));
    params.extend(hists.iter().map(|c| c as &(dyn ToSql + Sync)));
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
    // Grouped by the primary key; the carried columns take any one value
    // of their group (the key's project and creator never change).
    let keyed = QUARTERS.cols.len() - QUARTERS.carried;
    let value = |c: &Col| c.event_sql();
    let group: Vec<String> = QUARTERS.cols[..keyed].iter().map(value).collect();
    let carried: Vec<String> = QUARTERS.cols[keyed..]
        .iter()
        .map(|c| format!("(array_agg({n} ORDER BY {n}))[1]", n = c.name()))
        .collect();
    let sums: Vec<String> = MEASURES
        .iter()
        .map(|m| saturated(&format!("SUM(({})::numeric)", m.per_event)))
        .chain(HISTOGRAMS.iter().map(|h| {
            let us = h.per_event_us;
            format!(
                "tally_hist_sum(CASE WHEN ({us}) IS NULL THEN NULL ELSE jsonb_build_object(({})::text, 1) END)",
                bin_sql(&format!("({us})"))
            )
        }))
        .collect();
    let group = group.join(", ");
    let rows = tx
        .execute(
            &format!(
                "INSERT INTO usage_rollups ({})
                 SELECT {group}, {}, {BUCKET_OF_STARTED_AT}, {} FROM activity_events
                 GROUP BY {group}, {BUCKET_OF_STARTED_AT}",
                *COLUMNS,
                carried.join(", "),
                sums.join(", "),
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
    let mut v = [0_i64; MEASURE_COUNT];
    for (i, slot) in v.iter_mut().enumerate() {
        *slot = r.col::<Option<i64>>(at + i)?.unwrap_or(0);
    }
    Ok(crate::rollup::measure::totals(v))
}

fn latencies(r: &Row, at: usize) -> R<Latencies> {
    let mut l = Latencies::default();
    for (i, h) in HISTOGRAMS.iter().enumerate() {
        *(h.get_mut)(&mut l) = hist_of_json(r.col::<Option<String>>(at + i)?.as_deref());
    }
    Ok(l)
}

/// What a query reads after its dimensions: the measures or the histograms.
struct Values<V> {
    select: String,
    read: fn(&Row, usize) -> R<V>,
    /// Whether a row counts anything (an aggregate over no rows yields one).
    counts: fn(&V) -> bool,
}

fn sum_values() -> Values<UsageTotals> {
    Values {
        select: sums(),
        read: totals,
        counts: |t| t.requests > 0,
    }
}

fn hist_values() -> Values<Latencies> {
    Values {
        select: HIST_COLUMNS
            .iter()
            .map(|c| format!("tally_hist_sum({c})::text"))
            .collect::<Vec<_>>()
            .join(", "),
        read: latencies,
        counts: |l| !l.latency.is_empty() || !l.ttft.is_empty(),
    }
}

async fn query<V>(store: &PgStore, q: &UsageQuery, values: Values<V>) -> R<Vec<(Vec<DimValue>, V)>> {
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
        values.select
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
                _ => match DimKind::of_dim(*d) {
                    Some(DimKind::Id) => DimValue::Id(r.uuid(i)?),
                    Some(DimKind::Int) => DimValue::Int(r.col(i)?),
                    _ => {
                        let s: String = r.col(i)?;
                        DimValue::Text((!s.is_empty()).then_some(s))
                    }
                },
            });
        }
        out.push((key, (values.read)(r, q.group_by.len())?));
    }
    // An aggregate without GROUP BY yields one row even over nothing.
    out.retain(|(_, v)| (values.counts)(v));
    Ok(out)
}

#[async_trait]
impl AnalyticsStore for PgStore {
    async fn usage(&self, q: UsageQuery) -> StoreResult<Vec<(Vec<DimValue>, UsageTotals)>> {
        Ok(query(self, &q, sum_values()).await?)
    }

    async fn latencies(&self, q: UsageQuery) -> StoreResult<Vec<(Vec<DimValue>, Latencies)>> {
        Ok(query(self, &q, hist_values()).await?)
    }

    async fn rebuild_rollups(&self) -> StoreResult<u64> {
        self.retrying(|| rebuild(self)).await
    }
}
