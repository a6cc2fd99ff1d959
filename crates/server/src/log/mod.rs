//! The request log under `/api/activity`: pages of raw events of a scope
//! and range, filtered and sorted (`list.rs`), one request in full
//! (`detail.rs`) and the whole filtered log streamed as CSV or NDJSON
//! (`export.rs`). Parameters and access rules are parsed once
//! (`params.rs`). See docs/request-log.md.

mod detail;
mod export;
mod list;
mod params;
mod view;

use axum::Router;
use axum::routing::get;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list::list))
        .route("/export.csv", get(export::export))
        .route("/{eventId}", get(detail::detail))
}
