//! Prices per token class and the cost of one request.

use std::fmt;
use std::str::FromStr;

use tally_core::{Money, ParseError, Usage};

/// Decimal places of a price written as USD per million tokens: one unit of
/// [`PerMillion`] is one nano-USD per million tokens.
const DECIMALS: usize = 9;
/// Tokens in a million: a token count times a [`PerMillion`] is an amount in
/// units of 10^-6 nano-USD.
const TOKENS_PER_MILLION: u128 = 1_000_000;

/// A price in integer nano-USD per million tokens (10^-15 USD per token).
///
/// `2.50` USD per million tokens is `PerMillion::new(2_500_000_000)`. Text
/// form is the decimal USD-per-million amount, parsed and rendered exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PerMillion(u64);

impl PerMillion {
    pub const ZERO: PerMillion = PerMillion(0);

    /// A price of `nanos` nano-USD per million tokens.
    pub const fn new(nanos: u64) -> Self {
        PerMillion(nanos)
    }

    /// Nano-USD per million tokens.
    pub const fn nanos(self) -> u64 {
        self.0
    }

    /// Parses a decimal USD-per-million amount such as `2.5`, `0.075` or `3`
    /// exactly. At most nine decimals; no sign, exponent, spaces or anything
    /// else: what cannot be represented exactly is refused, never rounded.
    pub fn from_usd_per_million(text: &str) -> Result<Self, ParseError> {
        let bad = || {
            ParseError::new(format!(
                "`{text}` is not a price in USD per million tokens (a non-negative decimal with at most 9 decimals)"
            ))
        };
        let (whole, frac) = match text.split_once('.') {
            Some((w, f)) if !f.is_empty() => (w, f),
            Some(_) => return Err(bad()),
            None => (text, ""),
        };
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(frac) || frac.len() > DECIMALS {
            return Err(bad());
        }
        let mut nanos: u64 = 0;
        for b in whole
            .bytes()
            .chain(frac.bytes())
            .chain(std::iter::repeat_n(b'0', DECIMALS - frac.len()))
        {
            nanos = nanos
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(b - b'0')))
                .ok_or_else(bad)?;
        }
        Ok(PerMillion(nanos))
    }
}

impl FromStr for PerMillion {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PerMillion::from_usd_per_million(s)
    }
}

/// Renders USD per million tokens with no trailing zeros: `2.5`, `3`,
/// `0.000000001`. Parses back to the same value.
impl fmt::Display for PerMillion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = 10_u64.pow(DECIMALS as u32);
        let (whole, frac) = (self.0 / per, self.0 % per);
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{frac:0width$}", width = DECIMALS);
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// The prices of one model, per token class.
///
/// `cached_input` (cache reads) and `cache_write` fall back to `input` when
/// absent; `reasoning` falls back to `output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prices {
    pub input: PerMillion,
    pub cached_input: Option<PerMillion>,
    pub cache_write: Option<PerMillion>,
    pub output: PerMillion,
    pub reasoning: Option<PerMillion>,
    /// Prices for long prompts; see [`Tier`].
    pub tiers: Vec<Tier>,
}

/// Prices that replace the base prices for the whole request when its input
/// tokens exceed `above_input_tokens`. A price absent from the tier keeps the
/// base price of its class (which may itself fall back, see [`Prices`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub above_input_tokens: u64,
    pub input: Option<PerMillion>,
    pub cached_input: Option<PerMillion>,
    pub cache_write: Option<PerMillion>,
    pub output: Option<PerMillion>,
}

impl Prices {
    /// Prices with only an input and an output price.
    pub fn new(input: PerMillion, output: PerMillion) -> Self {
        Prices {
            input,
            cached_input: None,
            cache_write: None,
            output,
            reasoning: None,
            tiers: Vec::new(),
        }
    }

    /// Prices from decimal USD-per-million texts, as an organization would
    /// type them to override the catalog (`"2.5"`, `"10"`, `Some("1.25")`).
    /// Each text is parsed exactly (see [`PerMillion::from_usd_per_million`]);
    /// the error names the field that was refused.
    pub fn from_usd_per_million(
        input: &str,
        output: &str,
        cached_input: Option<&str>,
        cache_write: Option<&str>,
        reasoning: Option<&str>,
    ) -> Result<Prices, ParseError> {
        let parse = |field: &str, text: &str| {
            PerMillion::from_usd_per_million(text).map_err(|e| ParseError::new(format!("{field}: {}", e.0)))
        };
        let optional = |field: &str, text: Option<&str>| text.map(|t| parse(field, t)).transpose();
        Ok(Prices {
            input: parse("input", input)?,
            cached_input: optional("cached_input", cached_input)?,
            cache_write: optional("cache_write", cache_write)?,
            output: parse("output", output)?,
            reasoning: optional("reasoning", reasoning)?,
            tiers: Vec::new(),
        })
    }

