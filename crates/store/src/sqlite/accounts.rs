//! [`AccountStore`] on SQLite.

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use tally_core::{ApiKeyId, Email, Name, OrgId, Plan, ProjectId, RateLimits, RetentionDays, Role, TokenId, UserId};

use super::{SqliteStore, conflict_as};
use crate::columns::{Columns, ms, opt_ms};
use crate::records::*;
use crate::rows::*;
use crate::{AccountStore, StoreError, StoreResult};

fn get_org(c: &Connection, id: OrgId) -> StoreResult<Organization> {
    Ok(c.query_row(
        &format!("SELECT {ORG_COLS} FROM organizations WHERE id = ?1"),
        [id.as_uuid()],
        |r| org_row(r),
    )?)
}

fn get_member(c: &Connection, org: OrgId, user: UserId) -> StoreResult<Member> {
    Ok(c.query_row(
        &format!("SELECT {MEMBER_COLS} FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?1 AND m.user_id = ?2"),
        [org.as_uuid(), user.as_uuid()],
        |r| member_row(r),
    )?)
}

fn get_project(c: &Connection, id: ProjectId) -> StoreResult<Project> {
    Ok(c.query_row(
        &format!("SELECT {PROJECT_COLS} FROM projects WHERE id = ?1 AND deleted_at IS NULL"),
        [id.as_uuid()],
        |r| project_row(r),
    )?)
}

fn get_key(c: &Connection, id: ApiKeyId) -> StoreResult<ApiKey> {
    Ok(c.query_row(
        &format!("SELECT {KEY_COLS} FROM api_keys WHERE id = ?1"),
        [id.as_uuid()],
        |r| key_row(r),
    )?)
}

fn other_owners(c: &Connection, org: OrgId, user: UserId) -> StoreResult<i64> {
    Ok(c.query_row(
        "SELECT COUNT(*) FROM memberships WHERE org_id = ?1 AND role = 'owner' AND user_id != ?2",
        [org.as_uuid(), user.as_uuid()],
        |r| r.get(0),
    )?)
}

