//! How PostgreSQL's rows read as [`Columns`]; the stored times are shared.

use std::fmt::Display;

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;
use uuid::Uuid;

use super::{PgError, R};
use crate::StoreError;
use crate::columns::Columns;
// The modules of this engine that write times import `ms` from here.
pub(super) use crate::columns::ms;

/// A stored BIGINT as a count (negative values read as 0).
pub(super) fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(super) trait RowExt {
    fn col<'a, T: FromSql<'a>>(&'a self, idx: usize) -> R<T>;
}

impl RowExt for Row {
    fn col<'a, T: FromSql<'a>>(&'a self, idx: usize) -> R<T> {
        self.try_get(idx).map_err(|e| <Row as Columns>::corrupt(idx, e))
    }
}

impl Columns for Row {
    type Error = PgError;

    fn corrupt(idx: usize, e: impl Display) -> PgError {
        PgError::Store(StoreError::Corrupt(format!("column {idx}: {e}")))
    }

    fn uuid(&self, idx: usize) -> R<Uuid> {
        self.col(idx)
    }

    fn opt_uuid(&self, idx: usize) -> R<Option<Uuid>> {
        self.col(idx)
    }

    fn int(&self, idx: usize) -> R<i64> {
        self.col(idx)
    }

    fn opt_int(&self, idx: usize) -> R<Option<i64>> {
        self.col(idx)
    }

    fn text(&self, idx: usize) -> R<String> {
        self.col::<&str>(idx).map(str::to_owned)
    }

    fn opt_text(&self, idx: usize) -> R<Option<String>> {
        self.col::<Option<&str>>(idx).map(|t| t.map(str::to_owned))
    }

    fn flag(&self, idx: usize) -> R<bool> {
        self.col(idx)
    }

    fn bytes(&self, idx: usize) -> R<Vec<u8>> {
        self.col(idx)
    }
}
