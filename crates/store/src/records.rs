//! Rows as the store hands them out.

use jiff::Timestamp;
use tally_core::{
    ApiKeyId, Email, EventId, InvitationId, Name, OrgId, Plan, ProjectId, RateLimits, RetentionDays, Role, TokenId,
    UserId,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: Name,
    pub password_hash: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub name: Name,
    pub plan: Plan,
    pub created_at: Timestamp,
    /// Its budgets' zone unless they name one.
    pub timezone: tally_core::TimeZone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub role: Role,
    pub joined_at: Timestamp,
}

/// A membership joined with the member's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub email: Email,
    pub name: Name,
    pub role: Role,
    pub joined_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: ProjectId,
    pub org_id: OrgId,
    pub name: Name,
    pub created_at: Timestamp,
    /// Whether the gateway keeps its requests' bodies ([`RequestBodies`]).
    pub capture_bodies: bool,
    /// How long captured bodies are kept.
    pub body_retention: RetentionDays,
}

/// What a project update changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProjectChange {
    pub name: Option<Name>,
    pub capture_bodies: Option<bool>,
    pub body_retention: Option<RetentionDays>,
}

/// The bodies of one request, as captured by the gateway for a project
/// that captures them: the request as received and the response as
/// relayed, each cut at the gateway's cap. Never headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestBodies {
    pub event_id: EventId,
    pub project_id: ProjectId,
    /// The event's start, which retention counts from.
    pub started_at: Timestamp,
    pub request: Vec<u8>,
    pub response: Vec<u8>,
    /// Whether the request was longer than what is kept.
    pub request_truncated: bool,
    pub response_truncated: bool,
}

/// An API key as stored: never the secret, only its keyed hash elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub name: Name,
    /// The last four characters of the secret, for the masked form.
    pub last4: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// From then on the gateway refuses the key as expired; `None`: never.
    pub expires_at: Option<Timestamp>,
    /// Requests and tokens per minute the gateway lets through.
    pub limits: RateLimits,
}

impl ApiKey {
    /// Not revoked (an expired key is still active: see [`ApiKey::is_expired`]).
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// Whether the key's expiry time has come at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// `tly_…a1b2`
    pub fn masked(&self) -> String {
        format!("tly_…{}", self.last4)
    }
}

/// What the store needs to create an API key.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub name: Name,
    pub secret_hash: [u8; 32],
    pub last4: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub limits: RateLimits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A browser login (cookie).
    Session,
    /// A personal access token for scripts.
    Personal,
}

impl TokenKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Personal => "personal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub kind: TokenKind,
    pub name: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub kind: TokenKind,
    pub name: String,
    pub secret_hash: [u8; 32],
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// An invitation to join an organization, as stored: never the token, only
/// its keyed hash elsewhere. Open until accepted or revoked; usable while
/// open and unexpired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: Email,
    pub role: Role,
    pub invited_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub accepted_by: Option<UserId>,
    pub revoked_at: Option<Timestamp>,
}

/// Where an invitation stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Pending,
    Expired,
    Accepted,
    Revoked,
}

impl Invitation {
    pub fn state(&self, now: Timestamp) -> InvitationState {
        if self.accepted_at.is_some() {
            InvitationState::Accepted
        } else if self.revoked_at.is_some() {
            InvitationState::Revoked
        } else if self.expires_at <= now {
            InvitationState::Expired
        } else {
            InvitationState::Pending
        }
    }
}

/// What the store needs to create an invitation.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: Email,
    pub role: Role,
    pub secret_hash: [u8; 32],
    pub invited_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Who accepts an invitation.
#[derive(Debug, Clone)]
pub enum Acceptor {
    /// A signed-in user, who must have the invited e-mail.
    User(UserId),
    /// A new account for the invited e-mail, created by the acceptance.
    NewAccount { name: Name, password_hash: String },
}

/// Why an invitation was not accepted (nothing changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AcceptRefusal {
    #[error("no invitation has this token")]
    Unknown,
    #[error("this invitation was already accepted")]
    Accepted,
    #[error("this invitation was revoked")]
    Revoked,
    #[error("this invitation has expired")]
    Expired,
    /// A new account was asked for, but the e-mail already has one.
    #[error("an account with this e-mail already exists")]
    AccountExists,
    /// The signed-in user's e-mail is not the invited one.
    #[error("this invitation is for another e-mail address")]
    WrongUser,
    #[error("this user is already a member of the organization")]
    AlreadyMember,
}

impl AcceptRefusal {
    /// The refusal for an invitation that is not pending, if any.
    pub fn for_state(state: InvitationState) -> Option<Self> {
        match state {
            InvitationState::Pending => None,
            InvitationState::Expired => Some(Self::Expired),
            InvitationState::Accepted => Some(Self::Accepted),
            InvitationState::Revoked => Some(Self::Revoked),
        }
    }
}

/// An organization's alias for a routed model: `alias → provider/model`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMapping {
    pub id: uuid::Uuid,
    pub org_id: OrgId,
    pub alias: String,
    pub target: String,
    pub created_at: Timestamp,
}

/// An organization's own price for a model, in nano-USD per million tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceOverride {
    pub id: uuid::Uuid,
    pub org_id: OrgId,
    /// A routed model (`provider/model`) or a canonical model name.
    pub model: String,
    pub input: i64,
    pub cached_input: Option<i64>,
    pub cache_write: Option<i64>,
    pub output: i64,
    pub reasoning: Option<i64>,
    pub created_at: Timestamp,
}

/// A spending budget (see `tally_core::budget`).
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub id: tally_core::BudgetId,
    pub org_id: OrgId,
    pub scope: tally_core::BudgetScope,
    pub amount: tally_core::Amount,
    pub period: tally_core::Period,
    pub timezone: tally_core::TimeZone,
    pub action: tally_core::BudgetAction,
    pub thresholds: tally_core::Thresholds,
    pub created_by: UserId,
    pub created_at: Timestamp,
}

/// A URL an organization's alerts are sent to. Its signing secret is
/// derived from the installation key and `salt`, never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: tally_core::WebhookId,
    pub org_id: OrgId,
    pub url: String,
    pub salt: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Given up after its last attempt.
    Failed,
}

impl DeliveryState {
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }
}

impl std::str::FromStr for DeliveryState {
    type Err = tally_core::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "failed" => Ok(DeliveryState::Failed),
            _ => Err(tally_core::ParseError::new(format!("`{s}` is not a delivery state"))),
        }
    }
}

/// One payload for one webhook, with the webhook's URL and salt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: tally_core::DeliveryId,
    pub webhook_id: tally_core::WebhookId,
    pub org_id: OrgId,
    /// `budget.threshold` or `test`.
    pub event: String,
    /// The JSON body sent.
    pub payload: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
    pub url: String,
    pub salt: String,
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// From 1.
    pub number: u32,
    pub at: Timestamp,
    /// The answer's status, if one came.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// A budget's threshold reached in a period, to record once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredAlert {
    pub budget_id: tally_core::BudgetId,
    pub org_id: OrgId,
    /// The period's start (`None` for a lifetime budget).
    pub period_start: Option<Timestamp>,
    pub threshold: u16,
    pub at: Timestamp,
    /// The body every webhook of the organization is sent.
    pub payload: String,
}
