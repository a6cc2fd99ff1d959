//! The shapes rollups are kept in: which dimensions, in which key order,
//! at which grains. A query takes the first shape holding every column it
//! needs (its scope and its grouping); `usage_rollups` holds them all.

use super::dim::Col;
use super::grain::Grain;

/// One rollup shape: a table per grain.
pub struct Shape {
    /// The table name (the prefix of its per-grain tables, see [`Grain::suffix`]).
    pub table: &'static str,
    /// Key columns; the last `carried` are copied along, not keyed.
    pub cols: &'static [Col],
    /// How many of `cols` (in that order) come before the bucket (and a
    /// local day's phase before that) in the primary key; the others follow it.
    pub before_bucket: usize,
    /// Trailing columns of `cols` that are not part of the key.
    pub carried: usize,
    pub grains: &'static [Grain],
}

impl Shape {
    /// The name of the shape's table of `grain`.
    pub fn table_of(&self, grain: Grain) -> String {
        format!("{}{}", self.table, grain.suffix())
    }

    /// Whether it is also kept by local day.
    pub fn local_days(&self) -> bool {
        self.grains.contains(&Grain::LocalDay)
    }

    /// Whether it is also kept in spans of days (`ingest/spans.rs`).
    pub fn spans(&self) -> bool {
        self.grains.contains(&Grain::Span)
    }

    /// The primary key's columns, in order (the bucket as `bucket`).
    pub fn primary_key(&self, grain: Grain) -> Vec<&'static str> {
        let keyed = &self.cols[..self.cols.len() - self.carried];
        let mut key: Vec<&str> = keyed[..self.before_bucket].iter().map(|c| c.name()).collect();
        if matches!(grain, Grain::LocalDay | Grain::Span) {
            key.push("phase");
        }
        if grain == Grain::Span {
            key.push("level");
        }
        key.push(super::dim::BUCKET);
        key.extend(keyed[self.before_bucket..].iter().map(|c| c.name()));
        key
    }
}

/// Every 15-minute row: every dimension, the key's project and creator
/// copied along.
pub const QUARTERS: Shape = Shape {
    table: "usage_rollups",
    cols: &[
        Col::Org,
        Col::ApiKey,
        Col::Provider,
        Col::Routed,
        Col::Canonical,
        Col::App,
        Col::EndUser,
        Col::Tags,
        Col::Status,
        Col::Project,
        Col::CreatedBy,
    ],
    before_bucket: 1,
    carried: 2,
    grains: &[Grain::Quarter],
};

const UTC: &[Grain] = &[Grain::Hour, Grain::UtcDay];
const LOCAL: &[Grain] = &[Grain::Hour, Grain::UtcDay, Grain::LocalDay];
/// For shapes with many rows a day (an end user each): a long range reads
/// a few spans of days instead of every day's rows.
const SPANNED: &[Grain] = &[Grain::Hour, Grain::UtcDay, Grain::LocalDay, Grain::Span];

/// Smallest first: a query takes the first shape that holds its columns.
pub const SHAPES: &[Shape] = &[
    Shape {
        table: "rollup_org_member",
        before_bucket: 1,
        carried: 0,
        grains: LOCAL,
        cols: &[Col::Org, Col::CreatedBy],
    },
    Shape {
        table: "rollup_member_app",
        before_bucket: 2,
        carried: 0,
        grains: LOCAL,
        cols: &[Col::Org, Col::CreatedBy, Col::App],
    },
    Shape {
        table: "rollup_member_model",
        before_bucket: 2,
        carried: 0,
        grains: LOCAL,
        cols: &[Col::Org, Col::CreatedBy, Col::Provider, Col::Canonical],
    },
    Shape {
        table: "rollup_key_model",
        before_bucket: 1,
        carried: 0,
        grains: UTC,
        cols: &[Col::ApiKey, Col::Org, Col::Provider, Col::Routed, Col::Canonical],
    },
    Shape {
        table: "rollup_project_model",
        before_bucket: 1,
        carried: 0,
        grains: LOCAL,
        cols: &[Col::Project, Col::Org, Col::Provider, Col::Routed, Col::Canonical],
    },
    Shape {
        table: "rollup_project_status",
        before_bucket: 1,
        carried: 0,
        grains: LOCAL,
        cols: &[Col::Project, Col::Org, Col::Status],
    },
    Shape {
        table: "rollup_project_end_user",
        before_bucket: 1,
        carried: 0,
        grains: SPANNED,
        cols: &[Col::Project, Col::Org, Col::EndUser],
    },
    Shape {
        table: "rollup_project_tags",
        before_bucket: 1,
        carried: 0,
        grains: LOCAL,
        cols: &[Col::Project, Col::Org, Col::Tags],
    },
];

/// Every rollup table: [`QUARTERS`] and each shape at each of its grains.
pub fn tables() -> Vec<String> {
    let mut out = vec![QUARTERS.table.to_owned()];
    for s in SHAPES {
        out.extend(s.grains.iter().map(|g| s.table_of(*g)));
    }
    out
}

/// The first shape holding every column in `needed`.
pub fn holding(needed: &[Col]) -> Option<&'static Shape> {
    SHAPES.iter().find(|s| needed.iter().all(|c| s.cols.contains(c)))
}
