//! Spans of days (rollups migration 0006). A shape marked with
//! [`Grain::Span`] is also summed over spans of `1 << level` days, levels 1
//! to [`MAX_SPAN_LEVEL`], each aligned on its length, of UTC days (phase 0)
//! and of the local days of every kept phase; a span's bucket is its first
//! day. A range of whole days then reads a few spans (at most two of each
//! length) and single days at its ends, not every day's rows: what a shape
//! with thousands of rows a day (an end user each) needs for 90 days.
//!
//! A span is complete once every day in it ended before the start of UTC
//! day `rollup_state.spans_open`; only complete spans exist and are read.
//! The day rows of such days only change by events that come late, and
//! those are added to the complete spans holding their day in the same
//! write ([`spans_of`]). When the open day moves (`open_day.rs`), the spans
//! that complete are computed from the days or half-spans they are made of
//! ([`catch_up`]), shortest first, and `spans_open` follows the open day.

use std::hash::Hash;

use rusqlite::Transaction;
use rusqlite::types::Value as SqlValue;
use rustc_hash::FxHashMap;

use super::values::{value_columns, value_replacements, value_sums};
use crate::rollup::grain::{Grain, MAX_SPAN_LEVEL, days_ended_by};
use crate::rollup::measure::RowSums;
use crate::rollup::shape::{SHAPES, Shape};
use crate::sqlite::state;

/// Rows keyed by a shape's key and a bucket.
type Rows<K> = FxHashMap<(K, i64), RowSums>;

/// The spans (by level) that day rows `days` of `phase` add to: each day's
/// sums go to every complete span holding it. Empty for a shape without spans.
pub(super) fn spans_of<K: Copy + Eq + Hash>(
    tx: &Transaction<'_>,
    shape: &Shape,
    phase: i64,
    days: &Rows<K>,
) -> rusqlite::Result<Vec<(i64, Rows<K>)>> {
    if !shape.spans() || days.is_empty() {
        return Ok(Vec::new());
    }
    let end = days_ended_by(state::spans_open(tx)?, phase);
    let mut out = Vec::new();
    for level in 1..=MAX_SPAN_LEVEL {
        let len = 1_i64 << level;
        let mut spans: Rows<K> = FxHashMap::default();
        for ((key, day), t) in days {
            let start = day.div_euclid(len) * len;
            if start + len <= end {
                spans.entry((*key, start)).or_default().add(t);
            }
        }
        // A longer span holding a day ends later: none is complete either.
        if spans.is_empty() {
            break;
        }
        out.push((level, spans));
    }
    Ok(out)
}

/// Computes the spans that completed since the last write (the open day
/// moved past their end) and moves `spans_open` to the open day.
pub(in crate::sqlite) fn catch_up(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let (from, to) = (state::spans_open(tx)?, state::open_day(tx)?);
    if to == from {
        return Ok(());
    }
    let phases: Vec<i64> = std::iter::once(0).chain(state::phases(tx)?).collect();
    for shape in SHAPES.iter().filter(|s| s.spans()) {
        for &phase in &phases {
            complete(tx, shape, phase, from.min(to), to)?;
        }
    }
    tx.prepare_cached("UPDATE rollup_state SET spans_open = ?1")?
        .execute([to])?;
    Ok(())
}

