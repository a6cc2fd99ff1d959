//! The provider seam: everything that differs between wire formats, in one
//! place. [`WireFormat`] is the closed list of formats; [`WireFormat::wire`]
//! is the one match on it, handing out the format's [`Wire`]: the upstream
//! URL and authentication, the request rewrite, reading usage from whole
//! answers and stream events, and the error shape. Client routes name the
//! format they speak (`/v1/chat/completions` and `/v1/embeddings` OpenAI's,
//! `/v1/messages` Anthropic's); a provider is served on the routes of its
//! format's [`Wire::client_format`].
//!
//! Adding a format: a variant here, a module with its `Wire`, an arm in
//! [`WireFormat::wire`], and gateway tests against the mock provider.

mod anthropic;
mod azure;
mod openai;

use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tally_core::Endpoint;

use super::body::RawObject;
use super::usage::{Reported, StreamTally};
use crate::secrets::Secret;

pub use azure::{ApiVersion, BadApiVersion, DEFAULT_API_VERSION};

/// The wire format a provider speaks (`kind` in its configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireFormat {
    /// OpenAI's: `/chat/completions`, `/embeddings` under the base URL
    /// (which includes `/v1` or its like), `Authorization: Bearer`.
    Openai,
    /// Anthropic's Messages API: `/v1/messages` under the base URL,
    /// `x-api-key` and `anthropic-version`.
    Anthropic,
    /// Azure OpenAI: OpenAI's bodies, usage and streams at
    /// `/openai/deployments/{deployment}/…?api-version=…`, `api-key`.
    Azure,
}

impl WireFormat {
    /// The format's description: the one place a format is told apart.
    pub fn wire(self) -> &'static dyn Wire {
        match self {
            WireFormat::Openai => &openai::OpenAi,
            WireFormat::Anthropic => &anthropic::Anthropic,
            WireFormat::Azure => &azure::Azure,
        }
    }
}

/// What a format's URLs are made of, from the provider's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The base URL, without a trailing `/`.
    pub base_url: String,
    /// Azure's `api-version` query (set for Azure providers only).
    pub api_version: Option<ApiVersion>,
}

/// A request this format cannot send upstream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("this provider's wire format has no `{0}` endpoint")]
    NoEndpoint(&'static str),
    #[error(
        "`{0}` is not an Azure deployment name (1 to 64 letters, digits, `-`, `_` or `.`); the model names the deployment"
    )]
    BadDeployment(String),
    #[error("`{0}` is not a valid URL")]
    BadUrl(String),
}

/// A provider's configuration that does not make a [`Target`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// No `base_url`; `example` when the format has no usual one.
    #[error("no base_url")]
    NoBaseUrl { example: Option<&'static str> },
    #[error("`api_version` applies only to `kind = \"azure\"`")]
    NoApiVersion,
    #[error("api_version {0}")]
    BadApiVersion(#[from] BadApiVersion),
}

/// How the gateway changed the body, for reading the answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rewritten {
    /// On a stream, the gateway asked for the usage-only chunk the client
    /// did not: hide it.
    pub hide_usage_chunk: bool,
}

/// Everything that differs per wire format.
pub trait Wire: Send + Sync {
    /// The format a client speaks to reach a provider of this one.
    fn client_format(&self) -> WireFormat;

    /// The client route to name when a model is sent to the wrong one.
    fn client_route(&self) -> &'static str;

    /// What this format's URLs are made of, from the provider's `base_url`
    /// (its preset's when not configured) and `api_version`.
    fn target(&self, base_url: Option<String>, api_version: Option<&str>) -> Result<Target, TargetError> {
        if api_version.is_some() {
            return Err(TargetError::NoApiVersion);
        }
        let base_url = base_url.ok_or(TargetError::NoBaseUrl { example: None })?;
        Ok(Target {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_version: None,
        })
    }

    /// The upstream URL of `endpoint` for `model` (the name sent upstream).
    fn url(&self, target: &Target, endpoint: Endpoint, model: &str) -> Result<String, WireError>;

    /// Whether [`Wire::url`] depends on the model (else a provider's URLs
    /// are parsed once).
    fn url_names_model(&self) -> bool {
        false
    }

    /// Adds the provider's API key.
    fn authorize(&self, request: reqwest::RequestBuilder, key: &Secret) -> reqwest::RequestBuilder;

    /// Adds the headers the format needs, some taken from the client's.
    fn headers(&self, request: reqwest::RequestBuilder, _client: &HeaderMap) -> reqwest::RequestBuilder {
        request
    }

    /// Rewrites the body for upstream: the model, and whatever the format
    /// needs to report usage.
    fn rewrite(
        &self,
        body: &mut RawObject,
        model: &str,
        stream: bool,
        endpoint: Endpoint,
    ) -> Result<Rewritten, serde_json::Error>;

    /// Whether a 200 answer is in fact an error object.
    fn is_error(&self, answer: &Value) -> bool;

    /// Usage of a whole answer.
    fn usage(&self, answer: &Value) -> Option<Reported>;

    /// Reads one stream event's JSON into `tally`; true when it is the
    /// usage-only chunk that [`Rewritten::hide_usage_chunk`] hides.
    fn stream_event(&self, tally: &mut StreamTally, event: &Value) -> bool;

    /// The body of an error the gateway answers with on this format's routes.
    fn error_body(&self, status: StatusCode, message: &str) -> Value;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(base: &str) -> Target {
        Target {
            base_url: base.to_owned(),
            api_version: Some(ApiVersion::parse("2024-10-21").unwrap()),
        }
    }

    #[test]
    fn urls_per_format() {
        let t = target("https://h/v1");
        let openai = WireFormat::Openai.wire();
        assert_eq!(
            openai.url(&t, Endpoint::ChatCompletions, "m").unwrap(),
            "https://h/v1/chat/completions"
        );
        assert_eq!(
            openai.url(&t, Endpoint::Embeddings, "m").unwrap(),
            "https://h/v1/embeddings"
        );
        let t = target("https://h");
        assert_eq!(
            WireFormat::Anthropic.wire().url(&t, Endpoint::Messages, "m").unwrap(),
            "https://h/v1/messages"
        );
        let azure = WireFormat::Azure.wire();
        assert_eq!(
            azure.url(&t, Endpoint::ChatCompletions, "gpt-4o").unwrap(),
            "https://h/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            azure.url(&t, Endpoint::Embeddings, "emb.small_1").unwrap(),
            "https://h/openai/deployments/emb.small_1/embeddings?api-version=2024-10-21"
        );
        for bad in ["", "a/b", "a?b", "a b", "..", "é", &"x".repeat(65)] {
            assert_eq!(
                azure.url(&t, Endpoint::ChatCompletions, bad),
                Err(WireError::BadDeployment(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(matches!(
            azure.url(&t, Endpoint::Messages, "gpt-4o"),
            Err(WireError::NoEndpoint(_))
        ));
    }

    #[test]
    fn azure_is_openai_on_the_client_side() {
        assert_eq!(WireFormat::Azure.wire().client_format(), WireFormat::Openai);
        assert_eq!(WireFormat::Openai.wire().client_format(), WireFormat::Openai);
        assert_eq!(WireFormat::Anthropic.wire().client_format(), WireFormat::Anthropic);
    }
}
