//! Reading one planned scan: an indexed range read per bucket range, rows
//! summed per group as they are read.

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, Row, params_from_iter};
use rustc_hash::FxHashMap;
use tally_core::UsageTotals;
use tally_core::latency::Latencies;

use super::plan::Scan;
use crate::rollup::measure::{COLUMNS as SUM_COLUMNS, HIST_COLUMNS, HISTOGRAMS};
use crate::rollup::period::Periods;
use crate::sqlite::histogram;
use crate::{Dim, DimValue, UsageQuery};

use crate::rollup::dim::{DimKind, column};

/// Whether `d` is an integer dimension (read as itself, not interned).
fn is_int(d: Dim) -> bool {
    DimKind::of_dim(d) == Some(DimKind::Int)
}

/// What a scan reads of each row after its dimensions: the measures'
/// totals, or the histograms.
pub(super) trait Value: Default + Clone {
    fn columns() -> &'static [&'static str];
    /// The value selected from column `at` on.
    fn read(r: &Row<'_>, at: usize) -> rusqlite::Result<Self>;
    fn add(&mut self, other: &Self);
    /// Whether it counts anything (a group of none is left out).
    fn counts(&self) -> bool;
}

impl Value for UsageTotals {
    fn columns() -> &'static [&'static str] {
        &SUM_COLUMNS
    }

    fn read(r: &Row<'_>, at: usize) -> rusqlite::Result<Self> {
        totals(r, at)
    }

    fn add(&mut self, other: &Self) {
        UsageTotals::add(self, other);
    }

    fn counts(&self) -> bool {
        // Every rollup row counts at least one request.
        self.requests > 0
    }
}

impl Value for Latencies {
    fn columns() -> &'static [&'static str] {
        &HIST_COLUMNS
    }

    fn read(r: &Row<'_>, at: usize) -> rusqlite::Result<Self> {
        let mut l = Latencies::default();
        for (i, h) in HISTOGRAMS.iter().enumerate() {
            *(h.get_mut)(&mut l) = histogram::read(r.get_ref(at + i)?);
        }
        Ok(l)
    }

    fn add(&mut self, other: &Self) {
        self.merge(other);
    }

    fn counts(&self) -> bool {
        !self.latency.is_empty() || !self.ttft.is_empty()
    }
}

/// The sums of [`SUM_COLUMNS`] selected from column `at` on (a NULL, as
/// from a `SUM` over no rows, counts as 0). Read by reference: this runs
/// for every row an analytics query reads.
fn totals(r: &Row<'_>, at: usize) -> rusqlite::Result<UsageTotals> {
    let mut v = [0_i64; crate::rollup::measure::MEASURE_COUNT];
    for (i, slot) in v.iter_mut().enumerate() {
        *slot = match r.get_ref(at + i)? {
            ValueRef::Integer(n) => n,
            ValueRef::Null => 0,
            other => {
                return Err(rusqlite::Error::InvalidColumnType(
                    at + i,
                    "sum".into(),
                    other.data_type(),
                ));
            }
        };
    }
    Ok(crate::rollup::measure::totals(v))
}

