//! The catalog of model prices: lookup by provider and model, and the
//! canonical model name.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use serde::Deserialize;

use crate::price::{PerMillion, Prices, Tier};

/// The catalog compiled into the binary; see `data/README.md`.
const EMBEDDED: &str = include_str!("../data/prices.json");

static BUILTIN: LazyLock<Result<Catalog, CatalogError>> = LazyLock::new(|| Catalog::from_json(EMBEDDED));
static EMPTY: LazyLock<Catalog> = LazyLock::new(Catalog::empty);

/// tally's own provider ids, in the order [`Catalog::provider_of`] prefers
/// them when a bare model is found under several of their prefixes.
const TALLY_PROVIDERS: &[&str] = &[
    "openai",
    "anthropic",
    "gemini",
    "mistral",
    "deepseek",
    "xai",
    "groq",
    "together",
    "azure",
    "openrouter",
];

/// tally provider id → LiteLLM provider name (the catalog's key prefix),
/// where the two differ.
const PROVIDER_ALIASES: &[(&str, &str)] = &[
    ("together", "together_ai"),
    ("fireworks", "fireworks_ai"),
    ("google", "gemini"),
    ("vertex", "vertex_ai"),
];

/// LiteLLM provider name → tally provider id, for [`Catalog::provider_of`].
const TO_TALLY: &[(&str, &str)] = &[("together_ai", "together"), ("text-completion-openai", "openai")];

/// Why a catalog text was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("price catalog is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("price catalog entry `{key}` is not valid: {reason}")]
    Entry { key: String, reason: String },
}

/// One model of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    provider: String,
    mode: String,
    prices: Prices,
}

impl Entry {
    /// LiteLLM's provider of the entry (`litellm_provider`), e.g. `openai`,
    /// `azure`, `together_ai`, `vertex_ai-language-models`.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// `chat`, `completion`, `responses` or `embedding`.
    pub fn mode(&self) -> &str {
        &self.mode
    }

    pub fn prices(&self) -> &Prices {
        &self.prices
    }
}

/// Model prices keyed as in LiteLLM's catalog: bare (`gpt-4o`,
/// `claude-sonnet-4-5`) or provider-prefixed (`azure/gpt-4o`,
/// `groq/openai/gpt-oss-20b`).
#[derive(Debug, Clone)]
pub struct Catalog {
    source: String,
    models: HashMap<String, Entry>,
    /// Every name that denotes a provider: the catalog's `litellm_provider`
    /// values, tally's provider ids and the alias targets.
    providers: HashSet<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    source: String,
    models: HashMap<String, RawModel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    provider: String,
    mode: String,
    input: u64,
    output: u64,
    cached_input: Option<u64>,
    cache_write: Option<u64>,
    reasoning: Option<u64>,
    #[serde(default)]
    tiers: Vec<RawTier>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    above_input_tokens: u64,
    input: Option<u64>,
    cached_input: Option<u64>,
    cache_write: Option<u64>,
    output: Option<u64>,
}

