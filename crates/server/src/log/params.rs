//! A log request's query parameters, parsed into a [`LogQuery`] and
//! checked against the caller's access: the analytics' rule for the scope
//! and a member filter (`analytics/authorize.rs`), and one more of the log's
//! own: a developer sees the events of the keys they created, whatever the
//! scope they read.

use tally_core::{Money, Outcome, ParseError, UserId};
use tally_store::log::{LogCursor, LogFilter, LogLimit, LogQuery, LogSort};
use tally_store::{Dim, Scope};

use crate::AppState;
use crate::analytics::authorize::authorize;
use crate::analytics::{Params, Range, id_param};
use crate::api::access;
use crate::error::ApiError;
use crate::extract::Caller;

/// Every parameter the log reads; any other is refused (a typo would
/// otherwise widen the answer silently).
const KNOWN: &[&str] = &[
    "organizationId",
    "projectId",
    "apiKeyId",
    "userId",
    "from",
    "to",
    "timezone",
    "model",
    "routedModel",
    "provider",
    "app",
    "endUser",
    "tag",
    "endpoint",
    "outcome",
    "status",
    "stream",
    "estimated",
    "unpriced",
    "invalidUsage",
    "minCost",
    "minLatencyMs",
    "sort",
    "limit",
    "cursor",
    // The export's own.
    "format",
];

/// The longest text a filter compares (model names, apps and end users
/// are at most this long as recorded).
const MAX_FILTER_CHARS: usize = 256;
/// The largest latency filter: a day.
const MAX_LATENCY_MS: u64 = 86_400_000;

/// A parsed, authorized log request.
pub struct LogRequest {
    pub query: LogQuery,
    pub range: Range,
}

fn parsed<T: std::str::FromStr<Err = ParseError>>(p: &Params, name: &str) -> Result<Option<T>, ApiError> {
    p.get(name)
        .map(|raw| raw.parse::<T>().map_err(|e| ApiError::invalid(name, e)))
        .transpose()
}

fn text(p: &Params, name: &str) -> Result<Option<String>, ApiError> {
    match p.get(name) {
        None => Ok(None),
        Some(v) if v.is_empty() || v.chars().count() > MAX_FILTER_CHARS => Err(ApiError::invalid(
            name,
            ParseError::new(format!("must be 1 to {MAX_FILTER_CHARS} characters")),
        )),
        Some(v) => Ok(Some(v.clone())),
    }
}

fn flag(p: &Params, name: &str) -> Result<Option<bool>, ApiError> {
    match p.get(name).map(String::as_str) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::invalid(name, ParseError::new("must be true or false"))),
    }
}

/// `outcome=upstream_error,gateway_error`: any of a comma-separated list.
fn outcomes(p: &Params) -> Result<Vec<Outcome>, ApiError> {
    let Some(raw) = p.get("outcome") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for part in raw.split(',') {
        let o: Outcome = part.parse().map_err(|e| ApiError::invalid("outcome", e))?;
        if !out.contains(&o) {
            out.push(o);
        }
    }
    Ok(out)
}

fn filter(p: &Params) -> Result<LogFilter, ApiError> {
    let status = match p.get("status") {
        None => None,
        Some(raw) => Some(
            raw.parse::<u16>()
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| ApiError::invalid("status", ParseError::new("must be an HTTP status, 100 to 599")))?,
        ),
    };
    let min_cost: Option<Money> = parsed(p, "minCost")?;
    if min_cost.is_some_and(Money::is_negative) {
        return Err(ApiError::invalid("minCost", ParseError::new("must not be negative")));
    }
    let min_latency_us = match p.get("minLatencyMs") {
        None => None,
        Some(raw) => Some(
            raw.parse::<u64>()
                .ok()
                .filter(|ms| *ms <= MAX_LATENCY_MS)
                .map(|ms| ms * 1000)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "minLatencyMs",
                        ParseError::new(format!("must be a whole number of milliseconds, 0 to {MAX_LATENCY_MS}")),
                    )
                })?,
        ),
    };
    Ok(LogFilter {
        member: None,
        canonical_model: text(p, "model")?,
        routed_model: text(p, "routedModel")?,
        provider: text(p, "provider")?,
        app: text(p, "app")?,
        end_user: text(p, "endUser")?,
        tag: tag(p)?,
        endpoint: parsed(p, "endpoint")?,
        outcomes: outcomes(p)?,
        http_status: status,
        stream: flag(p, "stream")?,
        estimated: flag(p, "estimated")?,
        unpriced: flag(p, "unpriced")?,
        usage_invalid: flag(p, "invalidUsage")?,
        min_cost,
        min_latency_us,
    })
}

