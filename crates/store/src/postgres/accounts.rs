//! [`AccountStore`] on PostgreSQL.

use async_trait::async_trait;
use jiff::Timestamp;
use tally_core::{ApiKeyId, Email, Name, OrgId, Plan, ProjectId, RateLimits, Role, TokenId, UserId};
use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use super::convert::RowExt;
use super::{PgError, PgStore, R, conflict_as, found, touched};
use crate::columns::{Columns, ms, opt_ms};
use crate::records::*;
use crate::rows::*;
use crate::{AccountStore, StoreError, StoreResult};

fn rows<T>(rows: Vec<Row>, f: fn(&Row) -> R<T>) -> R<Vec<T>> {
    rows.iter().map(f).collect()
}

async fn get_org(c: &impl GenericClient, id: OrgId) -> R<Organization> {
    let row = c
        .query_opt(
            &format!("SELECT {ORG_COLS} FROM organizations WHERE id = $1"),
            &[id.as_uuid()],
        )
        .await?;
    org_row(&found(row)?)
}

async fn get_member(c: &impl GenericClient, org: OrgId, user: UserId) -> R<Member> {
    let row = c
        .query_opt(
            &format!(
                "SELECT {MEMBER_COLS} FROM memberships m JOIN users u ON u.id = m.user_id
                 WHERE m.org_id = $1 AND m.user_id = $2"
            ),
            &[org.as_uuid(), user.as_uuid()],
        )
        .await?;
    member_row(&found(row)?)
}

async fn get_project(c: &impl GenericClient, id: ProjectId) -> R<Project> {
    let row = c
        .query_opt(
            &format!("SELECT {PROJECT_COLS} FROM projects WHERE id = $1 AND deleted_at IS NULL"),
            &[id.as_uuid()],
        )
        .await?;
    project_row(&found(row)?)
}

async fn get_key(c: &impl GenericClient, id: ApiKeyId) -> R<ApiKey> {
    let row = c
        .query_opt(
            &format!("SELECT {KEY_COLS} FROM api_keys WHERE id = $1"),
            &[id.as_uuid()],
        )
        .await?;
    key_row(&found(row)?)
}

/// Locks the organization's row for the rest of the transaction: every
/// membership change of one organization waits for the one before, so the
/// last-owner check sees every committed change (READ COMMITTED takes a new
/// snapshot per statement, after the lock is granted).
async fn lock_org(c: &impl GenericClient, org: OrgId) -> R<()> {
    let row = c
        .query_opt("SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE", &[org.as_uuid()])
        .await?;
    found(row).map(|_| ())
}

async fn other_owners(c: &impl GenericClient, org: OrgId, user: UserId) -> R<i64> {
    let row = c
        .query_one(
            "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner' AND user_id <> $2",
            &[org.as_uuid(), user.as_uuid()],
        )
        .await?;
    row.col(0)
}

