//! Upstream providers as declared in the configuration file, with presets
//! for well-known ones. API keys come from environment variables and are
//! held in a [`Secret`] that never prints.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;
use tally_core::Endpoint;

#[cfg(test)]
use super::wire::DEFAULT_API_VERSION;
pub use super::wire::WireFormat;
use super::wire::{BadApiVersion, Target, TargetError, WireError};
use crate::secrets::Secret;

/// One `[providers.<id>]` table of the configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Wire format; presets fill it in.
    pub kind: Option<WireFormat>,
    /// Base URL (OpenAI kind: including `/v1`; Azure: the resource's
    /// endpoint, `https://<resource>.openai.azure.com`); presets but
    /// `azure` fill it in.
    pub base_url: Option<String>,
    /// Azure's `api-version` query (default `2024-10-21`); only
    /// for `kind = "azure"`.
    pub api_version: Option<String>,
    /// Environment variable holding the provider's API key.
    pub api_key_env: Option<String>,
    /// Extra headers sent upstream with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Bare model names this provider serves, for routing names without a
    /// `provider/` prefix and for `/v1/models`.
    #[serde(default)]
    pub models: Vec<String>,
    /// Seconds to establish a connection (default 10).
    pub connect_timeout_secs: Option<u64>,
    /// Seconds until the response headers arrive (default 120).
    pub first_byte_timeout_secs: Option<u64>,
    /// Seconds a stream or a whole body may stay silent (default 120).
    pub idle_timeout_secs: Option<u64>,
    /// Seconds a whole (non-streamed) body may take to arrive after its
    /// headers (default 600).
    pub body_timeout_secs: Option<u64>,
    /// Seconds a stream may last in all (default 3600).
    pub stream_timeout_secs: Option<u64>,
    /// Largest whole (non-streamed) response body read, in bytes (default
    /// 64 MiB); a larger one is refused with 502.
    pub max_response_bytes: Option<usize>,
}

/// Default of [`ProviderConfig::body_timeout_secs`].
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 600;
/// Default of [`ProviderConfig::stream_timeout_secs`].
pub const DEFAULT_STREAM_TIMEOUT_SECS: u64 = 3600;
/// Default of [`ProviderConfig::max_response_bytes`].
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A provider tally knows by its id: what `[providers.<id>]` need not say.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub id: &'static str,
    pub kind: WireFormat,
    /// `None`: every installation has its own (Azure's resource endpoint).
    pub base_url: Option<&'static str>,
    /// The variable read for the API key when `api_key_env` is not given.
    pub key_env: &'static str,
}

const fn preset(id: &'static str, kind: WireFormat, base_url: &'static str, key_env: &'static str) -> Preset {
    Preset {
        id,
        kind,
        base_url: Some(base_url),
        key_env,
    }
}

pub const PRESETS: &[Preset] = &[
    preset(
        "openai",
        WireFormat::Openai,
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
    ),
    preset(
        "anthropic",
        WireFormat::Anthropic,
        "https://api.anthropic.com",
        "ANTHROPIC_API_KEY",
    ),
    preset(
        "groq",
        WireFormat::Openai,
        "https://api.groq.com/openai/v1",
        "GROQ_API_KEY",
    ),
    preset(
        "mistral",
        WireFormat::Openai,
        "https://api.mistral.ai/v1",
        "MISTRAL_API_KEY",
    ),
    preset(
        "deepseek",
        WireFormat::Openai,
        "https://api.deepseek.com/v1",
        "DEEPSEEK_API_KEY",
    ),
    preset(
        "together",
        WireFormat::Openai,
        "https://api.together.xyz/v1",
        "TOGETHER_API_KEY",
    ),
    preset(
        "openrouter",
        WireFormat::Openai,
        "https://openrouter.ai/api/v1",
        "OPENROUTER_API_KEY",
    ),
    preset("xai", WireFormat::Openai, "https://api.x.ai/v1", "XAI_API_KEY"),
    // Gemini's OpenAI-compatible endpoint: OpenAI's wire format throughout.
    preset(
        "gemini",
        WireFormat::Openai,
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "GEMINI_API_KEY",
    ),
    // Azure OpenAI: the routed model names the deployment.
    Preset {
        id: "azure",
        kind: WireFormat::Azure,
        base_url: None,
        key_env: "AZURE_OPENAI_API_KEY",
    },
];

