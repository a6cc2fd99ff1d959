//! Rollups: counted from the raw events by their own writer (`flusher.rs`),
//! recounted on demand, and read by every analytics query together with the
//! raw events they do not count yet.

use async_trait::async_trait;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, Row, Transaction, params_from_iter};
use rustc_hash::FxHashMap;
use tally_core::UsageTotals;

use super::SqliteStore;
use super::sums::Keyed;
pub(super) use crate::rollup::measure::{COLUMNS as SUM_COLUMNS, values as sum_values};
use crate::{AnalyticsStore, Dim, DimValue, StoreResult, UsageQuery};
use uuid::Uuid;

/// Adds summed rows to `usage_rollups`, in its key order (call inside a transaction).
pub(super) fn add_rows(tx: &Transaction<'_>, keyed: &Keyed<'_>) -> rusqlite::Result<()> {
    let placeholders: Vec<String> = (1..=9 + SUM_COLUMNS.len()).map(|i| format!("?{i}")).collect();
    let updates: Vec<String> = SUM_COLUMNS.iter().map(|c| super::saturate::add(c)).collect();
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO usage_rollups (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app,
            project_id, created_by, {})
         VALUES ({})
         ON CONFLICT (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app) DO UPDATE SET {}",
        SUM_COLUMNS.join(", "),
        placeholders.join(", "),
        updates.join(", ")
    ))?;
    for (k, t) in &keyed.rows {
        let id = Uuid::from_u128;
        stmt.raw_bind_parameter(1, id(k.org))?;
        stmt.raw_bind_parameter(2, k.bucket)?;
        stmt.raw_bind_parameter(3, id(k.api_key))?;
        stmt.raw_bind_parameter(4, keyed.text(k.provider))?;
        stmt.raw_bind_parameter(5, keyed.text(k.routed))?;
        stmt.raw_bind_parameter(6, keyed.text(k.canonical))?;
        stmt.raw_bind_parameter(7, keyed.text(k.app))?;
        stmt.raw_bind_parameter(8, id(k.project))?;
        stmt.raw_bind_parameter(9, id(k.created_by))?;
        for (i, v) in sum_values(t).into_iter().enumerate() {
            stmt.raw_bind_parameter(10 + i, v)?;
        }
        stmt.raw_execute()?;
    }
    Ok(())
}

use crate::rollup::dim::column;

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

/// Sums `table` over the scope of `q`, the bucket `ranges` (in the table's
/// own units), grouped by `q.group_by`; buckets come back as 15-minute
/// buckets (`scale` of them per bucket of the table), or, given the
/// boundaries of the caller's `periods`, as the start of the period each
/// row lies in (no row may straddle one).
pub(super) fn run(
    c: &Connection,
    table: &str,
    q: &UsageQuery,
    ranges: &[(i64, i64)],
    scale: i64,
    periods: Option<&[i64]>,
) -> rusqlite::Result<Vec<(Vec<DimValue>, UsageTotals)>> {
    run_phase(c, table, q, ranges, scale, None, periods)
}

/// [`run`] over the rows of one `phase` (minutes east of UTC) of a
/// local-day table: its buckets start `phase` minutes before UTC midnight.
pub(super) fn run_phase(
    c: &Connection,
    table: &str,
    q: &UsageQuery,
    ranges: &[(i64, i64)],
    scale: i64,
    phase: Option<i64>,
    periods: Option<&[i64]>,
) -> rusqlite::Result<Vec<(Vec<DimValue>, UsageTotals)>> {
    let blob = |u: &uuid::Uuid| SqlValue::Blob(u.as_bytes().to_vec());
    let terms = super::shapes::scope_terms(&q.scope);
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
    // The 15-minute bucket a local day starts at is `phase` minutes early.
    let shift = phase.map_or(0, |p| p / 15);
    let dims: Vec<&str> = q.group_by.iter().map(|d| column(*d)).collect();
    // One indexed range scan per range: an OR of ranges would make SQLite
    // scan every row of the scope. Rows are summed here rather than with
    // GROUP BY: SQLite would sort them all first, which costs several
    // times the scan when there are many groups.
    let mut cols: Vec<&str> = dims.clone();
    cols.extend(SUM_COLUMNS);
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
    let mut groups = Groups::default();
    for (a, b) in ranges {
        let mut params = values.clone();
        params.push(SqlValue::Integer(*a));
        params.push(SqlValue::Integer(*b));
        let mut rows = stmt.query(params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            let mut key = [0_u64; MAX_DIMS];
            for (i, d) in q.group_by.iter().enumerate() {
                key[i] = match d {
                    Dim::Bucket => {
                        let quarter = r.get::<_, i64>(i)? * scale - shift;
                        periods.map_or(quarter, |p| super::shapes::period_start(p, quarter)) as u64
                    }
                    _ => groups.intern(r.get_ref(i)?),
                };
            }
            groups.add(key, totals(r, n)?);
        }
    }
    Ok(groups.into_rows(&q.group_by))
}

