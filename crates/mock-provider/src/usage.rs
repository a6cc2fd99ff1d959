//! Deterministic token accounting and reply text. The handlers and
//! [`expected_usage`] share every function here, so tests can predict the
//! exact numbers the mock reports.

use serde_json::Value;

/// Reply length (in tokens, which are also whitespace-separated words) when
/// the request does not ask for fewer.
pub const MAX_OUTPUT_TOKENS: u64 = 24;
/// Prompt-token overhead charged per message (and for an Anthropic `system`).
pub const PER_MESSAGE_TOKENS: u64 = 8;
/// Anthropic `cache_creation_input_tokens` reported for "cache" models.
pub const CACHE_WRITE_TOKENS: u64 = 16;

/// Usage the mock reports for one request, in protocol-neutral terms.
///
/// `input` is every prompt token, however billed: uncached input plus cache
/// reads plus cache writes. For OpenAI it is `prompt_tokens`; for Anthropic it
/// is `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`
/// (see [`MockUsage::uncached_input`] for Anthropic's `input_tokens`).
/// `reasoning` is part of `output`, as in OpenAI's `completion_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MockUsage {
    pub input: u64,
    pub cached_input: u64,
    pub cache_write: u64,
    pub output: u64,
    pub reasoning: u64,
}

impl MockUsage {
    /// Prompt tokens that were neither read from nor written to the cache
    /// (Anthropic's wire `input_tokens`).
    pub fn uncached_input(&self) -> u64 {
        self.input
            .saturating_sub(self.cached_input)
            .saturating_sub(self.cache_write)
    }

    /// `input + output` (OpenAI's `total_tokens`).
    pub fn total(&self) -> u64 {
        self.input + self.output
    }
}

/// The usage the mock computes for a request `body` sent to `path`
/// (`/v1/chat/completions`, `/v1/messages` or `/v1/embeddings`; a query
/// string is ignored). Any other path yields all zeros.
///
/// The numbers are computed even when the mock will not report them: for an
/// injected error, for `mock:nousage` on OpenAI endpoints, for an OpenAI
/// stream without `stream_options.include_usage`, or for `mock:reset`.
pub fn expected_usage(path: &str, body: &Value) -> MockUsage {
    let path = path.split('?').next().unwrap_or(path);
    if path.ends_with("/chat/completions") {
        chat_usage(body)
    } else if path.ends_with("/messages") {
        messages_usage(body)
    } else if path.ends_with("/embeddings") {
        embeddings_usage(body)
    } else {
        MockUsage::default()
    }
}

/// The reply text for a reply of `output_tokens` tokens: that many words,
/// separated by single spaces. Streaming sends one word per delta (every word
/// after the first carries its leading space).
pub fn reply_text(output_tokens: u64) -> String {
    reply_words(output_tokens).concat()
}

const WORDS: [&str; MAX_OUTPUT_TOKENS as usize] = [
    "This",
    "is",
    "a",
    "deterministic",
    "reply",
    "from",
    "the",
    "tally",
    "mock",
    "provider,",
    "produced",
    "so",
    "that",
    "every",
    "streamed",
    "delta",
    "carries",
    "exactly",
    "one",
    "token",
    "of",
    "text",
    "for",
    "accounting.",
];

/// The streamed deltas: word `i` with a leading space for `i > 0`.
pub(crate) fn reply_words(output_tokens: u64) -> Vec<String> {
    (0..output_tokens)
        .map(|i| {
            let word = WORDS[(i % MAX_OUTPUT_TOKENS) as usize];
            if i == 0 { word.to_owned() } else { format!(" {word}") }
        })
        .collect()
}

/// OpenAI chat completions.
pub(crate) fn chat_usage(body: &Value) -> MockUsage {
    let messages = messages_of(body);
    let chars: u64 = messages.iter().map(|m| char_count(&m["content"])).sum();
    let input = chars.div_ceil(4) + PER_MESSAGE_TOKENS * messages.len() as u64;
    let model = model_of(body);
    let limit = body["max_completion_tokens"]
        .as_u64()
        .or_else(|| body["max_tokens"].as_u64());
    let output = output_tokens(limit);
    MockUsage {
        input,
        cached_input: if is_cache_model(&model) || asks_cache(&messages) {
            input / 2
        } else {
            0
        },
        cache_write: 0,
        output,
        reasoning: if is_reasoning_model(&model) { output / 3 } else { 0 },
    }
}

