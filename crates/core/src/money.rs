//! Exact money. One unit is a nano-US-dollar (10^-9 USD); sums and products
//! stay in integers. Text form is a decimal string of USD with nine decimals.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ParseError;

/// Nano-USD per USD.
pub const NANOS_PER_USD: i64 = 1_000_000_000;
const DECIMALS: usize = 9;

/// An exact amount of US dollars, in nano-USD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_nanos(nanos: i64) -> Self {
        Money(nanos)
    }

    pub const fn nanos(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// Adds, saturating at the bounds (about ±9.2 billion USD), so a sum can
    /// never wrap around into a wrong but plausible number.
    pub fn saturating_add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

/// Room for the text form: a sign, 10 whole digits, a point, 9 decimals.
const TEXT_LEN: usize = 21;

impl Money {
    /// The text form, written into `buf` from its end (no allocation, no
    /// formatting machinery: analytics render tens of thousands of these).
    fn render(self, buf: &mut [u8; TEXT_LEN]) -> &str {
        let per = NANOS_PER_USD.unsigned_abs();
        let abs = self.0.unsigned_abs();
        let (mut whole, mut frac) = (abs / per, abs % per);
        let mut at = TEXT_LEN;
        let mut put = |buf: &mut [u8; TEXT_LEN], b: u8| {
            at -= 1;
            if let Some(slot) = buf.get_mut(at) {
                *slot = b;
            }
        };
        for _ in 0..DECIMALS {
            put(buf, b'0' + (frac % 10) as u8);
            frac /= 10;
        }
        put(buf, b'.');
        loop {
            put(buf, b'0' + (whole % 10) as u8);
            whole /= 10;
            if whole == 0 {
                break;
            }
        }
        if self.0 < 0 {
            put(buf, b'-');
        }
        std::str::from_utf8(buf.get(at..).unwrap_or_default()).unwrap_or_default()
    }

    /// Appends the text form to `out`.
    pub fn push_to(self, out: &mut String) {
        out.push_str(self.render(&mut [0; TEXT_LEN]));
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render(&mut [0; TEXT_LEN]))
    }
}

impl FromStr for Money {
    type Err = ParseError;

    /// Parses a decimal USD amount such as `12.3456789`, `-0.5` or `3`.
    /// More than nine decimals, exponents, or anything else is refused
    /// rather than rounded.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseError::new(format!("`{s}` is not a USD amount with at most 9 decimals"));
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(frac) || frac.len() > DECIMALS {
            return Err(bad());
        }
        if digits.contains('.') && frac.is_empty() {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let mut frac_nanos: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            let digit = i64::from(b - b'0');
            frac_nanos += digit * 10_i64.pow((DECIMALS - 1 - i) as u32);
        }
        let nanos = whole
            .checked_mul(NANOS_PER_USD)
            .and_then(|n| n.checked_add(frac_nanos))
            .ok_or_else(bad)?;
        Ok(Money(if negative { -nanos } else { nanos }))
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_nine_decimals() {
        let cases = [
            (0, "0.000000000"),
            (1, "0.000000001"),
            (12_345_678_900, "12.345678900"),
            (-1_500_000_000, "-1.500000000"),
            (-7, "-0.000000007"),
            (1_000_000_000, "1.000000000"),
            (i64::MAX, "9223372036.854775807"),
            (i64::MIN, "-9223372036.854775808"),
        ];
        for (nanos, text) in cases {
            assert_eq!(Money::from_nanos(nanos).to_string(), text);
            let mut pushed = String::from("x,");
            Money::from_nanos(nanos).push_to(&mut pushed);
            assert_eq!(pushed, format!("x,{text}"));
            if nanos != i64::MIN {
                assert_eq!(text.parse::<Money>(), Ok(Money::from_nanos(nanos)), "{text}");
            }
        }
    }

    #[test]
    fn parses_short_forms_exactly() {
        let cases = [("3", 3_000_000_000), ("0.1", 100_000_000), ("-0.000000002", -2)];
        for (text, nanos) in cases {
            assert_eq!(text.parse::<Money>(), Ok(Money::from_nanos(nanos)), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_exact() {
        for text in [
            "",
            "-",
            ".5",
            "1.",
            "1.0000000001",
            "1e3",
            "+1",
            " 1",
            "1,5",
            "NaN",
            "99999999999",
        ] {
            assert!(text.parse::<Money>().is_err(), "{text} should be refused");
        }
    }

    #[test]
    fn json_round_trip_is_a_string() {
        let m = Money::from_nanos(12_345_678_900);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "\"12.345678900\"");
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        assert!(serde_json::from_str::<Money>("12.5").is_err());
    }

    #[test]
    fn sums_saturate_instead_of_wrapping() {
        let big = Money::from_nanos(i64::MAX);
        assert_eq!(big.saturating_add(Money::from_nanos(5)), big);
        assert_eq!(big.checked_add(Money::from_nanos(1)), None);
    }
}
