//! Token usage of one request, as the provider reported it.

use serde::{Deserialize, Serialize};

/// The most tokens of one class (input, cached input, cache write, output,
/// reasoning) a single request may report: usage is untrusted provider
/// input, and no real request comes near 10^9 tokens (context windows are
/// a few million), while sums of values this size over 9·10^9 requests
/// still fit in an `i64` column. A larger count marks the usage invalid.
pub const MAX_TOKENS: u64 = 1_000_000_000;

/// Why reported usage was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidUsage {
    #[error("a token count is not an integer from 0 to 10^9")]
    OutOfRange,
    #[error("cached and cache-write tokens exceed input tokens")]
    CachedAboveInput,
    #[error("reasoning tokens exceed output tokens")]
    ReasoningAboveOutput,
}

/// Token counts; `None` where the provider did not report the number.
///
/// `input` counts every prompt token, cached reads and cache writes included
/// (the OpenAI convention; Anthropic's separate counts are added in when read).
/// `reasoning` is part of `output`. Total tokens are `input + output`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub input: Option<u64>,
    pub cached_input: Option<u64>,
    pub cache_write: Option<u64>,
    pub output: Option<u64>,
    pub reasoning: Option<u64>,
}

impl Usage {
    /// `input + output`, counting what was not reported as zero.
    pub fn total(&self) -> u64 {
        self.input.unwrap_or(0).saturating_add(self.output.unwrap_or(0))
    }

    /// The usage if every count is at most [`MAX_TOKENS`] and the parts fit
    /// in their wholes (cached reads and cache writes within input,
    /// reasoning within output); a missing count is zero there.
    pub fn checked(self) -> Result<Usage, InvalidUsage> {
        let counts = [
            self.input,
            self.cached_input,
            self.cache_write,
            self.output,
            self.reasoning,
        ];
        if counts.into_iter().flatten().any(|n| n > MAX_TOKENS) {
            return Err(InvalidUsage::OutOfRange);
        }
        let n = |v: Option<u64>| v.unwrap_or(0);
        if n(self.cached_input) + n(self.cache_write) > n(self.input) {
            return Err(InvalidUsage::CachedAboveInput);
        }
        if n(self.reasoning) > n(self.output) {
            return Err(InvalidUsage::ReasoningAboveOutput);
        }
        Ok(self)
    }

    /// True when the provider reported no count at all.
    pub fn is_unreported(&self) -> bool {
        self.input.is_none() && self.output.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_counts_missing_as_zero() {
        let u = Usage {
            input: Some(10),
            output: None,
            ..Usage::default()
        };
        assert_eq!(u.total(), 10);
        assert!(!u.is_unreported());
        assert!(Usage::default().is_unreported());
    }

    #[test]
    fn checked_refuses_counts_out_of_range_or_parts_above_wholes() {
        let u = |input, cached, write, output, reasoning| Usage {
            input,
            cached_input: cached,
            cache_write: write,
            output,
            reasoning,
        };
        let cases = [
            (u(Some(10), Some(4), Some(6), Some(5), Some(5)), Ok(())),
            (u(Some(MAX_TOKENS), None, None, Some(MAX_TOKENS), None), Ok(())),
            (
                u(Some(MAX_TOKENS + 1), None, None, None, None),
                Err(InvalidUsage::OutOfRange),
            ),
            (u(None, None, None, Some(u64::MAX), None), Err(InvalidUsage::OutOfRange)),
            (
                u(Some(10), Some(11), None, None, None),
                Err(InvalidUsage::CachedAboveInput),
            ),
            (
                u(Some(10), Some(5), Some(6), None, None),
                Err(InvalidUsage::CachedAboveInput),
            ),
            (u(None, Some(1), None, None, None), Err(InvalidUsage::CachedAboveInput)),
            (
                u(Some(1), None, None, Some(2), Some(3)),
                Err(InvalidUsage::ReasoningAboveOutput),
            ),
        ];
        for (usage, expected) in cases {
            assert_eq!(usage.checked().map(|_| ()), expected, "{usage:?}");
        }
    }
}
