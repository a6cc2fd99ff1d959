//! The JSON (and CSV) shape of one logged request.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;
use tally_core::UsageTotals;
use tally_core::{ActivityEvent, ApiKeyId, Endpoint, EventId, Money, Name, Outcome, TimeZone, TokenTotals, UserId};

use crate::AppState;
use crate::error::ApiError;

/// One request of the log. Latencies are whole microseconds, as recorded.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: EventId,
    /// RFC 3339 in the viewer's zone, with its offset.
    pub started_at: String,
    pub started_at_utc: Timestamp,
    pub requested_model: Option<String>,
    pub routed_model: Option<String>,
    /// The canonical model.
    pub model: Option<String>,
    pub provider: Option<String>,
    pub api_key_id: ApiKeyId,
    pub api_key_name: Option<Name>,
    /// The member who created the key.
    pub user_id: UserId,
    pub app: Option<String>,
    pub end_user: Option<String>,
    /// The request's tags, key to value.
    pub tags: Option<std::collections::BTreeMap<String, String>>,
    pub endpoint: Endpoint,
    pub stream: bool,
    pub outcome: Outcome,
    pub status: u16,
    pub error: Option<String>,
    pub tokens: TokenTotals,
    pub cost: Money,
    pub estimated: bool,
    pub unpriced: bool,
    pub invalid_usage: bool,
    pub latency_us: u64,
    pub ttft_us: Option<u64>,
}

/// The time of `at` in `tz`, RFC 3339 with the zone's offset then.
pub fn local_time(at: Timestamp, tz: &TimeZone) -> String {
    let local = at.to_zoned(tz.as_jiff().clone());
    at.display_with_offset(local.offset()).to_string()
}

impl EventView {
    pub fn new(e: ActivityEvent, tz: &TimeZone, key_name: Option<Name>) -> Self {
        let tokens = UsageTotals::of(&e).tokens();
        EventView {
            id: e.id,
            started_at: local_time(e.started_at, tz),
            started_at_utc: e.started_at,
            requested_model: e.requested_model,
            routed_model: e.routed_model,
            model: e.canonical_model,
            provider: e.provider,
            api_key_id: e.api_key_id,
            api_key_name: key_name,
            user_id: e.created_by,
            app: e.app,
            end_user: e.end_user,
            tags: e
                .tags
                .map(|t| t.pairs().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()),
            endpoint: e.endpoint,
            stream: e.stream,
            outcome: e.outcome,
            status: e.http_status,
            error: e.error,
            tokens,
            cost: e.cost,
            estimated: e.estimated,
            unpriced: e.unpriced,
            invalid_usage: e.usage_invalid,
            latency_us: e.latency_us,
            ttft_us: e.ttft_us,
        }
    }
}

/// The names of the keys of `events`, each looked up once (a key deleted
/// from the store has none).
#[derive(Default)]
pub struct KeyNames(HashMap<ApiKeyId, Option<Name>>);

impl KeyNames {
    pub async fn of(&mut self, state: &AppState, events: &[ActivityEvent]) -> Result<(), ApiError> {
        for e in events {
            if let std::collections::hash_map::Entry::Vacant(slot) = self.0.entry(e.api_key_id) {
                let name = match state.store.api_key(e.api_key_id).await {
                    Ok(key) => Some(key.name),
                    Err(tally_store::StoreError::NotFound) => None,
                    Err(other) => return Err(other.into()),
                };
                slot.insert(name);
            }
        }
        Ok(())
    }

    pub fn name(&self, id: ApiKeyId) -> Option<Name> {
        self.0.get(&id).cloned().flatten()
    }
}