/// Sums the rows `scan` reads within the scope of `q`, grouped by
/// `q.group_by`; buckets come back as 15-minute buckets, or, given the
/// caller's `periods`, as the start of the period each row lies in (no row
/// may straddle one: the planner sees to it).
pub(super) fn run<V: Value>(
    c: &Connection,
    q: &UsageQuery,
    scan: &Scan,
    periods: Option<&Periods>,
) -> rusqlite::Result<Vec<(Vec<DimValue>, V)>> {
    let (table, phase, scale) = (&scan.table, scan.phase, scan.grain().quarters());
    let blob = |u: &uuid::Uuid| SqlValue::Blob(u.as_bytes().to_vec());
    let terms = super::scope_terms(&q.scope);
    let mut filter = terms
        .iter()
        .map(|(column, _)| format!("{column} = ?"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let mut values: Vec<SqlValue> = terms.iter().map(|(_, id)| blob(id)).collect();
    if let Some(phase) = phase {
        filter.push_str(" AND phase = ?");
        values.push(SqlValue::Integer(phase));
    }
    if let Some(level) = scan.level {
        filter.push_str(" AND level = ?");
        values.push(SqlValue::Integer(level));
    }
    // The 15-minute bucket a local day starts at is `phase` minutes early.
    let shift = phase.map_or(0, |p| p / 15);
    let dims: Vec<&str> = q.group_by.iter().map(|d| column(*d)).collect();
    // One indexed range scan per range: an OR of ranges would make SQLite
    // scan every row of the scope. Rows are summed here rather than with
    // GROUP BY: SQLite would sort them all first, which costs several
    // times the scan when there are many groups.
    let mut cols: Vec<&str> = dims.clone();
    cols.extend(V::columns());
    let sql = format!(
        "SELECT {} FROM {table} WHERE {filter} AND bucket >= ? AND bucket < ?",
        cols.join(", ")
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let n = q.group_by.len();
    if n > MAX_DIMS {
        // Only by naming a dimension twice.
        return Err(rusqlite::Error::InvalidQuery);
    }
    let mut groups = Groups::<V>::default();
    for range in &scan.ranges {
        let mut params = values.clone();
        params.push(SqlValue::Integer(range.from));
        params.push(SqlValue::Integer(range.to));
        let mut rows = stmt.query(params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            let mut key = [0_u64; MAX_DIMS];
            for (i, d) in q.group_by.iter().enumerate() {
                key[i] = match d {
                    Dim::Bucket => {
                        let quarter = r.get::<_, i64>(i)? * scale - shift;
                        periods.map_or(quarter, |p| p.start_of(quarter)) as u64
                    }
                    d if is_int(*d) => r.get::<_, i64>(i)? as u64,
                    _ => groups.intern(r.get_ref(i)?),
                };
            }
            groups.add(key, V::read(r, n)?);
        }
    }
    Ok(groups.into_rows(&q.group_by))
}

/// Most dimensions a query groups by (every [`Dim`] once).
const MAX_DIMS: usize = 13;

/// Sums per group, keyed by interned values so that a row costs no allocation.
struct Groups<V> {
    ids: FxHashMap<Vec<u8>, u64>,
    values: Vec<Vec<u8>>,
    /// Each group's index in `sums`: small entries keep growing the map cheap.
    index: FxHashMap<[u64; MAX_DIMS], u32>,
    sums: Vec<([u64; MAX_DIMS], V)>,
}

impl<V> Default for Groups<V> {
    fn default() -> Self {
        Groups {
            ids: FxHashMap::default(),
            values: Vec::new(),
            index: FxHashMap::default(),
            sums: Vec::new(),
        }
    }
}

impl<V: Value> Groups<V> {
    fn intern(&mut self, v: ValueRef<'_>) -> u64 {
        let bytes: &[u8] = match v {
            ValueRef::Text(b) | ValueRef::Blob(b) => b,
            _ => &[],
        };
        if let Some(id) = self.ids.get(bytes) {
            return *id;
        }
        let id = self.values.len() as u64;
        self.values.push(bytes.to_vec());
        self.ids.insert(bytes.to_vec(), id);
        id
    }

    fn add(&mut self, key: [u64; MAX_DIMS], t: V) {
        if t.counts() {
            let next = u32::try_from(self.sums.len()).unwrap_or(u32::MAX);
            let at = *self.index.entry(key).or_insert(next);
            match self.sums.get_mut(at as usize) {
                Some((_, sum)) => sum.add(&t),
                None => self.sums.push((key, t)),
            }
        }
    }

    fn into_rows(self, dims: &[Dim]) -> Vec<(Vec<DimValue>, V)> {
        // Each interned value becomes a text or an id once; rows clone it.
        let texts: Vec<DimValue> = self
            .values
            .iter()
            .map(|v| {
                let s = String::from_utf8_lossy(v);
                DimValue::Text((!s.is_empty()).then(|| s.into_owned()))
            })
            .collect();
        let ids: Vec<DimValue> = self
            .values
            .iter()
            .map(|v| DimValue::Id(uuid::Uuid::from_slice(v).unwrap_or_default()))
            .collect();
        let none = DimValue::Text(None);
        let mut rows = Vec::with_capacity(self.sums.len());
        for (key, t) in self.sums {
            let values = dims
                .iter()
                .zip(key)
                .map(|(d, k)| match d {
                    Dim::Bucket => DimValue::Bucket(k as i64),
                    Dim::ApiKey | Dim::Member | Dim::Project => ids.get(k as usize).unwrap_or(&none).clone(),
                    d if is_int(*d) => DimValue::Int(k as i64),
                    _ => texts.get(k as usize).unwrap_or(&none).clone(),
                })
                .collect();
            rows.push((values, t));
        }
        rows
    }
}

/// Rows read in parts, each with distinct keys, summed per key (a single
/// non-empty part is returned as it is).
pub(super) fn merge_rows<V: Value>(mut parts: Vec<Vec<(Vec<DimValue>, V)>>) -> Vec<(Vec<DimValue>, V)> {
    parts.retain(|p| !p.is_empty());
    if parts.len() <= 1 {
        return parts.pop().unwrap_or_default();
    }
    let n = parts.iter().map(Vec::len).sum();
    let mut merged: FxHashMap<Vec<DimValue>, V> = FxHashMap::with_capacity_and_hasher(n, Default::default());
    for (key, t) in parts.into_iter().flatten() {
        merged.entry(key).or_default().add(&t);
    }
    merged.into_iter().collect()
}
