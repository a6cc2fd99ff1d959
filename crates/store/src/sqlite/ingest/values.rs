//! A rollup row's values in SQL: the measures' sums, then the histograms;
//! what every upsert, roll and fill of the rollup writer lists, adds and sums.

use crate::rollup::measure::{COLUMNS as SUM_COLUMNS, HIST_COLUMNS, HISTOGRAMS, RowSums, values as sum_values};
use crate::sqlite::{histogram, saturate};

/// Every value column of a rollup row: the measures, then the histograms.
pub(super) fn value_columns() -> Vec<&'static str> {
    SUM_COLUMNS.iter().chain(&HIST_COLUMNS).copied().collect()
}

/// The `SET` terms of an upsert adding a row's values to the stored ones.
pub(super) fn value_updates() -> Vec<String> {
    let sums = SUM_COLUMNS.iter().map(|c| saturate::add(c));
    sums.chain(HIST_COLUMNS.iter().map(|c| histogram::add(c))).collect()
}

/// The `SET` terms of an upsert replacing the stored values with the row's
/// (a row recomputed whole: a day from its hours, a span from its halves).
pub(super) fn value_replacements() -> Vec<String> {
    value_columns().iter().map(|c| format!("{c} = excluded.{c}")).collect()
}

/// Each value column summed over a group's rows, as [`value_columns`] lists them.
pub(super) fn value_sums() -> Vec<String> {
    let sums = SUM_COLUMNS.iter().map(|c| saturate::sum(c));
    sums.chain(HIST_COLUMNS.iter().map(|c| histogram::sum(c))).collect()
}

/// Binds `v`'s values, as [`value_columns`] lists them, from parameter `at` on.
pub(super) fn bind_values(stmt: &mut rusqlite::CachedStatement<'_>, at: usize, v: &RowSums) -> rusqlite::Result<()> {
    let sums = sum_values(&v.totals);
    for (i, n) in sums.iter().enumerate() {
        stmt.raw_bind_parameter(at + i, n)?;
    }
    for (i, h) in HISTOGRAMS.iter().enumerate() {
        stmt.raw_bind_parameter(at + sums.len() + i, histogram::stored((h.get)(&v.latencies)))?;
    }
    Ok(())
}