    /// The tier that applies to a request with `input_tokens` input tokens:
    /// the one with the highest threshold strictly below that count.
    pub fn tier_for(&self, input_tokens: u64) -> Option<&Tier> {
        self.tiers
            .iter()
            .filter(|t| input_tokens > t.above_input_tokens)
            .max_by_key(|t| t.above_input_tokens)
    }

    /// The price of each token class for a request with `input_tokens` input
    /// tokens, tier and fall-backs applied.
    fn rates(&self, input_tokens: u64) -> Rates {
        let tier = self.tier_for(input_tokens);
        let input = tier.and_then(|t| t.input).unwrap_or(self.input);
        let output = tier.and_then(|t| t.output).unwrap_or(self.output);
        Rates {
            input,
            cached_input: tier.and_then(|t| t.cached_input).or(self.cached_input).unwrap_or(input),
            cache_write: tier.and_then(|t| t.cache_write).or(self.cache_write).unwrap_or(input),
            output,
            reasoning: self.reasoning.unwrap_or(output),
        }
    }
}

struct Rates {
    input: PerMillion,
    cached_input: PerMillion,
    cache_write: PerMillion,
    output: PerMillion,
    reasoning: PerMillion,
}

/// The exact cost of one request.
///
/// - Counts the provider did not report (`None`) count as 0.
/// - Uncached input is `input - cached_input - cache_write`, at least 0
///   (`input` includes cache reads and writes). It is charged at the input
///   price, cache reads at the `cached_input` price and cache writes at the
///   `cache_write` price; either of those falls back to the input price when
///   absent.
/// - `reasoning` is part of `output`: reasoning tokens are charged at the
///   reasoning price (the output price when absent) and the remaining
///   `output - reasoning` tokens, at least 0, at the output price.
/// - When the input tokens exceed a tier's threshold, the highest such tier's
///   prices apply to every token of the request ([`Prices::tier_for`]). A
///   tier has no reasoning price: an explicit reasoning price stays, an
///   absent one follows the tier's output price.
///
/// **Rounding.** Each class contributes `tokens x price`, an exact integer in
/// units of 10^-6 nano-USD; the contributions are summed in `u128` (every
/// term is non-negative, and a `u64 x u64` product always fits) and the sum is
/// divided by 10^6 once, at the end, rounding half away from zero to the
/// nearest nano-USD (for a non-negative amount: half up). A total beyond
/// [`Money`]'s range saturates at its maximum, never wraps.
pub fn cost(prices: &Prices, usage: &Usage) -> Money {
    let micro_nanos = charges(prices, usage).iter().fold(0_u128, |sum, c| {
        sum.saturating_add(u128::from(c.tokens) * u128::from(c.price.nanos()))
    });
    Money::from_nanos(round_to_nanos(micro_nanos))
}

/// The most a request of `input_tokens` input and `output_tokens` output
/// tokens can cost: every input token at the dearest input price (uncached,
/// cache read or cache write) and every output token at the dearest output
/// price (output or reasoning), of the base prices and of every tier. What
/// a budget reserves for a request in flight.
pub fn ceiling(prices: &Prices, input_tokens: u64, output_tokens: u64) -> Money {
    let all_rates = std::iter::once(prices.rates(0)).chain(
        prices
            .tiers
            .iter()
            .map(|t| prices.rates(t.above_input_tokens.saturating_add(1))),
    );
    let (mut input, mut output) = (0_u64, 0_u64);
    for r in all_rates {
        input = input
            .max(r.input.nanos())
            .max(r.cached_input.nanos())
            .max(r.cache_write.nanos());
        output = output.max(r.output.nanos()).max(r.reasoning.nanos());
    }
    let micro_nanos =
        (u128::from(input_tokens) * u128::from(input)).saturating_add(u128::from(output_tokens) * u128::from(output));
    Money::from_nanos(round_to_nanos(micro_nanos))
}