/// `tag=key:value`: events tagged so.
fn tag(p: &Params) -> Result<Option<(String, String)>, ApiError> {
    let Some(raw) = p.get("tag") else {
        return Ok(None);
    };
    let invalid = |e: ParseError| ApiError::invalid("tag", e);
    let (key, value) = raw
        .split_once(':')
        .ok_or_else(|| invalid(ParseError::new("must be key:value")))?;
    let key = tally_core::tags::parse_key(key).map_err(invalid)?;
    let value = tally_core::tags::parse_value(value).map_err(invalid)?;
    Ok(Some((key, value)))
}

/// The scope named by exactly one of `organizationId`, `projectId` and
/// `apiKeyId`.
fn scope(p: &Params) -> Result<Scope, ApiError> {
    let scopes = [
        id_param(p, "organizationId")?.map(Scope::Org),
        id_param(p, "projectId")?.map(Scope::Project),
        id_param(p, "apiKeyId")?.map(Scope::ApiKey),
    ];
    let mut given = scopes.into_iter().flatten();
    match (given.next(), given.next()) {
        (Some(scope), None) => Ok(scope),
        _ => Err(ApiError::invalid(
            "projectId",
            ParseError::new("give exactly one of organizationId, projectId or apiKeyId"),
        )),
    }
}

/// Parses and authorizes a log request (400 for bad input, then the
/// access rules: 404 for what the caller may not see, 403 for a role or
/// plan too low).
pub async fn request(state: &AppState, caller: &Caller, p: &Params) -> Result<LogRequest, ApiError> {
    if let Some(unknown) = p.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ApiError::invalid(
            unknown,
            ParseError::new("is not a parameter of the request log"),
        ));
    }
    let scope = scope(p)?;
    let member: Option<UserId> = id_param(p, "userId")?;
    let range = Range::parse(p)?;
    let mut filter = filter(p)?;
    let sort: LogSort = parsed(p, "sort")?.unwrap_or_default();
    let limit: LogLimit = parsed(p, "limit")?.unwrap_or(LogLimit::DEFAULT);
    let after: Option<LogCursor> = parsed(p, "cursor")?;
    if after.is_some_and(|c| c.sort != sort) {
        return Err(ApiError::invalid(
            "cursor",
            ParseError::new("belongs to another sort order; start again without a cursor"),
        ));
    }
    let (from, to) = range.days.instants(&range.tz).map_err(|e| ApiError::invalid("to", e))?;

    let org = authorize(state, caller, scope, &[]).await?;
    let role = access::org_role(state, caller, org).await?;
    filter.member = match member {
        Some(user) if role.is_manager() => {
            // A member filter follows the analytics' member rule (the plan).
            let by_member = match scope {
                Scope::Org(org) => Scope::Member(org, user),
                other => other,
            };
            authorize(state, caller, by_member, &[Dim::Member]).await?;
            Some(user)
        }
        // A developer sees the events of their own keys, in any scope.
        Some(user) if user != caller.user_id => {
            return Err(ApiError::forbidden(
                "a developer sees the requests of their own keys; member filters are for owners and admins",
            ));
        }
        _ if role.is_manager() => None,
        _ => Some(caller.user_id),
    };
    Ok(LogRequest {
        query: LogQuery {
            scope,
            from,
            to,
            filter,
            sort,
            after,
            limit,
        },
        range,
    })
}
