//! Conversions between stored columns and domain types.

use std::fmt::Display;
use std::str::FromStr;

use jiff::Timestamp;
use rusqlite::Row;
use rusqlite::types::Type;
use tally_core::{Email, Name, ParseError};

fn corrupt(idx: usize, e: impl Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, e.to_string().into())
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

pub(super) trait RowExt {
    fn uuid(&self, idx: usize) -> rusqlite::Result<uuid::Uuid>;
    fn ts(&self, idx: usize) -> rusqlite::Result<Timestamp>;
    fn opt_ts(&self, idx: usize) -> rusqlite::Result<Option<Timestamp>>;
    fn name(&self, idx: usize) -> rusqlite::Result<Name>;
    fn email(&self, idx: usize) -> rusqlite::Result<Email>;
    fn parsed<T: FromStr<Err = ParseError>>(&self, idx: usize) -> rusqlite::Result<T>;
}

impl RowExt for Row<'_> {
    fn uuid(&self, idx: usize) -> rusqlite::Result<uuid::Uuid> {
        self.get(idx)
    }

    fn ts(&self, idx: usize) -> rusqlite::Result<Timestamp> {
        let v: i64 = self.get(idx)?;
        Timestamp::from_millisecond(v).map_err(|e| corrupt(idx, e))
    }

    fn opt_ts(&self, idx: usize) -> rusqlite::Result<Option<Timestamp>> {
        let v: Option<i64> = self.get(idx)?;
        v.map(|v| Timestamp::from_millisecond(v).map_err(|e| corrupt(idx, e)))
            .transpose()
    }

    fn name(&self, idx: usize) -> rusqlite::Result<Name> {
        let s: String = self.get(idx)?;
        Name::parse(&s).map_err(|e| corrupt(idx, e))
    }

    fn email(&self, idx: usize) -> rusqlite::Result<Email> {
        let s: String = self.get(idx)?;
        Email::parse(&s).map_err(|e| corrupt(idx, e))
    }

    fn parsed<T: FromStr<Err = ParseError>>(&self, idx: usize) -> rusqlite::Result<T> {
        let s: String = self.get(idx)?;
        s.parse().map_err(|e: ParseError| corrupt(idx, e))
    }
}
