//! Validated text: names, e-mail addresses, passwords, model names.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::ParseError;

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A display name (organization, project, key, person): trimmed, 1 to 100
/// characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(ParseError::new("must not be empty"));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(ParseError::new(format!(
                "must be at most {} characters",
                Self::MAX_CHARS
            )));
        }
        if has_control(s) {
            return Err(ParseError::new("must not contain control characters"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, stored lower-cased. Deliberately simple: one `@`, a
/// non-empty local part, a domain with a dot, no spaces, at most 254 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim().to_lowercase();
        let bad = || ParseError::new(format!("`{}` is not a valid e-mail address", raw.trim()));
        if s.len() > 254 || has_control(&s) || s.contains(char::is_whitespace) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(bad());
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed: 8 to 256 characters. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let n = raw.chars().count();
        if n < 8 {
            return Err(ParseError::new("must be at least 8 characters"));
        }
        if n > 256 {
            return Err(ParseError::new("must be at most 256 characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A model name as requested or routed (`gpt-4o`, `openai/gpt-4o`): 1 to 200
/// printable characters without whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelName(String);

impl ModelName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.is_empty() {
            return Err(ParseError::new("model must not be empty"));
        }
        if raw.len() > 200 {
            return Err(ParseError::new("model must be at most 200 bytes"));
        }
        if has_control(raw) || raw.contains(char::is_whitespace) {
            return Err(ParseError::new(
                "model must not contain whitespace or control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! text_common {
    ($($ty:ty),+) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    )+};
}

text_common!(Name, Email, ModelName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Name::parse("  Acme  ").unwrap().as_str(), "Acme");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"x".repeat(101)).is_err());
        assert!(Name::parse(&"é".repeat(100)).is_ok());
        assert!(Name::parse("a\u{0}b").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
        for bad in [
            "", "alice", "@x.com", "a@", "a@b", "a@.b.c", "a b@c.d", "a@b@c.d", "a@b..c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn passwords_hide_in_debug() {
        let p = Password::parse("correct horse").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        assert!(Password::parse("short").is_err());
    }

    #[test]
    fn model_names() {
        assert!(ModelName::parse("openai/gpt-4o").is_ok());
        for bad in ["", "gpt 4o", "gpt\n4o"] {
            assert!(ModelName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
