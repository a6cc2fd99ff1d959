//! Reading stored columns into domain types, the same way for both engines.
//! Each engine says how it reads an id, an integer and a text by position
//! and what a corrupt value becomes; times, names, e-mails and parsed
//! values are decoded here once.

use std::fmt::Display;
use std::str::FromStr;

use jiff::Timestamp;
use tally_core::{Email, Name, ParseError};
use uuid::Uuid;

/// The current time at the precision stored (milliseconds), so that a
/// record returned on creation equals the same record read back.
pub(crate) fn now() -> Timestamp {
    stored(Timestamp::now())
}

/// `t` as it reads back: truncated to milliseconds.
pub(crate) fn stored(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn opt_ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(ms)
}

/// One row of a result, read by column position.
pub(crate) trait Columns {
    type Error;

    /// The error of a column whose stored value is not a valid one.
    fn corrupt(idx: usize, e: impl Display) -> Self::Error;
    fn uuid(&self, idx: usize) -> Result<Uuid, Self::Error>;
    fn opt_uuid(&self, idx: usize) -> Result<Option<Uuid>, Self::Error>;
    fn int(&self, idx: usize) -> Result<i64, Self::Error>;
    fn opt_int(&self, idx: usize) -> Result<Option<i64>, Self::Error>;
    fn text(&self, idx: usize) -> Result<String, Self::Error>;
    fn opt_text(&self, idx: usize) -> Result<Option<String>, Self::Error>;
    fn flag(&self, idx: usize) -> Result<bool, Self::Error>;
    fn bytes(&self, idx: usize) -> Result<Vec<u8>, Self::Error>;

    fn ts(&self, idx: usize) -> Result<Timestamp, Self::Error> {
        Timestamp::from_millisecond(self.int(idx)?).map_err(|e| Self::corrupt(idx, e))
    }

    fn opt_ts(&self, idx: usize) -> Result<Option<Timestamp>, Self::Error> {
        self.opt_int(idx)?
            .map(|v| Timestamp::from_millisecond(v).map_err(|e| Self::corrupt(idx, e)))
            .transpose()
    }

    fn name(&self, idx: usize) -> Result<Name, Self::Error> {
        Name::parse(&self.text(idx)?).map_err(|e| Self::corrupt(idx, e))
    }

    fn retention(&self, idx: usize) -> Result<tally_core::RetentionDays, Self::Error> {
        tally_core::RetentionDays::new(self.int(idx)?).map_err(|e| Self::corrupt(idx, e))
    }

    fn per_minute(&self, idx: usize) -> Result<Option<tally_core::PerMinute>, Self::Error> {
        self.opt_int(idx)?
            .map(|n| tally_core::PerMinute::new(n).map_err(|e| Self::corrupt(idx, e)))
            .transpose()
    }

    fn email(&self, idx: usize) -> Result<Email, Self::Error> {
        Email::parse(&self.text(idx)?).map_err(|e| Self::corrupt(idx, e))
    }

    fn parsed<T: FromStr<Err = ParseError>>(&self, idx: usize) -> Result<T, Self::Error> {
        self.text(idx)?.parse().map_err(|e: ParseError| Self::corrupt(idx, e))
    }
}
