//! Sums in SQL that saturate at the bounds of `i64` instead of failing.
//! SQLite turns an `INTEGER` sum that overflows into a `REAL` (which a
//! STRICT table refuses) and `SUM` raises "integer overflow": either would
//! fail every later write of the same rows. A saturated row keeps its
//! neighbours' answers and the writer going.

use rusqlite::Connection;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};

/// `column = column + excluded.column` of an upsert, saturating.
pub(super) fn add(column: &str) -> String {
    let (c, x) = (column, format!("excluded.{column}"));
    format!(
        "{c} = CASE WHEN {x} > 0 AND {c} > 9223372036854775807 - {x} THEN 9223372036854775807 \
         WHEN {x} < 0 AND {c} < -9223372036854775807 - 1 - {x} THEN -9223372036854775807 - 1 \
         ELSE {c} + {x} END"
    )
}

/// `SUM(column)`, saturating (NULL over no rows, as `SUM`).
pub(super) fn sum(column: &str) -> String {
    format!("tally_sum({column})")
}

/// Registers the aggregate behind [`sum`] on a connection.
pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_aggregate_function(
        "tally_sum",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        SaturatingSum,
    )
}

struct SaturatingSum;

impl Aggregate<i64, Option<i64>> for SaturatingSum {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<i64> {
        Ok(0)
    }

    fn step(&self, ctx: &mut Context<'_>, sum: &mut i64) -> rusqlite::Result<()> {
        let v: Option<i64> = ctx.get(0)?;
        *sum = sum.saturating_add(v.unwrap_or(0));
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, sum: Option<i64>) -> rusqlite::Result<Option<i64>> {
        Ok(sum)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sums_and_upserts_saturate() {
        let c = Connection::open_in_memory().unwrap();
        register(&c).unwrap();
        c.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, n INTEGER NOT NULL) STRICT;")
            .unwrap();
        let upsert = format!("INSERT INTO t VALUES (?1, ?2) ON CONFLICT DO UPDATE SET {}", add("n"));
        for (k, n) in [(1, i64::MAX), (1, 5), (2, i64::MIN), (2, -5), (3, 2), (3, -1)] {
            c.execute(&upsert, [k, n]).unwrap();
        }
        let n = |k: i64| -> i64 { c.query_row("SELECT n FROM t WHERE k = ?1", [k], |r| r.get(0)).unwrap() };
        assert_eq!((n(1), n(2), n(3)), (i64::MAX, i64::MIN, 1));
        let total: i64 = c
            .query_row(&format!("SELECT {} FROM t WHERE k <> 2", sum("n")), [], |r| r.get(0))
            .unwrap();
        assert_eq!(total, i64::MAX);
        let none: Option<i64> = c
            .query_row(&format!("SELECT {} FROM t WHERE k > 9", sum("n")), [], |r| r.get(0))
            .unwrap();
        assert_eq!(none, None);
    }
}