/// Most dimensions a query groups by (every [`Dim`] once).
const MAX_DIMS: usize = 8;

/// Sums per group, keyed by interned values so that a row costs no allocation.
#[derive(Default)]
struct Groups {
    ids: FxHashMap<Vec<u8>, u64>,
    values: Vec<Vec<u8>>,
    /// Each group's index in `sums`: small entries keep growing the map cheap.
    index: FxHashMap<[u64; MAX_DIMS], u32>,
    sums: Vec<([u64; MAX_DIMS], UsageTotals)>,
}

impl Groups {
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

    fn add(&mut self, key: [u64; MAX_DIMS], t: UsageTotals) {
        // Every rollup row counts at least one request.
        if t.requests > 0 {
            let next = u32::try_from(self.sums.len()).unwrap_or(u32::MAX);
            let at = *self.index.entry(key).or_insert(next);
            match self.sums.get_mut(at as usize) {
                Some((_, sum)) => sum.add(&t),
                None => self.sums.push((key, t)),
            }
        }
    }

    fn into_rows(self, dims: &[Dim]) -> Vec<(Vec<DimValue>, UsageTotals)> {
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
                    _ => texts.get(k as usize).unwrap_or(&none).clone(),
                })
                .collect();
            rows.push((values, t));
        }
        rows
    }
}

impl SqliteStore {
    /// Raw events this store's rollup writer skipped since it opened because
    /// it could not read them (each logged as a warning); the writer goes on.
    pub fn rollup_skipped(&self) -> u64 {
        self.inner.rollups.skipped()
    }

    /// Committed raw events the rollups do not count yet (for benchmarks
    /// and tools: a backlog that keeps growing means the rollup writer
    /// cannot keep up with the inserts).
    pub async fn rollup_backlog(&self) -> StoreResult<u64> {
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let watermark = super::rollup_file::watermark(&tx)?;
            let n: i64 = tx.query_row(
                "SELECT COUNT(*) FROM activity_events WHERE rowid > ?1",
                [watermark],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }
}

#[async_trait]
impl AnalyticsStore for SqliteStore {
    async fn usage(&self, q: UsageQuery) -> StoreResult<Vec<(Vec<DimValue>, UsageTotals)>> {
        self.read(move |c| {
            // The rollups up to their watermark, plus the raw events after it.
            // Whichever file's snapshot is older, each event is counted once:
            // the rollups count exactly the events up to the watermark, and
            // every event committed later has a higher rowid.
            let tx = c.unchecked_transaction()?;
            let watermark = super::rollup_file::watermark(&tx)?;
            let rows = super::shapes::query(&tx, &q)?;
            let mut tail = super::sums::Sums::default();
            super::activity::add_tail(&tx, watermark, &q, &mut tail)?;
            Ok(super::shapes::merge_rows(vec![rows, tail.usage(&q)]))
        })
        .await
    }

    async fn rebuild_rollups(&self) -> StoreResult<u64> {
        self.on_rollups(|rollups| Ok(rollups.recount()?)).await
    }

    async fn set_local_day_offsets(&self, offsets: Vec<i64>) -> StoreResult<bool> {
        let mut phases: Vec<i64> = offsets
            .into_iter()
            .filter(|p| super::local_days::valid_phase(*p))
            .collect();
        phases.sort_unstable();
        phases.dedup();
        self.on_rollups(move |rollups| {
            rollups.with_rollups(|c| {
                let tx = c.transaction()?;
                super::local_days::set_phases(&tx, &phases)?;
                tx.commit()?;
                Ok(true)
            })
        })
        .await
    }
}
