//! Token usage of one request, as the provider reported it.

use serde::{Deserialize, Serialize};

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
}
