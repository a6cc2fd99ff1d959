//! The shapes' UTC hour and day rows, derived from summed 15-minute rows:
//! summed by hour in memory, the hours summed again by day, then one
//! upsert per row in primary-key order.

use rustc_hash::{FxHashMap, FxHashSet};

use rusqlite::Transaction;

use super::values::{bind_values, value_columns, value_updates};
use crate::rollup::dim::{Col, DimKind};
use crate::rollup::grain::{Grain, HOURS_PER_DAY};
use crate::rollup::measure::RowSums;
use crate::rollup::shape::{SHAPES, Shape};
use crate::sqlite::sums::{Key, Keyed};

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
        Col::EndUser => k.end_user,
        Col::Tags => k.tags,
        Col::Status => k.status,
    }
}

/// Binds parameter `at` to the value `v` of key column `c` (see [`Key`]).
pub(super) fn bind_key(
    stmt: &mut rusqlite::CachedStatement<'_>,
    at: usize,
    c: Col,
    v: u128,
    keyed: &Keyed<'_>,
) -> rusqlite::Result<()> {
    match c.kind() {
        DimKind::Text => stmt.raw_bind_parameter(at, keyed.text(v)),
        DimKind::Id => stmt.raw_bind_parameter(at, uuid::Uuid::from_u128(v)),
        DimKind::Int => stmt.raw_bind_parameter(at, i64::try_from(v).unwrap_or(i64::MAX)),
    }
}

/// The UTC grains every shape is kept at, finest first.
const LEVELS: [Grain; 2] = [Grain::Hour, Grain::UtcDay];

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

/// Adds summed `usage_rollups` rows to every shape and level: summed by
/// hour in memory, the hour sums summed again by day, then one upsert per
/// row. Only days before the open day (`open_day.rs`) go to the day
/// tables, and the write rolls some of the days before the newest into them.
pub(super) fn add_rows(tx: &Transaction<'_>, keyed: &Keyed<'_>, open: i64) -> rusqlite::Result<()> {
    let quarters_per_hour = Grain::Hour.quarters();
    let closed = |day: i64| day < open;
    for shape in SHAPES {
        // Sized once: growing maps of large entries copies them and faults
        // in fresh pages at every doubling.
        let mut hours: FxHashMap<ShapeKey, RowSums> =
            FxHashMap::with_capacity_and_hasher(keyed.rows.len(), Default::default());
        for (k, t) in &keyed.rows {
            let key = key_of(shape, k);
            hours
                .entry((key, k.bucket.div_euclid(quarters_per_hour)))
                .or_default()
                .add(t);
        }
        let mut days: FxHashMap<ShapeKey, RowSums> = FxHashMap::default();
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
        let span = shape.table_of(Grain::Span);
        for (level, rows) in super::spans::spans_of(tx, shape, 0, &days)? {
            upsert(tx, &span, shape, &[("phase", 0), ("level", level)], keyed, rows)?;
        }
        for (grain, rows) in LEVELS.into_iter().zip([hours, days]) {
            upsert(tx, &shape.table_of(grain), shape, &[], keyed, rows)?;
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

/// Adds summed rows to one table of `shape` (with columns of one value
/// each for every row, as a local day's `phase`), binding values in place.
pub(super) fn upsert(
    tx: &Transaction<'_>,
    table: &str,
    shape: &Shape,
    fixed: &[(&str, i64)],
    keyed: &Keyed<'_>,
    rows: FxHashMap<ShapeKey, RowSums>,
) -> rusqlite::Result<()> {
    let mut names: Vec<&str> = shape.cols.iter().map(|c| c.name()).collect();
    names.extend(fixed.iter().map(|(name, _)| *name));
    let values = value_columns();
    let n = names.len() + 1 + values.len();
    let placeholders: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO {table} ({}, bucket, {}) VALUES ({}) ON CONFLICT DO UPDATE SET {}",
        names.join(", "),
        values.join(", "),
        placeholders.join(", "),
        value_updates().join(", ")
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
    // Parameters: the key columns, the fixed ones, the bucket, the sums.
    let bucket_at = names.len() + 1;
    for ((key, bucket), t) in rows {
        for (i, (c, v)) in shape.cols.iter().zip(key).enumerate() {
            bind_key(&mut stmt, i + 1, *c, v, keyed)?;
        }
        for (i, (_, v)) in fixed.iter().enumerate() {
            stmt.raw_bind_parameter(shape.cols.len() + 1 + i, v)?;
        }
        stmt.raw_bind_parameter(bucket_at, bucket)?;
        bind_values(&mut stmt, bucket_at + 1, &t)?;
        stmt.raw_execute()?;
    }
    Ok(())
}
