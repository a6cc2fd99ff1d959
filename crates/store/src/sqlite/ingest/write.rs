//! Sums into every rollup table, in one transaction of the rollup writer.

use rusqlite::Transaction;

use crate::sqlite::state;
use crate::sqlite::sums::Sums;

/// Adds the sums to every table of the rollups' file (call inside a transaction).
pub(super) fn write(tx: &Transaction<'_>, sums: &mut Sums) -> rusqlite::Result<()> {
    let open = state::open_day(tx)?;
    let keyed = sums.keyed();
    super::quarters::add_rows(tx, &keyed)?;
    super::shapes::add_rows(tx, &keyed, open)?;
    super::local_days::add_rows(tx, &keyed)?;
    super::spans::catch_up(tx)
}
