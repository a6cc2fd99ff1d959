//! Behaviours injected through the request content (`mock:...` magic strings),
//! so that they travel through a gateway untouched.

use std::time::Duration;

use serde_json::Value;

use crate::usage::content_text;

/// What the last user message (or the embeddings input) asks the mock to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Behaviour {
    /// `mock:error=<status>`: answer with this HTTP status and an error body.
    pub error: Option<u16>,
    /// `mock:latency=<ms>`: extra wait before the first byte.
    pub latency: Duration,
    /// `mock:reset`: abort the connection (mid-stream when streaming).
    pub reset: bool,
    /// `mock:nousage`: omit usage (OpenAI formats only).
    pub no_usage: bool,
    /// `mock:usage=<json>`: report this JSON value (up to the next
    /// whitespace; not JSON: a string) as the prompt count (`prompt_tokens`,
    /// Anthropic's `input_tokens`), e.g. `18446744073709551615`, `3.5`, `-1`.
    pub usage: Option<Value>,
}

impl Behaviour {
    pub(crate) fn parse(text: &str) -> Self {
        Behaviour {
            error: number_after(text, "mock:error=")
                .and_then(|n| u16::try_from(n).ok())
                .filter(|s| (400..=599).contains(s)),
            latency: Duration::from_millis(number_after(text, "mock:latency=").unwrap_or(0)),
            reset: text.contains("mock:reset"),
            no_usage: text.contains("mock:nousage"),
            usage: text.find("mock:usage=").map(|at| {
                let raw: String = text[at + "mock:usage=".len()..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                serde_json::from_str(&raw).unwrap_or(Value::String(raw))
            }),
        }
    }

    /// Behaviour requested by the last `user` message of a chat/messages body.
    pub(crate) fn from_messages(body: &Value) -> Self {
        Self::parse(&last_user_text(body))
    }

    /// Behaviour requested by any text input of an embeddings body.
    pub(crate) fn from_embeddings(body: &Value) -> Self {
        let text: Vec<&str> = match &body["input"] {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        Self::parse(&text.join("\n"))
    }
}

/// The text of the last `user` message of a chat/messages body.
pub(crate) fn last_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|msgs| msgs.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| content_text(&m["content"]))
        .unwrap_or_default()
}

/// Waits `d`, returning at once when it is zero: a zero-length tokio sleep
/// still waits for the timer's next millisecond tick.
pub(crate) async fn wait(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

fn number_after(text: &str, marker: &str) -> Option<u64> {
    let start = text.find(marker)? + marker.len();
    let digits: String = text[start..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_magic_strings() {
        let b = Behaviour::parse("hi mock:error=429 mock:latency=250 mock:reset mock:nousage");
        assert_eq!(b.error, Some(429));
        assert_eq!(b.latency, Duration::from_millis(250));
        assert!(b.reset && b.no_usage);
        assert_eq!(Behaviour::parse("mock:error=abc"), Behaviour::default());
        assert_eq!(Behaviour::parse("mock:error=200").error, None);
        let usage = |t: &str| Behaviour::parse(t).usage;
        assert_eq!(usage("mock:usage=18446744073709551615 x"), Some(json!(u64::MAX)));
        assert_eq!(usage("mock:usage=-1"), Some(json!(-1)));
        assert_eq!(usage("mock:usage=2.5"), Some(json!(2.5)));
        assert_eq!(usage("mock:usage=ten"), Some(json!("ten")));
    }

    #[test]
    fn only_last_user_message_counts() {
        let body = json!({"messages": [
            {"role": "user", "content": "mock:error=500"},
            {"role": "assistant", "content": "mock:error=400"},
            {"role": "user", "content": [{"type": "text", "text": "mock:nousage"}]}]});
        let b = Behaviour::from_messages(&body);
        assert_eq!(b.error, None);
        assert!(b.no_usage);
    }
}
