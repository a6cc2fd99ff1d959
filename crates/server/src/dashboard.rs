//! The web dashboard: hand-written ES modules, CSS and one vendored chart
//! library, embedded in the binary at build time (no front-end build step).
//!
//! `/` and every client-side route (`/analytics`, `/keys/{id}`, …) answer
//! with `index.html` when the browser asks for HTML; the files themselves
//! live under `/assets/`. Unknown `/api` and `/v1` paths, and requests that
//! do not accept HTML, keep the JSON 404 of the API.

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::AppState;

/// One embedded file, served at `/assets/{path}`.
struct Asset {
    path: &'static str,
    body: &'static [u8],
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(Asset { path: $path, body: include_bytes!(concat!("../assets/", $path)) }),*]
    };
}

/// Every file of `crates/server/assets/` that the browser loads (a unit test
/// checks that none is missing).
static ASSETS: &[Asset] = assets![
    "app.css",
    "favicon.svg",
    "js/api.js",
    "js/charts.js",
    "js/dates.js",
    "js/format.js",
    "js/main.js",
    "js/shell.js",
    "js/state/url.js",
    "js/ui.js",
    "js/components/breakdowns.js",
    "js/components/budgets.js",
    "js/components/invitations.js",
    "js/components/limits.js",
    "js/components/range-picker.js",
    "js/components/usage.js",
    "js/components/webhooks.js",
    "js/pages/accept-invite.js",
    "js/pages/analytics.js",
    "js/pages/budgets.js",
    "js/pages/key-stats.js",
    "js/pages/keys.js",
    "js/pages/login.js",
    "js/pages/member-detail.js",
    "js/pages/members.js",
    "js/pages/not-found.js",
    "js/pages/performance.js",
    "js/pages/requests.js",
    "vendor/echarts.min.js",
    "vendor/LICENSE",
    "vendor/NOTICE",
];

const INDEX: &str = include_str!("../assets/index.html");

/// Scripts and styles come from this origin only; inline `style` attributes
/// are allowed because the chart library positions its tooltips with them.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
}

/// `index.html`, revalidated on every load so a new binary's dashboard is
/// picked up at once.
async fn index() -> Response {
    let mut response = (StatusCode::OK, INDEX).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Content hashes of the assets (strong ETags), computed once.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{}\"", hex::encode(&Sha256::digest(a.body)[..12])))
            .collect()
    })
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("html") => "text/html; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    }
}

/// A file under `/assets/`: `no-cache` with an ETag, so a browser keeps its
/// copy and asks once per load whether it changed (a 304 when not).
async fn asset(Path(path): Path<String>, request_headers: HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.path == path) else {
        return crate::api::not_found().await.into_response();
    };
    let etag = &etags()[i];
    let unchanged = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Body::from(ASSETS[i].body).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&path)));
        r
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, v);
    }
    response
}

/// Everything no route matched: a browser navigating to a dashboard route
/// gets `index.html` (the client renders the page, or its own "not found");
/// anything under `/api` or `/v1`, any other method, and any client that
/// does not ask for HTML get the API's JSON 404.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    let api_path = ["/api", "/v1", "/assets"]
        .iter()
        .any(|prefix| path == *prefix || path.starts_with(&format!("{prefix}/")));
    let wants_html = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"));
    if (method == Method::GET || method == Method::HEAD) && !api_path && wants_html {
        index().await
    } else {
        crate::api::not_found().await.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file the browser may load is embedded: a new module that is
    /// not listed in `ASSETS` would be a 404 in production.
    #[test]
    fn every_asset_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut on_disk = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let rel = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
                    let served = matches!(rel.rsplit_once('.').map(|(_, e)| e), Some("js" | "css" | "svg"));
                    if served {
                        on_disk.push(rel);
                    }
                }
            }
        }
        for file in &on_disk {
            assert!(ASSETS.iter().any(|a| a.path == file), "{file} is not in ASSETS");
        }
        for a in ASSETS {
            assert!(!a.body.is_empty(), "{} is empty", a.path);
        }
    }

    fn accept(value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_static(value));
        h
    }

    async fn fallback_status(method: Method, path: &'static str, headers: HeaderMap) -> (StatusCode, String) {
        let r = fallback(method, Uri::from_static(path), headers).await;
        let ct = r
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (r.status(), ct)
    }

    /// Browsers navigating to a client-side route get the dashboard; API
    /// paths, other methods and non-HTML clients keep the JSON 404.
    #[tokio::test]
    async fn the_fallback_serves_the_dashboard_only_to_page_navigations() {
        let html = "text/html,application/xhtml+xml,*/*;q=0.8";
        for path in ["/analytics", "/keys", "/keys/0190", "/members/x", "/login", "/nope"] {
            let (status, ct) = fallback_status(Method::GET, path, accept(html)).await;
            assert_eq!(
                (status, ct.as_str()),
                (StatusCode::OK, "text/html; charset=utf-8"),
                "{path}"
            );
        }
        for path in ["/api/nope", "/api", "/v1/nope", "/assets/nope.js"] {
            let (status, ct) = fallback_status(Method::GET, path, accept(html)).await;
            assert_eq!(
                (status, ct.as_str()),
                (StatusCode::NOT_FOUND, "application/json"),
                "{path}"
            );
        }
        let (status, _) = fallback_status(Method::GET, "/analytics", accept("*/*")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = fallback_status(Method::POST, "/analytics", accept(html)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn assets_revalidate_with_their_etag() {
        let first = asset(Path("js/main.js".to_owned()), HeaderMap::new()).await;
        assert_eq!(first.status(), StatusCode::OK);
        let etag = first.headers().get(header::ETAG).unwrap().clone();
        assert_eq!(first.headers().get(header::CACHE_CONTROL).unwrap(), "no-cache");
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, etag);
        let second = asset(Path("js/main.js".to_owned()), again).await;
        assert_eq!(second.status(), StatusCode::NOT_MODIFIED);
        let missing = asset(Path("js/nope.js".to_owned()), HeaderMap::new()).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("js/main.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("app.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("vendor/LICENSE"), "text/plain; charset=utf-8");
    }
}
