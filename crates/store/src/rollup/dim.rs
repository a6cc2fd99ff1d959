//! The dimensions rollups are keyed by: each a column of `activity_events`
//! copied into the rollup tables, and what analytics may group by.

use super::event::Kind;
use crate::{Dim, Scope};

/// A key column of a rollup table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Org,
    Project,
    ApiKey,
    CreatedBy,
    Provider,
    Routed,
    Canonical,
    App,
    EndUser,
    Tags,
    Status,
}

/// How a dimension is stored in rollups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DimKind {
    /// A 16-byte id, never missing.
    Id,
    /// Text, `''` for none (so that it can be part of a primary key).
    Text,
    /// A non-negative integer.
    Int,
}

impl DimKind {
    /// How its values are stored (SQLite and PostgreSQL types alike).
    pub const fn stored(self) -> Kind {
        match self {
            DimKind::Id => Kind::Uuid,
            DimKind::Text => Kind::Text,
            DimKind::Int => Kind::Int8,
        }
    }

    /// The kind of what a query's dimension reads; `None` for the bucket.
    pub fn of_dim(d: Dim) -> Option<DimKind> {
        Col::of_dim(d).map(Col::kind)
    }
}

/// One dimension.
pub struct Dimension {
    pub col: Col,
    /// Its column, in `activity_events` and in every rollup table.
    pub column: &'static str,
    pub kind: DimKind,
    /// What an analytics query groups by to get it (none for the
    /// organization: every query is within one).
    pub dim: Option<Dim>,
}

/// Every dimension, in `usage_rollups` column order.
pub const DIMENSIONS: [Dimension; 11] = [
    Dimension {
        col: Col::Org,
        column: "org_id",
        kind: DimKind::Id,
        dim: None,
    },
    Dimension {
        col: Col::ApiKey,
        column: "api_key_id",
        kind: DimKind::Id,
        dim: Some(Dim::ApiKey),
    },
    Dimension {
        col: Col::Provider,
        column: "provider",
        kind: DimKind::Text,
        dim: Some(Dim::Provider),
    },
    Dimension {
        col: Col::Routed,
        column: "routed_model",
        kind: DimKind::Text,
        dim: Some(Dim::RoutedModel),
    },
    Dimension {
        col: Col::Canonical,
        column: "canonical_model",
        kind: DimKind::Text,
        dim: Some(Dim::CanonicalModel),
    },
    Dimension {
        col: Col::App,
        column: "app",
        kind: DimKind::Text,
        dim: Some(Dim::App),
    },
    Dimension {
        col: Col::EndUser,
        column: "end_user",
        kind: DimKind::Text,
        dim: Some(Dim::EndUser),
    },
    Dimension {
        col: Col::Tags,
        column: "tags",
        kind: DimKind::Text,
        dim: Some(Dim::Tags),
    },
    Dimension {
        col: Col::Status,
        column: "http_status",
        kind: DimKind::Int,
        dim: Some(Dim::Status),
    },
    Dimension {
        col: Col::Project,
        column: "project_id",
        kind: DimKind::Id,
        dim: Some(Dim::Project),
    },
    Dimension {
        col: Col::CreatedBy,
        column: "created_by",
        kind: DimKind::Id,
        dim: Some(Dim::Member),
    },
];

/// The bucket column of every rollup table.
pub const BUCKET: &str = "bucket";

impl Col {
    pub fn dimension(self) -> &'static Dimension {
        // Every `Col` is in `DIMENSIONS` (checked by a test).
        DIMENSIONS.iter().find(|d| d.col == self).unwrap_or(&DIMENSIONS[0])
    }

    pub fn name(self) -> &'static str {
        self.dimension().column
    }

    pub fn is_text(self) -> bool {
        self.dimension().kind == DimKind::Text
    }

    pub fn kind(self) -> DimKind {
        self.dimension().kind
    }

    /// The value as SQL over `activity_events` (both engines): the column,
    /// or `''` for a missing text.
    pub fn event_sql(self) -> String {
        let d = self.dimension();
        match d.kind {
            DimKind::Text => format!("COALESCE({}, '')", d.column),
            _ => d.column.to_owned(),
        }
    }

    /// The column a query's dimension reads; `None` for the bucket.
    pub fn of_dim(d: Dim) -> Option<Col> {
        DIMENSIONS.iter().find(|x| x.dim == Some(d)).map(|x| x.col)
    }
}

/// The columns a scope fixes, in the order of [`scope_ids`].
pub fn scope_cols(scope: &Scope) -> &'static [Col] {
    match scope {
        Scope::Org(_) => &[Col::Org],
        Scope::Project(_) => &[Col::Project],
        Scope::ApiKey(_) => &[Col::ApiKey],
        Scope::Member(..) => &[Col::Org, Col::CreatedBy],
    }
}

/// The ids a scope fixes its columns to.
pub fn scope_ids(scope: &Scope) -> Vec<uuid::Uuid> {
    match scope {
        Scope::Org(o) => vec![*o.as_uuid()],
        Scope::Project(p) => vec![*p.as_uuid()],
        Scope::ApiKey(k) => vec![*k.as_uuid()],
        Scope::Member(o, u) => vec![*o.as_uuid(), *u.as_uuid()],
    }
}

/// The column a query's dimension reads in any rollup table.
pub fn column(d: Dim) -> &'static str {
    Col::of_dim(d).map_or(BUCKET, Col::name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_col_is_one_dimension() {
        let all = [
            Col::Org,
            Col::Project,
            Col::ApiKey,
            Col::CreatedBy,
            Col::Provider,
            Col::Routed,
            Col::Canonical,
            Col::App,
            Col::EndUser,
            Col::Tags,
            Col::Status,
        ];
        for c in all {
            assert_eq!(DIMENSIONS.iter().filter(|d| d.col == c).count(), 1, "{c:?}");
            if let Some(d) = c.dimension().dim {
                assert_eq!(Col::of_dim(d), Some(c));
            }
        }
        assert_eq!(column(Dim::Bucket), "bucket");
    }
}
