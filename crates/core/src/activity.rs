//! The activity event: one per gateway request, whatever happened to it.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{ApiKeyId, EventId, Money, OrgId, ParseError, ProjectId, Usage, UserId};

/// Which gateway endpoint served the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    ChatCompletions,
    Embeddings,
    Models,
    Messages,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The provider answered with success and the answer reached the client.
    Success,
    /// The provider answered with an error status.
    UpstreamError,
    /// The gateway could not get an answer (connect failure, timeout).
    GatewayError,
    /// The request was refused before reaching a provider (bad JSON, unknown model, too large).
    ClientError,
    /// The client went away before the response ended.
    Canceled,
    /// Refused by a budget that was spent (never forwarded). Rollups count
    /// it among the refusals (`client_errors`); raw events keep it apart.
    Blocked,
}

impl Endpoint {
    pub const ALL: [Endpoint; 4] = [
        Endpoint::ChatCompletions,
        Endpoint::Embeddings,
        Endpoint::Models,
        Endpoint::Messages,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat_completions",
            Endpoint::Embeddings => "embeddings",
            Endpoint::Models => "models",
            Endpoint::Messages => "messages",
        }
    }
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Success,
        Outcome::UpstreamError,
        Outcome::GatewayError,
        Outcome::ClientError,
        Outcome::Canceled,
        Outcome::Blocked,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::UpstreamError => "upstream_error",
            Outcome::GatewayError => "gateway_error",
            Outcome::ClientError => "client_error",
            Outcome::Canceled => "canceled",
            Outcome::Blocked => "blocked",
        }
    }
}

macro_rules! snake_enum {
    ($ty:ty, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = ParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| ParseError::new(format!("`{s}` is not a known {}", $what)))
            }
        }
    };
}

snake_enum!(Endpoint, "endpoint");
snake_enum!(Outcome, "outcome");

/// The longest end-user id kept; a longer one is cut to this.
pub const MAX_END_USER_CHARS: usize = 256;

/// An end-user id as kept: cut to [`MAX_END_USER_CHARS`]; none when empty.
pub fn end_user(id: &str) -> Option<String> {
    let id: String = id.chars().take(MAX_END_USER_CHARS).collect();
    (!id.is_empty()).then_some(id)
}

/// One gateway request as recorded. Model fields are `None` when the request
/// failed before that piece was known (for example, an unknown model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityEvent {
    pub id: EventId,
    pub started_at: Timestamp,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub api_key_id: ApiKeyId,
    /// The member who created the key: spend is attributed to them.
    pub created_by: UserId,
    pub requested_model: Option<String>,
    pub provider: Option<String>,
    pub routed_model: Option<String>,
    pub canonical_model: Option<String>,
    pub app: Option<String>,
    /// The client's own user the request was made for (OpenAI's `user`,
    /// Anthropic's `metadata.user_id`), at most [`MAX_END_USER_CHARS`].
    pub end_user: Option<String>,
    /// The client's labels (the `x-tally-tags` header).
    pub tags: Option<crate::Tags>,
    pub endpoint: Endpoint,
    pub stream: bool,
    pub outcome: Outcome,
    pub http_status: u16,
    pub error: Option<String>,
    pub usage: Usage,
    pub cost: Money,
    /// Usage was not reported and was estimated.
    pub estimated: bool,
    /// The model has no price; `cost` is zero.
    pub unpriced: bool,
    /// The provider reported usage that was refused (a count out of range,
    /// not an integer, a part above its whole); `usage` is an estimate or zero.
    pub usage_invalid: bool,
    pub latency_us: u64,
    pub ttft_us: Option<u64>,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn end_users_are_a_bounded_prefix(id in "\\PC{0,300}") {
            match end_user(&id) {
                None => prop_assert!(id.is_empty()),
                Some(kept) => {
                    prop_assert!(id.starts_with(&kept));
                    prop_assert_eq!(kept.chars().count(), id.chars().count().min(MAX_END_USER_CHARS));
                }
            }
        }
    }
}
