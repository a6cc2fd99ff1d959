//! The shared world most tests start from, and a snapshot of what the store
//! holds so a test can show that a refused request wrote nothing.
//!
//! Org A (enterprise): owner, admin, developer; project A with one key made by
//! the developer and one by the admin; pending invitations of the outsider
//! (developer) and of [`PARTNER_EMAIL`] (owner). Org B: owned by the
//! outsider, with project B, one key and a pending invitation of
//! [`GUEST_EMAIL`].

use tally_core::{ApiKeyId, Email, InvitationId, OrgId, Plan, ProjectId, Role, UserId};
use tally_store::{AccountStore, InvitationStore, StoreError, TokenKind};

use crate::helpers::*;

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Owner,
    Admin,
    Developer,
    /// Owner of org B, not a member of org A.
    Outsider,
    Anonymous,
}

impl Who {
    pub const ALL: [Who; 5] = [Who::Owner, Who::Admin, Who::Developer, Who::Outsider, Who::Anonymous];
}

/// An e-mail address no fixture user has; requests may create it.
pub const NEW_EMAIL: &str = "newcomer@a.example";
/// Invited to org A as owner; no account.
pub const PARTNER_EMAIL: &str = "partner@a.example";
/// Invited to org B as developer; no account.
pub const GUEST_EMAIL: &str = "guest@b.example";

/// A pending invitation and the token of its link.
#[derive(Clone)]
pub struct TestInvitation {
    pub id: InvitationId,
    pub token: String,
}

/// Invites `email` to `org` as `role` for a day, through the account functions.
pub async fn invite(app: &TestApp, org: OrgId, email: &str, role: Role, by: &TestUser) -> TestInvitation {
    let (invitation, token) = tally_server::accounts::create_invitation(
        &app.store,
        &app.hasher,
        org,
        &Email::parse(email).unwrap(),
        role,
        by.id,
        jiff::SignedDuration::from_hours(24),
    )
    .await
    .unwrap();
    TestInvitation {
        id: invitation.id,
        token: token.expose().to_owned(),
    }
}

pub struct Fx {
    pub owner: TestUser,
    pub admin: TestUser,
    pub developer: TestUser,
    pub outsider: TestUser,
    pub org_a: OrgId,
    pub org_b: OrgId,
    pub project_a: ProjectId,
    pub project_b: ProjectId,
    /// Made by the developer in project A.
    pub dev_key: ApiKeyId,
    pub dev_secret: String,
    /// Made by the admin in project A.
    pub admin_key: ApiKeyId,
    pub admin_secret: String,
    /// Made by the outsider in project B.
    pub key_b: ApiKeyId,
    pub secret_b: String,
    /// The outsider, invited to org A as developer by the owner.
    pub invite_a: TestInvitation,
    /// [`PARTNER_EMAIL`], invited to org A as owner by the owner.
    pub invite_owner_a: TestInvitation,
    /// [`GUEST_EMAIL`], invited to org B as developer by the outsider.
    pub invite_b: TestInvitation,
}

impl Fx {
    pub async fn build(app: &TestApp) -> Fx {
        let owner = app.user("owner@a.example", "Olivia Owner").await;
        let admin = app.user("admin@a.example", "Adam Admin").await;
        let developer = app.user("dev@a.example", "Dana Developer").await;
        let outsider = app.user("owner@b.example", "Oscar Outsider").await;
        let org_a = app.org("Org A", Plan::Enterprise, &owner).await;
        app.member(org_a, &admin, Role::Admin).await;
        app.member(org_a, &developer, Role::Developer).await;
        let org_b = app.org("Org B", Plan::Pro, &outsider).await;
        let project_a = app.project(org_a, "Project A").await;
        let project_b = app.project(org_b, "Project B").await;
        let (dev_key, dev_secret) = app.key(project_a, "dev key", &developer).await;
        let (admin_key, admin_secret) = app.key(project_a, "admin key", &admin).await;
        let (key_b, secret_b) = app.key(project_b, "b key", &outsider).await;
        let invite_a = invite(app, org_a, &outsider.email, Role::Developer, &owner).await;
        let invite_owner_a = invite(app, org_a, PARTNER_EMAIL, Role::Owner, &owner).await;
        let invite_b = invite(app, org_b, GUEST_EMAIL, Role::Developer, &outsider).await;
        Fx {
            owner,
            admin,
            developer,
            outsider,
            org_a,
            org_b,
            project_a,
            project_b,
            dev_key,
            dev_secret,
            admin_key,
            admin_secret,
            key_b,
            secret_b,
            invite_a,
            invite_owner_a,
            invite_b,
        }
    }

    pub fn who(&self, who: Who) -> Option<&TestUser> {
        match who {
            Who::Owner => Some(&self.owner),
            Who::Admin => Some(&self.admin),
            Who::Developer => Some(&self.developer),
            Who::Outsider => Some(&self.outsider),
            Who::Anonymous => None,
        }
    }

    pub fn users(&self) -> [&TestUser; 4] {
        [&self.owner, &self.admin, &self.developer, &self.outsider]
    }

    /// Everything the management API can change, as comparable lines.
    pub async fn snapshot(&self, app: &TestApp) -> Vec<String> {
        let users: Vec<UserId> = self.users().iter().map(|u| u.id).collect();
        snapshot(
            app,
            &users,
            &[self.org_a, self.org_b],
            &[NEW_EMAIL, PARTNER_EMAIL, GUEST_EMAIL],
        )
        .await
    }
}

/// The store's view of these users and organizations (and of these e-mail
/// addresses, which a request might have turned into accounts). Token use
/// times are left out: authenticating records them, which is not a change.
pub async fn snapshot(app: &TestApp, users: &[UserId], orgs: &[OrgId], emails: &[&str]) -> Vec<String> {
    let s = &app.store;
    let mut lines = Vec::new();
    for &user in users {
        lines.push(format!("user {:?}", s.user(user).await.unwrap()));
        for (org, role) in s.orgs_of_user(user).await.unwrap() {
            lines.push(format!("  in {org:?} as {role:?}"));
            if !orgs.contains(&org.id) {
                // An organization this user made during the test.
                lines.push(format!("  with projects {:?}", s.projects(org.id).await.unwrap()));
            }
        }
        for kind in [TokenKind::Personal, TokenKind::Session] {
            for t in s.tokens(user, kind).await.unwrap() {
                lines.push(format!(
                    "  token {} {:?} {:?} {} {:?}",
                    t.id, t.kind, t.name, t.created_at, t.expires_at
                ));
            }
        }
    }
    for &org in orgs {
        lines.push(format!("org {:?}", s.org(org).await.unwrap()));
        for m in s.members(org).await.unwrap() {
            lines.push(format!("  member {m:?}"));
        }
        for p in s.projects(org).await.unwrap() {
            lines.push(format!("  project {p:?}"));
        }
        for k in s.api_keys(org, None, None).await.unwrap() {
            lines.push(format!("  key {k:?}"));
        }
        for i in s.open_invitations(org).await.unwrap() {
            lines.push(format!("  invitation {i:?}"));
        }
    }
    for email in emails {
        let found = match s.user_by_email(&Email::parse(email).unwrap()).await {
            Ok(user) => format!("{user:?}"),
            Err(StoreError::NotFound) => "none".to_owned(),
            Err(e) => panic!("{e}"),
        };
        lines.push(format!("email {email}: {found}"));
    }
    lines
}
