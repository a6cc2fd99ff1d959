//! The tail: the raw events after the watermark, which the rollups do not
//! count yet, summed as the rollup writer will sum them.

use rusqlite::Connection;

use crate::UsageQuery;
use crate::sqlite::sums::{COLUMNS, Sums};

/// Adds the raw events after rowid `after` within the scope and range of
/// `q` (the tail the rollups do not count yet) to `sums`.
pub(super) fn add(c: &Connection, after: i64, q: &UsageQuery, sums: &mut Sums) -> rusqlite::Result<()> {
    // Unary `+` keeps SQLite from scanning an index on the other terms
    // (all of an organization's history): the tail is a short rowid range.
    let terms = super::scope_terms(&q.scope);
    let scope = terms
        .iter()
        .enumerate()
        .map(|(i, (column, _))| format!("+{column} = ?{}", 4 + i))
        .collect::<Vec<_>>()
        .join(" AND ");
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {} FROM activity_events
         WHERE rowid > ?1 AND +started_at >= ?2 AND +started_at < ?3 AND {scope}",
        *COLUMNS
    ))?;
    let bucket_ms = |b: i64| b.saturating_mul(tally_core::time::BUCKET_MS);
    stmt.raw_bind_parameter(1, after)?;
    stmt.raw_bind_parameter(2, bucket_ms(q.from_bucket))?;
    stmt.raw_bind_parameter(3, bucket_ms(q.to_bucket))?;
    for (i, (_, id)) in terms.iter().enumerate() {
        stmt.raw_bind_parameter(4 + i, id)?;
    }
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next()? {
        // As the rollup writer does: an event it cannot read is skipped
        // (and reported by the writer), so answers agree before and after.
        if sums.add_row(r).is_err() {
            sums.skipped += 1;
        }
    }
    Ok(())
}
