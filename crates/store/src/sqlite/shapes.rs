//! Rollups per query shape, by UTC hour and UTC day (migration 0004). A
//! query reads whole UTC days from a `*_day` table, whole hours from a
//! `*_hour` table, and only the 15-minute remainders at the edges of its
//! periods from `usage_rollups`: the rows read grow with the days asked for,
//! not with the traffic.

use rustc_hash::{FxHashMap, FxHashSet};

use rusqlite::{Connection, Transaction};
use tally_core::UsageTotals;

use super::rollups::{SUM_COLUMNS, run, sum_values};
use super::sums::{Key, Keyed};
use crate::{Dim, DimValue, Scope, UsageQuery};

pub(super) use crate::rollup::dim::Col;
use crate::rollup::grain::Grain;
pub(super) use crate::rollup::shape::{SHAPES, Shape};

/// The column's value in `k` (see [`Key`]).
pub(super) fn of_key(c: Col, k: &Key) -> u128 {
    match c {
        Col::Org => k.org,
        Col::Project => k.project,
        Col::ApiKey => k.api_key,
        Col::CreatedBy => k.created_by,
        Col::Provider => k.provider,
        Col::Routed => k.routed,
        Col::Canonical => k.canonical,
        Col::App => k.app,
    }
}

/// The UTC grains every shape is kept at, finest first.
const LEVELS: [Grain; 2] = [Grain::Hour, Grain::UtcDay];

fn scope_cols(scope: &Scope) -> &'static [Col] {
    match scope {
        Scope::Org(_) => &[Col::Org],
        Scope::Project(_) => &[Col::Project],
        Scope::ApiKey(_) => &[Col::ApiKey],
        Scope::Member(..) => &[Col::Org, Col::CreatedBy],
    }
}

/// The columns `scope` fixes, with the id each must equal.
pub(super) fn scope_terms(scope: &Scope) -> Vec<(&'static str, uuid::Uuid)> {
    let ids = match scope {
        Scope::Org(o) => vec![*o.as_uuid()],
        Scope::Project(p) => vec![*p.as_uuid()],
        Scope::ApiKey(k) => vec![*k.as_uuid()],
        Scope::Member(o, u) => vec![*o.as_uuid(), *u.as_uuid()],
    };
    scope_cols(scope).iter().map(|c| c.name()).zip(ids).collect()
}

fn shape_for(q: &UsageQuery) -> Option<&'static Shape> {
    let needed: Vec<Col> = scope_cols(&q.scope)
        .iter()
        .copied()
        .chain(q.group_by.iter().filter_map(|d| Col::of_dim(*d)))
        .collect();
    SHAPES.iter().find(|s| needed.iter().all(|c| s.cols.contains(c)))
}

/// The most key columns of a shape.
const MAX_COLS: usize = 5;

/// A shape's key columns (unused slots 0) and a bucket, as numbers that
/// sort as the stored values do (see [`Key`]).
pub(super) type ShapeKey = ([u128; MAX_COLS], i64);

/// A `usage_rollups` row's key columns in `shape`.
pub(super) fn key_of(shape: &Shape, k: &Key) -> [u128; MAX_COLS] {
    let mut key = [0; MAX_COLS];
    for (slot, c) in key.iter_mut().zip(shape.cols) {
        *slot = of_key(*c, k);
    }
    key
}

/// Hours in a UTC day.
pub(super) const HOURS_PER_DAY: i64 = Grain::UtcDay.quarters() / Grain::Hour.quarters();

/// Adds summed `usage_rollups` rows to every shape and level: summed by
/// hour in memory, the hour sums summed again by day, then one upsert per
/// row. Only days before the open day (`open_day.rs`) go to the day
/// tables, and the write rolls some of the days before the newest into them.
pub(super) fn add_rows(tx: &Transaction<'_>, keyed: &Keyed<'_>, open: i64) -> rusqlite::Result<()> {
    let quarters_per_hour = Grain::Hour.quarters();
    let closed = |day: i64| day < open;
    for shape in SHAPES {
        let mut hours: FxHashMap<ShapeKey, UsageTotals> = FxHashMap::default();
        for (k, t) in &keyed.rows {
            let key = key_of(shape, k);
            hours
                .entry((key, k.bucket.div_euclid(quarters_per_hour)))
                .or_default()
                .add(t);
        }
        let mut days: FxHashMap<ShapeKey, UsageTotals> = FxHashMap::default();
        let mut leads = FxHashSet::default();
        for ((key, hour), t) in &hours {
            let day = hour.div_euclid(HOURS_PER_DAY);
            if closed(day) {
                days.entry((*key, day)).or_default().add(t);
            } else {
                leads.insert((day, [key[0], key[1]]));
            }
        }
        super::open_day::note(tx, shape, &leads)?;
        for (grain, rows) in LEVELS.into_iter().zip([hours, days]) {
            upsert(tx, &shape.table_of(grain), shape, None, keyed, rows)?;
        }
    }
    let newest = keyed
        .rows
        .iter()
        .map(|(k, _)| k.bucket.div_euclid(Grain::UtcDay.quarters()))
        .max();
    super::open_day::advance(tx, open, newest)?;
    Ok(())
}