/// Fails with `NotFound` when an UPDATE/DELETE touched no row.
fn touched(n: usize) -> StoreResult<()> {
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, email: &Email, name: &Name, password_hash: &str) -> StoreResult<User> {
        let user = new_user(email, name, password_hash);
        self.write(move |c| {
            c.execute(
                "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    user.id.as_uuid(),
                    user.email.as_str(),
                    user.name.as_str(),
                    user.password_hash,
                    ms(user.created_at)
                ],
            )
            .map_err(conflict_as("a user with this email"))?;
            Ok(user)
        })
        .await
    }

    async fn user(&self, id: UserId) -> StoreResult<User> {
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
                [id.as_uuid()],
                |r| user_row(r),
            )?)
        })
        .await
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<User> {
        let email = email.as_str().to_owned();
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE email = ?1"),
                [email],
                |r| user_row(r),
            )?)
        })
        .await
    }

    async fn create_org(&self, name: &Name, plan: Plan, owner: UserId) -> StoreResult<Organization> {
        let org = new_org(name, plan);
        self.write(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO organizations (id, name, plan, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    org.id.as_uuid(),
                    org.name.as_str(),
                    org.plan.as_str(),
                    ms(org.created_at)
                ],
            )?;
            tx.execute(
                "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?1, ?2, 'owner', ?3)",
                params![org.id.as_uuid(), owner.as_uuid(), ms(org.created_at)],
            )?;
            tx.commit()?;
            Ok(org)
        })
        .await
    }

    async fn org(&self, id: OrgId) -> StoreResult<Organization> {
        self.read(move |c| get_org(c, id)).await
    }

    async fn orgs_of_user(&self, user: UserId) -> StoreResult<Vec<(Organization, Role)>> {
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT o.id, o.name, o.plan, o.created_at, o.timezone, m.role FROM organizations o
                 JOIN memberships m ON m.org_id = o.id WHERE m.user_id = ?1 ORDER BY o.name, o.id",
            )?;
            let rows = stmt.query_map([user.as_uuid()], |r| Ok((org_row(r)?, r.parsed(5)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn update_org(&self, id: OrgId, name: Option<&Name>, plan: Option<Plan>) -> StoreResult<Organization> {
        let name = name.map(|n| n.as_str().to_owned());
        self.write(move |c| {
            let tx = c.transaction()?;
            if let Some(name) = name {
                touched(tx.execute(
                    "UPDATE organizations SET name = ?2 WHERE id = ?1",
                    params![id.as_uuid(), name],
                )?)?;
            }
            if let Some(plan) = plan {
                touched(tx.execute(
                    "UPDATE organizations SET plan = ?2 WHERE id = ?1",
                    params![id.as_uuid(), plan.as_str()],
                )?)?;
            }
            let org = get_org(&tx, id)?;
            tx.commit()?;
            Ok(org)
        })
        .await
    }

    async fn set_org_timezone(&self, id: OrgId, zone: &tally_core::TimeZone) -> StoreResult<Organization> {
        let zone = zone.name().to_owned();
        self.write(move |c| {
            touched(c.execute(
                "UPDATE organizations SET timezone = ?2 WHERE id = ?1",
                params![id.as_uuid(), zone],
            )?)?;
            get_org(c, id)
        })
        .await
    }

    async fn role_of(&self, org: OrgId, user: UserId) -> StoreResult<Option<Role>> {
        self.read(move |c| {
            let role: Option<String> = c
                .query_row(
                    "SELECT role FROM memberships WHERE org_id = ?1 AND user_id = ?2",
                    [org.as_uuid(), user.as_uuid()],
                    |r| r.get(0),
                )
                .optional()?;
            role.map(|r| r.parse().map_err(|e: tally_core::ParseError| StoreError::Corrupt(e.0)))
                .transpose()
        })
        .await
    }

    async fn add_member(&self, org: OrgId, user: UserId, role: Role) -> StoreResult<Member> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![org.as_uuid(), user.as_uuid(), role.as_str(), ms(Timestamp::now())],
            )
            .map_err(conflict_as("this membership"))?;
            get_member(c, org, user)
        })
        .await
    }

    async fn members(&self, org: OrgId) -> StoreResult<Vec<Member>> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {MEMBER_COLS} FROM memberships m JOIN users u ON u.id = m.user_id
                 WHERE m.org_id = ?1 ORDER BY u.name, u.id"
            ))?;
            let rows = stmt.query_map([org.as_uuid()], |r| member_row(r))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn member(&self, org: OrgId, user: UserId) -> StoreResult<Member> {
        self.read(move |c| get_member(c, org, user)).await
    }

    async fn set_role(&self, org: OrgId, user: UserId, role: Role) -> StoreResult<Member> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let current = get_member(&tx, org, user)?;
            if current.role == Role::Owner && role != Role::Owner && other_owners(&tx, org, user)? == 0 {
                return Err(StoreError::LastOwner);
            }
            tx.execute(
                "UPDATE memberships SET role = ?3 WHERE org_id = ?1 AND user_id = ?2",
                params![org.as_uuid(), user.as_uuid(), role.as_str()],
            )?;
            let member = get_member(&tx, org, user)?;
            tx.commit()?;
            Ok(member)
        })
        .await
    }

    async fn remove_member(&self, org: OrgId, user: UserId) -> StoreResult<()> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let current = get_member(&tx, org, user)?;
            if current.role == Role::Owner && other_owners(&tx, org, user)? == 0 {
                return Err(StoreError::LastOwner);
            }
            tx.execute(
                "DELETE FROM memberships WHERE org_id = ?1 AND user_id = ?2",
                [org.as_uuid(), user.as_uuid()],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn create_project(&self, org: OrgId, name: &Name) -> StoreResult<Project> {
        let project = new_project(org, name);
        self.write(move |c| {
            c.execute(
                "INSERT INTO projects (id, org_id, name, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    project.id.as_uuid(),
                    org.as_uuid(),
                    project.name.as_str(),
                    ms(project.created_at)
                ],
            )?;
            Ok(project)
        })
        .await
    }

    async fn project(&self, id: ProjectId) -> StoreResult<Project> {
        self.read(move |c| get_project(c, id)).await
    }

    async fn projects(&self, org: OrgId) -> StoreResult<Vec<Project>> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {PROJECT_COLS} FROM projects WHERE org_id = ?1 AND deleted_at IS NULL ORDER BY name, id"
            ))?;
            let rows = stmt.query_map([org.as_uuid()], |r| project_row(r))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn update_project(&self, id: ProjectId, change: ProjectChange) -> StoreResult<Project> {
        self.write(move |c| {
            touched(c.execute(
                "UPDATE projects SET name = COALESCE(?2, name), capture_bodies = COALESCE(?3, capture_bodies),
                    body_retention_days = COALESCE(?4, body_retention_days)
                 WHERE id = ?1 AND deleted_at IS NULL",
                params![
                    id.as_uuid(),
                    change.name.as_ref().map(Name::as_str),
                    change.capture_bodies,
                    change.body_retention.map(RetentionDays::days),
                ],
            )?)?;
            get_project(c, id)
        })
        .await
    }

    async fn delete_project(&self, id: ProjectId, at: Timestamp) -> StoreResult<()> {
        self.write(move |c| {
            let tx = c.transaction()?;
            touched(tx.execute(
                "UPDATE projects SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
                params![id.as_uuid(), ms(at)],
            )?)?;
            tx.execute(
                "UPDATE api_keys SET revoked_at = ?2 WHERE project_id = ?1 AND revoked_at IS NULL",
                params![id.as_uuid(), ms(at)],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await?;
        self.keys_revoked();
        Ok(())
    }

    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO api_keys (id, org_id, project_id, name, secret_hash, last4, created_by, created_at, expires_at,
                                       requests_per_minute, tokens_per_minute)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    key.id.as_uuid(),
                    key.org_id.as_uuid(),
                    key.project_id.as_uuid(),
                    key.name.as_str(),
                    &key.secret_hash[..],
                    key.last4,
                    key.created_by.as_uuid(),
                    ms(key.created_at),
                    key.expires_at.map(ms),
                    key.limits.requests_per_minute.map(|l| l.get()),
                    key.limits.tokens_per_minute.map(|l| l.get())
                ],
            )
            .map_err(conflict_as("an API key with this secret"))?;
            get_key(c, key.id)
        })
        .await
    }

    async fn api_key(&self, id: ApiKeyId) -> StoreResult<ApiKey> {
        self.read(move |c| get_key(c, id)).await
    }

    async fn api_keys(
        &self,
        org: OrgId,
        project: Option<ProjectId>,
        created_by: Option<UserId>,
    ) -> StoreResult<Vec<ApiKey>> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {KEY_COLS} FROM api_keys WHERE org_id = ?1
                   AND (?2 IS NULL OR project_id = ?2) AND (?3 IS NULL OR created_by = ?3)
                 ORDER BY id DESC"
            ))?;
            let rows = stmt.query_map(
                params![
                    org.as_uuid(),
                    project.map(|p| *p.as_uuid()),
                    created_by.map(|u| *u.as_uuid())
                ],
                |r| key_row(r),
            )?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn rename_api_key(&self, id: ApiKeyId, name: &Name) -> StoreResult<ApiKey> {
        let name = name.as_str().to_owned();
        self.write(move |c| {
            touched(c.execute(
                "UPDATE api_keys SET name = ?2 WHERE id = ?1",
                params![id.as_uuid(), name],
            )?)?;
            get_key(c, id)
        })
        .await
    }

    async fn set_api_key_expiry(&self, id: ApiKeyId, expires_at: Option<Timestamp>) -> StoreResult<ApiKey> {
        let key = self
            .write(move |c| {
                touched(c.execute(
                    "UPDATE api_keys SET expires_at = ?2 WHERE id = ?1",
                    params![id.as_uuid(), expires_at.map(ms)],
                )?)?;
                get_key(c, id)
            })
            .await;
        self.keys_revoked();
        key
    }

    async fn set_api_key_limits(&self, id: ApiKeyId, limits: RateLimits) -> StoreResult<ApiKey> {
        let key = self
            .write(move |c| {
                touched(c.execute(
                    "UPDATE api_keys SET requests_per_minute = ?2, tokens_per_minute = ?3 WHERE id = ?1",
                    params![
                        id.as_uuid(),
                        limits.requests_per_minute.map(|l| l.get()),
                        limits.tokens_per_minute.map(|l| l.get())
                    ],
                )?)?;
                get_key(c, id)
            })
            .await;
        self.keys_revoked();
        key
    }

    async fn revoke_api_key(&self, id: ApiKeyId, at: Timestamp) -> StoreResult<ApiKey> {
        let key = self
            .write(move |c| {
                c.execute(
                    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                    params![id.as_uuid(), ms(at)],
                )?;
                get_key(c, id)
            })
            .await;
        self.keys_revoked();
        key
    }

    fn key_revision(&self) -> u64 {
        self.inner.key_revision.load(std::sync::atomic::Ordering::Acquire)
    }

    async fn active_key_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<ApiKey> {
        let hash = secret_hash.to_vec();
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {KEY_COLS} FROM api_keys WHERE secret_hash = ?1 AND revoked_at IS NULL"),
                [hash],
                |r| key_row(r),
            )?)
        })
        .await
    }

    async fn touch_api_key(&self, id: ApiKeyId, at: Timestamp) -> StoreResult<()> {
        self.write(move |c| {
            c.execute(
                "UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?2) WHERE id = ?1",
                params![id.as_uuid(), ms(at)],
            )?;
            Ok(())
        })
        .await
    }

    async fn create_token(&self, token: NewToken) -> StoreResult<AuthToken> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO user_tokens (id, user_id, kind, name, secret_hash, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    token.id.as_uuid(),
                    token.user_id.as_uuid(),
                    token.kind.as_str(),
                    token.name,
                    &token.secret_hash[..],
                    ms(token.created_at),
                    opt_ms(token.expires_at)
                ],
            )
            .map_err(conflict_as("a token with this secret"))?;
            Ok(c.query_row(
                &format!("SELECT {TOKEN_COLS} FROM user_tokens WHERE id = ?1"),
                [token.id.as_uuid()],
                |r| token_row(r),
            )?)
        })
        .await
    }

    async fn token_by_hash(&self, secret_hash: &[u8; 32], now: Timestamp) -> StoreResult<AuthToken> {
        let hash = secret_hash.to_vec();
        let token = self
            .read(move |c| {
                Ok(c.query_row(
                    &format!(
                        "SELECT {TOKEN_COLS} FROM user_tokens WHERE secret_hash = ?1 AND (expires_at IS NULL OR expires_at > ?2)"
                    ),
                    params![hash, ms(now)],
                    |r| token_row(r),
                )?)
            })
            .await?;
        // Recording use is best kept coarse: at most one write a minute per token.
        let stale = token
            .last_used_at
            .is_none_or(|t| now.as_millisecond() - t.as_millisecond() > 60_000);
        if stale {
            let id = token.id;
            self.write(move |c| {
                c.execute(
                    "UPDATE user_tokens SET last_used_at = ?2 WHERE id = ?1",
                    params![id.as_uuid(), ms(now)],
                )?;
                Ok(())
            })
            .await?;
        }
        Ok(token)
    }

    async fn tokens(&self, user: UserId, kind: TokenKind) -> StoreResult<Vec<AuthToken>> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {TOKEN_COLS} FROM user_tokens WHERE user_id = ?1 AND kind = ?2 ORDER BY id DESC"
            ))?;
            let rows = stmt.query_map(params![user.as_uuid(), kind.as_str()], |r| token_row(r))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn delete_token(&self, user: UserId, id: TokenId) -> StoreResult<()> {
        self.write(move |c| {
            touched(c.execute(
                "DELETE FROM user_tokens WHERE id = ?1 AND user_id = ?2",
                [id.as_uuid(), user.as_uuid()],
            )?)
        })
        .await
    }
}
