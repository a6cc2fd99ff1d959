//! [`InvitationStore`] on SQLite. Every change is one transaction on the
//! single writer connection, so an acceptance is all or nothing.

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use tally_core::{InvitationId, OrgId, UserId};

use super::{SqliteStore, conflict_as};
use crate::columns::{Columns, ms, stored};
use crate::records::*;
use crate::rows::{INVITATION_COLS, MEMBER_COLS, invitation_row, member_row};
use crate::{InvitationStore, StoreError, StoreResult};

fn get(c: &Connection, id: InvitationId) -> StoreResult<Invitation> {
    Ok(c.query_row(
        &format!("SELECT {INVITATION_COLS} FROM invitations WHERE id = ?1"),
        [id.as_uuid()],
        |r| invitation_row(r),
    )?)
}

fn by_hash(c: &Connection, hash: &[u8]) -> StoreResult<Option<Invitation>> {
    Ok(c.query_row(
        &format!("SELECT {INVITATION_COLS} FROM invitations WHERE secret_hash = ?1"),
        [hash],
        |r| invitation_row(r),
    )
    .optional()?)
}

fn user_by_email(c: &Connection, email: &str) -> StoreResult<Option<(UserId, String)>> {
    Ok(
        c.query_row("SELECT id, email FROM users WHERE email = ?1", [email], |r| {
            Ok((UserId::from_uuid(r.uuid(0)?), r.get(1)?))
        })
        .optional()?,
    )
}

fn is_member(c: &Connection, org: OrgId, user: UserId) -> StoreResult<bool> {
    Ok(c.query_row(
        "SELECT 1 FROM memberships WHERE org_id = ?1 AND user_id = ?2",
        [org.as_uuid(), user.as_uuid()],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

/// The acceptance inside its transaction: `Err(refusal)` before any write.
fn accept(
    c: &Connection,
    hash: &[u8],
    acceptor: Acceptor,
    now: Timestamp,
) -> StoreResult<Result<(Invitation, Member), AcceptRefusal>> {
    let Some(invitation) = by_hash(c, hash)? else {
        return Ok(Err(AcceptRefusal::Unknown));
    };
    if let Some(refusal) = AcceptRefusal::for_state(invitation.state(now)) {
        return Ok(Err(refusal));
    }
    let existing = user_by_email(c, invitation.email.as_str())?;
    let user = match (acceptor, existing) {
        (Acceptor::User(user), Some((id, _))) if id == user => user,
        (Acceptor::User(_), _) => return Ok(Err(AcceptRefusal::WrongUser)),
        (Acceptor::NewAccount { .. }, Some(_)) => return Ok(Err(AcceptRefusal::AccountExists)),
        (Acceptor::NewAccount { name, password_hash }, None) => {
            let id = UserId::new();
            c.execute(
                "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id.as_uuid(),
                    invitation.email.as_str(),
                    name.as_str(),
                    password_hash,
                    ms(now)
                ],
            )?;
            id
        }
    };
    if is_member(c, invitation.org_id, user)? {
        return Ok(Err(AcceptRefusal::AlreadyMember));
    }
    c.execute(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            invitation.org_id.as_uuid(),
            user.as_uuid(),
            invitation.role.as_str(),
            ms(now)
        ],
    )?;
    c.execute(
        "UPDATE invitations SET accepted_at = ?2, accepted_by = ?3 WHERE id = ?1",
        params![invitation.id.as_uuid(), ms(now), user.as_uuid()],
    )?;
    let member = c.query_row(
        &format!(
            "SELECT {MEMBER_COLS} FROM memberships m JOIN users u ON u.id = m.user_id
             WHERE m.org_id = ?1 AND m.user_id = ?2"
        ),
        [invitation.org_id.as_uuid(), user.as_uuid()],
        |r| member_row(r),
    )?;
    Ok(Ok((get(c, invitation.id)?, member)))
}

#[async_trait]
impl InvitationStore for SqliteStore {
    async fn create_invitation(&self, new: NewInvitation) -> StoreResult<Invitation> {
        self.write(move |c| {
            let tx = c.transaction()?;
            if let Some((user, _)) = user_by_email(&tx, new.email.as_str())?
                && is_member(&tx, new.org_id, user)?
            {
                return Err(StoreError::Conflict("a member with this e-mail"));
            }
            tx.execute(
                "UPDATE invitations SET revoked_at = ?3
                 WHERE org_id = ?1 AND email = ?2 AND accepted_at IS NULL AND revoked_at IS NULL",
                params![new.org_id.as_uuid(), new.email.as_str(), ms(new.created_at)],
            )?;
            tx.execute(
                "INSERT INTO invitations (id, org_id, email, role, secret_hash, invited_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    new.id.as_uuid(),
                    new.org_id.as_uuid(),
                    new.email.as_str(),
                    new.role.as_str(),
                    &new.secret_hash[..],
                    new.invited_by.as_uuid(),
                    ms(new.created_at),
                    ms(new.expires_at)
                ],
            )
            .map_err(conflict_as("an invitation with this token"))?;
            let invitation = get(&tx, new.id)?;
            tx.commit()?;
            Ok(invitation)
        })
        .await
    }

    async fn open_invitations(&self, org: OrgId) -> StoreResult<Vec<Invitation>> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {INVITATION_COLS} FROM invitations
                 WHERE org_id = ?1 AND accepted_at IS NULL AND revoked_at IS NULL ORDER BY id DESC"
            ))?;
            let rows = stmt.query_map([org.as_uuid()], |r| invitation_row(r))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn invitation(&self, org: OrgId, id: InvitationId) -> StoreResult<Invitation> {
        let invitation = self.read(move |c| get(c, id)).await?;
        if invitation.org_id == org {
            Ok(invitation)
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn revoke_invitation(&self, org: OrgId, id: InvitationId, at: Timestamp) -> StoreResult<Invitation> {
        let at = stored(at);
        self.write(move |c| {
            let n = c.execute(
                "UPDATE invitations SET revoked_at = ?3
                 WHERE id = ?1 AND org_id = ?2 AND accepted_at IS NULL AND revoked_at IS NULL",
                params![id.as_uuid(), org.as_uuid(), ms(at)],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            get(c, id)
        })
        .await
    }

    async fn invitation_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<Invitation> {
        let hash = secret_hash.to_vec();
        self.read(move |c| by_hash(c, &hash)?.ok_or(StoreError::NotFound)).await
    }

    async fn accept_invitation(
        &self,
        secret_hash: &[u8; 32],
        acceptor: Acceptor,
        now: Timestamp,
    ) -> StoreResult<Result<(Invitation, Member), AcceptRefusal>> {
        let hash = secret_hash.to_vec();
        let now = stored(now);
        self.write(move |c| {
            let tx = c.transaction()?;
            let result = accept(&tx, &hash, acceptor, now)?;
            if result.is_ok() {
                tx.commit()?;
            }
            Ok(result)
        })
        .await
    }
}
