//! Rows as the store hands them out.

use jiff::Timestamp;
use tally_core::{ApiKeyId, Email, Name, OrgId, Plan, ProjectId, Role, TokenId, UserId};

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
}

impl ApiKey {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
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
