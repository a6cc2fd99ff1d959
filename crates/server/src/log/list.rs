//! `GET /api/activity`: one page of the request log.

use axum::Json;
use axum::extract::{Query, State};
use serde::Serialize;

use super::params;
use super::view::{EventView, KeyNames};
use crate::AppState;
use crate::analytics::{Params, RangeView};
use crate::error::ApiError;
use crate::extract::Caller;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    range: RangeView,
    data: Vec<EventView>,
    /// Give as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<Params>,
) -> Result<Json<Page>, ApiError> {
    let request = params::request(&state, &caller, &p).await?;
    let page = state.store.log(request.query).await?;
    let mut names = KeyNames::default();
    names.of(&state, &page.events).await?;
    let tz = &request.range.tz;
    Ok(Json(Page {
        range: request.range.view(),
        next_cursor: page.next.map(|c| c.to_string()),
        data: page
            .events
            .into_iter()
            .map(|e| {
                let name = names.name(e.api_key_id);
                EventView::new(e, tz, name)
            })
            .collect(),
    }))
}
