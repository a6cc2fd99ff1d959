//! The settings of tally's browser-facing doors and the checks that use
//! them: which client address a request counts as, whether the session
//! cookie is `Secure`, and the same-origin rule for unsafe requests.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::login::{LoginGuard, LoginLimits};

/// `[server] secure_cookies`, `[server] trust_proxy` and the `[auth]` login limits.
#[derive(Debug, Clone, Default)]
pub struct SecuritySettings {
    pub login: LoginLimits,
    /// Always mark the session cookie `Secure` (tally is reached over HTTPS).
    pub secure_cookies: bool,
    /// tally is behind a reverse proxy: the client address is the last one
    /// in `X-Forwarded-For` rather than the connection's peer.
    pub trust_proxy: bool,
}

/// The settings in effect and the login limiter's state.
pub struct Security {
    pub login: LoginGuard,
    pub secure_cookies: bool,
    pub trust_proxy: bool,
}

impl Security {
    pub fn new(settings: SecuritySettings) -> Self {
        Self {
            login: LoginGuard::new(settings.login),
            secure_cookies: settings.secure_cookies,
            trust_proxy: settings.trust_proxy,
        }
    }

    /// The address a request counts as coming from: the connection's peer,
    /// or (only with `trust_proxy`) the address the proxy appended last to
    /// `X-Forwarded-For`.
    pub fn client_ip(&self, headers: &HeaderMap, extensions: &axum::http::Extensions) -> Option<IpAddr> {
        if self.trust_proxy
            && let Some(forwarded) = last_forwarded_for(headers)
        {
            return Some(forwarded);
        }
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
    }

    /// The session cookie is `Secure` when configured, or when the request
    /// reached a TLS-terminating proxy (`X-Forwarded-Proto: https`). A client
    /// that sends the header itself only makes its own cookie stricter.
    pub fn secure_cookie(&self, headers: &HeaderMap) -> bool {
        self.secure_cookies
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }
}

fn last_forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    let entry = last.to_str().ok()?.rsplit(',').next()?.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// Refuses (403) an unsafe request (POST, PUT, PATCH, DELETE) that is not
/// authenticated by an `Authorization` header (so a session cookie, or
/// nothing, as at login) when the browser says it comes from another site:
/// `Sec-Fetch-Site` other than `same-origin`/`none`, or else an `Origin`
/// whose host is not the one the request was sent to. Requests that say
/// neither (the CLI, curl) pass, as do requests with a bearer token, which a
/// cross-site page cannot attach.
pub async fn same_origin(req: Request, next: Next) -> Response {
    if is_cross_site(req.method(), req.headers()) {
        return ApiError::forbidden("cross-site requests may not change anything; use the dashboard or a token")
            .into_response();
    }
    next.run(req).await
}

fn is_cross_site(method: &Method, headers: &HeaderMap) -> bool {
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE);
    if safe || headers.contains_key(header::AUTHORIZATION) {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        return !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Some(origin_host) = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, host)| host.trim_end_matches('/'))
    else {
        // `Origin: null` (a sandboxed or file page) and anything unparsable.
        return true;
    };
    let targets = [header::HOST.as_str(), "x-forwarded-host"];
    !targets.iter().any(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|host| host.trim().eq_ignore_ascii_case(origin_host))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Pairs = &'static [(&'static str, &'static str)];

    fn headers(pairs: Pairs) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn cross_site_rule() {
        const HOST: (&str, &str) = ("host", "tally.example:8080");
        let cases: &[(Method, Pairs, bool)] = &[
            (Method::POST, &[HOST], false),
            (Method::POST, &[HOST, ("origin", "http://tally.example:8080")], false),
            (Method::POST, &[HOST, ("origin", "https://TALLY.example:8080")], false),
            (Method::POST, &[HOST, ("origin", "http://evil.test")], true),
            (Method::DELETE, &[HOST, ("origin", "http://tally.example")], true),
            (Method::PATCH, &[HOST, ("origin", "null")], true),
            (Method::POST, &[HOST, ("sec-fetch-site", "cross-site")], true),
            (Method::POST, &[HOST, ("sec-fetch-site", "same-site")], true),
            (Method::POST, &[HOST, ("sec-fetch-site", "same-origin")], false),
            (Method::POST, &[HOST, ("sec-fetch-site", "none")], false),
            (
                Method::POST,
                &[HOST, ("origin", "http://evil.test"), ("authorization", "Bearer tlp_x")],
                false,
            ),
            (Method::GET, &[HOST, ("origin", "http://evil.test")], false),
            (
                Method::POST,
                &[
                    HOST,
                    ("origin", "https://tally.example"),
                    ("x-forwarded-host", "tally.example"),
                ],
                false,
            ),
        ];
        for (method, pairs, cross) in cases {
            assert_eq!(is_cross_site(method, &headers(pairs)), *cross, "{method} {pairs:?}");
        }
    }

    #[test]
    fn forwarded_for_is_read_only_when_trusted() {
        let h = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.7")]);
        let mut ext = axum::http::Extensions::new();
        ext.insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 5000))));
        let direct = Security::new(SecuritySettings::default());
        assert_eq!(direct.client_ip(&h, &ext), Some(IpAddr::from([127, 0, 0, 1])));
        let proxied = Security::new(SecuritySettings {
            trust_proxy: true,
            ..SecuritySettings::default()
        });
        assert_eq!(proxied.client_ip(&h, &ext), Some(IpAddr::from([198, 51, 100, 7])));
    }
}