/// A provider ready to use.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub kind: WireFormat,
    /// Base URL and format options, for [`Provider::url`].
    pub target: Target,
    pub api_key: Option<Secret>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub models: Vec<String>,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_timeout: Duration,
    pub stream_timeout: Duration,
    pub max_response_bytes: usize,
    /// The upstream URLs that do not name the model, parsed once: parsing
    /// one (its host through IDNA) took about 1.5 % of the gateway's CPU.
    urls: Vec<(Endpoint, reqwest::Url)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("provider id `{0}` must be lower-case letters, digits, `-` or `_`")]
    BadId(String),
    #[error("provider `{0}` needs `kind` and `base_url` (it is not a preset)")]
    Incomplete(String),
    #[error("provider `{id}` needs `base_url`, e.g. `{example}`")]
    NoBaseUrl { id: String, example: &'static str },
    #[error("provider `{id}`: `api_version` applies only to `kind = \"azure\"`")]
    NotAzure { id: String },
    #[error("provider `{id}`: api_version {error}")]
    BadApiVersion { id: String, error: BadApiVersion },
    #[error("provider `{id}`: base_url `{url}` must start with http:// or https://")]
    BadUrl { id: String, url: String },
    #[error("provider `{id}`: environment variable `{var}` is not set")]
    MissingKey { id: String, var: String },
    #[error("provider `{id}`: invalid header `{name}`")]
    BadHeader { id: String, name: String },
}

