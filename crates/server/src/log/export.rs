//! `GET /api/activity/export.csv`: the whole filtered log, streamed page by
//! page (CSV, or NDJSON with `format=ndjson`): memory stays one page
//! whatever the range.

use std::fmt::Write as _;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tally_core::{ParseError, TimeZone};
use tally_store::log::{LogLimit, LogQuery};

use super::params;
use super::view::{EventView, KeyNames};
use crate::AppState;
use crate::analytics::Params;
use crate::analytics::export::field;
use crate::error::ApiError;
use crate::extract::Caller;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Ndjson,
}

type Cell = fn(&EventView, &mut String);

fn text(out: &mut String, v: Option<&str>) {
    out.push_str(&field(v.unwrap_or("")));
}

fn shown(out: &mut String, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

/// The CSV columns, in order: a name and how an event writes its cell.
const COLUMNS: &[(&str, Cell)] = &[
    ("id", |e, o| shown(o, e.id)),
    ("started_at", |e, o| o.push_str(&e.started_at)),
    ("started_at_utc", |e, o| shown(o, e.started_at_utc)),
    ("requested_model", |e, o| text(o, e.requested_model.as_deref())),
    ("routed_model", |e, o| text(o, e.routed_model.as_deref())),
    ("model", |e, o| text(o, e.model.as_deref())),
    ("provider", |e, o| text(o, e.provider.as_deref())),
    ("api_key_id", |e, o| shown(o, e.api_key_id)),
    ("api_key_name", |e, o| {
        text(o, e.api_key_name.as_ref().map(|n| n.as_str()))
    }),
    ("user_id", |e, o| shown(o, e.user_id)),
    ("app", |e, o| text(o, e.app.as_deref())),
    ("end_user", |e, o| text(o, e.end_user.as_deref())),
    ("tags", |e, o| {
        let pairs: Vec<String> = e.tags.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
        text(o, (!pairs.is_empty()).then(|| pairs.join(",")).as_deref())
    }),
    ("endpoint", |e, o| o.push_str(e.endpoint.as_str())),
    ("stream", |e, o| shown(o, e.stream)),
    ("outcome", |e, o| o.push_str(e.outcome.as_str())),
    ("status", |e, o| shown(o, e.status)),
    ("error", |e, o| text(o, e.error.as_deref())),
    ("input_tokens", |e, o| shown(o, e.tokens.input)),
    ("cached_input_tokens", |e, o| shown(o, e.tokens.cached_input)),
    ("cache_write_tokens", |e, o| shown(o, e.tokens.cache_write)),
    ("output_tokens", |e, o| shown(o, e.tokens.output)),
    ("reasoning_tokens", |e, o| shown(o, e.tokens.reasoning)),
    ("cost_usd", |e, o| e.cost.push_to(o)),
    ("estimated", |e, o| shown(o, e.estimated)),
    ("unpriced", |e, o| shown(o, e.unpriced)),
    ("invalid_usage", |e, o| shown(o, e.invalid_usage)),
    ("latency_us", |e, o| shown(o, e.latency_us)),
    ("ttft_us", |e, o| {
        if let Some(t) = e.ttft_us {
            shown(o, t);
        }
    }),
];

fn header_line() -> String {
    let mut line = COLUMNS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

fn write_event(format: Format, e: &EventView, out: &mut String) {
    match format {
        Format::Csv => {
            for (i, (_, cell)) in COLUMNS.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                cell(e, out);
            }
            out.push_str("\r\n");
        }
        Format::Ndjson => {
            if let Ok(json) = serde_json::to_string(e) {
                out.push_str(&json);
                out.push('\n');
            }
        }
    }
}

/// What the stream needs between pages.
struct Export {
    state: AppState,
    query: LogQuery,
    tz: TimeZone,
    format: Format,
    names: KeyNames,
    done: bool,
}

/// The next chunk of the body: one page of events, or `None` at the end. A
/// store failure ends the body early (the status is sent already); the
/// client sees a truncated file, and the error is logged.
async fn next(mut x: Export) -> Option<(Result<Bytes, std::io::Error>, Export)> {
    if x.done {
        return None;
    }
    let page = match x.state.store.log(x.query.clone()).await {
        Ok(page) => page,
        Err(e) => {
            tracing::error!(error = %e, "request log export failed");
            return Some((
                Err(std::io::Error::other("the export failed")),
                Export { done: true, ..x },
            ));
        }
    };
    if let Err(e) = x.names.of(&x.state, &page.events).await {
        tracing::error!(error = ?e, "request log export failed");
        return Some((
            Err(std::io::Error::other("the export failed")),
            Export { done: true, ..x },
        ));
    }
    let mut out = String::with_capacity(page.events.len() * 400);
    for e in page.events {
        let name = x.names.name(e.api_key_id);
        write_event(x.format, &EventView::new(e, &x.tz, name), &mut out);
    }
    match page.next {
        Some(cursor) => x.query.after = Some(cursor),
        None => x.done = true,
    }
    Some((Ok(Bytes::from(out)), x))
}

pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let format = match p.get("format").map(String::as_str) {
        None | Some("csv") => Format::Csv,
        Some("ndjson") => Format::Ndjson,
        Some(_) => return Err(ApiError::invalid("format", ParseError::new("must be csv or ndjson"))),
    };
    if p.contains_key("limit") {
        return Err(ApiError::invalid(
            "limit",
            ParseError::new("an export holds every matching request; page through /api/activity for fewer"),
        ));
    }
    let request = params::request(&state, &caller, &p).await?;
    let mut query = request.query;
    query.limit = LogLimit::EXPORT;
    let first = match format {
        Format::Csv => header_line(),
        Format::Ndjson => String::new(),
    };
    let export = Export {
        state,
        query,
        tz: request.range.tz.clone(),
        format,
        names: KeyNames::default(),
        done: false,
    };
    let pages = futures_util::stream::unfold(export, next);
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) }),
        pages,
    );
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    let disposition = format!(
        "attachment; filename=\"tally-requests-{}-{}.{extension}\"",
        request.range.days.from(),
        request.range.days.to()
    );
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
