//! Which catalog entry prices a (provider, model) pair, the canonical model,
//! and the provider of a bare model.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tally_catalog::Catalog;

#[test]
fn canonical_model_ignores_who_served_it() {
    let cases = [
        ("openai", "gpt-4o", "gpt-4o"),
        ("azure", "gpt-4o", "gpt-4o"),
        ("openrouter", "openai/gpt-4o", "gpt-4o"),
        ("groq", "openai/gpt-oss-20b", "gpt-oss-20b"),
        (
            "vllm",
            "meta-llama/Llama-3.1-8B-Instruct",
            "meta-llama/Llama-3.1-8B-Instruct",
        ),
        ("anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5"),
        // repeated prefixes, LiteLLM provider names and the serving provider itself
        ("openrouter", "openrouter/openai/gpt-4o", "gpt-4o"),
        ("together", "together_ai/openai/gpt-oss-20b", "gpt-oss-20b"),
        ("myproxy", "myproxy/gpt-4o", "gpt-4o"),
        ("gemini", "gemini/gemini-2.5-pro", "gemini-2.5-pro"),
        // organizations that are no provider stay; the last segment stays
        ("together", "Qwen/Qwen3-8B", "Qwen/Qwen3-8B"),
        ("openai", "openai", "openai"),
        ("openai", "openai/", "openai/"),
        // exact, case-sensitive
        ("openrouter", "OpenAI/gpt-4o", "OpenAI/gpt-4o"),
    ];
    let catalog = Catalog::builtin();
    for (provider, model, canonical) in cases {
        assert_eq!(catalog.canonical(provider, model), canonical, "({provider}, {model})");
    }
}

#[test]
fn prices_are_found_by_the_documented_rule() {
    let cases = [
        // 1. {provider}/{model}
        ("azure", "gpt-4o", Some("azure/gpt-4o")),
        ("groq", "openai/gpt-oss-20b", Some("groq/openai/gpt-oss-20b")),
        ("gemini", "gemini-2.5-pro", Some("gemini/gemini-2.5-pro")),
        ("mistral", "mistral-large-latest", Some("mistral/mistral-large-latest")),
        ("deepseek", "deepseek-chat", Some("deepseek/deepseek-chat")),
        ("xai", "grok-4.3", Some("xai/grok-4.3")),
        // 2. alias: tally's `together` is LiteLLM's `together_ai`
        (
            "together",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            Some("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"),
        ),
        // 3. bare key of the provider's own model ...
        ("openai", "gpt-4o", Some("gpt-4o")),
        ("anthropic", "claude-sonnet-4-5", Some("claude-sonnet-4-5")),
        // ... or of any provider's
        ("vllm", "gpt-4o", Some("gpt-4o")),
        ("openai", "azure/gpt-4o", Some("azure/gpt-4o")),
        // 4. the canonical model
        ("openrouter", "openai/gpt-4o", Some("gpt-4o")),
        ("openrouter", "anthropic/claude-sonnet-4-5", Some("claude-sonnet-4-5")),
        ("azure", "openai/gpt-4o", Some("azure/gpt-4o")),
        // unknown: unpriced, never guessed
        ("openai", "gpt-nonexistent", None),
        ("vllm", "meta-llama/Llama-3.1-8B-Instruct", None),
        ("vllm", "openai/gpt-oss-20b", None),
        ("openai", "GPT-4o", None),
        ("openai", "", None),
    ];
    let catalog = Catalog::builtin();
    for (provider, model, key) in cases {
        assert_eq!(catalog.price_key(provider, model), key, "({provider}, {model})");
        let expected = key.map(|k| catalog.get(k).unwrap().prices());
        assert_eq!(catalog.prices(provider, model), expected, "({provider}, {model})");
    }
}

#[test]
fn bare_models_route_to_their_provider() {
    let cases = [
        ("gpt-4o", Some("openai")),
        ("claude-sonnet-4-5", Some("anthropic")),
        ("text-embedding-3-small", Some("openai")),
        ("deepseek-chat", Some("deepseek")),
        ("grok-4.3", Some("xai")),
        ("mistral-large-latest", Some("mistral")),
        ("gemini-2.5-pro", Some("gemini")),
        ("gpt-3.5-turbo-instruct", Some("openai")),
        ("gpt-nonexistent", None),
    ];
    let catalog = Catalog::builtin();
    for (model, provider) in cases {
        assert_eq!(catalog.provider_of(model), provider, "{model}");
    }
}

#[test]
fn contains_is_an_exact_key_match() {
    let catalog = Catalog::builtin();
    assert!(catalog.contains("gpt-4o"));
    assert!(catalog.contains("azure/gpt-4o"));
    assert!(!catalog.contains("openai/gpt-4o"));
    assert!(!catalog.contains("GPT-4O"));
    let entry = catalog.get("claude-sonnet-4-5").unwrap();
    assert_eq!(entry.provider(), "anthropic");
    assert_eq!(entry.mode(), "chat");
}
