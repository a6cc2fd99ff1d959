//! Cost by end user and cost by tag value, for a project or one API key:
//! read from the rollups grouped by the end user or by the request's whole
//! tag set; a tag set's totals are then added to each of its pairs, which
//! is exact because a request carries each tag key at most once.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use serde::Serialize;
use tally_core::{ParseError, Tags, UsageTotals, UsageView};
use tally_store::{Dim, DimValue};

use super::models::requested_scope;
use super::{Params, Range, RangeView, by_cost, sum, text};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Caller;

/// Rows returned by default, and at most.
const DEFAULT_ROWS: usize = 100;
const MAX_ROWS: usize = 1000;

fn rows_limit(p: &Params) -> Result<usize, ApiError> {
    match p.get("limit") {
        None => Ok(DEFAULT_ROWS),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_ROWS).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", ParseError::new(format!("must be 1 to {MAX_ROWS}")))),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The end user or tag value; `null` for requests without one.
    value: Option<String>,
    usage: UsageView,
}

/// Ranked rows (by cost), the first `limit` of them, and the rest summed.
fn ranked(mut list: Vec<(Option<String>, UsageTotals)>, limit: usize) -> (Vec<Row>, Option<UsageView>, usize) {
    by_cost(&mut list, |v| v.clone().unwrap_or_default());
    let count = list.len();
    let rest = (count > limit).then(|| UsageView::from(&sum(list[limit..].iter().map(|(_, t)| t))));
    let rows = list
        .into_iter()
        .take(limit)
        .map(|(value, t)| Row {
            value,
            usage: UsageView::from(&t),
        })
        .collect();
    (rows, rest, count)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndUsersView {
    range: RangeView,
    end_users: Vec<Row>,
    /// How many distinct end users (and "none") there are.
    count: usize,
    /// The rows after the first `limit`, summed.
    others: Option<UsageView>,
    totals: UsageView,
}

pub async fn end_users(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<Params>,
) -> Result<Json<EndUsersView>, ApiError> {
    let range = Range::parse(&p)?;
    let limit = rows_limit(&p)?;
    let dims = vec![Dim::EndUser];
    let scope = requested_scope(&p)?;
    super::authorize::authorize(&state, &caller, scope, &dims).await?;
    let rows = state.store.usage(range.query(scope, dims)).await?;
    let totals = sum(rows.iter().map(|(_, t)| t));
    let list = rows.into_iter().map(|(k, t)| (k.first().and_then(text), t)).collect();
    let (end_users, others, count) = ranked(list, limit);
    Ok(Json(EndUsersView {
        range: range.view(),
        end_users,
        count,
        others,
        totals: UsageView::from(&totals),
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagKey {
    key: String,
    /// Requests tagged with this key.
    usage: UsageView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagsView {
    range: RangeView,
    /// Every tag key used in the range, by cost.
    keys: Vec<TagKey>,
    /// The key broken down: the one asked for, else the costliest.
    key: Option<String>,
    /// Its values, by cost; requests without the key are the row `null`.
    values: Vec<Row>,
    count: usize,
    others: Option<UsageView>,
    totals: UsageView,
}

pub async fn tags(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<Params>,
) -> Result<Json<TagsView>, ApiError> {
    let range = Range::parse(&p)?;
    let limit = rows_limit(&p)?;
    let asked = p
        .get("key")
        .map(|k| tally_core::tags::parse_key(k).map_err(|e| ApiError::invalid("key", e)))
        .transpose()?;
    let dims = vec![Dim::Tags];
    let scope = requested_scope(&p)?;
    super::authorize::authorize(&state, &caller, scope, &dims).await?;
    let rows = state.store.usage(range.query(scope, dims)).await?;
    let totals = sum(rows.iter().map(|(_, t)| t));
    // Each tag set once: its pairs.
    let sets: Vec<(Option<Tags>, UsageTotals)> = rows
        .into_iter()
        .map(|(k, t)| {
            let set = match k.first() {
                Some(DimValue::Text(Some(s))) => Tags::parse(s).ok().flatten(),
                _ => None,
            };
            (set, t)
        })
        .collect();
    let mut by_key: BTreeMap<&str, UsageTotals> = BTreeMap::new();
    for (set, t) in &sets {
        for (k, _) in set.iter().flat_map(Tags::pairs) {
            by_key.entry(k).or_default().add(t);
        }
    }
    let mut keys: Vec<(String, UsageTotals)> = by_key.into_iter().map(|(k, t)| (k.to_owned(), t)).collect();
    by_cost(&mut keys, Clone::clone);
    let key = asked.or_else(|| keys.first().map(|(k, _)| k.clone()));
    let mut values: BTreeMap<Option<&str>, UsageTotals> = BTreeMap::new();
    if let Some(key) = &key {
        for (set, t) in &sets {
            values.entry(set.as_ref().and_then(|s| s.get(key))).or_default().add(t);
        }
    }
    let list = values.into_iter().map(|(v, t)| (v.map(str::to_owned), t)).collect();
    let (values, others, count) = ranked(list, limit);
    Ok(Json(TagsView {
        range: range.view(),
        keys: keys
            .into_iter()
            .map(|(key, t)| TagKey {
                key,
                usage: UsageView::from(&t),
            })
            .collect(),
        key,
        values,
        count,
        others,
        totals: UsageView::from(&totals),
    }))
}
