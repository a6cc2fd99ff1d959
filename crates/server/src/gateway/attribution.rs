//! Which app sent a request: `X-Title` or `X-Source`, else the host of
//! `HTTP-Referer`. Normalised, capped, never a reason to refuse a request.
//! And the tags it labels the request with (`x-tally-tags`), validated.

use axum::http::HeaderMap;

/// Longest app name kept, in characters.
pub const MAX_APP_CHARS: usize = 64;

pub fn app(headers: &HeaderMap) -> Option<String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    header("x-title")
        .or_else(|| header("x-source"))
        .and_then(normalise)
        .or_else(|| {
            header("http-referer")
                .or_else(|| header("referer"))
                .and_then(host)
                .and_then(normalise)
        })
}

/// The header a client labels a request with: `key=value,key=value`.
pub const TAGS_HEADER: &str = "x-tally-tags";

/// The request's tags (every `x-tally-tags` header, joined); unlike the app,
/// tags a client sets on purpose, so a malformed list is refused.
pub fn tags(headers: &HeaderMap) -> Result<Option<tally_core::Tags>, tally_core::ParseError> {
    let mut lists = Vec::new();
    for v in headers.get_all(TAGS_HEADER) {
        let v = v
            .to_str()
            .map_err(|_| tally_core::ParseError::new("must be printable ASCII"))?;
        lists.push(v);
    }
    tally_core::Tags::parse_parts(lists)
}

/// The host part of a URL-ish referer.
fn host(referer: &str) -> Option<&str> {
    let rest = referer.split_once("://").map_or(referer, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next()?;
    Some(host)
}

/// Strips scheme and `www.`, keeps letters, digits, space, `.`, `-`, `_`
/// (others become `-`), trims and caps the length.
fn normalise(raw: &str) -> Option<String> {
    let raw = raw.split_once("://").map_or(raw, |(_, r)| r);
    let raw = raw.strip_prefix("www.").unwrap_or(raw);
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, ' ' | '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .take(MAX_APP_CHARS)
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| c == ' ' || c == '-').to_owned();
    (!cleaned.is_empty()).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn picks_and_normalises() {
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
        let cases: &[Case] = &[
            (&[("x-title", "My App")], Some("My App")),
            (&[("x-source", "cli/tool")], Some("cli-tool")),
            (&[("x-title", "A"), ("x-source", "B")], Some("A")),
            (
                &[("http-referer", "https://www.example.com/path?q=1")],
                Some("example.com"),
            ),
            (
                &[("http-referer", "http://user@app.example.org:8080/x")],
                Some("app.example.org"),
            ),
            (
                &[("x-title", "   "), ("http-referer", "https://docs.rs")],
                Some("docs.rs"),
            ),
            (&[("x-title", "<script>")], Some("script")),
            (&[("x-title", "!!!")], None),
            (&[], None),
        ];
        for (pairs, expected) in cases {
            assert_eq!(app(&headers(pairs)).as_deref(), *expected, "{pairs:?}");
        }
        let long = "x".repeat(500);
        assert_eq!(
            app(&headers(&[("x-title", &long)])).unwrap().chars().count(),
            MAX_APP_CHARS
        );
    }
}
