//! Costs of real catalog models, computed by hand.
//!
//! Prices below are the catalog's, in USD per token as LiteLLM writes them;
//! `1e-6 USD/token` is `1 USD per million` is `1_000_000_000` units of
//! `PerMillion`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tally_catalog::{Catalog, PerMillion, Prices, cost};
use tally_core::{Money, Usage};

fn usage(input: u64, cached: u64, write: u64, output: u64, reasoning: u64) -> Usage {
    Usage {
        input: Some(input),
        cached_input: Some(cached),
        cache_write: Some(write),
        output: Some(output),
        reasoning: Some(reasoning),
    }
}

fn priced(provider: &str, model: &str, usage: Usage) -> Option<String> {
    Catalog::builtin()
        .prices(provider, model)
        .map(|p| cost(p, &usage).to_string())
}

#[test]
fn catalog_models_cost_what_was_computed_by_hand() {
    let cases: &[(&str, &str, &str, Usage, Option<&str>)] = &[
        (
            "plain input and output",
            "openai",
            "gpt-4o",
            // input 2.5e-6, output 1e-5
            // 1000 x 2.5e-6 = 0.0025; 500 x 1e-5 = 0.005
            usage(1000, 0, 0, 500, 0),
            Some("0.007500000"),
        ),
        (
            "cached input",
            "openai",
            "gpt-4o",
            // cache_read 1.25e-6
            // uncached 2000 - 1500 = 500 x 2.5e-6 = 0.00125
            // cached 1500 x 1.25e-6 = 0.001875; output 100 x 1e-5 = 0.001
            usage(2000, 1500, 0, 100, 0),
            Some("0.004125000"),
        ),
        (
            "same model through azure",
            "azure",
            "gpt-4o",
            // azure/gpt-4o has the same prices as gpt-4o
            usage(2000, 1500, 0, 100, 0),
            Some("0.004125000"),
        ),
        (
            "anthropic cache write and read",
            "anthropic",
            "claude-sonnet-4-5",
            // input 3e-6, cache_creation 3.75e-6, cache_read 3e-7, output 1.5e-5
            // uncached 10000 - 6000 - 3000 = 1000 x 3e-6 = 0.003
            // write 3000 x 3.75e-6 = 0.01125; read 6000 x 3e-7 = 0.0018
            // output 500 x 1.5e-5 = 0.0075; sum 0.02355
            usage(10_000, 6000, 3000, 500, 0),
            Some("0.023550000"),
        ),
        (
            "reasoning at its own price",
            "perplexity",
            "sonar-deep-research",
            // perplexity/sonar-deep-research: input 2e-6, output 8e-6, reasoning 3e-6
            // input 1000 x 2e-6 = 0.002
            // reasoning 4000 x 3e-6 = 0.012; other output 1000 x 8e-6 = 0.008
            usage(1000, 0, 0, 5000, 4000),
            Some("0.022000000"),
        ),
        (
            "reasoning without a reasoning price",
            "openai",
            "o3-mini",
            // input 1.1e-6, output 4.4e-6, no reasoning price
            // 1000 x 1.1e-6 = 0.0011; all 5000 output x 4.4e-6 = 0.022
            usage(1000, 0, 0, 5000, 4000),
            Some("0.023100000"),
        ),
        (
            "embedding",
            "openai",
            "text-embedding-3-small",
            // input 2e-8, output 0: 1234 x 2e-8 = 0.00002468
            Usage {
                input: Some(1234),
                ..Usage::default()
            },
            Some("0.000024680"),
        ),
        (
            "no cache price: cached tokens at the input price (alias together -> together_ai)",
            "together",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            // input 1.04e-6, output 1.04e-6, no cache_read price
            // 1000 x 1.04e-6 = 0.00104; 10 x 1.04e-6 = 0.0000104
            usage(1000, 400, 0, 10, 0),
            Some("0.001050400"),
        ),
        (
            "at the tier threshold: base prices",
            "gemini",
            "gemini-2.5-pro",
            // gemini/gemini-2.5-pro: input 1.25e-6, cache_read 1.25e-7, output 1e-5;
            // above 200k input: input 2.5e-6, cache_read 2.5e-7, output 1.5e-5
            // 200000 is not above 200k:
            // uncached 199999 x 1.25e-6 = 0.24999875; cached 1 x 1.25e-7 = 0.000000125
            // output 1000 x 1e-5 = 0.01; sum 0.259998875
            usage(200_000, 1, 0, 1000, 0),
            Some("0.259998875"),
        ),
        (
            "tier crossing: tier prices for every token",
            "gemini",
            "gemini-2.5-pro",
            // 200001 is above 200k:
            // uncached 200000 x 2.5e-6 = 0.5; cached 1 x 2.5e-7 = 0.00000025
            // output 1000 x 1.5e-5 = 0.015; sum 0.51500025
            usage(200_001, 1, 0, 1000, 0),
            Some("0.515000250"),
        ),
        (
            "sub-nano rounds half away from zero",
            "groq",
            "openai/gpt-oss-20b",
            // groq/openai/gpt-oss-20b: cache_read 3.75e-8 = 37.5 nano-USD per token
            // 1 cached token, nothing else: 37.5 -> 38 nano-USD
            usage(1, 1, 0, 0, 0),
            Some("0.000000038"),
        ),
        (
            "sub-nano over several classes",
            "groq",
            "openai/gpt-oss-20b",
            // input 7.5e-8 = 75 nano, cache_read 37.5 nano, output 3e-7 = 300 nano per token
            // 3 cached = 112.5, 1 uncached = 75, 1 output = 300: 487.5 -> 488
            usage(4, 3, 0, 1, 0),
            Some("0.000000488"),
        ),
        (
            "sub-nano below half rounds down",
            "bigmodel",
            "glm-5.3-flash",
            // bigmodel/glm-5.3-flash: input 1.142857142857143E-7 USD/token, stored
            // rounded as 114285714 per million = 114.285714 nano per token -> 114
            usage(1, 0, 0, 0, 0),
            Some("0.000000114"),
        ),
        (
            "unknown model is unpriced",
            "openai",
            "gpt-nonexistent",
            usage(1, 0, 0, 1, 0),
            None,
        ),
        (
            "unreported counts cost nothing",
            "openai",
            "gpt-4o",
            Usage::default(),
            Some("0.000000000"),
        ),
        (
            "huge counts saturate",
            "openai",
            "gpt-4o",
            usage(u64::MAX, 0, 0, u64::MAX, 0),
            Some("9223372036.854775807"),
        ),
    ];
    let mut failures = Vec::new();
    for (name, provider, model, usage, expected) in cases {
        let got = priced(provider, model, *usage);
        if got.as_deref() != *expected {
            failures.push(format!(
                "{name} ({provider}, {model}): got {got:?}, expected {expected:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rounds_once_at_the_end() {
    // 1 nano-USD per million tokens: 500000 tokens are exactly half a nano-USD.
    let p = Prices::from_usd_per_million("0.000000001", "0.000000001", None, None, None).unwrap();
    let cases = [
        // (input, output, expected nano-USD)
        (499_999, 0, 0),
        (500_000, 0, 1),
        (1_500_000, 0, 2),
        // two halves make one: rounding each class first would give 2
        (500_000, 500_000, 1),
        (499_999, 500_000, 1),
        (0, 0, 0),
    ];
    for (input, output, nanos) in cases {
        let u = Usage {
            input: Some(input),
            output: Some(output),
            ..Usage::default()
        };
        assert_eq!(cost(&p, &u), Money::from_nanos(nanos), "input {input}, output {output}");
    }
}

#[test]
fn inconsistent_counts_saturate_instead_of_going_negative() {
    let p = Prices::from_usd_per_million("1", "2", Some("0.5"), Some("3"), Some("4")).unwrap();
    // cached + write exceed input: uncached is 0, reads and writes are charged
    // as reported. reasoning exceeds output: other output is 0.
    // 10 x 0.5 + 10 x 3 + 0 x 1 = 35 per million; 7 x 4 = 28 per million
    // total 63 USD per million tokens x 1 = 63e-6 USD
    let u = usage(5, 10, 10, 3, 7);
    assert_eq!(cost(&p, &u).to_string(), "0.000063000");
}

#[test]
fn override_prices_parse_exactly() {
    let p = Prices::from_usd_per_million("2.5", "10", Some("1.25"), None, Some("0.000000001")).unwrap();
    assert_eq!(p.input, PerMillion::new(2_500_000_000));
    assert_eq!(p.output, PerMillion::new(10_000_000_000));
    assert_eq!(p.cached_input, Some(PerMillion::new(1_250_000_000)));
    assert_eq!(p.cache_write, None);
    assert_eq!(p.reasoning, Some(PerMillion::new(1)));
    assert!(p.tiers.is_empty());
    // 0.1 USD per million is exact here, unlike in binary floating point.
    let tenth = Prices::from_usd_per_million("0.1", "0.2", None, None, None).unwrap();
    let u = Usage {
        input: Some(3_000_000),
        output: Some(0),
        ..Usage::default()
    };
    assert_eq!(cost(&tenth, &u).to_string(), "0.300000000");
}

#[test]
fn override_prices_refuse_what_is_not_an_exact_decimal() {
    for bad in [
        "1e-3",
        "1E3",
        "abc",
        "-1",
        "-0.5",
        "+1",
        "",
        " 1",
        "1 ",
        "1.",
        ".5",
        "1,5",
        "0x10",
        "NaN",
        "inf",
        "1.0000000001",
        "18446744073.709551616",
        "99999999999999999999",
    ] {
        assert!(
            PerMillion::from_usd_per_million(bad).is_err(),
            "{bad:?} should be refused"
        );
        assert!(
            Prices::from_usd_per_million(bad, "1", None, None, None).is_err(),
            "{bad:?} should be refused as input"
        );
        assert!(
            Prices::from_usd_per_million("1", "1", None, None, Some(bad)).is_err(),
            "{bad:?} should be refused as reasoning"
        );
    }
    let err = Prices::from_usd_per_million("1", "1", Some("x"), None, None).unwrap_err();
    assert!(err.0.starts_with("cached_input:"), "{}", err.0);
}

#[test]
fn tier_prices_fall_back_per_class() {
    let mut p = Prices::from_usd_per_million("1", "2", Some("0.5"), None, None).unwrap();
    p.tiers.push(tally_catalog::Tier {
        above_input_tokens: 10,
        input: Some(PerMillion::from_usd_per_million("10").unwrap()),
        cached_input: None,
        cache_write: None,
        output: None,
    });
    // 11 input tokens (1 cached, 2 written), 1 output, all in the tier:
    // uncached 8 x 10 = 80; cached 1 x 0.5 (base cache price) = 0.5;
    // write 2 x 10 (tier input price) = 20; output 1 x 2 (base) = 2
    // = 102.5 USD per million tokens -> 0.0001025 USD
    assert_eq!(cost(&p, &usage(11, 1, 2, 1, 0)).to_string(), "0.000102500");
    assert_eq!(p.tier_for(10), None);
    assert_eq!(p.tier_for(11).map(|t| t.above_input_tokens), Some(10));
}
