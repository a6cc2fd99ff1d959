//! `GET /api/analytics/export.csv`: the same numbers as RFC 4180 CSV.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tally_core::{OrgId, ParseError, UsageTotals, UserId};
use tally_store::{Dim, DimValue, Scope};

use super::{Params, Range, id_param};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Caller;

const GROUPS: &[(&str, Dim)] = &[
    ("model", Dim::RoutedModel),
    ("apiKey", Dim::ApiKey),
    ("member", Dim::Member),
    ("provider", Dim::Provider),
    ("app", Dim::App),
];

/// A dimension value as the export orders it: texts by their text, ids by
/// their bytes (the order of their hyphenated text).
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Cell<'a> {
    Bucket(i64),
    Text(&'a str),
    Id(&'a uuid::Uuid),
}

/// A line of the export: its day (an index into the range's days) when
/// daily, its group's values, and its totals.
type Line<'a> = (Option<usize>, &'a [DimValue], UsageTotals);

fn cell(v: &DimValue) -> Cell<'_> {
    match v {
        DimValue::Bucket(b) => Cell::Bucket(*b),
        DimValue::Text(t) => Cell::Text(t.as_deref().unwrap_or("")),
        DimValue::Id(u) => Cell::Id(u),
        DimValue::Int(n) => Cell::Bucket(*n),
    }
}

/// A text cell: a leading `'` keeps a spreadsheet from reading one that
/// starts with `=`, `+`, `-`, `@`, tab or CR as a formula (OWASP's rule for
/// CSV injection), then RFC 4180 quoting when it holds a comma, quote, CR or
/// LF. Numbers are written as they are, never through here.
pub(crate) fn field(s: &str) -> std::borrow::Cow<'_, str> {
    let s: std::borrow::Cow<'_, str> = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}").into()
    } else {
        s.into()
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s
    }
}

