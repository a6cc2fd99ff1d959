//! How SQLite's rows read as [`Columns`]; the stored times are shared.

use std::fmt::Display;

use rusqlite::Row;
use rusqlite::types::Type;
use uuid::Uuid;

use crate::columns::Columns;
// The modules of this engine that write times import `ms` from here.
pub(super) use crate::columns::ms;

impl Columns for Row<'_> {
    type Error = rusqlite::Error;

    fn corrupt(idx: usize, e: impl Display) -> rusqlite::Error {
        rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, e.to_string().into())
    }

    fn uuid(&self, idx: usize) -> rusqlite::Result<Uuid> {
        self.get(idx)
    }

    fn opt_uuid(&self, idx: usize) -> rusqlite::Result<Option<Uuid>> {
        self.get(idx)
    }

    fn int(&self, idx: usize) -> rusqlite::Result<i64> {
        self.get(idx)
    }

    fn opt_int(&self, idx: usize) -> rusqlite::Result<Option<i64>> {
        self.get(idx)
    }

    fn text(&self, idx: usize) -> rusqlite::Result<String> {
        self.get(idx)
    }

    fn opt_text(&self, idx: usize) -> rusqlite::Result<Option<String>> {
        self.get(idx)
    }

    fn flag(&self, idx: usize) -> rusqlite::Result<bool> {
        self.get(idx)
    }

    fn bytes(&self, idx: usize) -> rusqlite::Result<Vec<u8>> {
        self.get(idx)
    }
}