/// One token class of a request as [`cost`] charges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    /// `input` (uncached), `cached_input`, `cache_write`, `output` (not
    /// reasoning) or `reasoning`.
    pub class: &'static str,
    pub tokens: u64,
    /// The price applied, tier and fall-backs included.
    pub price: PerMillion,
}

impl Charge {
    /// This class's share, rounded on its own (the shares of a request may
    /// add up to its [`cost`] give or take a nano-USD each).
    pub fn cost(&self) -> Money {
        Money::from_nanos(round_to_nanos(u128::from(self.tokens) * u128::from(self.price.nanos())))
    }
}

/// The charge of each token class of a request, in the order [`cost`] sums them.
pub fn charges(prices: &Prices, usage: &Usage) -> [Charge; 5] {
    let input = usage.input.unwrap_or(0);
    let cached = usage.cached_input.unwrap_or(0);
    let write = usage.cache_write.unwrap_or(0);
    let output = usage.output.unwrap_or(0);
    let reasoning = usage.reasoning.unwrap_or(0);
    let rates = prices.rates(input);
    let charge = |class, tokens, price| Charge { class, tokens, price };
    [
        charge("input", input.saturating_sub(cached).saturating_sub(write), rates.input),
        charge("cached_input", cached, rates.cached_input),
        charge("cache_write", write, rates.cache_write),
        charge("output", output.saturating_sub(reasoning), rates.output),
        charge("reasoning", reasoning, rates.reasoning),
    ]
}

/// `micro_nanos / 10^6`, rounded half away from zero, saturated to `i64`.
fn round_to_nanos(micro_nanos: u128) -> i64 {
    let whole = micro_nanos / TOKENS_PER_MILLION;
    let rest = micro_nanos % TOKENS_PER_MILLION;
    let rounded = if rest * 2 >= TOKENS_PER_MILLION {
        whole + 1
    } else {
        whole
    };
    i64::try_from(rounded).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_is_never_below_the_cost() {
        let mut prices = Prices::new(PerMillion::new(3_000_000_000), PerMillion::new(15_000_000_000));
        prices.cache_write = Some(PerMillion::new(3_750_000_000));
        prices.tiers.push(Tier {
            above_input_tokens: 200_000,
            input: Some(PerMillion::new(6_000_000_000)),
            cached_input: None,
            cache_write: None,
            output: Some(PerMillion::new(22_500_000_000)),
        });
        for (input, cached, write, output, reasoning) in [
            (10, 0, 0, 5, 0),
            (1_000, 0, 1_000, 0, 0),
            (300_000, 0, 0, 1_000, 0),
            (0, 0, 0, 0, 0),
        ] {
            let usage = Usage {
                input: Some(input),
                cached_input: Some(cached),
                cache_write: Some(write),
                output: Some(output),
                reasoning: Some(reasoning),
            };
            assert!(ceiling(&prices, input, output) >= cost(&prices, &usage), "{usage:?}");
        }
        // 300k tokens at the tier's 6 USD per million, 1k at 22.5.
        assert_eq!(ceiling(&prices, 300_000, 1_000), Money::from_nanos(1_822_500_000));
    }

    #[test]
    fn parses_and_renders_exactly() {
        let cases = [
            ("2.5", 2_500_000_000, "2.5"),
            ("2.50", 2_500_000_000, "2.5"),
            ("10", 10_000_000_000, "10"),
            ("0", 0, "0"),
            ("0.000000001", 1, "0.000000001"),
            ("0.075", 75_000_000, "0.075"),
            ("18446744073.709551615", u64::MAX, "18446744073.709551615"),
        ];
        for (text, nanos, shown) in cases {
            let p = PerMillion::from_usd_per_million(text).unwrap();
            assert_eq!(p, PerMillion::new(nanos), "{text}");
            assert_eq!(p.to_string(), shown, "{text}");
            assert_eq!(shown.parse::<PerMillion>().unwrap(), p, "{shown}");
        }
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        let cases = [
            (0, 0),
            (499_999, 0),
            (500_000, 1),
            (1_499_999, 1),
            (1_500_000, 2),
            (2_500_000, 3),
        ];
        for (micro, nanos) in cases {
            assert_eq!(round_to_nanos(micro), nanos, "{micro}");
        }
        assert_eq!(round_to_nanos(u128::MAX), i64::MAX);
    }
}
