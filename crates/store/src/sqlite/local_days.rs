//! Local-day rollups (migration 0005). For each maintained UTC offset (a
//! "phase", in minutes east of UTC) the shapes marked `local_days` are also
//! summed by local day: bucket = floor((unix ms + phase minutes) / day). A
//! period that is made of whole local days of a maintained phase is read as
//! one row per day and group, instead of the hours of every day plus their
//! 15-minute edges; every other period is read the UTC way (`shapes.rs`).
//! A zone with daylight saving time has two phases; its days of transition
//! (23 or 25 hours) are days of neither and are read the UTC way.

use rusqlite::{Connection, Transaction};
use rustc_hash::FxHashMap;
use tally_core::UsageTotals;

use super::rollups::{SUM_COLUMNS, run_phase};
use super::shapes::{SHAPES, Shape, ShapeKey, key_of, merge_rows, period_points, query_utc, upsert};
use super::sums::Keyed;
use crate::{Dim, DimValue, UsageQuery};

const DAY_MS: i64 = 86_400_000;
const QUARTERS_PER_DAY: i64 = 96;

/// The phases maintained, ascending.
pub(super) fn phases(c: &Connection) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = c.prepare_cached("SELECT phase FROM local_day_phases ORDER BY phase")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

fn table(shape: &Shape) -> String {
    shape.table_of(crate::rollup::grain::Grain::LocalDay)
}

fn local_shapes() -> impl Iterator<Item = &'static Shape> {
    SHAPES.iter().filter(|s| s.local_days())
}

/// Whether the 15-minute bucket `quarter` starts a local day of `phase`.
fn starts_day(quarter: i64, phase: i64) -> bool {
    (quarter + phase / 15).rem_euclid(QUARTERS_PER_DAY) == 0
}

/// Adds summed `usage_rollups` rows to the local-day rows of every phase:
/// every phase is a whole number of quarters, so a quarter lies in one local day.
pub(super) fn add_rows(tx: &Transaction<'_>, keyed: &Keyed<'_>) -> rusqlite::Result<()> {
    let phases = phases(tx)?;
    if phases.is_empty() {
        return Ok(());
    }
    for shape in local_shapes() {
        let keys: Vec<_> = keyed.rows.iter().map(|(k, _)| key_of(shape, k)).collect();
        for &phase in &phases {
            let mut days: FxHashMap<ShapeKey, UsageTotals> = FxHashMap::default();
            for ((k, t), key) in keyed.rows.iter().zip(&keys) {
                let day = (k.bucket + phase / 15).div_euclid(QUARTERS_PER_DAY);
                days.entry((*key, day)).or_default().add(t);
            }
            upsert(tx, &table(shape), shape, Some(phase), keyed, days)?;
        }
    }
    Ok(())
}

/// Computes the rows of `phase` from the 15-minute rollups, which are exact
/// for it: every UTC offset in use is a multiple of 15 minutes, so every
/// local day is made of whole 15-minute buckets.
fn fill(tx: &Transaction<'_>, phase: i64) -> rusqlite::Result<u64> {
    let mut rows = 0;
    let sums: Vec<String> = SUM_COLUMNS.iter().map(|c| super::saturate::sum(c)).collect();
    // Buckets are after 1970, so the dividend is positive and `/` floors.
    let day = format!("(bucket * 900000 + {phase} * 60000) / {DAY_MS}");
    for shape in local_shapes() {
        let names: Vec<&str> = shape.cols.iter().map(|c| c.name()).collect();
        let names = names.join(", ");
        rows += tx.execute(
            &format!(
                "INSERT INTO {} ({names}, phase, bucket, {}) SELECT {names}, {phase}, {day}, {} FROM usage_rollups
                 GROUP BY {names}, {day}",
                table(shape),
                SUM_COLUMNS.join(", "),
                sums.join(", ")
            ),
            [],
        )? as u64;
    }
    Ok(rows)
}

fn clear(tx: &Transaction<'_>, phase: i64) -> rusqlite::Result<()> {
    for shape in local_shapes() {
        tx.execute(&format!("DELETE FROM {} WHERE phase = ?1", table(shape)), [phase])?;
    }
    Ok(())
}

