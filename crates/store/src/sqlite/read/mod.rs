//! The read side of the embedded store's analytics: plan a query from the
//! spec and what the store keeps (`plan.rs`), read each planned scan
//! (`scan.rs`), and add the raw events the rollups do not count yet
//! (`tail.rs`). Nothing here writes, and nothing here imports the ingest
//! side.

mod plan;
mod scan;
mod tail;

use rusqlite::Connection;
use tally_core::UsageTotals;
use tally_core::latency::Latencies;

use super::state;
use super::sums::Sums;
use crate::rollup::dim::{scope_cols, scope_ids};
use crate::rollup::period::Periods;
use crate::{Dim, DimValue, Scope, UsageQuery};

/// The columns `scope` fixes, with the id each must equal.
fn scope_terms(scope: &Scope) -> Vec<(&'static str, uuid::Uuid)> {
    scope_cols(scope)
        .iter()
        .map(|c| c.name())
        .zip(scope_ids(scope))
        .collect()
}

/// Answers `q`: the rollups up to their watermark, plus the raw events
/// after it. Whichever file's snapshot is older, each event is counted
/// once: the rollups count exactly the events up to the watermark, and
/// every event committed later has a higher rowid.
pub(super) fn usage(c: &Connection, q: &UsageQuery) -> rusqlite::Result<Vec<(Vec<DimValue>, UsageTotals)>> {
    answer(c, q, Sums::usage)
}

/// The histograms of the rows [`usage`] answers, read the same way.
pub(super) fn latencies(c: &Connection, q: &UsageQuery) -> rusqlite::Result<Vec<(Vec<DimValue>, Latencies)>> {
    answer(c, q, Sums::latencies)
}

/// Rows of one group each.
type Rows<V> = Vec<(Vec<DimValue>, V)>;

fn answer<V: scan::Value>(
    c: &Connection,
    q: &UsageQuery,
    tail_rows: fn(&Sums, &UsageQuery) -> Rows<V>,
) -> rusqlite::Result<Rows<V>> {
    let tx = c.unchecked_transaction()?;
    let watermark = state::watermark(&tx)?;
    let phases = state::phases(&tx)?;
    let kept = plan::Kept {
        open_day: state::open_day(&tx)?,
        phases: &phases,
        spans_open: state::spans_open(&tx)?,
    };
    let periods = (q.group_by.contains(&Dim::Bucket) && !q.cuts.is_empty())
        .then(|| Periods::new(q.from_bucket, q.to_bucket, &q.cuts));
    let mut parts = Vec::new();
    for s in plan::plan(q, kept) {
        parts.push(scan::run(&tx, q, &s, periods.as_ref())?);
    }
    let mut tail = Sums::default();
    tail::add(&tx, watermark, q, &mut tail)?;
    parts.push(tail_rows(&tail, q));
    Ok(scan::merge_rows(parts))
}
