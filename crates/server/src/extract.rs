//! Request extractors: the authenticated caller, JSON bodies that fail with
//! the API's error shape, and ids from the path.

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use tally_core::{ParseError, UserId};
use tally_store::StoreError;

use crate::AppState;
use crate::error::ApiError;
use crate::secrets::{PERSONAL_TOKEN_PREFIX, SESSION_PREFIX};

pub const SESSION_COOKIE: &str = "tally_session";

/// The user behind a request, from a session cookie or a personal access token.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub user_id: UserId,
}

/// The raw session token from the cookie, if any.
pub fn session_cookie(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().ok().and_then(bearer_token));
        let secret = match bearer {
            // An Authorization header that is present decides, even when it is wrong.
            Some(Some(token)) if token.starts_with(PERSONAL_TOKEN_PREFIX) => token,
            Some(_) => return Err(ApiError::unauthenticated()),
            None => match session_cookie(parts) {
                Some(token) if token.starts_with(SESSION_PREFIX) => token,
                _ => return Err(ApiError::unauthenticated()),
            },
        };
        match state
            .store
            .token_by_hash(&state.hasher.hash(secret), Timestamp::now())
            .await
        {
            Ok(token) => Ok(Caller { user_id: token.user_id }),
            Err(StoreError::NotFound) => Err(ApiError::unauthenticated()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The client address a request counts as (see [`crate::security::Security::client_ip`]).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(state.security.client_ip(&parts.headers, &parts.extensions)))
    }
}

/// The token of an `Authorization: Bearer <token>` value (the scheme is
/// case-insensitive).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A JSON body. Refuses other content types (415), bodies over the limit
/// (413), bodies the client fell silent in (408), bad JSON and wrong
/// fields (400, naming the field in `param`).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is too large",
                )
            } else if crate::listen::is_body_timeout(&rejection) {
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    "the client fell silent while sending the request body",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "the request body could not be read",
                )
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // The whole body must be JSON: reading a struct stops at its closing
    // brace and would ignore anything after it.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|inner| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {inner}"),
        )
    })?;
    // serde reads a struct from an array too, field by field in order.
    if !bytes.trim_ascii_start().starts_with(b"{") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a JSON object",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not valid JSON: {inner}"),
            );
        }
        let message = inner.to_string();
        let path = e.path().to_string();
        let param = missing_field(&message).map(str::to_owned).unwrap_or(path);
        let error = ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message);
        if param == "." { error } else { error.with_param(param) }
    })
}

/// `missing field `x`` → `x`; the same for unknown fields.
fn missing_field(message: &str) -> Option<&str> {
    ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next())
}

/// Parses an id from the path; an id that cannot exist is simply not found.
pub fn path_id<T: FromStr<Err = ParseError>>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(what))
}

/// Maps a body field's parse failure to a 400 naming the field.
pub fn field<T>(param: &str, parsed: Result<T, ParseError>) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::invalid(param, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        size: Option<u32>,
    }

    #[test]
    fn json_errors_name_the_field() {
        let cases = [
            (r#"{"name": 5}"#, "invalid_request", Some("name")),
            (r#"{"size": 1}"#, "invalid_request", Some("name")),
            (r#"{"name": "a", "extra": 1}"#, "invalid_request", Some("extra")),
            (r#"{"name": "a", "size": "big"}"#, "invalid_request", Some("size")),
            (r#"{"name": "#, "invalid_json", None),
            (r#"{"name": "a"} {"size": 1}"#, "invalid_json", None),
            (r#"{"name": "a"}}"#, "invalid_json", None),
            ("[]", "invalid_request", None),
            (r#"["a", 1]"#, "invalid_request", None),
            (r#"[{"name": "a"}]"#, "invalid_request", None),
            ("null", "invalid_request", None),
        ];
        for (body, code, param) in cases {
            let err = parse_json::<Body>(body.as_bytes()).unwrap_err();
            assert_eq!(err.code, code, "{body}");
            assert_eq!(err.param.as_deref(), param, "{body}");
        }
    }
}