/// Makes the maintained phases exactly `wanted`: the rows of phases no longer
/// wanted are deleted, new phases are filled from the 15-minute rollups.
/// Returns the rows written.
pub(super) fn set_phases(tx: &Transaction<'_>, wanted: &[i64]) -> rusqlite::Result<u64> {
    let have = phases(tx)?;
    for gone in have.iter().filter(|p| !wanted.contains(p)) {
        clear(tx, *gone)?;
        tx.execute("DELETE FROM local_day_phases WHERE phase = ?1", [gone])?;
    }
    let mut rows = 0;
    for new in wanted.iter().filter(|p| !have.contains(p)) {
        tx.execute("INSERT INTO local_day_phases (phase) VALUES (?1)", [new])?;
        rows += fill(tx, *new)?;
    }
    Ok(rows)
}

/// Answers `q` (whose shape keeps local days): each period made of whole
/// local days of a maintained phase from that phase's rows, the others the
/// UTC way; consecutive periods of one source are read together.
pub(super) fn query(
    c: &Connection,
    q: &UsageQuery,
    shape: &Shape,
) -> rusqlite::Result<Vec<(Vec<DimValue>, UsageTotals)>> {
    // Grouped by bucket without periods, the caller wants 15-minute detail.
    let periods = !q.group_by.contains(&Dim::Bucket) || !q.cuts.is_empty();
    let phases = if periods { phases(c)? } else { Vec::new() };
    if phases.is_empty() || q.from_bucket >= q.to_bucket {
        return query_utc(c, q);
    }
    let points = period_points(q.from_bucket, q.to_bucket, &q.cuts);
    let mut runs: Vec<(Option<i64>, i64, i64)> = Vec::new();
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        let source = phases.iter().copied().find(|p| starts_day(a, *p) && starts_day(b, *p));
        match runs.last_mut() {
            Some(last) if last.0 == source => last.2 = b,
            _ => runs.push((source, a, b)),
        }
    }
    let mut parts = Vec::with_capacity(runs.len());
    for (source, a, b) in runs {
        let part = match source {
            Some(phase) => {
                let day = |x: i64| (x + phase / 15).div_euclid(QUARTERS_PER_DAY);
                let read = [(day(a), day(b))];
                run_phase(c, &table(shape), q, &read, QUARTERS_PER_DAY, Some(phase), Some(&points))?
            }
            None => {
                // A grouping by periods stays one: `a` keeps its cuts non-empty.
                let cuts = if q.cuts.is_empty() {
                    Vec::new()
                } else {
                    std::iter::once(a)
                        .chain(q.cuts.iter().copied().filter(|x| *x > a && *x < b))
                        .collect()
                };
                let sub = UsageQuery {
                    from_bucket: a,
                    to_bucket: b,
                    cuts,
                    ..q.clone()
                };
                query_utc(c, &sub)?
            }
        };
        parts.push(part);
    }
    // Runs cover distinct periods, but ungrouped by period they sum together.
    Ok(merge_rows(parts))
}

/// The phases of offsets (minutes east of UTC) worth keeping: multiples of
/// 15 minutes other than 0 (UTC days have their own rows), within ±18 hours.
pub(super) fn valid_phase(minutes: i64) -> bool {
    minutes != 0 && minutes % 15 == 0 && (-1080..=1080).contains(&minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_days_start_at_their_offset() {
        // Asia/Kolkata (+05:30): days start at 18:30 UTC, quarter 74 of the UTC day.
        assert!(starts_day(74, 330));
        assert!(starts_day(96 + 74, 330));
        assert!(!starts_day(96, 330));
        // America/New_York in winter (-05:00): days start at 05:00 UTC.
        assert!(starts_day(20, -300));
        assert!(!starts_day(74, -300));
        assert!(valid_phase(330) && valid_phase(-570) && valid_phase(825));
        assert!(!valid_phase(0) && !valid_phase(7) && !valid_phase(2000));
    }
}
