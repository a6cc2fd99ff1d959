//! Property tests of the usage readers: whatever a provider sends (bytes,
//! any JSON, absurd numbers), no reader panics and no count comes out
//! wrapped, negative or above the cap; well-formed usage reads back as sent.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{Value, json};
use tally_core::{MAX_TOKENS, Usage};

use super::{Reported, StreamTally, anthropic, openai};

/// A count as the reader must accept it: in range, parts within wholes.
fn sane(u: &Usage) -> bool {
    let n = |v: Option<u64>| v.unwrap_or(0);
    [u.input, u.cached_input, u.cache_write, u.output, u.reasoning]
        .into_iter()
        .flatten()
        .all(|v| v <= MAX_TOKENS)
        && n(u.cached_input) + n(u.cache_write) <= n(u.input)
        && n(u.reasoning) <= n(u.output)
}

fn check(r: Option<&Reported>) -> Result<(), TestCaseError> {
    if let Some(Ok(u)) = r {
        prop_assert!(sane(u), "{u:?}");
    }
    Ok(())
}

/// Feeds `v` to every reader, as a whole usage object and as stream events.
fn read_everywhere(v: &Value) -> Result<(), TestCaseError> {
    check(openai(v).as_ref())?;
    check(anthropic(v).as_ref())?;
    let mut t = StreamTally::default();
    t.openai_chunk(v);
    t.openai_chunk(&json!({"choices": [], "usage": v}));
    check(t.usage.as_ref())?;
    let mut t = StreamTally::default();
    t.anthropic_event(v);
    t.anthropic_event(&json!({"type": "message_start", "message": {"usage": v}}));
    t.anthropic_event(&json!({"type": "message_delta", "usage": v}));
    check(t.usage.as_ref())
}

/// Numbers a provider could send: small, at the cap, huge, negative, floats.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0..2_000_u64).prop_map(Value::from),
        (MAX_TOKENS - 2..MAX_TOKENS + 2).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        (0..100_u32).prop_map(|n| json!(f64::from(n))),
        Just(json!(u64::MAX)),
        Just(json!(i64::MAX)),
    ]
}

/// Any JSON, with numbers biased towards the interesting ones.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number(),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A usage object with the fields the readers look at, each any JSON or absent.
fn usage_object() -> impl Strategy<Value = Value> {
    let field = prop_oneof![3 => number(), 1 => any_json()];
    let keys = [
        "prompt_tokens",
        "completion_tokens",
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ];
    (
        prop::collection::vec(prop::option::of(field.clone()), keys.len()),
        prop::option::of(field.clone()),
        prop::option::of(field),
    )
        .prop_map(move |(values, cached, reasoning)| {
            let mut m = serde_json::Map::new();
            for (k, v) in keys.iter().zip(values) {
                if let Some(v) = v {
                    m.insert((*k).into(), v);
                }
            }
            if let Some(c) = cached {
                m.insert("prompt_tokens_details".into(), json!({"cached_tokens": c}));
            }
            if let Some(r) = reasoning {
                m.insert("completion_tokens_details".into(), json!({"reasoning_tokens": r}));
            }
            Value::Object(m)
        })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            read_everywhere(&v)?;
        }
    }

    #[test]
    fn arbitrary_json_never_panics(v in any_json()) {
        read_everywhere(&v)?;
    }

    #[test]
    fn absurd_usage_is_refused_or_sane(v in usage_object()) {
        read_everywhere(&v)?;
    }

    #[test]
    fn openai_usage_round_trips(
        (input, cached) in (0..=MAX_TOKENS).prop_flat_map(|i| (Just(i), 0..=i)),
        (output, reasoning) in (0..=MAX_TOKENS).prop_flat_map(|o| (Just(o), 0..=o)),
    ) {
        let v = json!({
            "prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        });
        let expected = Usage {
            input: Some(input),
            cached_input: Some(cached),
            cache_write: None,
            output: Some(output),
            reasoning: Some(reasoning),
        };
        prop_assert_eq!(openai(&v), Some(Ok(expected)));
        let mut t = StreamTally::default();
        let usage_only = t.openai_chunk(&json!({"choices": [], "usage": v}));
        prop_assert!(usage_only, "the usage-only chunk is spotted");
        prop_assert_eq!(t.usage, Some(Ok(expected)));
    }

    #[test]
    fn anthropic_usage_round_trips(
        uncached in 0..=MAX_TOKENS / 3,
        write in 0..=MAX_TOKENS / 3,
        read in 0..=MAX_TOKENS / 3,
        output in 0..=MAX_TOKENS,
        early_output in 0..=MAX_TOKENS,
    ) {
        let usage = json!({"input_tokens": uncached, "cache_creation_input_tokens": write,
                           "cache_read_input_tokens": read, "output_tokens": output});
        let expected = Usage {
            input: Some(uncached + write + read),
            cached_input: Some(read),
            cache_write: Some(write),
            output: Some(output),
            reasoning: None,
        };
        prop_assert_eq!(anthropic(&usage), Some(Ok(expected)));
        let mut t = StreamTally::default();
        let start = json!({"input_tokens": uncached, "cache_creation_input_tokens": write,
                           "cache_read_input_tokens": read, "output_tokens": early_output});
        t.anthropic_event(&json!({"type": "message_start", "message": {"usage": start}}));
        t.anthropic_event(&json!({"type": "message_delta", "usage": {"output_tokens": output}}));
        prop_assert_eq!(t.usage, Some(Ok(expected)));
    }
}