impl Provider {
    /// Resolves a configuration entry, reading its API key through `env`.
    pub fn resolve(
        id: &str,
        config: &ProviderConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Provider, ProviderError> {
        let valid_id = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid_id {
            return Err(ProviderError::BadId(id.to_owned()));
        }
        let preset = PRESETS.iter().find(|p| p.id == id);
        let kind = config
            .kind
            .or(preset.map(|p| p.kind))
            .ok_or_else(|| ProviderError::Incomplete(id.to_owned()))?;
        let base_url = config
            .base_url
            .clone()
            .or(preset.and_then(|p| p.base_url.map(str::to_owned)));
        let target = kind
            .wire()
            .target(base_url, config.api_version.as_deref())
            .map_err(|e| match e {
                TargetError::NoBaseUrl { example: Some(example) } => ProviderError::NoBaseUrl {
                    id: id.to_owned(),
                    example,
                },
                TargetError::NoBaseUrl { example: None } => ProviderError::Incomplete(id.to_owned()),
                TargetError::NoApiVersion => ProviderError::NotAzure { id: id.to_owned() },
                TargetError::BadApiVersion(error) => ProviderError::BadApiVersion {
                    id: id.to_owned(),
                    error,
                },
            })?;
        let base_url = &target.base_url;
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ProviderError::BadUrl {
                id: id.to_owned(),
                url: base_url.clone(),
            });
        }
        let api_key = match (&config.api_key_env, preset) {
            // Asked for explicitly: it must be there.
            (Some(var), _) => Some(env(var).ok_or_else(|| ProviderError::MissingKey {
                id: id.to_owned(),
                var: var.clone(),
            })?),
            // The preset's usual variable: used when present.
            (None, Some(p)) => env(p.key_env),
            (None, None) => None,
        };
        let headers = config
            .headers
            .iter()
            .map(|(name, value)| {
                let bad = || ProviderError::BadHeader {
                    id: id.to_owned(),
                    name: name.clone(),
                };
                Ok((
                    HeaderName::try_from(name.as_str()).map_err(|_| bad())?,
                    HeaderValue::try_from(value.as_str()).map_err(|_| bad())?,
                ))
            })
            .collect::<Result<_, ProviderError>>()?;
        let wire = kind.wire();
        let mut urls = Vec::new();
        // A format whose URLs name the model parses them per request.
        let fixed = if wire.url_names_model() {
            &[][..]
        } else {
            &Endpoint::ALL[..]
        };
        for &endpoint in fixed {
            let Ok(url) = wire.url(&target, endpoint, "") else {
                continue;
            };
            let parsed = reqwest::Url::parse(&url).map_err(|_| ProviderError::BadUrl {
                id: id.to_owned(),
                url: target.base_url.clone(),
            })?;
            urls.push((endpoint, parsed));
        }
        let secs = |v: Option<u64>, default: u64| Duration::from_secs(v.unwrap_or(default));
        Ok(Provider {
            id: id.to_owned(),
            kind,
            target,
            api_key: api_key.filter(|k| !k.is_empty()).map(Secret::new),
            headers,
            models: config.models.clone(),
            connect_timeout: secs(config.connect_timeout_secs, 10),
            first_byte_timeout: secs(config.first_byte_timeout_secs, 120),
            idle_timeout: secs(config.idle_timeout_secs, 120),
            body_timeout: secs(config.body_timeout_secs, DEFAULT_BODY_TIMEOUT_SECS),
            stream_timeout: secs(config.stream_timeout_secs, DEFAULT_STREAM_TIMEOUT_SECS),
            max_response_bytes: config.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
            urls,
        })
    }

    /// The upstream URL of `endpoint` for `model`, the name sent upstream.
    pub fn url(&self, endpoint: Endpoint, model: &str) -> Result<reqwest::Url, WireError> {
        if let Some((_, url)) = self.urls.iter().find(|(e, _)| *e == endpoint) {
            return Ok(url.clone());
        }
        let url = self.kind.wire().url(&self.target, endpoint, model)?;
        reqwest::Url::parse(&url).map_err(|_| WireError::BadUrl(url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(var: &str) -> Option<String> {
        (var == "OPENAI_API_KEY" || var == "MY_KEY").then(|| "sk-test".to_owned())
    }

    #[test]
    fn presets_fill_in_and_keys_never_print() {
        let p = Provider::resolve("openai", &ProviderConfig::default(), env).unwrap();
        assert_eq!(p.kind, WireFormat::Openai);
        assert_eq!(
            p.url(Endpoint::ChatCompletions, "gpt-4o").unwrap().as_str(),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(p.api_key.as_ref().unwrap().expose(), "sk-test");
        assert!(!format!("{p:?}").contains("sk-test"));
        let a = Provider::resolve("anthropic", &ProviderConfig::default(), env).unwrap();
        assert_eq!(
            a.url(Endpoint::Messages, "claude-sonnet-4-5").unwrap().as_str(),
            "https://api.anthropic.com/v1/messages"
        );
        let g = Provider::resolve("gemini", &ProviderConfig::default(), env).unwrap();
        assert_eq!(g.kind, WireFormat::Openai);
        assert_eq!(
            g.url(Endpoint::Embeddings, "gemini-embedding-001").unwrap().as_str(),
            "https://generativelanguage.googleapis.com/v1beta/openai/embeddings"
        );
        let gemini_env = |var: &str| (var == "GEMINI_API_KEY").then(|| "g-key".to_owned());
        let g = Provider::resolve("gemini", &ProviderConfig::default(), gemini_env).unwrap();
        assert_eq!(g.api_key.as_ref().unwrap().expose(), "g-key");
        assert!(a.api_key.is_none());
    }

    #[test]
    fn custom_providers_need_kind_and_url() {
        assert!(matches!(
            Provider::resolve("vllm", &ProviderConfig::default(), env),
            Err(ProviderError::Incomplete(_))
        ));
        let config = ProviderConfig {
            kind: Some(WireFormat::Openai),
            base_url: Some("http://localhost:8000/v1/".into()),
            api_key_env: Some("MY_KEY".into()),
            ..ProviderConfig::default()
        };
        let p = Provider::resolve("vllm", &config, env).unwrap();
        assert_eq!(
            p.url(Endpoint::Models, "").unwrap().as_str(),
            "http://localhost:8000/v1/models"
        );
        let missing = ProviderConfig {
            api_key_env: Some("NOPE".into()),
            ..config.clone()
        };
        assert!(matches!(
            Provider::resolve("vllm", &missing, env),
            Err(ProviderError::MissingKey { .. })
        ));
        assert!(matches!(
            Provider::resolve("Bad Id", &config, env),
            Err(ProviderError::BadId(_))
        ));
        let ftp = ProviderConfig {
            base_url: Some("ftp://x".into()),
            ..config
        };
        assert!(matches!(
            Provider::resolve("vllm", &ftp, env),
            Err(ProviderError::BadUrl { .. })
        ));
    }

    #[test]
    fn azure_needs_its_endpoint_and_takes_an_api_version() {
        let env = |var: &str| (var == "AZURE_OPENAI_API_KEY").then(|| "az-key".to_owned());
        let e = Provider::resolve("azure", &ProviderConfig::default(), env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "provider `azure` needs `base_url`, e.g. `https://<resource>.openai.azure.com`"
        );
        let config = ProviderConfig {
            base_url: Some("https://res.openai.azure.com/".into()),
            ..ProviderConfig::default()
        };
        let p = Provider::resolve("azure", &config, env).unwrap();
        assert_eq!(p.kind, WireFormat::Azure);
        assert_eq!(p.api_key.as_ref().unwrap().expose(), "az-key");
        assert_eq!(
            p.url(Endpoint::ChatCompletions, "gpt-4o").unwrap().as_str(),
            format!(
                "https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version={DEFAULT_API_VERSION}"
            )
        );
        let pinned = ProviderConfig {
            api_version: Some("2025-04-01-preview".into()),
            ..config.clone()
        };
        let p = Provider::resolve("azure", &pinned, env).unwrap();
        assert_eq!(
            p.url(Endpoint::Embeddings, "emb").unwrap().as_str(),
            "https://res.openai.azure.com/openai/deployments/emb/embeddings?api-version=2025-04-01-preview"
        );
        let bad = ProviderConfig {
            api_version: Some("2024&x=1".into()),
            ..config.clone()
        };
        let e = Provider::resolve("azure", &bad, env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "provider `azure`: api_version `2024&x=1` is not an api-version (1 to 32 letters, digits, `-` or `.`, like `2024-10-21`)"
        );
        // A custom id of the Azure kind, and an api_version where it means nothing.
        let custom = ProviderConfig {
            kind: Some(WireFormat::Azure),
            ..config
        };
        assert_eq!(
            Provider::resolve("eu-azure", &custom, env).unwrap().kind,
            WireFormat::Azure
        );
        let openai = ProviderConfig {
            api_version: Some("2024-10-21".into()),
            ..ProviderConfig::default()
        };
        let e = Provider::resolve("openai", &openai, env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "provider `openai`: `api_version` applies only to `kind = \"azure\"`"
        );
    }
}
