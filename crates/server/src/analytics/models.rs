//! Cost, requests and tokens by model: the ranking and the time series,
//! for a project or one API key, by routed model or by canonical model.

use std::collections::{BTreeSet, HashMap};

use axum::Json;
use axum::extract::{Query, State};
use serde::Serialize;
use tally_core::{ApiKeyId, Money, ParseError, ProjectId, UsageTotals, UsageView};
use tally_store::{Dim, Scope};

use super::{Params, Range, RangeView, by_cost, id_param, sum, text};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Caller;

/// Label of requests refused before a model was resolved, in time series.
pub const UNROUTED: &str = "(unrouted)";

#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    Mapping,
    Canonical,
}

impl View {
    fn parse(p: &Params) -> Result<View, ApiError> {
        match p.get("view").map(String::as_str) {
            None | Some("mapping") => Ok(View::Mapping),
            Some("canonical") => Ok(View::Canonical),
            Some(other) => Err(ApiError::invalid(
                "view",
                ParseError::new(format!("`{other}` is not a view; expected mapping or canonical")),
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            View::Mapping => "mapping",
            View::Canonical => "canonical",
        }
    }

    fn dim(self) -> Dim {
        match self {
            View::Mapping => Dim::RoutedModel,
            View::Canonical => Dim::CanonicalModel,
        }
    }
}

/// The project or key a query covers (exactly one of `projectId` and
/// `apiKeyId`), unchecked: [`super::authorize::authorize`] decides.
pub(super) fn requested_scope(p: &Params) -> Result<Scope, ApiError> {
    let project: Option<ProjectId> = id_param(p, "projectId")?;
    let key: Option<ApiKeyId> = id_param(p, "apiKeyId")?;
    match (project, key) {
        (Some(project), None) => Ok(Scope::Project(project)),
        (None, Some(key)) => Ok(Scope::ApiKey(key)),
        _ => Err(ApiError::invalid(
            "projectId",
            ParseError::new("give exactly one of projectId and apiKeyId"),
        )),
    }
}

/// The project or key a model query covers, after the access check.
async fn scope(state: &AppState, caller: &Caller, p: &Params, dims: &[Dim]) -> Result<Scope, ApiError> {
    let scope = requested_scope(p)?;
    super::authorize::authorize(state, caller, scope, dims).await?;
    Ok(scope)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelRow {
    model: Option<String>,
    variants: Vec<String>,
    usage: UsageView,
}

impl ModelRow {
    /// A routed model's row (the mapping view): its only variant is itself.
    pub(super) fn routed(model: Option<String>, t: &UsageTotals) -> Self {
        Self {
            variants: model.iter().cloned().collect(),
            model,
            usage: UsageView::from(t),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelsView {
    range: RangeView,
    view: &'static str,
    models: Vec<ModelRow>,
    totals: UsageView,
}

pub async fn models(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<Params>,
) -> Result<Json<ModelsView>, ApiError> {
    let view = View::parse(&p)?;
    let range = Range::parse(&p)?;
    let dims = vec![view.dim(), Dim::RoutedModel];
    let scope = scope(&state, &caller, &p, &dims).await?;
    let rows = state.store.usage(range.query(scope, dims)).await?;
    let mut merged: HashMap<Option<String>, (BTreeSet<String>, UsageTotals)> = HashMap::new();
    for (key, t) in &rows {
        let entry = merged.entry(text(&key[0])).or_default();
        if let Some(routed) = text(&key[1]) {
            entry.0.insert(routed);
        }
        entry.1.add(t);
    }
    type Merged = (Option<String>, BTreeSet<String>);
    let mut list: Vec<(Merged, UsageTotals)> = merged
        .into_iter()
        .map(|(model, (variants, t))| ((model, variants), t))
        .collect();
    by_cost(&mut list, |(m, _)| m.clone().unwrap_or_default());
    let totals = sum(list.iter().map(|(_, t)| t));
    Ok(Json(ModelsView {
        range: range.view(),
        view: view.name(),
        models: list
            .iter()
            .map(|((model, variants), t)| ModelRow {
                model: model.clone(),
                variants: variants.iter().cloned().collect(),
                usage: UsageView::from(t),
            })
            .collect(),
        totals: UsageView::from(&totals),
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    start: String,
    cost: Vec<Money>,
    requests: Vec<u64>,
    tokens: Vec<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeseriesView {
    range: RangeView,
    view: &'static str,
    interval: &'static str,
    models: Vec<String>,
    buckets: Vec<Bucket>,
    totals: UsageView,
}

/// Longest range for hourly buckets, in days.
const MAX_HOURLY_DAYS: i32 = 31;

pub async fn timeseries(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<Params>,
) -> Result<Json<TimeseriesView>, ApiError> {
    let view = View::parse(&p)?;
    let range = Range::parse(&p)?;
    let (hourly, periods) = interval_periods(&p, &range)?;
    let dims = vec![view.dim(), Dim::Bucket];
    let scope = scope(&state, &caller, &p, &dims).await?;
    let starts: Vec<i64> = periods.iter().map(|(_, b)| *b).collect();
    let rows = state
        .store
        .usage(range.query_periods(scope, dims, starts.clone()))
        .await?;
    timeseries_of(view, &range, hourly, &periods, &starts, &rows)
}

/// The `interval` (`day`, the default, or `hour` for at most
/// [`MAX_HOURLY_DAYS`] days): whether hourly, and the labelled periods.
pub(super) fn interval_periods(p: &Params, range: &Range) -> Result<(bool, Vec<(String, i64)>), ApiError> {
    let hourly = match p.get("interval").map(String::as_str) {
        None | Some("day") => false,
        Some("hour") if range.days.days() <= MAX_HOURLY_DAYS => true,
        Some("hour") => {
            return Err(ApiError::invalid(
                "interval",
                ParseError::new(format!("hourly buckets cover at most {MAX_HOURLY_DAYS} days")),
            ));
        }
        Some(other) => {
            return Err(ApiError::invalid(
                "interval",
                ParseError::new(format!("`{other}` is not day or hour")),
            ));
        }
    };
    let periods: Vec<(String, i64)> = if hourly {
        range.hour_starts()
    } else {
        range
            .day_starts()?
            .into_iter()
            .map(|(d, b)| (d.to_string(), b))
            .collect()
    };
    Ok((hourly, periods))
}

fn timeseries_of(
    view: View,
    range: &Range,
    hourly: bool,
    periods: &[(String, i64)],
    starts: &[i64],
    rows: &[(Vec<tally_store::DimValue>, UsageTotals)],
) -> Result<Json<TimeseriesView>, ApiError> {
    // Each row's model and period, found once; models ranked by cost over the whole range.
    fn label(v: Option<&tally_store::DimValue>) -> &str {
        match v {
            Some(tally_store::DimValue::Text(Some(m))) => m.as_str(),
            _ => UNROUTED,
        }
    }
    let cells: Vec<(&str, Option<usize>, &UsageTotals)> = rows
        .iter()
        .map(|(key, t)| {
            let period = match key.get(1) {
                // The store labels each row with its period's first bucket.
                Some(tally_store::DimValue::Bucket(b)) => starts.binary_search(b).ok(),
                _ => None,
            };
            (label(key.first()), period, t)
        })
        .collect();
    let mut per_model: HashMap<&str, UsageTotals> = HashMap::new();
    for (model, _, t) in &cells {
        per_model.entry(model).or_default().add(t);
    }
    let mut ranked: Vec<(String, UsageTotals)> = per_model.into_iter().map(|(m, t)| (m.to_owned(), t)).collect();
    by_cost(&mut ranked, Clone::clone);
    let index: HashMap<&str, usize> = ranked.iter().enumerate().map(|(i, (m, _))| (m.as_str(), i)).collect();

    let n = ranked.len();
    let mut grid: Vec<Vec<UsageTotals>> = vec![vec![UsageTotals::default(); n]; periods.len()];
    for (model, period, t) in &cells {
        if let (Some(period), Some(&m)) = (period, index.get(model)) {
            grid[*period][m].add(t);
        }
    }
    let buckets = periods
        .iter()
        .zip(grid)
        .map(|((label, _), cells)| Bucket {
            start: label.clone(),
            cost: cells.iter().map(|c| c.cost).collect(),
            requests: cells.iter().map(|c| c.requests).collect(),
            tokens: cells.iter().map(|c| c.tokens().total).collect(),
        })
        .collect();
    let totals = sum(ranked.iter().map(|(_, t)| t));
    Ok(Json(TimeseriesView {
        range: range.view(),
        view: view.name(),
        interval: if hourly { "hour" } else { "day" },
        models: ranked.into_iter().map(|(m, _)| m).collect(),
        buckets,
        totals: UsageView::from(&totals),
    }))
}