/// The table a span of `level` of `phase` is summed from, and the
/// conditions (on top of the lead's and the buckets') that pick its rows.
fn source(shape: &Shape, phase: i64, level: i64) -> (String, Vec<(&'static str, i64)>) {
    match (level, phase) {
        (1, 0) => (shape.table_of(Grain::UtcDay), Vec::new()),
        (1, p) => (shape.table_of(Grain::LocalDay), vec![("phase", p)]),
        (l, p) => (shape.table_of(Grain::Span), vec![("phase", p), ("level", l - 1)]),
    }
}

/// Computes the spans of `phase` that end after the days ended by the
/// start of UTC day `from` and by the start of `to`, from their halves
/// (level 1: from the days). Returns the rows written.
pub(in crate::sqlite) fn complete(
    tx: &Transaction<'_>,
    shape: &Shape,
    phase: i64,
    from: i64,
    to: i64,
) -> rusqlite::Result<u64> {
    let (done, end) = (days_ended_by(from, phase).max(0), days_ended_by(to, phase));
    let leads = leads(tx, shape, phase)?;
    let cols: Vec<&str> = shape.cols.iter().map(|c| c.name()).collect();
    let cols = cols.join(", ");
    let lead_terms: Vec<String> = shape.cols[..shape.before_bucket]
        .iter()
        .map(|c| format!("{} = ?", c.name()))
        .collect();
    let (values, sums) = (value_columns(), value_sums());
    let set = value_replacements();
    let mut rows = 0;
    for level in 1..=MAX_SPAN_LEVEL {
        let len = 1_i64 << level;
        // Spans newly complete: ending after `done` and by `end`.
        let first = (done - len).div_euclid(len) * len + len;
        let last_end = end.div_euclid(len) * len;
        if first + len > last_end {
            // A longer span ending there would hold one of this length.
            break;
        }
        let (table, fixed) = source(shape, phase, level);
        let mut terms = lead_terms.clone();
        terms.extend(fixed.iter().map(|(c, _)| format!("{c} = ?")));
        let sql = format!(
            "INSERT INTO {span} ({cols}, phase, level, bucket, {vals})
             SELECT {cols}, {phase}, {level}, bucket - bucket % {len}, {sums} FROM {table}
             WHERE {terms} AND bucket >= ? AND bucket < ?
             GROUP BY {cols}, bucket - bucket % {len}
             ON CONFLICT DO UPDATE SET {set}",
            span = shape.table_of(Grain::Span),
            vals = values.join(", "),
            sums = sums.join(", "),
            terms = terms.join(" AND "),
            set = set.join(", "),
        );
        let mut stmt = tx.prepare(&sql)?;
        for lead in &leads {
            let mut params: Vec<SqlValue> = lead.clone();
            params.extend(fixed.iter().map(|(_, v)| SqlValue::Integer(*v)));
            params.push(SqlValue::Integer(first));
            params.push(SqlValue::Integer(last_end));
            rows += stmt.execute(rusqlite::params_from_iter(params))? as u64;
        }
    }
    Ok(rows)
}

/// The distinct leading key columns of the shape's rows of `phase`'s days,
/// found by seeking the primary key from one to the next.
fn leads(tx: &Transaction<'_>, shape: &Shape, phase: i64) -> rusqlite::Result<Vec<Vec<SqlValue>>> {
    let (table, _) = source(shape, phase, 1);
    let names: Vec<&str> = shape.cols[..shape.before_bucket].iter().map(|c| c.name()).collect();
    let list = names.join(", ");
    let marks = vec!["?"; names.len()].join(", ");
    let first = format!("SELECT {list} FROM {table} ORDER BY {list} LIMIT 1");
    let next = format!("SELECT {list} FROM {table} WHERE ({list}) > ({marks}) ORDER BY {list} LIMIT 1");
    let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Vec<SqlValue>> {
        (0..names.len()).map(|i| r.get::<_, SqlValue>(i)).collect()
    };
    let mut out: Vec<Vec<SqlValue>> = Vec::new();
    let mut found: Option<Vec<SqlValue>> = tx.prepare(&first)?.query_map([], read)?.next().transpose()?;
    let mut stmt = tx.prepare(&next)?;
    while let Some(lead) = found {
        found = stmt
            .query_map(rusqlite::params_from_iter(lead.iter()), read)?
            .next()
            .transpose()?;
        out.push(lead);
    }
    Ok(out)
}

/// Deletes the spans of a phase no longer kept.
pub(in crate::sqlite) fn clear_phase(tx: &Transaction<'_>, phase: i64) -> rusqlite::Result<()> {
    for shape in SHAPES.iter().filter(|s| s.spans()) {
        tx.execute(
            &format!("DELETE FROM {} WHERE phase = ?1", shape.table_of(Grain::Span)),
            [phase],
        )?;
    }
    Ok(())
}
