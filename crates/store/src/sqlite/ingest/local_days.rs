//! Local-day rollups (migration 0005). For each maintained UTC offset (a
//! "phase", in minutes east of UTC) the shapes marked `local_days` are also
//! summed by local day: bucket = floor((unix ms + phase minutes) / day). A
//! period that is made of whole local days of a maintained phase is read as
//! one row per day and group, instead of the hours of every day plus their
//! 15-minute edges; every other period is read the UTC way (`read/plan.rs`).
//! A zone with daylight saving time has two phases; its days of transition
//! (23 or 25 hours) are days of neither and are read the UTC way.

use rusqlite::Transaction;
use rustc_hash::FxHashMap;

use super::shapes::{ShapeKey, key_of, upsert};
use super::values::{value_columns, value_sums};
use crate::rollup::grain::Grain;
use crate::rollup::measure::RowSums;
use crate::rollup::shape::{SHAPES, Shape};
use crate::sqlite::state::phases;
use crate::sqlite::sums::Keyed;

const DAY_MS: i64 = 86_400_000;
const QUARTERS_PER_DAY: i64 = Grain::LocalDay.quarters();

fn table(shape: &Shape) -> String {
    shape.table_of(Grain::LocalDay)
}

fn local_shapes() -> impl Iterator<Item = &'static Shape> {
    SHAPES.iter().filter(|s| s.local_days())
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
            let mut days: FxHashMap<ShapeKey, RowSums> = FxHashMap::default();
            for ((k, t), key) in keyed.rows.iter().zip(&keys) {
                let day = (k.bucket + phase / 15).div_euclid(QUARTERS_PER_DAY);
                days.entry((*key, day)).or_default().add(t);
            }
            for (level, rows) in super::spans::spans_of(tx, shape, phase, &days)? {
                let fixed = [("phase", phase), ("level", level)];
                upsert(tx, &shape.table_of(Grain::Span), shape, &fixed, keyed, rows)?;
            }
            upsert(tx, &table(shape), shape, &[("phase", phase)], keyed, days)?;
        }
    }
    Ok(())
}

/// Computes the rows of `phase` from the 15-minute rollups, which are exact
/// for it: every UTC offset in use is a multiple of 15 minutes, so every
/// local day is made of whole 15-minute buckets.
fn fill(tx: &Transaction<'_>, phase: i64) -> rusqlite::Result<u64> {
    let mut rows = 0;
    let (values, sums) = (value_columns(), value_sums());
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
                values.join(", "),
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
    super::spans::clear_phase(tx, phase)
}

/// Makes the maintained phases exactly `wanted`: the rows of phases no longer
/// wanted are deleted, new phases are filled from the 15-minute rollups.
/// Returns the rows written.
pub(in crate::sqlite) fn set_phases(tx: &Transaction<'_>, wanted: &[i64]) -> rusqlite::Result<u64> {
    let have = phases(tx)?;
    for gone in have.iter().filter(|p| !wanted.contains(p)) {
        clear(tx, *gone)?;
        tx.execute("DELETE FROM local_day_phases WHERE phase = ?1", [gone])?;
    }
    let mut rows = 0;
    for new in wanted.iter().filter(|p| !have.contains(p)) {
        tx.execute("INSERT INTO local_day_phases (phase) VALUES (?1)", [new])?;
        rows += fill(tx, *new)?;
        let open = crate::sqlite::state::spans_open(tx)?;
        for shape in SHAPES.iter().filter(|s| s.spans()) {
            rows += super::spans::complete(tx, shape, *new, 0, open)?;
        }
    }
    Ok(rows)
}

/// The phases of offsets (minutes east of UTC) worth keeping: multiples of
/// 15 minutes other than 0 (UTC days have their own rows), within ±18 hours.
pub(in crate::sqlite) fn valid_phase(minutes: i64) -> bool {
    minutes != 0 && minutes % 15 == 0 && (-1080..=1080).contains(&minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_whole_quarters_within_a_day_of_utc() {
        assert!(valid_phase(330) && valid_phase(-570) && valid_phase(825));
        assert!(!valid_phase(0) && !valid_phase(7) && !valid_phase(2000));
    }
}