/// Anthropic messages. Anthropic does not report reasoning separately, so
/// `reasoning` is always 0 here.
pub(crate) fn messages_usage(body: &Value) -> MockUsage {
    let messages = messages_of(body);
    let mut chars: u64 = messages.iter().map(|m| char_count(&m["content"])).sum();
    let mut count = messages.len() as u64;
    if !body["system"].is_null() {
        chars += char_count(&body["system"]);
        count += 1;
    }
    let base = chars.div_ceil(4) + PER_MESSAGE_TOKENS * count;
    let cache = is_cache_model(&model_of(body)) || asks_cache(&messages);
    let (cached_input, cache_write) = if cache { (base / 2, CACHE_WRITE_TOKENS) } else { (0, 0) };
    MockUsage {
        input: base + cache_write,
        cached_input,
        cache_write,
        output: output_tokens(body["max_tokens"].as_u64()),
        reasoning: 0,
    }
}

/// OpenAI embeddings: text inputs count `ceil(chars / 4)` each, token-array
/// inputs count their length.
pub(crate) fn embeddings_usage(body: &Value) -> MockUsage {
    let input = embedding_inputs(&body["input"])
        .iter()
        .map(|item| match item {
            Value::String(s) => (s.chars().count() as u64).div_ceil(4),
            Value::Array(tokens) => tokens.len() as u64,
            _ => 0,
        })
        .sum();
    MockUsage {
        input,
        ..MockUsage::default()
    }
}

/// The individual inputs of an embeddings request: a string, an array of
/// strings, an array of token ids (one input) or an array of such arrays.
pub(crate) fn embedding_inputs(input: &Value) -> Vec<Value> {
    match input {
        Value::String(_) => vec![input.clone()],
        Value::Array(items) if items.iter().all(Value::is_number) && !items.is_empty() => {
            vec![input.clone()]
        }
        Value::Array(items) => items.clone(),
        _ => Vec::new(),
    }
}

pub(crate) fn output_tokens(limit: Option<u64>) -> u64 {
    limit.map_or(MAX_OUTPUT_TOKENS, |l| l.min(MAX_OUTPUT_TOKENS))
}

fn messages_of(body: &Value) -> Vec<Value> {
    body["messages"].as_array().cloned().unwrap_or_default()
}

/// Lower-cased model name without any `provider/` prefix.
fn model_of(body: &Value) -> String {
    let model = body["model"].as_str().unwrap_or_default();
    let model = model.rsplit('/').next().unwrap_or(model);
    model.to_ascii_lowercase()
}

pub(crate) fn is_cache_model(model: &str) -> bool {
    model.contains("cache")
}

/// `mock:cache` anywhere in the messages: report cache use for any model.
fn asks_cache(messages: &[Value]) -> bool {
    messages.iter().any(|m| m["content"].to_string().contains("mock:cache"))
}

/// `o` followed by a digit (o1, o3-mini, o4-mini), or "reasoning"/"thinking".
pub(crate) fn is_reasoning_model(model: &str) -> bool {
    let mut chars = model.chars();
    (chars.next() == Some('o') && chars.next().is_some_and(|c| c.is_ascii_digit()))
        || model.contains("reasoning")
        || model.contains("thinking")
}

/// Characters (Unicode scalar values) of the text in a message `content`.
fn char_count(content: &Value) -> u64 {
    content_text(content).chars().count() as u64
}

/// The text of a message `content`: a string, or the concatenated `text` of
/// an array of parts (recursing into nested `content`, e.g. Anthropic
/// `tool_result` blocks). Non-text parts (images, tool calls) count nothing.
pub(crate) fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|part| match (&part["text"], &part["content"]) {
                (Value::String(text), _) => text.clone(),
                (_, nested) if !nested.is_null() => content_text(nested),
                _ => String::new(),
            })
            .collect(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reasoning_model_detection() {
        for m in ["o1", "o3-mini", "o4-mini", "gpt-reasoning", "claude-thinking"] {
            assert!(is_reasoning_model(m), "{m}");
        }
        for m in ["gpt-4o", "omni", "o", "claude-sonnet-4-5"] {
            assert!(!is_reasoning_model(m), "{m}");
        }
    }

    #[test]
    fn words_and_text_agree() {
        assert_eq!(reply_words(24).len(), 24);
        assert_eq!(reply_text(24).split(' ').count(), 24);
        assert_eq!(reply_text(3), "This is a");
        assert_eq!(reply_text(0), "");
    }

    #[test]
    fn chat_formula() {
        let body = json!({"model": "openai/o3-mini-cache", "max_tokens": 100,
            "messages": [{"role": "user", "content": "abcde"},
                         {"role": "user", "content": [{"type": "text", "text": "xyz"}]}]});
        let u = chat_usage(&body);
        assert_eq!(u.input, 2 + 16);
        assert_eq!(u.cached_input, 9);
        assert_eq!(u.output, 24);
        assert_eq!(u.reasoning, 8);
    }
}