/// Adds summed rows to one table of `shape` (with its `phase` column when
/// given), binding values in place.
pub(super) fn upsert(
    tx: &Transaction<'_>,
    table: &str,
    shape: &Shape,
    phase: Option<i64>,
    keyed: &Keyed<'_>,
    rows: FxHashMap<ShapeKey, UsageTotals>,
) -> rusqlite::Result<()> {
    let mut names: Vec<&str> = shape.cols.iter().map(|c| c.name()).collect();
    if phase.is_some() {
        names.push("phase");
    }
    let n = names.len() + 1 + SUM_COLUMNS.len();
    let placeholders: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
    let updates: Vec<String> = SUM_COLUMNS.iter().map(|c| super::saturate::add(c)).collect();
    let sql = format!(
        "INSERT INTO {table} ({}, bucket, {}) VALUES ({}) ON CONFLICT DO UPDATE SET {}",
        names.join(", "),
        SUM_COLUMNS.join(", "),
        placeholders.join(", "),
        updates.join(", ")
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    // In primary-key order, so consecutive upserts touch the same pages.
    let mut rows: Vec<_> = rows.into_iter().collect();
    let lead = shape.before_bucket;
    rows.sort_unstable_by(|((a, x), _), ((b, y), _)| {
        a[..lead]
            .cmp(&b[..lead])
            .then(x.cmp(y))
            .then_with(|| a[lead..].cmp(&b[lead..]))
    });
    // Parameters: the key columns, the phase if any, the bucket, the sums.
    let bucket_at = names.len() + 1;
    for ((key, bucket), t) in rows {
        for (i, (c, v)) in shape.cols.iter().zip(key).enumerate() {
            if c.is_text() {
                stmt.raw_bind_parameter(i + 1, keyed.text(v))?;
            } else {
                stmt.raw_bind_parameter(i + 1, uuid::Uuid::from_u128(v))?;
            }
        }
        if let Some(phase) = phase {
            stmt.raw_bind_parameter(bucket_at - 1, phase)?;
        }
        stmt.raw_bind_parameter(bucket_at, bucket)?;
        for (i, v) in sum_values(&t).into_iter().enumerate() {
            stmt.raw_bind_parameter(bucket_at + 1 + i, v)?;
        }
        stmt.raw_execute()?;
    }
    Ok(())
}

/// `from`, the cuts strictly inside `[from, to)` and `to`, ascending: the
/// boundaries of the periods a query reads.
pub(super) fn period_points(from: i64, to: i64, cuts: &[i64]) -> Vec<i64> {
    let mut points: Vec<i64> = cuts.iter().copied().filter(|c| *c > from && *c < to).collect();
    points.push(from);
    points.push(to);
    points.sort_unstable();
    points.dedup();
    points
}

/// Splits `[from, to)` (15-minute buckets), cut at every period start, into
/// ranges of whole days, whole hours and single quarters: no range of a
/// coarse level straddles a cut, so every row read falls in one period.
pub(super) fn plan(from: i64, to: i64, cuts: &[i64]) -> [Vec<(i64, i64)>; 3] {
    if from >= to {
        // An empty range (found by the store conformance suite: sorting the
        // two ends read an inverted range as the range between them).
        return [Vec::new(), Vec::new(), Vec::new()];
    }
    let points = period_points(from, to, cuts);
    let ceil = |x: i64, n: i64| x.div_euclid(n) * n + if x.rem_euclid(n) == 0 { 0 } else { n };
    let floor = |x: i64, n: i64| x.div_euclid(n) * n;
    let mut quarters = Vec::new();
    let mut hours = Vec::new();
    let mut days = Vec::new();
    let hours_and_quarters = |x: i64, y: i64, quarters: &mut Vec<(i64, i64)>, hours: &mut Vec<(i64, i64)>| {
        let (hx, hy) = (ceil(x, 4), floor(y, 4));
        if hx < hy {
            quarters.push((x, hx));
            hours.push((hx / 4, hy / 4));
            quarters.push((hy, y));
        } else {
            quarters.push((x, y));
        }
    };
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (da, db) = (ceil(a, 96), floor(b, 96));
        if da < db {
            hours_and_quarters(a, da, &mut quarters, &mut hours);
            days.push((da / 96, db / 96));
            hours_and_quarters(db, b, &mut quarters, &mut hours);
        } else {
            hours_and_quarters(a, b, &mut quarters, &mut hours);
        }
    }
    [merge(quarters), merge(hours), merge(days)]
}

