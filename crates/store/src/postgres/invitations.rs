//! [`InvitationStore`] on PostgreSQL. Creating an invitation locks its
//! organization's row (so two invitations of one e-mail cannot both stay
//! open); accepting locks the invitation's row (so it is accepted once).

use async_trait::async_trait;
use jiff::Timestamp;
use tally_core::{InvitationId, OrgId, UserId};
use tokio_postgres::GenericClient;
use tokio_postgres::error::SqlState;

use super::{PgError, PgStore, R, conflict_as, found};
use crate::columns::{Columns, ms, stored};
use crate::records::*;
use crate::rows::{INVITATION_COLS, MEMBER_COLS, invitation_row, member_row};
use crate::{InvitationStore, StoreError, StoreResult};

async fn get(c: &impl GenericClient, id: InvitationId) -> R<Invitation> {
    let row = c
        .query_opt(
            &format!("SELECT {INVITATION_COLS} FROM invitations WHERE id = $1"),
            &[id.as_uuid()],
        )
        .await?;
    invitation_row(&found(row)?)
}

async fn user_id_by_email(c: &impl GenericClient, email: &str) -> R<Option<UserId>> {
    let row = c.query_opt("SELECT id FROM users WHERE email = $1", &[&email]).await?;
    row.map(|r| r.uuid(0).map(UserId::from_uuid)).transpose()
}

async fn is_member(c: &impl GenericClient, org: OrgId, user: UserId) -> R<bool> {
    let row = c
        .query_opt(
            "SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2",
            &[org.as_uuid(), user.as_uuid()],
        )
        .await?;
    Ok(row.is_some())
}

impl PgStore {
    async fn create_invitation_once(&self, new: &NewInvitation) -> R<Invitation> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_opt(
                "SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE",
                &[new.org_id.as_uuid()],
            )
            .await?;
        found(row)?;
        if let Some(user) = user_id_by_email(&*tx, new.email.as_str()).await?
            && is_member(&*tx, new.org_id, user).await?
        {
            return Err(PgError::Store(StoreError::Conflict("a member with this e-mail")));
        }
        tx.execute(
            "UPDATE invitations SET revoked_at = $3
             WHERE org_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
            &[new.org_id.as_uuid(), &new.email.as_str(), &ms(new.created_at)],
        )
        .await?;
        tx.execute(
            "INSERT INTO invitations (id, org_id, email, role, secret_hash, invited_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                new.id.as_uuid(),
                new.org_id.as_uuid(),
                &new.email.as_str(),
                &new.role.as_str(),
                &&new.secret_hash[..],
                new.invited_by.as_uuid(),
                &ms(new.created_at),
                &ms(new.expires_at),
            ],
        )
        .await
        .map_err(conflict_as("an invitation with this token"))?;
        let invitation = get(&*tx, new.id).await?;
        tx.commit().await?;
        Ok(invitation)
    }

    async fn accept_once(
        &self,
        hash: &[u8],
        acceptor: &Acceptor,
        now: Timestamp,
    ) -> R<Result<(Invitation, Member), AcceptRefusal>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_opt(
                &format!("SELECT {INVITATION_COLS} FROM invitations WHERE secret_hash = $1 FOR UPDATE"),
                &[&hash],
            )
            .await?;
        let Some(row) = row else {
            return Ok(Err(AcceptRefusal::Unknown));
        };
        let invitation = invitation_row(&row)?;
        if let Some(refusal) = AcceptRefusal::for_state(invitation.state(now)) {
            return Ok(Err(refusal));
        }
        let existing = user_id_by_email(&*tx, invitation.email.as_str()).await?;
        let user =
            match (acceptor, existing) {
                (Acceptor::User(user), Some(id)) if id == *user => id,
                (Acceptor::User(_), _) => return Ok(Err(AcceptRefusal::WrongUser)),
                (Acceptor::NewAccount { .. }, Some(_)) => return Ok(Err(AcceptRefusal::AccountExists)),
                (Acceptor::NewAccount { name, password_hash }, None) => {
                    let id = UserId::new();
                    let inserted = tx
                    .execute(
                        "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                        &[id.as_uuid(), &invitation.email.as_str(), &name.as_str(), password_hash, &ms(now)],
                    )
                    .await;
                    match inserted {
                        Ok(_) => id,
                        // Created by someone else since the look-up.
                        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                            return Ok(Err(AcceptRefusal::AccountExists));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            };
        if is_member(&*tx, invitation.org_id, user).await? {
            return Ok(Err(AcceptRefusal::AlreadyMember));
        }
        let inserted = tx
            .execute(
                "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
                &[
                    invitation.org_id.as_uuid(),
                    user.as_uuid(),
                    &invitation.role.as_str(),
                    &ms(now),
                ],
            )
            .await;
        match inserted {
            Ok(_) => {}
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => return Ok(Err(AcceptRefusal::AlreadyMember)),
            Err(e) => return Err(e.into()),
        }
        tx.execute(
            "UPDATE invitations SET accepted_at = $2, accepted_by = $3 WHERE id = $1",
            &[invitation.id.as_uuid(), &ms(now), user.as_uuid()],
        )
        .await?;
        let row = tx
            .query_one(
                &format!(
                    "SELECT {MEMBER_COLS} FROM memberships m JOIN users u ON u.id = m.user_id
                     WHERE m.org_id = $1 AND m.user_id = $2"
                ),
                &[invitation.org_id.as_uuid(), user.as_uuid()],
            )
            .await?;
        let member = member_row(&row)?;
        let accepted = get(&*tx, invitation.id).await?;
        tx.commit().await?;
        Ok(Ok((accepted, member)))
    }
}

#[async_trait]
impl InvitationStore for PgStore {
    async fn create_invitation(&self, invitation: NewInvitation) -> StoreResult<Invitation> {
        let invitation = NewInvitation {
            created_at: stored(invitation.created_at),
            expires_at: stored(invitation.expires_at),
            ..invitation
        };
        self.retrying(|| self.create_invitation_once(&invitation)).await
    }

    async fn open_invitations(&self, org: OrgId) -> StoreResult<Vec<Invitation>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {INVITATION_COLS} FROM invitations
                     WHERE org_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL ORDER BY id DESC"
                ),
                &[org.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(rows.iter().map(invitation_row).collect::<R<_>>()?)
    }

    async fn invitation(&self, org: OrgId, id: InvitationId) -> StoreResult<Invitation> {
        let c = self.client().await?;
        let invitation = get(&**c, id).await?;
        if invitation.org_id == org {
            Ok(invitation)
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn revoke_invitation(&self, org: OrgId, id: InvitationId, at: Timestamp) -> StoreResult<Invitation> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE invitations SET revoked_at = $3
                 WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
                &[id.as_uuid(), org.as_uuid(), &ms(stored(at))],
            )
            .await
            .map_err(PgError::from)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(get(&**c, id).await?)
    }

    async fn invitation_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<Invitation> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {INVITATION_COLS} FROM invitations WHERE secret_hash = $1"),
                &[&&secret_hash[..]],
            )
            .await
            .map_err(PgError::from)?;
        Ok(invitation_row(&found(row)?)?)
    }

    async fn accept_invitation(
        &self,
        secret_hash: &[u8; 32],
        acceptor: Acceptor,
        now: Timestamp,
    ) -> StoreResult<Result<(Invitation, Member), AcceptRefusal>> {
        let now = stored(now);
        self.retrying(|| self.accept_once(&secret_hash[..], &acceptor, now))
            .await
    }
}