impl Catalog {
    /// The catalog compiled into the binary, parsed on first use.
    ///
    /// Never panics: should the embedded data fail to parse (a build defect
    /// that the crate's tests catch), this is an empty catalog, so every model
    /// is unpriced. Call [`Catalog::try_builtin`] at start-up to log the error.
    pub fn builtin() -> &'static Catalog {
        match &*BUILTIN {
            Ok(catalog) => catalog,
            Err(_) => &EMPTY,
        }
    }

    /// The catalog compiled into the binary, or why it could not be parsed.
    pub fn try_builtin() -> Result<&'static Catalog, &'static CatalogError> {
        BUILTIN.as_ref()
    }

    /// A catalog with no models: every lookup is unpriced.
    pub fn empty() -> Catalog {
        Catalog {
            source: String::new(),
            models: HashMap::new(),
            providers: known_providers(),
        }
    }

    /// Parses a catalog in the format of `data/prices.json` (written by
    /// `scripts/gen-catalog.py`): prices are integers of nano-USD per million
    /// tokens; a float, a negative number or an unknown field is refused.
    pub fn from_json(text: &str) -> Result<Catalog, CatalogError> {
        let raw: RawCatalog = serde_json::from_str(text)?;
        let mut models = HashMap::with_capacity(raw.models.len());
        let mut providers = known_providers();
        for (key, m) in raw.models {
            let bad = |reason: &str| CatalogError::Entry {
                key: key.clone(),
                reason: reason.to_owned(),
            };
            if key.is_empty() {
                return Err(bad("empty model key"));
            }
            if m.provider.is_empty() {
                return Err(bad("empty provider"));
            }
            let mut tiers: Vec<Tier> = m
                .tiers
                .into_iter()
                .map(|t| Tier {
                    above_input_tokens: t.above_input_tokens,
                    input: t.input.map(PerMillion::new),
                    cached_input: t.cached_input.map(PerMillion::new),
                    cache_write: t.cache_write.map(PerMillion::new),
                    output: t.output.map(PerMillion::new),
                })
                .collect();
            tiers.sort_by_key(|t| t.above_input_tokens);
            if tiers
                .windows(2)
                .any(|w| w[0].above_input_tokens == w[1].above_input_tokens)
            {
                return Err(bad("two tiers with the same threshold"));
            }
            let prices = Prices {
                input: PerMillion::new(m.input),
                cached_input: m.cached_input.map(PerMillion::new),
                cache_write: m.cache_write.map(PerMillion::new),
                output: PerMillion::new(m.output),
                reasoning: m.reasoning.map(PerMillion::new),
                tiers,
            };
            providers.insert(m.provider.clone());
            let entry = Entry {
                provider: m.provider,
                mode: m.mode,
                prices,
            };
            models.insert(key, entry);
        }
        Ok(Catalog {
            source: raw.source,
            models,
            providers,
        })
    }

    /// Where the prices come from (package, version, licence).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Number of models.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// True when `key` is a catalog key, exactly as written
    /// (`gpt-4o`, `azure/gpt-4o`).
    pub fn contains(&self, key: &str) -> bool {
        self.models.contains_key(key)
    }

    /// The entry under the catalog key `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.models.get(key)
    }

    /// The prices of `model` as served by `provider`, or `None` when the
    /// model is unknown: the caller then records cost 0 and flags the
    /// request as unpriced. See [`Catalog::price_key`] for the rule.
    pub fn prices(&self, provider: &str, model: &str) -> Option<&Prices> {
        self.price_key(provider, model)
            .and_then(|key| self.models.get(key))
            .map(|e| &e.prices)
    }

    /// The catalog key whose prices apply to `model` served by `provider`.
    /// The first key that exists wins:
    ///
    /// 1. `{provider}/{model}`: the provider's own entry (`azure/gpt-4o`,
    ///    `groq/openai/gpt-oss-20b`, `xai/grok-4.3`);
    /// 2. `{alias}/{model}` where `alias` is LiteLLM's name for tally's
    ///    provider id (`together` → `together_ai`, `fireworks` →
    ///    `fireworks_ai`, `google` → `gemini`, `vertex` → `vertex_ai`);
    /// 3. `{model}` as a bare key: the model's own provider (`openai` +
    ///    `gpt-4o`, `anthropic` + `claude-sonnet-4-5`) or, failing that, any
    ///    provider: a custom or OpenAI-compatible provider serving a known
    ///    model is priced as that model (a key names one entry, so these two
    ///    cases of the rule are one lookup);
    /// 4. when the [canonical](Catalog::canonical) model differs from
    ///    `model`, steps 1 to 3 again with it: `openrouter` + `openai/gpt-4o`
    ///    is priced as `gpt-4o`.
    ///
    /// Matching is exact (case-sensitive). Nothing else is tried: no
    /// fuzzy match, no date-suffix stripping.
    pub fn price_key(&self, provider: &str, model: &str) -> Option<&str> {
        self.key_for(provider, model).or_else(|| {
            let canonical = self.canonical(provider, model);
            if canonical == model {
                None
            } else {
                self.key_for(provider, &canonical)
            }
        })
    }

    fn key_for(&self, provider: &str, model: &str) -> Option<&str> {
        let aliases = PROVIDER_ALIASES
            .iter()
            .filter(|(from, _)| *from == provider)
            .map(|(_, to)| format!("{to}/{model}"));
        std::iter::once(format!("{provider}/{model}"))
            .chain(aliases)
            .chain(std::iter::once(model.to_owned()))
            .find_map(|key| self.models.get_key_value(key.as_str()).map(|(k, _)| k.as_str()))
    }

    /// The canonical model: the model itself, whoever served it.
    ///
    /// Leading path segments of `model` that name a provider are stripped,
    /// repeatedly: the provider names are every `litellm_provider` of the
    /// catalog, tally's provider ids (`openai`, `anthropic`, `gemini`,
    /// `mistral`, `deepseek`, `xai`, `groq`, `together`, `azure`,
    /// `openrouter`), LiteLLM's names for them (`together_ai`, ...) and
    /// `provider` itself. So `openrouter` + `openai/gpt-4o` and `azure` +
    /// `gpt-4o` are both `gpt-4o`, `groq` + `openai/gpt-oss-20b` is
    /// `gpt-oss-20b`, while `meta-llama/Llama-3.1-8B-Instruct` keeps its
    /// organization prefix because `meta-llama` is no provider. The last
    /// segment is never stripped, and matching is exact (case-sensitive).
    pub fn canonical(&self, provider: &str, model: &str) -> String {
        let mut rest = model;
        while let Some((head, tail)) = rest.split_once('/') {
            if tail.is_empty() || !(head == provider || self.providers.contains(head)) {
                break;
            }
            rest = tail;
        }
        rest.to_owned()
    }

    /// The model names a provider serves according to the catalog, without
    /// the provider prefix, sorted: keys `{provider}/{model}` (or LiteLLM's
    /// name for the provider) and bare keys whose provider it is.
    pub fn models_of(&self, provider: &str) -> Vec<&str> {
        let prefix = format!("{}/", litellm_name(provider));
        let own = format!("{provider}/");
        let mut names: Vec<&str> = self
            .models
            .iter()
            .filter_map(|(key, entry)| {
                key.strip_prefix(own.as_str())
                    .or_else(|| key.strip_prefix(prefix.as_str()))
                    .or_else(|| {
                        (!key.contains('/') && to_tally(&entry.provider) == Some(provider)).then_some(key.as_str())
                    })
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The provider to route a bare model name (`gpt-4o`, `grok-4.3`) to,
    /// according to the catalog, as a tally provider id where there is one:
    ///
    /// 1. the bare key's provider when it is (or LiteLLM's name for) a tally
    ///    provider: `gpt-4o` → `openai`, `claude-sonnet-4-5` → `anthropic`;
    /// 2. else the first tally provider, in the order `openai`, `anthropic`,
    ///    `gemini`, `mistral`, `deepseek`, `xai`, `groq`, `together`, `azure`,
    ///    `openrouter`, whose prefixed key exists: `grok-4.3` → `xai`
    ///    (`xai/grok-4.3`), `gemini-2.5-pro` → `gemini` (the bare key belongs
    ///    to LiteLLM's `vertex_ai-language-models`);
    /// 3. else the bare key's LiteLLM provider as is (`bedrock`, ...).
    pub fn provider_of(&self, bare_model: &str) -> Option<&str> {
        let bare = self.models.get(bare_model).map(|e| e.provider.as_str());
        if let Some(tally) = bare.and_then(to_tally) {
            return Some(tally);
        }
        let prefixed = TALLY_PROVIDERS.iter().copied().find(|tally| {
            let prefix = litellm_name(tally);
            self.models.contains_key(format!("{prefix}/{bare_model}").as_str())
        });
        prefixed.or(bare)
    }
}

/// tally's provider ids and LiteLLM's names for them.
fn known_providers() -> HashSet<String> {
    let aliases = PROVIDER_ALIASES.iter().flat_map(|(from, to)| [*from, *to]);
    TALLY_PROVIDERS
        .iter()
        .copied()
        .chain(aliases)
        .map(str::to_owned)
        .collect()
}

/// LiteLLM's name (key prefix) for a tally provider id.
fn litellm_name(tally: &str) -> &str {
    PROVIDER_ALIASES
        .iter()
        .find(|(from, _)| *from == tally)
        .map_or(tally, |(_, to)| *to)
}

/// The tally provider id of a LiteLLM provider name, if tally has one.
fn to_tally(litellm: &str) -> Option<&'static str> {
    if let Some(&(_, tally)) = TO_TALLY.iter().find(|(from, _)| *from == litellm) {
        return Some(tally);
    }
    TALLY_PROVIDERS.iter().copied().find(|p| *p == litellm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_parses() {
        let catalog = Catalog::try_builtin().unwrap();
        assert!(catalog.len() > 1000, "only {} models", catalog.len());
        assert!(catalog.source().contains("litellm 1.110.2"));
        assert!(catalog.source().contains("MIT"));
        assert!(catalog.source().contains("Berri AI"));
        assert!(std::ptr::eq(Catalog::builtin(), catalog));
    }

    #[test]
    fn refuses_floats_negatives_and_unknown_fields() {
        let ok = r#"{"source":"s","models":{"m":{"provider":"p","mode":"chat","input":1,"output":2}}}"#;
        assert_eq!(Catalog::from_json(ok).unwrap().len(), 1);
        for bad in [
            r#"{"source":"s","models":{"m":{"provider":"p","mode":"chat","input":1.5,"output":2}}}"#,
            r#"{"source":"s","models":{"m":{"provider":"p","mode":"chat","input":-1,"output":2}}}"#,
            r#"{"source":"s","models":{"m":{"provider":"p","mode":"chat","input":1,"output":2,"extra":1}}}"#,
            r#"{"source":"s","models":{"m":{"provider":"p","mode":"chat","input":1}}}"#,
            r#"{"source":"s","models":{"m":{"provider":"","mode":"chat","input":1,"output":2}}}"#,
            r#"{"source":"s","models":{"m":{"provider":"p","mode":"chat","input":1,"output":2,
                "tiers":[{"above_input_tokens":5},{"above_input_tokens":5}]}}}"#,
            "not json",
        ] {
            assert!(Catalog::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_catalog_prices_nothing() {
        let catalog = Catalog::empty();
        assert!(catalog.is_empty());
        assert_eq!(catalog.prices("openai", "gpt-4o"), None);
        assert_eq!(catalog.canonical("openrouter", "openai/gpt-4o"), "gpt-4o");
    }
}
