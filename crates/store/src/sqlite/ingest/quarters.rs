//! The 15-minute rows (`usage_rollups`), every dimension: what every other
//! rollup is derived from.

use rusqlite::Transaction;

use crate::rollup::dim::BUCKET;
use crate::rollup::grain::Grain;
use crate::rollup::measure::{COLUMNS as SUM_COLUMNS, values as sum_values};
use crate::rollup::shape::QUARTERS;
use crate::sqlite::saturate;
use crate::sqlite::sums::Keyed;

/// Adds summed rows to `usage_rollups`, in its key order (call inside a transaction).
pub(super) fn add_rows(tx: &Transaction<'_>, keyed: &Keyed<'_>) -> rusqlite::Result<()> {
    // Parameters: every column of `QUARTERS` in its order, the bucket, the sums.
    let mut cols: Vec<&str> = QUARTERS.cols.iter().map(|c| c.name()).collect();
    cols.push(BUCKET);
    let bucket_at = cols.len();
    let placeholders: Vec<String> = (1..=cols.len() + SUM_COLUMNS.len()).map(|i| format!("?{i}")).collect();
    let updates: Vec<String> = SUM_COLUMNS.iter().map(|c| saturate::add(c)).collect();
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO usage_rollups ({}, {})
         VALUES ({})
         ON CONFLICT ({}) DO UPDATE SET {}",
        cols.join(", "),
        SUM_COLUMNS.join(", "),
        placeholders.join(", "),
        QUARTERS.primary_key(Grain::Quarter).join(", "),
        updates.join(", ")
    ))?;
    for (k, t) in &keyed.rows {
        for (i, c) in QUARTERS.cols.iter().enumerate() {
            super::shapes::bind_key(&mut stmt, i + 1, *c, super::shapes::of_key(*c, k), keyed)?;
        }
        stmt.raw_bind_parameter(bucket_at, k.bucket)?;
        for (i, v) in sum_values(t).into_iter().enumerate() {
            stmt.raw_bind_parameter(bucket_at + 1 + i, v)?;
        }
        stmt.raw_execute()?;
    }
    Ok(())
}
