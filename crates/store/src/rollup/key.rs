//! The key of a `usage_rollups` row, shared by both stores: one row per
//! 15-minute UTC bucket and (API key, provider, routed model, canonical
//! model, app, end user, tags, status); the key's project and creator
//! ride along.

use std::collections::BTreeMap;

use tally_core::ActivityEvent;
use tally_core::time::bucket_of;
use uuid::Uuid;

use super::dim::Col;
use super::measure::RowSums;

/// Ordered as the primary key: sorting by it makes every writer touch rollup
/// rows in one global order, so concurrent batches wait instead of deadlocking.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RollupKey<'a> {
    pub org: Uuid,
    pub bucket: i64,
    pub api_key: Uuid,
    pub provider: &'a str,
    pub routed: &'a str,
    pub canonical: &'a str,
    pub app: &'a str,
    pub end_user: &'a str,
    pub tags: &'a str,
    pub status: i64,
    pub project: Uuid,
    pub created_by: Uuid,
}

impl<'a> RollupKey<'a> {
    /// Text dimensions are `''` for "none" so they can be part of a key.
    pub fn of(e: &'a ActivityEvent) -> RollupKey<'a> {
        let text = |v: &'a Option<String>| v.as_deref().unwrap_or_default();
        RollupKey {
            org: *e.org_id.as_uuid(),
            bucket: bucket_of(e.started_at),
            api_key: *e.api_key_id.as_uuid(),
            provider: text(&e.provider),
            routed: text(&e.routed_model),
            canonical: text(&e.canonical_model),
            app: text(&e.app),
            end_user: text(&e.end_user),
            tags: e.tags.as_ref().map_or("", |t| t.as_str()),
            status: i64::from(e.http_status),
            project: *e.project_id.as_uuid(),
            created_by: *e.created_by.as_uuid(),
        }
    }
}

/// The value of one key column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyValue<'a> {
    Id(Uuid),
    Text(&'a str),
    Int(i64),
}

impl<'a> RollupKey<'a> {
    /// The value of column `c`.
    pub fn get(&self, c: Col) -> KeyValue<'a> {
        match c {
            Col::Org => KeyValue::Id(self.org),
            Col::Project => KeyValue::Id(self.project),
            Col::ApiKey => KeyValue::Id(self.api_key),
            Col::CreatedBy => KeyValue::Id(self.created_by),
            Col::Provider => KeyValue::Text(self.provider),
            Col::Routed => KeyValue::Text(self.routed),
            Col::Canonical => KeyValue::Text(self.canonical),
            Col::App => KeyValue::Text(self.app),
            Col::EndUser => KeyValue::Text(self.end_user),
            Col::Tags => KeyValue::Text(self.tags),
            Col::Status => KeyValue::Int(self.status),
        }
    }
}

/// A batch summed per rollup key, in key order.
pub(crate) fn sum_by_key<'a>(events: impl IntoIterator<Item = &'a ActivityEvent>) -> BTreeMap<RollupKey<'a>, RowSums> {
    let mut sums: BTreeMap<RollupKey<'a>, RowSums> = BTreeMap::new();
    for e in events {
        sums.entry(RollupKey::of(e)).or_default().add(&RowSums::of(e));
    }
    sums
}