pub async fn csv(State(state): State<AppState>, caller: Caller, Query(p): Query<Params>) -> Result<Response, ApiError> {
    let range = Range::parse(&p)?;
    let mut dims = Vec::new();
    for name in p
        .get("groupBy")
        .map(|g| g.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_else(Vec::new)
    {
        let dim = GROUPS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| *d)
            .ok_or_else(|| {
                ApiError::invalid(
                    "groupBy",
                    ParseError::new(format!("`{name}` is not one of model, apiKey, member, provider, app")),
                )
            })?;
        if !dims.contains(&dim) {
            dims.push(dim);
        }
    }
    let daily = match p.get("interval").map(String::as_str) {
        None | Some("none") => false,
        Some("day") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "interval",
                ParseError::new(format!("`{other}` is not day or none")),
            ));
        }
    };

    let org_scope: Option<OrgId> = id_param(&p, "organizationId")?;
    let scope = match org_scope {
        Some(org) => Scope::Org(org),
        None => super::models::requested_scope(&p)?,
    };
    let org = super::authorize::authorize(&state, &caller, scope, &dims).await?;

    let mut query_dims = dims.clone();
    if daily {
        query_dims.push(Dim::Bucket);
    }
    let days = range.day_starts()?;
    let starts: Vec<i64> = days.iter().map(|(_, b)| *b).collect();
    let rows = state
        .store
        .usage(range.query_periods(scope, query_dims, starts.clone()))
        .await?;

    // Names for key and member ids.
    let keys: HashMap<uuid::Uuid, String> = if dims.contains(&Dim::ApiKey) {
        state
            .store
            .api_keys(org, None, None)
            .await?
            .into_iter()
            .map(|k| (*k.id.as_uuid(), k.name.to_string()))
            .collect()
    } else {
        HashMap::new()
    };
    let mut emails: HashMap<uuid::Uuid, String> = HashMap::new();
    for (key, _) in &rows {
        for v in key {
            if let DimValue::Id(u) = v
                && !keys.contains_key(u)
                && !emails.contains_key(u)
                && let Ok(user) = state.store.user(UserId::from_uuid(*u)).await
            {
                emails.insert(*u, user.email.to_string());
            }
        }
    }

    // One line per group and day. Lines are sorted by reference: days in
    // order (or the first column), the costliest first, then by the cells.
    // Comparing ids by their bytes orders them as their text would; the
    // first column is compared by its rank, computed once, since comparing
    // strings costs more than the rest.
    let day_names: Vec<String> = days.iter().map(|(d, _)| d.to_string()).collect();
    let mut lines: Vec<Line<'_>> = Vec::with_capacity(rows.len());
    // The store labels each row with its day's first bucket, one row a line.
    for (key, t) in &rows {
        let (group, day) = if daily {
            let Some((DimValue::Bucket(b), group)) = key.split_last() else {
                continue;
            };
            let Ok(i) = starts.binary_search(b) else { continue };
            (group, Some(i))
        } else {
            (key.as_slice(), None)
        };
        lines.push((day, group, *t));
    }
    let mut firsts: Vec<Cell<'_>> = lines
        .iter()
        .filter_map(|(_, group, _)| group.first().map(cell))
        .collect();
    firsts.sort_unstable();
    firsts.dedup();
    let ranks: FxHashMap<Cell<'_>, usize> = firsts.into_iter().enumerate().map(|(i, c)| (c, i)).collect();
    let mut sorted: Vec<_> = lines
        .into_iter()
        .map(|(day, group, t)| {
            let rank = group.first().and_then(|v| ranks.get(&cell(v))).copied().unwrap_or(0);
            (day, rank, group, t)
        })
        .collect();
    sorted.sort_unstable_by(|(da, ra, a, x), (db, rb, b, y)| {
        da.cmp(db)
            .then(ra.cmp(rb))
            .then(y.cost.cmp(&x.cost))
            .then_with(|| a.iter().map(cell).cmp(b.iter().map(cell)))
    });

    let mut header_cells: Vec<&str> = Vec::new();
    if daily {
        header_cells.push("date");
    }
    for d in &dims {
        match d {
            Dim::RoutedModel => header_cells.push("model"),
            Dim::ApiKey => header_cells.extend(["api_key_id", "api_key_name"]),
            Dim::Member => header_cells.extend(["member_id", "member_email"]),
            Dim::Provider => header_cells.push("provider"),
            _ => header_cells.push("app"),
        }
    }
    header_cells.extend([
        "requests",
        "errors",
        "client_errors",
        "input_tokens",
        "cached_input_tokens",
        "cache_write_tokens",
        "output_tokens",
        "reasoning_tokens",
        "total_tokens",
        "cost_usd",
        "estimated_requests",
        "unpriced_requests",
    ]);
    let mut out = String::with_capacity(128 * (sorted.len() + 1));
    out.push_str(&header_cells.join(","));
    out.push_str("\r\n");
    let mut numbers = itoa::Buffer::new();
    let mut id_text = uuid::Uuid::encode_buffer();
    for (day, _, group, t) in sorted {
        let k = t.tokens();
        if let Some(name) = day.and_then(|i| day_names.get(i)) {
            out.push_str(name);
            out.push(',');
        }
        for (dim, v) in dims.iter().zip(group) {
            match v {
                DimValue::Id(u) => {
                    out.push_str(u.hyphenated().encode_lower(&mut id_text));
                    out.push(',');
                    let names = if *dim == Dim::ApiKey { &keys } else { &emails };
                    out.push_str(&field(names.get(u).map_or("", String::as_str)));
                }
                DimValue::Text(s) => out.push_str(&field(s.as_deref().unwrap_or(""))),
                DimValue::Bucket(b) | DimValue::Int(b) => out.push_str(numbers.format(*b)),
            }
            out.push(',');
        }
        let counts = [
            t.requests,
            t.errors(),
            t.client_errors,
            k.input,
            k.cached_input,
            k.cache_write,
            k.output,
            k.reasoning,
            k.total,
        ];
        for n in counts {
            out.push_str(numbers.format(n));
            out.push(',');
        }
        t.cost.push_to(&mut out);
        for n in [t.estimated, t.unpriced] {
            out.push(',');
            out.push_str(numbers.format(n));
        }
        out.push_str("\r\n");
    }
    let mut response = out.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"tally-usage.csv\""),
    );
    Ok(response)
}
