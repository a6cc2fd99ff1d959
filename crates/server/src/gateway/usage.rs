//! Reading token usage from provider responses, whole or streamed.
//! Counts are normalised to [`Usage`]: `input` includes cached reads and
//! cache writes, `reasoning` is part of `output`.

use serde_json::Value;
use tally_core::{InvalidUsage, Usage};

/// Usage as a provider reported it: every count an integer in range
/// (`tally_core::MAX_TOKENS`) and the parts within their wholes, or refused.
pub type Reported = Result<Usage, InvalidUsage>;

/// A count at `path`: absent or `null` is not reported; anything but an
/// integral JSON number from 0 to `u64::MAX` (a float, even `3.0`, a
/// negative number, a string) is invalid. The range is checked by
/// [`Usage::checked`].
fn count(v: &Value, path: &[&str]) -> Result<Option<u64>, InvalidUsage> {
    match path.iter().try_fold(v, |v, k| v.get(k)) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n.as_u64().map(Some).ok_or(InvalidUsage::OutOfRange),
    }
}

/// OpenAI `usage` object (chat completions, embeddings, stream chunks).
pub fn openai(usage: &Value) -> Option<Reported> {
    if !usage.is_object() {
        return None;
    }
    Some(openai_counts(usage))
}

fn openai_counts(usage: &Value) -> Reported {
    let input = count(usage, &["prompt_tokens"])?;
    let output = count(usage, &["completion_tokens"])?;
    let embeddings = output.is_none() && input.is_some();
    Usage {
        input,
        cached_input: count(usage, &["prompt_tokens_details", "cached_tokens"])?,
        cache_write: None,
        output: if embeddings { Some(0) } else { output },
        reasoning: count(usage, &["completion_tokens_details", "reasoning_tokens"])?,
    }
    .checked()
}

/// Anthropic `usage` object. `input_tokens` there excludes cache reads and
/// writes; they are added back so `input` means all prompt tokens.
pub fn anthropic(usage: &Value) -> Option<Reported> {
    if !usage.is_object() {
        return None;
    }
    Some(anthropic_counts(usage))
}

fn anthropic_counts(usage: &Value) -> Reported {
    let uncached = count(usage, &["input_tokens"])?;
    let write = count(usage, &["cache_creation_input_tokens"])?;
    let read = count(usage, &["cache_read_input_tokens"])?;
    let input = match (uncached, write, read) {
        (None, None, None) => None,
        _ => Some(
            [uncached, write, read]
                .into_iter()
                .flatten()
                .try_fold(0_u64, u64::checked_add)
                .ok_or(InvalidUsage::OutOfRange)?,
        ),
    };
    Usage {
        input,
        cached_input: read,
        cache_write: write,
        output: count(usage, &["output_tokens"])?,
        reasoning: None,
    }
    .checked()
}

/// Merges a later report into an earlier one: what the later one reports
/// wins; either refused refuses the whole.
fn merge(earlier: Reported, later: Reported) -> Reported {
    let (earlier, later) = (earlier?, later?);
    Usage {
        input: later.input.or(earlier.input),
        cached_input: later.cached_input.or(earlier.cached_input),
        cache_write: later.cache_write.or(earlier.cache_write),
        output: later.output.or(earlier.output),
        reasoning: later.reasoning.or(earlier.reasoning),
    }
    .checked()
}

/// Usage and visible text gathered while a stream passes through.
#[derive(Debug, Default, Clone)]
pub struct StreamTally {
    pub usage: Option<Reported>,
    /// Characters of generated text seen, for an estimate when no usage comes.
    pub text_chars: u64,
}

impl StreamTally {
    /// Reads one OpenAI chunk. Returns true when it is the usage-only chunk
    /// (no choices, usage present) that `include_usage` adds.
    pub fn openai_chunk(&mut self, chunk: &Value) -> bool {
        if let Some(choices) = chunk.get("choices").and_then(Value::as_array) {
            for choice in choices {
                if let Some(text) = choice.pointer("/delta/content").and_then(Value::as_str) {
                    self.text_chars += text.chars().count() as u64;
                }
            }
        }
        match chunk.get("usage").and_then(openai) {
            Some(u) => {
                self.usage = Some(u);
                chunk
                    .get("choices")
                    .and_then(Value::as_array)
                    .is_some_and(Vec::is_empty)
            }
            None => false,
        }
    }

    /// Reads one Anthropic event (`message_start`, `message_delta`, deltas).
    pub fn anthropic_event(&mut self, event: &Value) {
        let usage = match event.get("type").and_then(Value::as_str) {
            Some("message_start") => event.pointer("/message/usage"),
            Some("message_delta") => event.get("usage"),
            Some("content_block_delta") => {
                if let Some(text) = event.pointer("/delta/text").and_then(Value::as_str) {
                    self.text_chars += text.chars().count() as u64;
                }
                None
            }
            _ => None,
        };
        if let Some(u) = usage.and_then(anthropic) {
            self.usage = Some(match self.usage.take() {
                Some(earlier) => merge(earlier, u),
                None => u,
            });
        }
    }
}

/// A rough estimate (four characters a token) for responses without usage.
pub fn estimate(prompt_chars: u64, output_chars: u64) -> Usage {
    Usage {
        input: Some(prompt_chars.div_ceil(4)),
        cached_input: None,
        cache_write: None,
        output: Some(output_chars.div_ceil(4)),
        reasoning: None,
    }
}