fn merge(mut ranges: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    ranges.retain(|(a, b)| a < b);
    ranges.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match out.last_mut() {
            Some(last) if last.1 >= a => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Answers a query from the shape tables where it can, from local-day rows
/// where its periods are local days of a maintained offset.
pub(super) fn query(c: &Connection, q: &UsageQuery) -> rusqlite::Result<Vec<(Vec<DimValue>, UsageTotals)>> {
    match shape_for(q) {
        Some(shape) if shape.local_days() => super::local_days::query(c, q, shape),
        _ => query_utc(c, q),
    }
}

/// Answers a query from UTC days and hours and 15-minute edges.
pub(super) fn query_utc(c: &Connection, q: &UsageQuery) -> rusqlite::Result<Vec<(Vec<DimValue>, UsageTotals)>> {
    // Grouped by period: every row read lies in one period (`plan` never
    // lets a coarse range straddle a period start), so each row is labelled
    // with its period's first bucket and summed per period as it is read.
    let points = period_points(q.from_bucket, q.to_bucket, &q.cuts);
    let periods = (q.group_by.contains(&Dim::Bucket) && !q.cuts.is_empty()).then_some(points.as_slice());
    let Some(shape) = shape_for(q) else {
        return run(c, "usage_rollups", q, &[(q.from_bucket, q.to_bucket)], 1, periods);
    };
    let [quarters, mut hours, days] = plan(q.from_bucket, q.to_bucket, &q.cuts);
    let (days, open_hours) = super::open_day::split(days, super::open_day::get(c)?);
    hours = merge(hours.into_iter().chain(open_hours).collect());
    let parts = [
        (
            crate::rollup::shape::QUARTERS.table.to_owned(),
            quarters,
            Grain::Quarter.quarters(),
        ),
        (shape.table_of(Grain::Hour), hours, Grain::Hour.quarters()),
        (shape.table_of(Grain::UtcDay), days, Grain::UtcDay.quarters()),
    ];
    let mut read = Vec::new();
    for (table, ranges, scale) in parts {
        if !ranges.is_empty() {
            read.push(run(c, &table, q, &ranges, scale, periods)?);
        }
    }
    // The keys of one read are distinct; several reads may share keys.
    Ok(merge_rows(read))
}

/// The first bucket of the period (between consecutive `points`) holding `bucket`.
pub(super) fn period_start(points: &[i64], bucket: i64) -> i64 {
    let at = points.partition_point(|p| *p <= bucket).saturating_sub(1);
    points.get(at).copied().unwrap_or(bucket)
}

/// Rows read in parts, each with distinct keys, summed per key (a single
/// non-empty part is returned as it is).
pub(super) fn merge_rows(mut parts: Vec<Vec<(Vec<DimValue>, UsageTotals)>>) -> Vec<(Vec<DimValue>, UsageTotals)> {
    parts.retain(|p| !p.is_empty());
    if parts.len() <= 1 {
        return parts.pop().unwrap_or_default();
    }
    let n = parts.iter().map(Vec::len).sum();
    let mut merged: FxHashMap<Vec<DimValue>, UsageTotals> = FxHashMap::with_capacity_and_hasher(n, Default::default());
    for (key, t) in parts.into_iter().flatten() {
        merged.entry(key).or_default().add(&t);
    }
    merged.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_use_the_coarsest_ranges_that_fit() {
        // A UTC day: one day row.
        assert_eq!(plan(96, 192, &[]), [vec![], vec![], vec![(1, 2)]]);
        // An Asia/Kolkata day, 18:30 to 18:30: quarters at the edges, hours between.
        assert_eq!(
            plan(170, 266, &[]),
            [vec![(170, 172), (264, 266)], vec![(43, 66)], vec![]]
        );
        // Cut at 12:00 of the second day: no row straddles the cut.
        assert_eq!(plan(0, 192, &[144]), [vec![], vec![(24, 48)], vec![(0, 1)]]);
        // Shorter than an hour.
        assert_eq!(plan(5, 7, &[]), [vec![(5, 7)], vec![], vec![]]);
    }

    #[test]
    fn rows_are_labelled_with_their_period_start() {
        // Hours 0..48 with periods starting at quarters 96 (hour 24) and 98 (not an hour).
        assert_eq!(period_start(&[0, 96, 98, 192], 97), 96);
        assert_eq!(period_start(&[0, 96, 98, 192], 98), 98);
        assert_eq!(period_start(&[0, 96, 98, 192], 5), 0);
        assert_eq!(plan(7, 5, &[]), [vec![], vec![], vec![]]);
        assert_eq!(plan(192, 0, &[96]), [vec![], vec![], vec![]]);
    }
}
