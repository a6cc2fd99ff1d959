//! Request tags: `key=value` labels a client attaches to a request
//! (the `x-tally-tags` header), bounded and kept in one canonical text.

use std::fmt;

use crate::ParseError;

/// The most tags one request may carry.
pub const MAX_TAGS: usize = 8;
/// The longest tag key, in characters.
pub const MAX_KEY_CHARS: usize = 32;
/// The longest tag value, in characters.
pub const MAX_VALUE_CHARS: usize = 64;

/// A request's tags: 1 to [`MAX_TAGS`] pairs, sorted by key, each key once.
/// A key is 1 to [`MAX_KEY_CHARS`] of `a-z A-Z 0-9 _ . -`; a value is 1 to
/// [`MAX_VALUE_CHARS`] printable ASCII characters other than `,` and `=`
/// (spaces inside are kept, around are trimmed).
/// Held in its canonical text (see the `Display` impl).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tags(String);

fn key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn value_char(c: char) -> bool {
    (c.is_ascii_graphic() || c == ' ') && c != ',' && c != '='
}

/// One tag key, trimmed, or why it is not one.
fn check_key(raw: &str) -> Result<&str, ParseError> {
    let key = raw.trim();
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || !key.chars().all(key_char) {
        return Err(ParseError::new(format!(
            "tag key `{}` must be 1 to {MAX_KEY_CHARS} characters of letters, digits, `_`, `.` and `-`",
            key.escape_default()
        )));
    }
    Ok(key)
}

/// One tag value, trimmed, or why it is not one.
fn check_value(raw: &str) -> Result<&str, ParseError> {
    let value = raw.trim();
    if value.is_empty() || value.chars().count() > MAX_VALUE_CHARS || !value.chars().all(value_char) {
        return Err(ParseError::new(format!(
            "tag value `{}` must be 1 to {MAX_VALUE_CHARS} printable ASCII characters other than `,` and `=`",
            value.escape_default()
        )));
    }
    Ok(value)
}

/// Checks one tag key.
pub fn parse_key(raw: &str) -> Result<String, ParseError> {
    check_key(raw).map(str::to_owned)
}

/// Checks one tag value.
pub fn parse_value(raw: &str) -> Result<String, ParseError> {
    check_value(raw).map(str::to_owned)
}

impl Tags {
    /// Parses `key=value,key=value`. An empty list is `None`.
    pub fn parse(raw: &str) -> Result<Option<Tags>, ParseError> {
        Self::parse_parts(std::iter::once(raw))
    }

    /// Parses lists given apart (every `x-tally-tags` header) as one.
    /// Borrows the pairs and builds the canonical text once: a request
    /// with tags pays one allocation for them.
    pub fn parse_parts<'a>(lists: impl IntoIterator<Item = &'a str>) -> Result<Option<Tags>, ParseError> {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for part in lists.into_iter().flat_map(|list| list.split(',')) {
            if part.trim().is_empty() {
                continue;
            }
            let Some((k, v)) = part.split_once('=') else {
                return Err(ParseError::new(format!(
                    "tag `{}` is not key=value",
                    part.trim().escape_default()
                )));
            };
            pairs.push((check_key(k)?, check_value(v)?));
            if pairs.len() > MAX_TAGS {
                return Err(ParseError::new(format!("at most {MAX_TAGS} tags are allowed")));
            }
        }
        pairs.sort_unstable();
        if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(ParseError::new(format!("tag key `{}` is given twice", w[0].0)));
        }
        if pairs.is_empty() {
            return Ok(None);
        }
        let mut text = String::with_capacity(pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(k);
            text.push('=');
            text.push_str(v);
        }
        Ok(Some(Tags(text)))
    }

    /// The pairs, sorted by key.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.split(',').filter_map(|p| p.split_once('='))
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value of `key`, if tagged.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// The canonical text, `key=value,key=value` sorted by key: what is stored
/// and what [`Tags::parse`] reads back unchanged.
impl fmt::Display for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn lists_given_apart_are_one_list() {
        let apart = Tags::parse_parts(["team=search", " feature=rerank,"]).unwrap();
        assert_eq!(apart, Tags::parse("team=search,feature=rerank").unwrap());
        assert_eq!(apart.unwrap().to_string(), "feature=rerank,team=search");
        assert!(Tags::parse_parts(["team=a", "team=b"]).is_err());
        assert_eq!(Tags::parse_parts(Vec::<&str>::new()).unwrap(), None);
    }

    #[test]
    fn parses_and_sorts() {
        let t = Tags::parse(" team = search , feature=rerank,").unwrap().unwrap();
        assert_eq!(t.to_string(), "feature=rerank,team=search");
        assert_eq!(t.get("team"), Some("search"));
        assert_eq!(Tags::parse(" , ").unwrap(), None);
    }

    #[test]
    fn refuses_what_it_cannot_hold() {
        for bad in [
            "team",
            "=x",
            "team=",
            "a=1,a=2",
            "té=x",
            "k=a\u{7f}",
            "k=\u{e9}",
            "a=1,b=1,c=1,d=1,e=1,f=1,g=1,h=1,i=1",
        ] {
            assert!(Tags::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Tags::parse(&format!("{}=x", "k".repeat(33))).is_err());
        assert!(Tags::parse(&format!("k={}", "v".repeat(65))).is_err());
        assert!(Tags::parse(&format!("{}={}", "k".repeat(32), "v".repeat(64))).is_ok());
    }

    proptest! {
        #[test]
        fn canonical_text_reads_back(raw in "[a-c=, x]{0,40}") {
            if let Ok(Some(t)) = Tags::parse(&raw) {
                let text = t.to_string();
                prop_assert_eq!(Tags::parse(&text).unwrap(), Some(t.clone()));
                prop_assert!(t.pairs().count() <= MAX_TAGS);
                prop_assert!(!text.contains(' ') || t.pairs().any(|(_, v)| v.contains(' ')));
            }
        }

        #[test]
        fn never_panics(raw in "\\PC{0,200}") {
            let _ = Tags::parse(&raw);
        }
    }
}
