//! The analytics API under `/api/analytics` (and `/v1/usage`): parameters
//! parsed into exact ranges of rollup buckets, answers read from rollups by
//! the viewer's local days or hours (the store labels them). See
//! docs/analytics-api.md.

pub(crate) mod authorize;
mod breakdowns;
pub(crate) mod export;
mod keys;
mod members;
mod models;
mod performance;
mod usage_v1;

use std::collections::HashMap;

use axum::Router;
use axum::routing::get;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use tally_core::time::{bucket_ceil, bucket_of, bucket_start};
use tally_core::{DateRange, ParseError, TimeZone, UsageTotals};
use tally_store::{Dim, DimValue, Scope, UsageQuery};

use crate::AppState;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/models", get(models::models))
        .route("/models/timeseries", get(models::timeseries))
        .route("/keys/{apiKeyId}", get(keys::key))
        .route("/members", get(members::list))
        .route("/members/{userId}", get(members::detail))
        .route("/export.csv", get(export::csv))
        .route("/end-users", get(breakdowns::end_users))
        .route("/tags", get(breakdowns::tags))
        .route("/performance", get(performance::performance))
}

/// The analytics route a tally API key calls, under `/v1`.
pub fn v1_router() -> Router<AppState> {
    Router::new().route("/usage", get(usage_v1::usage))
}

/// The OpenAPI document of the analytics API, served at `/api/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

pub async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

pub type Params = HashMap<String, String>;

/// A parsed `from`/`to`/`timezone` and the buckets they cover.
#[derive(Debug, Clone)]
pub struct Range {
    pub days: DateRange,
    pub tz: TimeZone,
    pub from_bucket: i64,
    pub to_bucket: i64,
}

#[derive(Serialize)]
pub struct RangeView {
    from: String,
    to: String,
    timezone: String,
}

impl Range {
    pub fn parse(p: &Params) -> Result<Range, ApiError> {
        let tz = match p.get("timezone") {
            Some(name) => TimeZone::parse(name).map_err(|e| ApiError::invalid("timezone", e))?,
            None => TimeZone::utc(),
        };
        let required = |name: &str| {
            p.get(name)
                .ok_or_else(|| ApiError::invalid(name, ParseError::new("is required (YYYY-MM-DD)")))
        };
        let days =
            DateRange::parse(required("from")?, required("to")?).map_err(|e| ApiError::invalid(e.param, e.error))?;
        let (start, end) = days.instants(&tz).map_err(|e| ApiError::invalid("to", e))?;
        Ok(Range {
            days,
            tz,
            from_bucket: bucket_of(start),
            to_bucket: bucket_ceil(end),
        })
    }

    pub fn view(&self) -> RangeView {
        RangeView {
            from: self.days.from().to_string(),
            to: self.days.to().to_string(),
            timezone: self.tz.name().to_owned(),
        }
    }

    pub fn query(&self, scope: Scope, group_by: Vec<Dim>) -> UsageQuery {
        self.query_periods(scope, group_by, Vec::new())
    }

    /// A query grouped by bucket into periods starting at `cuts` (ascending,
    /// the first at `from_bucket`): the store labels each row with its
    /// period's start, so a row's period is the start equal to its bucket.
    pub fn query_periods(&self, scope: Scope, group_by: Vec<Dim>, cuts: Vec<i64>) -> UsageQuery {
        UsageQuery {
            scope,
            from_bucket: self.from_bucket,
            to_bucket: self.to_bucket,
            group_by,
            cuts,
        }
    }

    /// The local days of the range, each with the first bucket it starts at.
    pub fn day_starts(&self) -> Result<Vec<(Date, i64)>, ApiError> {
        let mut out = Vec::with_capacity(self.days.days() as usize);
        let mut day = self.days.from();
        while day <= self.days.to() {
            let start = self.tz.start_of(day).map_err(ApiError::internal)?;
            out.push((day, bucket_of(start)));
            day = day.tomorrow().map_err(ApiError::internal)?;
        }
        Ok(out)
    }

    /// The local hours of the range: every bucket that starts a local hour,
    /// labelled RFC 3339 with its offset (a repeated hour keeps both).
    pub fn hour_starts(&self) -> Vec<(String, i64)> {
        (self.from_bucket..self.to_bucket)
            .filter_map(|b| {
                let at: Timestamp = bucket_start(b);
                let local = at.to_zoned(self.tz.as_jiff().clone());
                (local.minute() == 0).then(|| (at.display_with_offset(local.offset()).to_string(), b))
            })
            .collect()
    }
}

/// Parses an id parameter; an unparsable id names the parameter (400).
pub fn id_param<T: std::str::FromStr<Err = ParseError>>(p: &Params, name: &str) -> Result<Option<T>, ApiError> {
    p.get(name)
        .map(|raw| raw.parse::<T>().map_err(|e| ApiError::invalid(name, e)))
        .transpose()
}

/// The text of a dimension value (`None` for "none").
pub fn text(v: &DimValue) -> Option<String> {
    match v {
        DimValue::Text(t) => t.clone(),
        DimValue::Bucket(b) | DimValue::Int(b) => Some(b.to_string()),
        DimValue::Id(u) => Some(u.to_string()),
    }
}

/// Sorts rows by cost, then requests (both descending), then label.
pub fn by_cost<T>(rows: &mut [(T, UsageTotals)], label: impl Fn(&T) -> String) {
    rows.sort_by(|(a, x), (b, y)| {
        y.cost
            .cmp(&x.cost)
            .then(y.requests.cmp(&x.requests))
            .then_with(|| label(a).cmp(&label(b)))
    });
}

pub fn sum<'a>(rows: impl IntoIterator<Item = &'a UsageTotals>) -> UsageTotals {
    let mut total = UsageTotals::default();
    for t in rows {
        total.add(t);
    }
    total
}
