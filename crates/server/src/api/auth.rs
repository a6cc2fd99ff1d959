//! Login, logout, the caller's profile and personal access tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tally_core::{Email, Name, TokenId, UserId};
use tally_store::TokenKind;

use super::access::not_found;
use super::views::{CreatedTokenView, OrgView, TokenView, UserView};
use crate::AppState;
use crate::accounts::{self, SESSION_LIFETIME};
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, ClientAddr, SESSION_COOKIE, field, path_id, session_cookie};
use crate::login::Refusal;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    email: String,
    password: String,
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "wrong e-mail or password",
    )
}

/// The `Set-Cookie` value of a browser session (empty and 0 to clear it),
/// `Secure` when `secure`.
pub(super) fn session_cookie_header(value: &str, max_age: i64, secure: bool) -> Result<HeaderValue, ApiError> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .map_err(ApiError::internal)
}

/// 429 (too many failures) or 503 (no hashing slot in time), with `Retry-After`.
fn refused(refusal: Refusal) -> Response {
    let (error, wait) = match refusal {
        Refusal::Limited(wait) => (
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many failed logins for this account or address; try again in {} s",
                    wait.as_secs().max(1)
                ),
            ),
            wait.as_secs().max(1),
        ),
        Refusal::Busy => (
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many logins at once; try again shortly",
            ),
            1,
        ),
    };
    ([(header::RETRY_AFTER, wait.to_string())], error).into_response()
}

/// Checks the limits, then the password (holding a hashing slot), then opens
/// a session. See `login.rs` for the limits.
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let email = Email::parse(&body.email).map_err(|_| invalid_credentials())?;
    let guard = &state.security.login;
    let attempt = match guard.begin(&email, address) {
        Ok(attempt) => attempt,
        Err(refusal) => return Ok(refused(refusal)),
    };
    let permit = match guard.hash_permit().await {
        Ok(permit) => permit,
        Err(refusal) => return Ok(refused(refusal)),
    };
    let user = accounts::check_login(state.store.as_ref(), &email, &body.password, permit)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(invalid_credentials)?;
    attempt.succeeded();
    let out = new_session(&state, user.id, &headers).await?;
    Ok((out, Json(UserView::from(&user))).into_response())
}

/// Starts a browser session for `user`: the headers that set its cookie
/// (`Secure` as the request's headers decide).
pub(super) async fn new_session(state: &AppState, user: UserId, request: &HeaderMap) -> Result<HeaderMap, ApiError> {
    let (_, secret) = accounts::create_token(state.store.as_ref(), &state.hasher, user, TokenKind::Session, "browser")
        .await
        .map_err(ApiError::internal)?;
    let secure = state.security.secure_cookie(request);
    let mut out = HeaderMap::new();
    out.insert(
        header::SET_COOKIE,
        session_cookie_header(secret.expose(), SESSION_LIFETIME.as_secs(), secure)?,
    );
    Ok(out)
}

/// Ends the browser session (if any) and clears the cookie. Always 204.
pub async fn logout(State(state): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    if let Some(secret) = session_cookie(&parts) {
        let hash = state.hasher.hash(secret);
        if let Ok(token) = state.store.token_by_hash(&hash, jiff::Timestamp::now()).await {
            state
                .store
                .delete_token(token.user_id, token.id)
                .await
                .map_err(not_found("session"))?;
        }
    }
    let secure = state.security.secure_cookie(&parts.headers);
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie_header("", 0, secure)?);
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeView {
    user: UserView,
    organizations: Vec<OrgView>,
}

pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<MeView>, ApiError> {
    let user = state.store.user(caller.user_id).await?;
    let orgs = state.store.orgs_of_user(caller.user_id).await?;
    Ok(Json(MeView {
        user: UserView::from(&user),
        organizations: orgs.iter().map(|(o, role)| OrgView::new(o, *role)).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    name: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<(StatusCode, Json<CreatedTokenView>), ApiError> {
    let name = field("name", Name::parse(&body.name))?;
    let (token, secret) = accounts::create_token(
        state.store.as_ref(),
        &state.hasher,
        caller.user_id,
        TokenKind::Personal,
        name.as_str(),
    )
    .await
    .map_err(ApiError::internal)?;
    let view = CreatedTokenView {
        token: TokenView::from(&token),
        token_secret: secret.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(view)))
}

pub async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = state.store.tokens(caller.user_id, TokenKind::Personal).await?;
    Ok(Json(tokens.iter().map(TokenView::from).collect()))
}

pub async fn delete_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(token_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: TokenId = path_id(&token_id, "token")?;
    let personal = state.store.tokens(caller.user_id, TokenKind::Personal).await?;
    if !personal.iter().any(|t| t.id == id) {
        return Err(ApiError::not_found("token"));
    }
    state
        .store
        .delete_token(caller.user_id, id)
        .await
        .map_err(not_found("token"))?;
    Ok(StatusCode::NO_CONTENT)
}
