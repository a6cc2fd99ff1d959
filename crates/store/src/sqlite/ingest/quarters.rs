//! The 15-minute rows (`usage_rollups`), every dimension: what every other
//! rollup is derived from.

use rusqlite::Transaction;
use uuid::Uuid;

use crate::rollup::measure::{COLUMNS as SUM_COLUMNS, values as sum_values};
use crate::sqlite::saturate;
use crate::sqlite::sums::Keyed;

/// Adds summed rows to `usage_rollups`, in its key order (call inside a transaction).
pub(super) fn add_rows(tx: &Transaction<'_>, keyed: &Keyed<'_>) -> rusqlite::Result<()> {
    let placeholders: Vec<String> = (1..=9 + SUM_COLUMNS.len()).map(|i| format!("?{i}")).collect();
    let updates: Vec<String> = SUM_COLUMNS.iter().map(|c| saturate::add(c)).collect();
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
