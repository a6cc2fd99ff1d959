//! The open day (rollups migration 0002). The `*_day` table of a shape
//! counts the UTC days before `rollup_state.open_day` only, each exactly as
//! the sum of that day's rows in the shape's `*_hour` table; from the open
//! day on, the hour table alone counts them and the day table has no rows.
//! A query reads whole days before the open day from the day table and the
//! days after from the hours (`shapes::query_utc`).
//!
//! Live traffic lands in one UTC day, and each write of held sums rewrites
//! the same rows of that day again and again: without an open day it
//! writes every row twice, once by hour and once by day. With it, an event
//! of a day before the open day (late, or a backfill) still goes to both
//! tables; an event of the open day or after goes to the hours, and the
//! leading key columns of its rows (an API key, a project, an organization,
//! a member) are noted in `open_day_leads`. When a write brings a day after
//! the open day, the days in between are rolled into the day tables from
//! their hours, read by those leads, and the newest day written is open.

use rusqlite::{Connection, Transaction};
use rustc_hash::FxHashSet;

use super::rollups::SUM_COLUMNS;
use super::shapes::{HOURS_PER_DAY, SHAPES, Shape};

/// The leading key columns of a shape's row, as [`Shape::lead`] gives them.
pub(super) type Lead = [u128; 2];

/// The first day the day tables do not count.
pub(super) fn get(c: &Connection) -> rusqlite::Result<i64> {
    c.prepare_cached("SELECT open_day FROM rollup_state")?
        .query_row([], |r| r.get(0))
}

/// Empties the day tables' bookkeeping along with the tables (a recount).
pub(super) fn clear(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM open_day_leads", [])?;
    tx.execute("UPDATE rollup_state SET open_day = 0", [])?;
    Ok(())
}

/// Sets the open day of rollup tables just filled with every day complete
/// (copied from an older file): the day after the newest.
pub(super) fn after_newest(tx: &Transaction<'_>, schema: &str) -> rusqlite::Result<()> {
    tx.execute(
        &format!(
            "UPDATE {schema}.rollup_state SET open_day =
                (SELECT COALESCE(MAX(bucket) + 1, 0) FROM {schema}.rollup_org_member_day)"
        ),
        [],
    )?;
    Ok(())
}

/// Notes the leads of `shape`'s hour rows written for days from the open day on.
pub(super) fn note(tx: &Transaction<'_>, shape: &Shape, leads: &FxHashSet<(i64, Lead)>) -> rusqlite::Result<()> {
    if leads.is_empty() {
        // Also what the tables of a main file of schema version 6 get, which has no such table.
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

/// Rolls the days from the open day `open` up to `newest` (excluded) of
/// every shape from its hours into its day table; `newest` is open after.
pub(super) fn roll(tx: &Transaction<'_>, open: i64, newest: i64) -> rusqlite::Result<()> {
    let sums: Vec<String> = SUM_COLUMNS.iter().map(|c| format!("SUM({c})")).collect();
    let updates: Vec<String> = SUM_COLUMNS
        .iter()
        .map(|c| format!("{c} = {c} + excluded.{c}"))
        .collect();
    for shape in SHAPES {
        let leads: Vec<Vec<u8>> = tx
            .prepare_cached("SELECT DISTINCT lead FROM open_day_leads WHERE shape = ?1 AND day < ?2")?
            .query_map((shape.table, newest), |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let cols: Vec<&str> = shape.cols.iter().map(|c| c.name()).collect();
        let cols = cols.join(", ");
        let filter: Vec<String> = shape.cols[..shape.before_bucket]
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{} = ?{}", c.name(), i + 3))
            .collect();
        // Hours of days from the open day on are at or after 1970: `/` floors.
        let sql = format!(
            "INSERT INTO {t}_day ({cols}, bucket, {sum_cols})
             SELECT {cols}, bucket / {HOURS_PER_DAY}, {sums} FROM {t}_hour
             WHERE bucket >= ?1 AND bucket < ?2 AND {filter}
             GROUP BY {cols}, bucket / {HOURS_PER_DAY}
             ON CONFLICT DO UPDATE SET {updates}",
            t = shape.table,
            sum_cols = SUM_COLUMNS.join(", "),
            sums = sums.join(", "),
            filter = filter.join(" AND "),
            updates = updates.join(", "),
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        for lead in leads {
            stmt.raw_bind_parameter(1, open * HOURS_PER_DAY)?;
            stmt.raw_bind_parameter(2, newest * HOURS_PER_DAY)?;
            for (i, id) in lead.chunks(16).enumerate() {
                stmt.raw_bind_parameter(i + 3, id)?;
            }
            stmt.raw_execute()?;
        }
    }
    tx.execute("DELETE FROM open_day_leads WHERE day < ?1", [newest])?;
    tx.execute("UPDATE rollup_state SET open_day = ?1", [newest])?;
    Ok(())
}

/// Half-open ranges of buckets.
type Ranges = Vec<(i64, i64)>;

/// Splits whole-day `days` ranges at the open day `open`: the days before
/// it stay days, the others become hour ranges.
pub(super) fn split(days: Ranges, open: i64) -> (Ranges, Ranges) {
    let mut closed = Vec::new();
    let mut hours = Vec::new();
    for (a, b) in days {
        if a < open {
            closed.push((a, b.min(open)));
        }
        if b > open {
            hours.push((a.max(open) * HOURS_PER_DAY, b * HOURS_PER_DAY));
        }
    }
    (closed, hours)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn days_from_the_open_day_on_are_read_by_hour() {
        assert_eq!(split(vec![(1, 5)], 10), (vec![(1, 5)], vec![]));
        assert_eq!(split(vec![(1, 5)], 3), (vec![(1, 3)], vec![(72, 120)]));
        assert_eq!(split(vec![(1, 5)], 1), (vec![], vec![(24, 120)]));
        assert_eq!(split(vec![(0, 2), (4, 6)], 5), (vec![(0, 2), (4, 5)], vec![(120, 144)]));
    }
}
