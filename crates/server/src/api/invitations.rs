//! Invitations: the only way into an organization. Owners and admins invite
//! an e-mail with a role (only owners invite owners) and get a one-time
//! link; the invitee accepts it, signed in as that e-mail or by setting the
//! name and password of a new account. Until then nobody is a member and no
//! account is created. Inviting answers the same whether or not the e-mail
//! has an account.
//!
//! The token is a secret, so it never travels in a URL the server sees:
//! the dashboard's link carries it in the fragment (`/invite#tli_…`, which
//! browsers do not send), and the API takes it in the body. Request logs
//! and proxies' access logs thus never hold it.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tally_core::{Email, InvitationId, Name, OrgId, ParseError, Password, Role};
use tally_store::{AcceptRefusal, Acceptor, Invitation, InvitationState, StoreError};

use super::access::{Access, AccessJson, OrgAccess, not_found, require_owner};
use super::auth::new_session;
use super::views::{MemberView, OrgView};
use crate::AppState;
use crate::accounts::{self, AccountError};
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, field, path_id};
use crate::secrets::INVITATION_PREFIX;

/// How long an invitation lasts unless the inviter says otherwise.
const DEFAULT_DAYS: u8 = 7;
const MAX_DAYS: u8 = 30;

/// An invitation's lifetime: whole days, 1 to 30.
#[derive(Debug, Clone, Copy)]
struct Lifetime(u8);

impl Lifetime {
    fn parse(days: Option<u8>) -> Result<Self, ParseError> {
        match days.unwrap_or(DEFAULT_DAYS) {
            d @ 1..=MAX_DAYS => Ok(Self(d)),
            _ => Err(ParseError::new(format!("give 1 to {MAX_DAYS} days"))),
        }
    }

