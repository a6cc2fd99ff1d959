//! Conversions between stored columns and domain types.

use std::fmt::Display;
use std::str::FromStr;

use jiff::Timestamp;
use tally_core::{Email, Name, ParseError};
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;
use uuid::Uuid;

use super::{PgError, R};
use crate::StoreError;

fn corrupt(idx: usize, e: impl Display) -> PgError {
    PgError::Store(StoreError::Corrupt(format!("column {idx}: {e}")))
}

/// The current time at the precision stored (milliseconds), so that a
/// record returned on creation equals the same record read back.
pub(super) fn now() -> Timestamp {
    stored(Timestamp::now())
}

/// `t` as it reads back: truncated to milliseconds.
pub(super) fn stored(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}

pub(super) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(super) fn opt_ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(ms)
}

/// A stored BIGINT as a count (negative values read as 0).
pub(super) fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(super) trait RowExt {
    fn col<'a, T: FromSql<'a>>(&'a self, idx: usize) -> R<T>;
    fn uuid(&self, idx: usize) -> R<Uuid>;
    fn ts(&self, idx: usize) -> R<Timestamp>;
    fn opt_ts(&self, idx: usize) -> R<Option<Timestamp>>;
    fn name(&self, idx: usize) -> R<Name>;
    fn email(&self, idx: usize) -> R<Email>;
    fn parsed<T: FromStr<Err = ParseError>>(&self, idx: usize) -> R<T>;
}

impl RowExt for Row {
    fn col<'a, T: FromSql<'a>>(&'a self, idx: usize) -> R<T> {
        self.try_get(idx).map_err(|e| corrupt(idx, e))
    }

    fn uuid(&self, idx: usize) -> R<Uuid> {
        self.col(idx)
    }

    fn ts(&self, idx: usize) -> R<Timestamp> {
        let v: i64 = self.col(idx)?;
        Timestamp::from_millisecond(v).map_err(|e| corrupt(idx, e))
    }

    fn opt_ts(&self, idx: usize) -> R<Option<Timestamp>> {
        let v: Option<i64> = self.col(idx)?;
        v.map(|v| Timestamp::from_millisecond(v).map_err(|e| corrupt(idx, e)))
            .transpose()
    }

    fn name(&self, idx: usize) -> R<Name> {
        let s: &str = self.col(idx)?;
        Name::parse(s).map_err(|e| corrupt(idx, e))
    }

    fn email(&self, idx: usize) -> R<Email> {
        let s: &str = self.col(idx)?;
        Email::parse(s).map_err(|e| corrupt(idx, e))
    }

    fn parsed<T: FromStr<Err = ParseError>>(&self, idx: usize) -> R<T> {
        let s: &str = self.col(idx)?;
        s.parse().map_err(|e: ParseError| corrupt(idx, e))
    }
}
