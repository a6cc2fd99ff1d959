//! The 15-minute rows (`usage_rollups`), every dimension: what every other
//! rollup is derived from.

use rusqlite::Transaction;

use super::values::{bind_values, value_columns, value_updates};
use crate::rollup::dim::BUCKET;
use crate::rollup::grain::Grain;
use crate::rollup::shape::QUARTERS;
use crate::sqlite::sums::Keyed;

/// Adds summed rows to `usage_rollups`, in its key order (call inside a transaction).
pub(super) fn add_rows(tx: &Transaction<'_>, keyed: &Keyed<'_>) -> rusqlite::Result<()> {
    // Parameters: every column of `QUARTERS` in its order, the bucket, the sums.
    let mut cols: Vec<&str> = QUARTERS.cols.iter().map(|c| c.name()).collect();
    cols.push(BUCKET);
    let bucket_at = cols.len();
    let values = value_columns();
    let placeholders: Vec<String> = (1..=cols.len() + values.len()).map(|i| format!("?{i}")).collect();
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO usage_rollups ({}, {})
         VALUES ({})
         ON CONFLICT ({}) DO UPDATE SET {}",
        cols.join(", "),
        values.join(", "),
        placeholders.join(", "),
        QUARTERS.primary_key(Grain::Quarter).join(", "),
        value_updates().join(", ")
    ))?;
    for (k, t) in &keyed.rows {
        for (i, c) in QUARTERS.cols.iter().enumerate() {
            super::shapes::bind_key(&mut stmt, i + 1, *c, super::shapes::of_key(*c, k), keyed)?;
        }
        stmt.raw_bind_parameter(bucket_at, k.bucket)?;
        bind_values(&mut stmt, bucket_at + 1, t)?;
        stmt.raw_execute()?;
    }
    Ok(())
}