    fn duration(self) -> SignedDuration {
        SignedDuration::from_hours(24 * i64::from(self.0))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    id: InvitationId,
    organization_id: OrgId,
    email: Email,
    role: Role,
    /// `pending` or `expired` (accepted and revoked ones are not listed).
    status: &'static str,
    invited_by: tally_core::UserId,
    created_at: Timestamp,
    expires_at: Timestamp,
}

impl InvitationView {
    fn new(i: &Invitation, now: Timestamp) -> Self {
        Self {
            id: i.id,
            organization_id: i.org_id,
            email: i.email.clone(),
            role: i.role,
            status: match i.state(now) {
                InvitationState::Pending => "pending",
                InvitationState::Expired => "expired",
                InvitationState::Accepted => "accepted",
                InvitationState::Revoked => "revoked",
            },
            invited_by: i.invited_by,
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

/// The response that creates an invitation: the only place its token appears.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedInvitationView {
    #[serde(flatten)]
    invitation: InvitationView,
    token: String,
    /// The dashboard's accept page, relative to tally's address; the token
    /// is in the fragment, which browsers do not send to the server.
    path: String,
}

pub async fn list(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
) -> Result<Json<Vec<InvitationView>>, ApiError> {
    member.manager()?;
    let now = Timestamp::now();
    let open = state.store.open_invitations(member.org).await?;
    Ok(Json(open.iter().map(|i| InvitationView::new(i, now)).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InviteBody {
    email: String,
    role: String,
    expires_in_days: Option<u8>,
}

pub async fn create(
    State(state): State<AppState>,
    AccessJson(member, body): AccessJson<OrgAccess, InviteBody>,
) -> Result<(StatusCode, Json<CreatedInvitationView>), ApiError> {
    let caller_role = member.manager()?;
    let email = field("email", Email::parse(&body.email))?;
    let role: Role = field("role", body.role.parse())?;
    let lifetime = field("expiresInDays", Lifetime::parse(body.expires_in_days))?;
    if role == Role::Owner {
        require_owner(caller_role, "only owners may invite owners")?;
    }
    let (invitation, token) = accounts::create_invitation(
        state.store.as_ref(),
        &state.hasher,
        member.org,
        &email,
        role,
        member.caller.user_id,
        lifetime.duration(),
    )
    .await
    .map_err(|e| match e {
        AccountError::Store(StoreError::Conflict(_)) => {
            ApiError::conflict("already_member", "a member of this organization has this e-mail").with_param("email")
        }
        other => account_error(other),
    })?;
    let view = CreatedInvitationView {
        invitation: InvitationView::new(&invitation, Timestamp::now()),
        path: format!("/invite#{}", token.expose()),
        token: token.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// Revokes an open invitation. Admins may not revoke an invitation as owner.
pub async fn revoke(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
    Path((_, invitation_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let caller_role = member.manager()?;
    let org = member.org;
    let id: InvitationId = path_id(&invitation_id, "invitation")?;
    let invitation = state.store.invitation(org, id).await.map_err(not_found("invitation"))?;
    if invitation.role == Role::Owner {
        require_owner(caller_role, "only owners may invite owners")?;
    }
    state
        .store
        .revoke_invitation(org, id, Timestamp::now())
        .await
        .map_err(not_found("invitation"))?;
    Ok(StatusCode::NO_CONTENT)
}

fn refused(refusal: AcceptRefusal, email: Option<&Email>) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        AcceptRefusal::Unknown => ApiError::not_found("invitation"),
        AcceptRefusal::Accepted => ApiError::new(StatusCode::GONE, "invitation_used", message),
        AcceptRefusal::Revoked => ApiError::new(StatusCode::GONE, "invitation_revoked", message),
        AcceptRefusal::Expired => ApiError::new(StatusCode::GONE, "invitation_expired", message),
        AcceptRefusal::AccountExists => ApiError::conflict(
            "account_exists",
            match email {
                Some(email) => format!("{message}: sign in as {email} and accept the invitation"),
                None => format!("{message}: sign in and accept the invitation"),
            },
        ),
        AcceptRefusal::WrongUser => ApiError::forbidden(match email {
            Some(email) => format!("{message}: sign in as {email} to accept it"),
            None => message,
        })
        .with_code("wrong_account"),
        AcceptRefusal::AlreadyMember => ApiError::conflict("already_member", message),
    }
}

/// A token that cannot be one of ours is simply unknown (no store look-up).
fn token_hash(state: &AppState, token: &str) -> Result<[u8; 32], ApiError> {
    if token.starts_with(INVITATION_PREFIX) && token.len() <= 64 {
        Ok(state.hasher.hash(token))
    } else {
        Err(ApiError::not_found("invitation"))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationInfo {
    organization_id: OrgId,
    organization_name: Name,
    email: Email,
    role: Role,
    expires_at: Timestamp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupBody {
    token: String,
}

/// What the accept page shows. Needs only the token; says nothing about
/// whether the e-mail has an account (the page offers both ways to accept).
pub async fn show(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LookupBody>,
) -> Result<Json<InvitationInfo>, ApiError> {
    let hash = token_hash(&state, &body.token)?;
    let invitation = state
        .store
        .invitation_by_hash(&hash)
        .await
        .map_err(not_found("invitation"))?;
    if let Some(refusal) = AcceptRefusal::for_state(invitation.state(Timestamp::now())) {
        return Err(refused(refusal, None));
    }
    let org = state.store.org(invitation.org_id).await?;
    Ok(Json(InvitationInfo {
        organization_id: org.id,
        organization_name: org.name,
        email: invitation.email,
        role: invitation.role,
        expires_at: invitation.expires_at,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    token: String,
    name: Option<String>,
    password: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedView {
    organization: OrgView,
    member: MemberView,
}

/// Accepts: with `name` and `password`, as a new account for the invited
/// e-mail (and signs it in); with neither, as the signed-in caller, who must
/// have the invited e-mail.
pub async fn accept(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let ApiJson(body) = ApiJson::<AcceptBody>::from_request(Request::from_parts(parts.clone(), body), &state).await?;
    let token = body.token;
    let hash = token_hash(&state, &token)?;
    let new_account = match (&body.name, &body.password) {
        (Some(name), Some(password)) => Some((
            field("name", Name::parse(name))?,
            field("password", Password::parse(password))?,
        )),
        (None, None) => None,
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "name",
                ParseError::new("give both name and password, or neither"),
            ));
        }
        (Some(_), None) => {
            return Err(ApiError::invalid(
                "password",
                ParseError::new("give both name and password, or neither"),
            ));
        }
    };
    let (accepted, signed_in) = match new_account {
        Some((name, password)) => {
            let accepted = accounts::accept_with_new_account(
                state.store.as_ref(),
                &state.hasher,
                &state.security.login,
                &token,
                &name,
                &password,
            )
            .await
            .map_err(account_error)?;
            (accepted, true)
        }
        None => {
            let caller = Caller::from_request_parts(&mut parts, &state).await?;
            let accepted = state
                .store
                .accept_invitation(&hash, Acceptor::User(caller.user_id), Timestamp::now())
                .await?;
            (accepted, false)
        }
    };
    let (invitation, member) = match accepted {
        Ok(done) => done,
        Err(refusal) => {
            let email = state.store.invitation_by_hash(&hash).await.ok().map(|i| i.email);
            return Err(refused(refusal, email.as_ref()));
        }
    };
    let org = state.store.org(invitation.org_id).await?;
    let view = AcceptedView {
        organization: OrgView::new(&org, member.role),
        member: MemberView::from(&member),
    };
    let headers = if signed_in {
        new_session(&state, member.user_id, &parts.headers).await?
    } else {
        HeaderMap::new()
    };
    Ok((headers, Json(view)).into_response())
}

fn account_error(e: AccountError) -> ApiError {
    match e {
        AccountError::Store(e) => e.into(),
        AccountError::Busy => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many passwords are being set at once; try again shortly",
        ),
        other => ApiError::internal(other),
    }
}
