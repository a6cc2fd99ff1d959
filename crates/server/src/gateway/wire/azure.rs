//! Azure OpenAI: OpenAI's bodies, usage, streams and errors, at
//! `{base_url}/openai/deployments/{deployment}/{chat/completions,embeddings}?api-version={v}`
//! with the key in `api-key`. The deployment is the routed model name
//! (`azure/<deployment>`); the body keeps `model` (set to the same name),
//! as OpenAI's own Azure client sends it, and Azure ignores it.

use std::fmt;

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use tally_core::Endpoint;

use super::openai::{self, OpenAi};
use super::{Rewritten, Target, TargetError, Wire, WireError, WireFormat};
use crate::gateway::body::RawObject;
use crate::gateway::usage::{Reported, StreamTally};
use crate::secrets::Secret;

/// The `api-version` sent when the provider names none: the latest
/// generally available data-plane version.
pub const DEFAULT_API_VERSION: &str = "2024-10-21";

/// An `api-version` value: 1 to 32 ASCII letters, digits, `-` or `.`
/// (`2024-10-21`, `2025-04-01-preview`), so it needs no escaping in a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersion(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an api-version (1 to 32 letters, digits, `-` or `.`, like `2024-10-21`)")]
pub struct BadApiVersion(pub String);

impl ApiVersion {
    pub fn parse(value: &str) -> Result<ApiVersion, BadApiVersion> {
        let ok = !value.is_empty()
            && value.len() <= 32
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if ok {
            Ok(ApiVersion(value.to_owned()))
        } else {
            Err(BadApiVersion(value.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ApiVersion {
    fn default() -> Self {
        ApiVersion(DEFAULT_API_VERSION.to_owned())
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A deployment name that is one path segment as it stands: 1 to 64
/// letters, digits, `-`, `_` or `.`, starting with a letter or digit (so
/// never `.` or `..`).
fn deployment(model: &str) -> Result<&str, WireError> {
    let ok = model.len() <= 64
        && model.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && model
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(model)
    } else {
        Err(WireError::BadDeployment(model.to_owned()))
    }
}

pub struct Azure;

impl Wire for Azure {
    fn client_format(&self) -> WireFormat {
        WireFormat::Openai
    }

    fn client_route(&self) -> &'static str {
        OpenAi.client_route()
    }

    /// A base URL is required (each resource has its own); the
    /// `api-version` defaults to [`DEFAULT_API_VERSION`].
    fn target(&self, base_url: Option<String>, api_version: Option<&str>) -> Result<Target, TargetError> {
        let base_url = base_url.ok_or(TargetError::NoBaseUrl {
            example: Some("https://<resource>.openai.azure.com"),
        })?;
        let api_version = api_version.map(ApiVersion::parse).transpose()?.unwrap_or_default();
        Ok(Target {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_version: Some(api_version),
        })
    }

    fn url_names_model(&self) -> bool {
        true
    }

    fn url(&self, target: &Target, endpoint: Endpoint, model: &str) -> Result<String, WireError> {
        let path = match endpoint {
            Endpoint::ChatCompletions | Endpoint::Embeddings => openai::path(endpoint)?,
            Endpoint::Models => return Err(WireError::NoEndpoint("models")),
            Endpoint::Messages => return Err(WireError::NoEndpoint("messages")),
        };
        let version = target.api_version.clone().unwrap_or_default();
        Ok(format!(
            "{}/openai/deployments/{}/{path}?api-version={version}",
            target.base_url,
            deployment(model)?
        ))
    }

    fn authorize(&self, request: reqwest::RequestBuilder, key: &Secret) -> reqwest::RequestBuilder {
        request.header("api-key", key.expose())
    }

    fn headers(&self, request: reqwest::RequestBuilder, client: &HeaderMap) -> reqwest::RequestBuilder {
        OpenAi.headers(request, client)
    }

    fn rewrite(
        &self,
        body: &mut RawObject,
        model: &str,
        stream: bool,
        endpoint: Endpoint,
    ) -> Result<Rewritten, serde_json::Error> {
        OpenAi.rewrite(body, model, stream, endpoint)
    }

    fn is_error(&self, answer: &Value) -> bool {
        OpenAi.is_error(answer)
    }

    fn usage(&self, answer: &Value) -> Option<Reported> {
        OpenAi.usage(answer)
    }

    fn stream_event(&self, tally: &mut StreamTally, event: &Value) -> bool {
        OpenAi.stream_event(tally, event)
    }

    fn error_body(&self, status: StatusCode, message: &str) -> Value {
        OpenAi.error_body(status, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_are_query_safe() {
        assert_eq!(ApiVersion::default().as_str(), DEFAULT_API_VERSION);
        assert!(ApiVersion::parse("2025-04-01-preview").is_ok());
        for bad in ["", "2024&x=1", "2024 10", "v/1", &"1".repeat(33)] {
            assert_eq!(ApiVersion::parse(bad), Err(BadApiVersion(bad.to_owned())), "{bad}");
        }
    }
}
