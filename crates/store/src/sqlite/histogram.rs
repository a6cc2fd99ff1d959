//! The rollups' histograms in SQL: stored as `Histogram::to_bytes` (NULL
//! for none) and merged by functions registered on every connection, so an
//! upsert, a roll of hours into a day and a fill of local days merge them
//! where they sum the measures. A stored value that is not a histogram
//! counts as empty (and is logged) rather than failing every later write of
//! its row.

use rusqlite::Connection;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;
use tally_core::latency::Histogram;

/// `column = merge(column, excluded.column)` of an upsert.
pub(super) fn add(column: &str) -> String {
    format!("{column} = tally_hist_add({column}, excluded.{column})")
}

/// The merge of `column` over a group's rows (NULL for none).
pub(super) fn sum(column: &str) -> String {
    format!("tally_hist_sum({column})")
}

/// The stored form of `h`: NULL when empty.
pub(super) fn stored(h: &Histogram) -> Option<Vec<u8>> {
    (!h.is_empty()).then(|| h.to_bytes())
}

/// A stored histogram read back (NULL and anything but a histogram: empty).
pub(super) fn read(v: ValueRef<'_>) -> Histogram {
    match v {
        ValueRef::Blob(b) => Histogram::from_bytes(b).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "a rollup row's histogram is unreadable; counted as empty");
            Histogram::default()
        }),
        _ => Histogram::default(),
    }
}

const FLAGS: FunctionFlags = FunctionFlags::SQLITE_UTF8.union(FunctionFlags::SQLITE_DETERMINISTIC);

/// Registers `tally_hist_add`, `tally_hist_sum` and `tally_hist_bins(bin, n)`
/// (the histogram of `n` values in each row's `bin`) on a connection.
pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function("tally_hist_add", 2, FLAGS, |ctx| {
        let mut h = read(ctx.get_raw(0));
        h.merge(&read(ctx.get_raw(1)));
        Ok(stored(&h))
    })?;
    conn.create_aggregate_function("tally_hist_sum", 1, FLAGS, Merge)?;
    conn.create_aggregate_function("tally_hist_bins", 2, FLAGS, Bins)
}

struct Merge;

impl Aggregate<Histogram, Option<Vec<u8>>> for Merge {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Histogram> {
        Ok(Histogram::default())
    }

    fn step(&self, ctx: &mut Context<'_>, h: &mut Histogram) -> rusqlite::Result<()> {
        h.merge(&read(ctx.get_raw(0)));
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, h: Option<Histogram>) -> rusqlite::Result<Option<Vec<u8>>> {
        Ok(h.as_ref().and_then(stored))
    }
}

struct Bins;

impl Aggregate<Histogram, Option<Vec<u8>>> for Bins {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Histogram> {
        Ok(Histogram::default())
    }

    fn step(&self, ctx: &mut Context<'_>, h: &mut Histogram) -> rusqlite::Result<()> {
        let bin: Option<i64> = ctx.get(0)?;
        let n: Option<i64> = ctx.get(1)?;
        h.add(bin.unwrap_or(0), u64::try_from(n.unwrap_or(0)).unwrap_or(0));
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, h: Option<Histogram>) -> rusqlite::Result<Option<Vec<u8>>> {
        Ok(h.as_ref().and_then(stored))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn upserts_and_sums_merge_histograms() {
        let c = Connection::open_in_memory().unwrap();
        register(&c).unwrap();
        c.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, h BLOB) STRICT;")
            .unwrap();
        let upsert = format!("INSERT INTO t VALUES (?1, ?2) ON CONFLICT DO UPDATE SET {}", add("h"));
        let one = |us: u64| {
            let mut h = Histogram::default();
            h.record(us);
            h
        };
        for (k, h) in [
            (1, Some(one(10))),
            (1, Some(one(10))),
            (1, None),
            (2, None),
            (3, Some(one(900))),
        ] {
            c.execute(&upsert, (k, h.as_ref().and_then(stored))).unwrap();
        }
        c.execute("INSERT INTO t VALUES (4, x'00')", []).unwrap();
        let h = |k: i64| -> Option<Vec<u8>> { c.query_row("SELECT h FROM t WHERE k = ?1", [k], |r| r.get(0)).unwrap() };
        let mut two = one(10);
        two.merge(&one(10));
        assert_eq!(h(1), stored(&two));
        assert_eq!(h(2), None);
        let all: Option<Vec<u8>> = c
            .query_row(&format!("SELECT {} FROM t", sum("h")), [], |r| r.get(0))
            .unwrap();
        two.merge(&one(900));
        assert_eq!(all, stored(&two));
        let none: Option<Vec<u8>> = c
            .query_row(&format!("SELECT {} FROM t WHERE k > 9", sum("h")), [], |r| r.get(0))
            .unwrap();
        assert_eq!(none, None);
        let binned: Option<Vec<u8>> = c
            .query_row(
                "SELECT tally_hist_bins(b, n) FROM (SELECT 0 AS b, 5 AS n UNION ALL SELECT 30, 2 UNION ALL SELECT 30, 1)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let mut three = Histogram::default();
        three.add(30, 3);
        assert_eq!(binned, stored(&three));
    }
}