impl PgStore {
    async fn set_role_once(&self, org: OrgId, user: UserId, role: Role) -> R<Member> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        lock_org(&*tx, org).await?;
        let current = get_member(&*tx, org, user).await?;
        if current.role == Role::Owner && role != Role::Owner && other_owners(&*tx, org, user).await? == 0 {
            return Err(PgError::Store(StoreError::LastOwner));
        }
        tx.execute(
            "UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2",
            &[org.as_uuid(), user.as_uuid(), &role.as_str()],
        )
        .await?;
        let member = get_member(&*tx, org, user).await?;
        tx.commit().await?;
        Ok(member)
    }

    async fn remove_member_once(&self, org: OrgId, user: UserId) -> R<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        lock_org(&*tx, org).await?;
        let current = get_member(&*tx, org, user).await?;
        if current.role == Role::Owner && other_owners(&*tx, org, user).await? == 0 {
            return Err(PgError::Store(StoreError::LastOwner));
        }
        tx.execute(
            "DELETE FROM memberships WHERE org_id = $1 AND user_id = $2",
            &[org.as_uuid(), user.as_uuid()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_project_once(&self, id: ProjectId, at: Timestamp) -> R<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        touched(
            tx.execute(
                "UPDATE projects SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
                &[id.as_uuid(), &ms(at)],
            )
            .await?,
        )?;
        // Keys in id order, the order every writer locks them in.
        tx.execute(
            "UPDATE api_keys SET revoked_at = $2 WHERE id IN (
                SELECT id FROM api_keys WHERE project_id = $1 AND revoked_at IS NULL ORDER BY id FOR UPDATE)",
            &[id.as_uuid(), &ms(at)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_org_once(&self, org: &Organization, owner: UserId) -> R<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "INSERT INTO organizations (id, name, plan, created_at) VALUES ($1, $2, $3, $4)",
            &[
                org.id.as_uuid(),
                &org.name.as_str(),
                &org.plan.as_str(),
                &ms(org.created_at),
            ],
        )
        .await?;
        tx.execute(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)",
            &[org.id.as_uuid(), owner.as_uuid(), &ms(org.created_at)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_org_once(&self, id: OrgId, name: Option<&str>, plan: Option<Plan>) -> R<Organization> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        if let Some(name) = name {
            touched(
                tx.execute(
                    "UPDATE organizations SET name = $2 WHERE id = $1",
                    &[id.as_uuid(), &name],
                )
                .await?,
            )?;
        }
        if let Some(plan) = plan {
            touched(
                tx.execute(
                    "UPDATE organizations SET plan = $2 WHERE id = $1",
                    &[id.as_uuid(), &plan.as_str()],
                )
                .await?,
            )?;
        }
        let org = get_org(&*tx, id).await?;
        tx.commit().await?;
        Ok(org)
    }
}

#[async_trait]
impl AccountStore for PgStore {
    async fn create_user(&self, email: &Email, name: &Name, password_hash: &str) -> StoreResult<User> {
        let user = new_user(email, name, password_hash);
        let c = self.client().await?;
        c.execute(
            "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[
                user.id.as_uuid(),
                &user.email.as_str(),
                &user.name.as_str(),
                &user.password_hash,
                &ms(user.created_at),
            ],
        )
        .await
        .map_err(conflict_as("a user with this email"))?;
        Ok(user)
    }

    async fn user(&self, id: UserId) -> StoreResult<User> {
        let c = self.client().await?;
        let row = c
            .query_opt(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"), &[id.as_uuid()])
            .await
            .map_err(PgError::from)?;
        Ok(user_row(&found(row)?)?)
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<User> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {USER_COLS} FROM users WHERE email = $1"),
                &[&email.as_str()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(user_row(&found(row)?)?)
    }

    async fn create_org(&self, name: &Name, plan: Plan, owner: UserId) -> StoreResult<Organization> {
        let org = new_org(name, plan);
        self.retrying(|| self.create_org_once(&org, owner)).await?;
        Ok(org)
    }

    async fn org(&self, id: OrgId) -> StoreResult<Organization> {
        let c = self.client().await?;
        Ok(get_org(&**c, id).await?)
    }

    async fn set_org_timezone(&self, id: OrgId, zone: &tally_core::TimeZone) -> StoreResult<Organization> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE organizations SET timezone = $2 WHERE id = $1",
                &[id.as_uuid(), &zone.name()],
            )
            .await
            .map_err(PgError::from)?;
        touched(n)?;
        Ok(get_org(&**c, id).await?)
    }

    async fn orgs_of_user(&self, user: UserId) -> StoreResult<Vec<(Organization, Role)>> {
        let c = self.client().await?;
        let found = c
            .query(
                "SELECT o.id, o.name, o.plan, o.created_at, o.timezone, m.role FROM organizations o
                 JOIN memberships m ON m.org_id = o.id WHERE m.user_id = $1
                 ORDER BY o.name COLLATE \"C\", o.id",
                &[user.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(found
            .iter()
            .map(|r| Ok((org_row(r)?, r.parsed(5)?)))
            .collect::<R<_>>()?)
    }

    async fn update_org(&self, id: OrgId, name: Option<&Name>, plan: Option<Plan>) -> StoreResult<Organization> {
        let name = name.map(|n| n.as_str());
        self.retrying(|| self.update_org_once(id, name, plan)).await
    }

    async fn role_of(&self, org: OrgId, user: UserId) -> StoreResult<Option<Role>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2",
                &[org.as_uuid(), user.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(row.map(|r| r.parsed(0)).transpose()?)
    }

    async fn add_member(&self, org: OrgId, user: UserId, role: Role) -> StoreResult<Member> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
            &[org.as_uuid(), user.as_uuid(), &role.as_str(), &ms(Timestamp::now())],
        )
        .await
        .map_err(conflict_as("this membership"))?;
        Ok(get_member(&**c, org, user).await?)
    }

    async fn members(&self, org: OrgId) -> StoreResult<Vec<Member>> {
        let c = self.client().await?;
        let found = c
            .query(
                &format!(
                    "SELECT {MEMBER_COLS} FROM memberships m JOIN users u ON u.id = m.user_id
                     WHERE m.org_id = $1 ORDER BY u.name COLLATE \"C\", u.id"
                ),
                &[org.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(rows(found, member_row)?)
    }

    async fn member(&self, org: OrgId, user: UserId) -> StoreResult<Member> {
        let c = self.client().await?;
        Ok(get_member(&**c, org, user).await?)
    }

    async fn set_role(&self, org: OrgId, user: UserId, role: Role) -> StoreResult<Member> {
        self.retrying(|| self.set_role_once(org, user, role)).await
    }

    async fn remove_member(&self, org: OrgId, user: UserId) -> StoreResult<()> {
        self.retrying(|| self.remove_member_once(org, user)).await
    }

    async fn create_project(&self, org: OrgId, name: &Name) -> StoreResult<Project> {
        let project = new_project(org, name);
        let c = self.client().await?;
        c.execute(
            "INSERT INTO projects (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)",
            &[
                project.id.as_uuid(),
                org.as_uuid(),
                &project.name.as_str(),
                &ms(project.created_at),
            ],
        )
        .await
        .map_err(PgError::from)?;
        Ok(project)
    }

    async fn project(&self, id: ProjectId) -> StoreResult<Project> {
        let c = self.client().await?;
        Ok(get_project(&**c, id).await?)
    }

    async fn projects(&self, org: OrgId) -> StoreResult<Vec<Project>> {
        let c = self.client().await?;
        let found = c
            .query(
                &format!(
                    "SELECT {PROJECT_COLS} FROM projects WHERE org_id = $1 AND deleted_at IS NULL
                     ORDER BY name COLLATE \"C\", id"
                ),
                &[org.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(rows(found, project_row)?)
    }

    async fn update_project(&self, id: ProjectId, change: ProjectChange) -> StoreResult<Project> {
        let c = self.client().await?;
        let retention = change.body_retention.map(|d| i64::from(d.days()));
        touched(
            c.execute(
                "UPDATE projects SET name = COALESCE($2, name), capture_bodies = COALESCE($3, capture_bodies),
                    body_retention_days = COALESCE($4, body_retention_days)
                 WHERE id = $1 AND deleted_at IS NULL",
                &[
                    id.as_uuid(),
                    &change.name.as_ref().map(Name::as_str),
                    &change.capture_bodies,
                    &retention,
                ],
            )
            .await
            .map_err(PgError::from)?,
        )?;
        Ok(get_project(&**c, id).await?)
    }

    async fn delete_project(&self, id: ProjectId, at: Timestamp) -> StoreResult<()> {
        let done = self.retrying(|| self.delete_project_once(id, at)).await;
        self.keys_revoked();
        done
    }

    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO api_keys (id, org_id, project_id, name, secret_hash, last4, created_by, created_at, expires_at,
                                   requests_per_minute, tokens_per_minute)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                key.id.as_uuid(),
                key.org_id.as_uuid(),
                key.project_id.as_uuid(),
                &key.name.as_str(),
                &&key.secret_hash[..],
                &key.last4,
                key.created_by.as_uuid(),
                &ms(key.created_at),
                &key.expires_at.map(ms),
                &key.limits.requests_per_minute.map(|l| i64::from(l.get())),
                &key.limits.tokens_per_minute.map(|l| i64::from(l.get())),
            ],
        )
        .await
        .map_err(conflict_as("an API key with this secret"))?;
        Ok(get_key(&**c, key.id).await?)
    }

    async fn api_key(&self, id: ApiKeyId) -> StoreResult<ApiKey> {
        let c = self.client().await?;
        Ok(get_key(&**c, id).await?)
    }

    async fn api_keys(
        &self,
        org: OrgId,
        project: Option<ProjectId>,
        created_by: Option<UserId>,
    ) -> StoreResult<Vec<ApiKey>> {
        let project: Option<Uuid> = project.map(|p| *p.as_uuid());
        let created_by: Option<Uuid> = created_by.map(|u| *u.as_uuid());
        let c = self.client().await?;
        let found = c
            .query(
                &format!(
                    "SELECT {KEY_COLS} FROM api_keys WHERE org_id = $1
                       AND ($2::uuid IS NULL OR project_id = $2) AND ($3::uuid IS NULL OR created_by = $3)
                     ORDER BY id DESC"
                ),
                &[org.as_uuid(), &project, &created_by],
            )
            .await
            .map_err(PgError::from)?;
        Ok(rows(found, key_row)?)
    }

    async fn rename_api_key(&self, id: ApiKeyId, name: &Name) -> StoreResult<ApiKey> {
        let c = self.client().await?;
        touched(
            c.execute(
                "UPDATE api_keys SET name = $2 WHERE id = $1",
                &[id.as_uuid(), &name.as_str()],
            )
            .await
            .map_err(PgError::from)?,
        )?;
        Ok(get_key(&**c, id).await?)
    }

    async fn set_api_key_expiry(&self, id: ApiKeyId, expires_at: Option<Timestamp>) -> StoreResult<ApiKey> {
        let c = self.client().await?;
        let set = c
            .execute(
                "UPDATE api_keys SET expires_at = $2 WHERE id = $1",
                &[id.as_uuid(), &expires_at.map(ms)],
            )
            .await
            .map_err(PgError::from);
        self.keys_revoked();
        touched(set?)?;
        Ok(get_key(&**c, id).await?)
    }

    async fn set_api_key_limits(&self, id: ApiKeyId, limits: RateLimits) -> StoreResult<ApiKey> {
        let c = self.client().await?;
        let set = c
            .execute(
                "UPDATE api_keys SET requests_per_minute = $2, tokens_per_minute = $3 WHERE id = $1",
                &[
                    id.as_uuid(),
                    &limits.requests_per_minute.map(|l| i64::from(l.get())),
                    &limits.tokens_per_minute.map(|l| i64::from(l.get())),
                ],
            )
            .await
            .map_err(PgError::from);
        self.keys_revoked();
        touched(set?)?;
        Ok(get_key(&**c, id).await?)
    }

    async fn revoke_api_key(&self, id: ApiKeyId, at: Timestamp) -> StoreResult<ApiKey> {
        let c = self.client().await?;
        let revoked = c
            .execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                &[id.as_uuid(), &ms(at)],
            )
            .await
            .map_err(PgError::from);
        self.keys_revoked();
        revoked?;
        Ok(get_key(&**c, id).await?)
    }

    fn key_revision(&self) -> u64 {
        self.key_revision.load(std::sync::atomic::Ordering::Acquire)
    }

    async fn active_key_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<ApiKey> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {KEY_COLS} FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL"
            ))
            .await
            .map_err(PgError::from)?;
        let row = c.query_opt(&stmt, &[&&secret_hash[..]]).await.map_err(PgError::from)?;
        Ok(key_row(&found(row)?)?)
    }

    async fn touch_api_key(&self, id: ApiKeyId, at: Timestamp) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE api_keys SET last_used_at = GREATEST(COALESCE(last_used_at, 0), $2) WHERE id = $1",
            &[id.as_uuid(), &ms(at)],
        )
        .await
        .map_err(PgError::from)?;
        Ok(())
    }

    async fn create_token(&self, token: NewToken) -> StoreResult<AuthToken> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO user_tokens (id, user_id, kind, name, secret_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                token.id.as_uuid(),
                token.user_id.as_uuid(),
                &token.kind.as_str(),
                &token.name,
                &&token.secret_hash[..],
                &ms(token.created_at),
                &opt_ms(token.expires_at),
            ],
        )
        .await
        .map_err(conflict_as("a token with this secret"))?;
        let row = c
            .query_opt(
                &format!("SELECT {TOKEN_COLS} FROM user_tokens WHERE id = $1"),
                &[token.id.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(token_row(&found(row)?)?)
    }

    async fn token_by_hash(&self, secret_hash: &[u8; 32], now: Timestamp) -> StoreResult<AuthToken> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLS} FROM user_tokens WHERE secret_hash = $1 AND (expires_at IS NULL OR expires_at > $2)"
            ))
            .await
            .map_err(PgError::from)?;
        let row = c
            .query_opt(&stmt, &[&&secret_hash[..], &ms(now)])
            .await
            .map_err(PgError::from)?;
        let token = token_row(&found(row)?)?;
        // Recording use is best kept coarse: at most one write a minute per token.
        let stale = token
            .last_used_at
            .is_none_or(|t| now.as_millisecond() - t.as_millisecond() > 60_000);
        if stale {
            c.execute(
                "UPDATE user_tokens SET last_used_at = $2 WHERE id = $1",
                &[token.id.as_uuid(), &ms(now)],
            )
            .await
            .map_err(PgError::from)?;
        }
        Ok(token)
    }

    async fn tokens(&self, user: UserId, kind: TokenKind) -> StoreResult<Vec<AuthToken>> {
        let c = self.client().await?;
        let found = c
            .query(
                &format!("SELECT {TOKEN_COLS} FROM user_tokens WHERE user_id = $1 AND kind = $2 ORDER BY id DESC"),
                &[user.as_uuid(), &kind.as_str()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(rows(found, token_row)?)
    }

    async fn delete_token(&self, user: UserId, id: TokenId) -> StoreResult<()> {
        let c = self.client().await?;
        touched(
            c.execute(
                "DELETE FROM user_tokens WHERE id = $1 AND user_id = $2",
                &[id.as_uuid(), user.as_uuid()],
            )
            .await
            .map_err(PgError::from)?,
        )?;
        Ok(())
    }
}
