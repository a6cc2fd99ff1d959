//! JSON shapes of the management API (camelCase). Secrets appear only in
//! the one response that creates them.

use jiff::Timestamp;
use serde::Serialize;
use tally_core::{ApiKeyId, Email, Name, OrgId, Plan, ProjectId, Role, TokenId, UserId};
use tally_store::{ApiKey, AuthToken, Member, Organization, Project, User};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: UserId,
    pub email: Email,
    pub name: Name,
    pub created_at: Timestamp,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            created_at: u.created_at,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgView {
    pub id: OrgId,
    pub name: Name,
    pub plan: Plan,
    pub created_at: Timestamp,
    /// The zone its budgets follow unless they name one.
    pub timezone: String,
    /// The caller's role in this organization.
    pub role: Role,
}

impl OrgView {
    pub fn new(o: &Organization, role: Role) -> Self {
        Self {
            id: o.id,
            name: o.name.clone(),
            plan: o.plan,
            created_at: o.created_at,
            timezone: o.timezone.name().to_owned(),
            role,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub user_id: UserId,
    pub email: Email,
    pub name: Name,
    pub role: Role,
    pub joined_at: Timestamp,
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> Self {
        Self {
            user_id: m.user_id,
            email: m.email.clone(),
            name: m.name.clone(),
            role: m.role,
            joined_at: m.joined_at,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectView {
    pub id: ProjectId,
    pub organization_id: OrgId,
    pub name: Name,
    pub created_at: Timestamp,
    /// Whether the gateway keeps this project's request and response bodies.
    pub capture_bodies: bool,
    pub body_retention_days: u8,
}

impl From<&Project> for ProjectView {
    fn from(p: &Project) -> Self {
        Self {
            id: p.id,
            organization_id: p.org_id,
            name: p.name.clone(),
            created_at: p.created_at,
            capture_bodies: p.capture_bodies,
            body_retention_days: p.body_retention.days(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatorView {
    pub user_id: UserId,
    pub name: Option<Name>,
    pub email: Option<Email>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: ApiKeyId,
    pub name: Name,
    pub masked_key: String,
    pub organization_id: OrgId,
    pub project_id: ProjectId,
    pub created_by: CreatorView,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// `active`, `revoked`, or `expired` (its expiry time has come).
    pub status: &'static str,
    pub revoked_at: Option<Timestamp>,
    /// When the gateway starts refusing it; `null`: never.
    pub expires_at: Option<Timestamp>,
    /// Requests a minute the gateway lets through; `null`: unlimited.
    pub requests_per_minute: Option<u32>,
    /// Tokens (every class, input and output) a minute; `null`: unlimited.
    pub tokens_per_minute: Option<u32>,
}

impl ApiKeyView {
    pub fn new(k: &ApiKey, creator: Option<&User>) -> Self {
        Self {
            id: k.id,
            name: k.name.clone(),
            masked_key: k.masked(),
            organization_id: k.org_id,
            project_id: k.project_id,
            created_by: CreatorView {
                user_id: k.created_by,
                name: creator.map(|u| u.name.clone()),
                email: creator.map(|u| u.email.clone()),
            },
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            status: if !k.is_active() {
                "revoked"
            } else if k.is_expired(Timestamp::now()) {
                "expired"
            } else {
                "active"
            },
            revoked_at: k.revoked_at,
            expires_at: k.expires_at,
            requests_per_minute: k.limits.requests_per_minute.map(|l| l.get()),
            tokens_per_minute: k.limits.tokens_per_minute.map(|l| l.get()),
        }
    }
}

/// The response that creates a key: the only place its secret appears.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKeyView {
    #[serde(flatten)]
    pub key: ApiKeyView,
    pub key_secret: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub id: TokenId,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl From<&AuthToken> for TokenView {
    fn from(t: &AuthToken) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            created_at: t.created_at,
            last_used_at: t.last_used_at,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTokenView {
    #[serde(flatten)]
    pub token: TokenView,
    pub token_secret: String,
}