/// Characters of text in a request body (messages, prompt, input, system).
pub fn prompt_chars(body: &Value) -> u64 {
    fn text_chars(v: &Value) -> u64 {
        match v {
            Value::String(s) => s.chars().count() as u64,
            Value::Array(items) => items.iter().map(text_chars).sum(),
            Value::Object(map) => ["content", "text"]
                .iter()
                .filter_map(|k| map.get(*k))
                .map(text_chars)
                .sum(),
            _ => 0,
        }
    }
    ["messages", "input", "prompt", "system"]
        .iter()
        .filter_map(|k| body.get(*k))
        .map(text_chars)
        .sum()
}

/// Characters of generated text in a whole (non-streamed) response.
pub fn response_chars(body: &Value) -> u64 {
    let openai: u64 = body
        .get("choices")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.pointer("/message/content").and_then(Value::as_str))
                .map(|s| s.chars().count() as u64)
                .sum()
        })
        .unwrap_or(0);
    let anthropic: u64 = body
        .get("content")
        .and_then(Value::as_array)
        .map(|bs| {
            bs.iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .map(|s| s.chars().count() as u64)
                .sum()
        })
        .unwrap_or(0);
    openai + anthropic
}

#[cfg(test)]
#[path = "usage_props.rs"]
mod props;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn u(
        input: Option<u64>,
        cached: Option<u64>,
        write: Option<u64>,
        output: Option<u64>,
        reasoning: Option<u64>,
    ) -> Usage {
        Usage {
            input,
            cached_input: cached,
            cache_write: write,
            output,
            reasoning,
        }
    }

    #[test]
    fn openai_objects() {
        let cases = [
            (
                json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}),
                u(Some(10), None, None, Some(5), None),
            ),
            (
                json!({"prompt_tokens": 100, "completion_tokens": 50,
                       "prompt_tokens_details": {"cached_tokens": 40},
                       "completion_tokens_details": {"reasoning_tokens": 30}}),
                u(Some(100), Some(40), None, Some(50), Some(30)),
            ),
            (
                json!({"prompt_tokens": 8, "total_tokens": 8}),
                u(Some(8), None, None, Some(0), None),
            ),
        ];
        for (v, expected) in cases {
            assert_eq!(openai(&v), Some(Ok(expected)), "{v}");
        }
        assert_eq!(openai(&Value::Null), None);
    }

    #[test]
    fn anthropic_objects_add_cache_tokens_to_input() {
        let v = json!({"input_tokens": 10, "cache_creation_input_tokens": 16, "cache_read_input_tokens": 4, "output_tokens": 7});
        assert_eq!(anthropic(&v), Some(Ok(u(Some(30), Some(4), Some(16), Some(7), None))));
    }

    #[test]
    fn anthropic_stream_merges_start_and_delta() {
        let mut t = StreamTally::default();
        t.anthropic_event(&json!({"type": "message_start", "message": {"usage": {"input_tokens": 12, "cache_read_input_tokens": 3, "output_tokens": 1}}}));
        t.anthropic_event(&json!({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "héllo"}}));
        t.anthropic_event(&json!({"type": "message_delta", "usage": {"output_tokens": 9}}));
        assert_eq!(t.usage, Some(Ok(u(Some(15), Some(3), None, Some(9), None))));
        assert_eq!(t.text_chars, 5);
    }

    #[test]
    fn openai_stream_spots_the_usage_only_chunk() {
        let mut t = StreamTally::default();
        assert!(!t.openai_chunk(&json!({"choices": [{"delta": {"content": "hi"}}], "usage": null})));
        assert!(t.openai_chunk(&json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}})));
        assert_eq!(t.usage, Some(Ok(u(Some(3), None, None, Some(2), None))));
        assert_eq!(t.text_chars, 2);
    }

    #[test]
    fn absurd_counts_are_refused_never_wrapped() {
        let max = u64::MAX;
        let openai_cases = [
            json!({"prompt_tokens": max, "completion_tokens": 5}),
            json!({"prompt_tokens": i64::MAX, "completion_tokens": 5}),
            json!({"prompt_tokens": 1_000_000_001_u64, "completion_tokens": 5}),
            json!({"prompt_tokens": 3.0, "completion_tokens": 5}),
            json!({"prompt_tokens": 2.5, "completion_tokens": 5}),
            json!({"prompt_tokens": -1, "completion_tokens": 5}),
            json!({"prompt_tokens": "10", "completion_tokens": 5}),
            json!({"prompt_tokens": 10, "completion_tokens": [5]}),
            json!({"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 11}}),
            json!({"prompt_tokens": 10, "completion_tokens": 5, "completion_tokens_details": {"reasoning_tokens": 6}}),
        ];
        for v in openai_cases {
            assert!(matches!(openai(&v), Some(Err(_))), "{v}");
        }
        let anthropic_cases = [
            json!({"input_tokens": max, "output_tokens": 1}),
            json!({"input_tokens": max, "cache_read_input_tokens": max, "output_tokens": 1}),
            json!({"input_tokens": 600_000_000, "cache_creation_input_tokens": 600_000_000}),
            json!({"input_tokens": 1, "output_tokens": -3}),
            json!({"input_tokens": 1, "output_tokens": 1e3}),
        ];
        for v in anthropic_cases {
            assert!(matches!(anthropic(&v), Some(Err(_))), "{v}");
        }
        let mut t = StreamTally::default();
        t.anthropic_event(&json!({"type": "message_start", "message": {"usage": {"input_tokens": max}}}));
        t.anthropic_event(&json!({"type": "message_delta", "usage": {"output_tokens": 9}}));
        assert!(matches!(t.usage, Some(Err(_))), "a refused start stays refused");
    }

    #[test]
    fn estimates_round_up() {
        assert_eq!(estimate(9, 1), u(Some(3), None, None, Some(1), None));
        let body = json!({"messages": [{"role": "user", "content": "abcd"}, {"role": "user", "content": [{"type": "text", "text": "ef"}]}]});
        assert_eq!(prompt_chars(&body), 6);
    }
}
