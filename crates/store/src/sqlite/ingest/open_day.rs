//! The open day (rollups migration 0002). The `*_day` table of a shape is
//! complete for the UTC days before `rollup_state.open_day`: each row is
//! the sum of that day's rows in the shape's `*_hour` table. A query reads
//! whole days before the open day from the day table and the days after
//! by hour (`read/plan.rs`); it never reads a day row from the open
//! day on, so those may be missing or partial.
//!
//! Live traffic lands in one UTC day, and each write of held sums rewrites
//! the same rows of that day again and again: without an open day it
//! writes every row twice, once by hour and once by day. With it, an event
//! of a day before the open day (late, or a backfill) still goes to both
//! tables; an event of the open day or after goes to the hours, and the
//! leading key columns of its rows (an API key, a project, an organization,
//! a member) are noted with its day in `open_day_leads`.
//!
//! Once a later day is written (`rollup_state.newest_day`), the noted days
//! before it are rolled into the day tables from their hours: each write
//! rolls at most [`ROLLS_PER_WRITE`] noted key ranges, so closing a day of
//! millions of hour rows is spread over many writes instead of stalling
//! one. A roll sets each day row to the sum of its hours (it does not add
//! to it), so a key range noted again by a late event is simply rolled
//! again. When no noted range is left before the newest day, that day is
//! the open day.

use rusqlite::{OptionalExtension, Transaction};
use rustc_hash::FxHashSet;

use super::values::{value_columns, value_replacements, value_sums};
use crate::rollup::grain::HOURS_PER_DAY;
use crate::rollup::shape::{SHAPES, Shape};

/// Noted key ranges rolled into the day tables by one write at most.
pub(super) const ROLLS_PER_WRITE: usize = 64;

/// The leading key columns of a shape's row (its first `before_bucket`; unused slots 0).
pub(super) type Lead = [u128; 2];

/// Notes the leads of `shape`'s hour rows written for days from the open day on.
pub(super) fn note(tx: &Transaction<'_>, shape: &Shape, leads: &FxHashSet<(i64, Lead)>) -> rusqlite::Result<()> {
    if leads.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached("INSERT OR IGNORE INTO open_day_leads (shape, day, lead) VALUES (?1, ?2, ?3)")?;
    for (day, lead) in leads {
        stmt.execute((shape.table, day, lead_bytes(shape, lead)))?;
    }
    Ok(())
}

fn lead_bytes(shape: &Shape, lead: &Lead) -> Vec<u8> {
    lead.iter()
        .take(shape.before_bucket)
        .flat_map(|id| id.to_be_bytes())
        .collect()
}

/// After a write made with the open day `open` that brought days up to
/// `newest` (None: no event): rolls up to [`ROLLS_PER_WRITE`] noted key
/// ranges of days before the newest day written, and moves the open day to
/// it once none is left.
pub(super) fn advance(tx: &Transaction<'_>, open: i64, newest: Option<i64>) -> rusqlite::Result<()> {
    let known: i64 = tx
        .prepare_cached("SELECT newest_day FROM rollup_state")?
        .query_row([], |r| r.get(0))?;
    let newest = newest.map_or(known, |n| n.max(known));
    if newest != known {
        tx.prepare_cached("UPDATE rollup_state SET newest_day = ?1")?
            .execute([newest])?;
    }
    if newest <= open {
        return Ok(());
    }
    let due: Vec<(i64, String, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT day, shape, lead FROM open_day_leads WHERE day < ?1 ORDER BY day, shape, lead LIMIT ?2",
        )?
        .query_map((newest, ROLLS_PER_WRITE as i64), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    for (day, table, lead) in &due {
        if let Some(shape) = SHAPES.iter().find(|s| s.table == table) {
            roll(tx, shape, *day, lead)?;
        }
        tx.prepare_cached("DELETE FROM open_day_leads WHERE day = ?1 AND shape = ?2 AND lead = ?3")?
            .execute((day, table, lead))?;
    }
    let left: Option<i64> = tx
        .prepare_cached("SELECT day FROM open_day_leads WHERE day < ?1 LIMIT 1")?
        .query_row([newest], |r| r.get(0))
        .optional()?;
    if left.is_none() {
        tx.prepare_cached("UPDATE rollup_state SET open_day = ?1")?
            .execute([newest])?;
    }
    Ok(())
}

/// Sets the day rows of `shape` for `day` and the key range `lead` to the
/// sums of their hours.
fn roll(tx: &Transaction<'_>, shape: &Shape, day: i64, lead: &[u8]) -> rusqlite::Result<()> {
    let cols: Vec<&str> = shape.cols.iter().map(|c| c.name()).collect();
    let cols = cols.join(", ");
    let (values, sums) = (value_columns(), value_sums());
    let set = value_replacements();
    let filter: Vec<String> = shape.cols[..shape.before_bucket]
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = ?{}", c.name(), i + 4))
        .collect();
    let sql = format!(
        "INSERT INTO {t}_day ({cols}, bucket, {sum_cols})
         SELECT {cols}, ?1, {sums} FROM {t}_hour
         WHERE bucket >= ?2 AND bucket < ?3 AND {filter}
         GROUP BY {cols}
         ON CONFLICT DO UPDATE SET {set}",
        t = shape.table,
        sum_cols = values.join(", "),
        sums = sums.join(", "),
        filter = filter.join(" AND "),
        set = set.join(", "),
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    stmt.raw_bind_parameter(1, day)?;
    stmt.raw_bind_parameter(2, day * HOURS_PER_DAY)?;
    stmt.raw_bind_parameter(3, (day + 1) * HOURS_PER_DAY)?;
    for (i, id) in lead.chunks(16).enumerate() {
        stmt.raw_bind_parameter(i + 4, id)?;
    }
    stmt.raw_execute()?;
    Ok(())
}
