//! What the rollups' file says about itself (`rollup_state` and the kept
//! local-day phases), read by both the writer and the queries.

use rusqlite::Connection;

/// What the rollups count: the raw events with rowids up to this.
pub(super) fn watermark(c: &Connection) -> rusqlite::Result<i64> {
    c.prepare_cached("SELECT watermark FROM rollup_state")?
        .query_row([], |r| r.get(0))
}

/// The first UTC day the day tables may not count whole (`ingest/open_day.rs`).
pub(super) fn open_day(c: &Connection) -> rusqlite::Result<i64> {
    c.prepare_cached("SELECT open_day FROM rollup_state")?
        .query_row([], |r| r.get(0))
}

/// The local-day phases kept, ascending (`ingest/local_days.rs`).
pub(super) fn phases(c: &Connection) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = c.prepare_cached("SELECT phase FROM local_day_phases ORDER BY phase")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// The first UTC day the spans of days may not count whole
/// (`ingest/spans.rs`): a span is read only if it ends by this day's start.
pub(super) fn spans_open(c: &Connection) -> rusqlite::Result<i64> {
    c.prepare_cached("SELECT spans_open FROM rollup_state")?
        .query_row([], |r| r.get(0))
}
