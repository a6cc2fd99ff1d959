//! `InvitationStore` on both stores (`sqlite::…`, `postgres::…`): one open
//! invitation per organization and e-mail, revocation, and acceptance that
//! creates the account and the membership once, or changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tally_core::*;
use tally_store::*;

conformance!(
    invitations_are_created_replaced_listed_and_revoked,
    accepting_creates_the_account_and_the_membership_once,
    a_refused_acceptance_changes_nothing,
    concurrent_acceptances_use_an_invitation_once,
);

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

async fn user(store: &dyn Store, mail: &str) -> User {
    store
        .create_user(&email(mail), &Name::parse("U").unwrap(), "hash")
        .await
        .unwrap()
}

fn new_invitation(org: OrgId, mail: &str, role: Role, by: UserId, fill: u8, expires_in_hours: i64) -> NewInvitation {
    let now = Timestamp::now();
    NewInvitation {
        id: InvitationId::new(),
        org_id: org,
        email: email(mail),
        role,
        secret_hash: [fill; 32],
        invited_by: by,
        created_at: now,
        expires_at: now + SignedDuration::from_hours(expires_in_hours),
    }
}

fn new_account(name: &str) -> Acceptor {
    Acceptor::NewAccount {
        name: Name::parse(name).unwrap(),
        password_hash: "$argon2id$test".into(),
    }
}

/// Stores [`new_invitation`]'s invitation.
async fn invite(store: &dyn Store, org: OrgId, mail: &str, role: Role, by: UserId, fill: u8, hours: i64) -> Invitation {
    store
        .create_invitation(new_invitation(org, mail, role, by, fill, hours))
        .await
        .unwrap()
}

/// The organization "A", owned by `owner`.
async fn org_a(store: &dyn Store, owner: UserId) -> Organization {
    store
        .create_org(&Name::parse("A").unwrap(), Plan::Free, owner)
        .await
        .unwrap()
}

/// The ids of `org`'s open invitations, as listed.
async fn open_ids(store: &dyn Store, org: OrgId) -> Vec<InvitationId> {
    store
        .open_invitations(org)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect()
}

/// Everything an acceptance could change, comparable.
async fn state(store: &dyn Store, org: OrgId, mails: &[&str]) -> Vec<String> {
    let mut lines = vec![format!("{:?}", store.members(org).await.unwrap())];
    lines.push(format!("{:?}", store.open_invitations(org).await.unwrap()));
    for m in mails {
        lines.push(format!("{m}: {:?}", store.user_by_email(&email(m)).await.map(|u| u.id)));
    }
    lines
}

async fn invitations_are_created_replaced_listed_and_revoked(store: Arc<dyn Store>) {
    let owner = user(&*store, "owner@a.example").await;
    let org = org_a(&*store, owner.id).await;
    let other = store
        .create_org(&Name::parse("B").unwrap(), Plan::Free, owner.id)
        .await
        .unwrap();
    let first = invite(&*store, org.id, "x@a.example", Role::Admin, owner.id, 1, 24).await;
    assert_eq!(first.state(Timestamp::now()), InvitationState::Pending);
    assert_eq!(store.invitation_by_hash(&[1; 32]).await.unwrap(), first);
    let second = invite(&*store, org.id, "y@a.example", Role::Developer, owner.id, 2, 24).await;
    assert_eq!(
        open_ids(&*store, org.id).await,
        vec![second.id, first.id],
        "newest first"
    );

    // Inviting x again replaces the first invitation.
    let again = invite(&*store, org.id, "x@a.example", Role::Developer, owner.id, 3, 24).await;
    assert_eq!(open_ids(&*store, org.id).await, vec![again.id, second.id]);
    let replaced = store.invitation(org.id, first.id).await.unwrap();
    assert_eq!(replaced.state(Timestamp::now()), InvitationState::Revoked);
    // The same e-mail in another organization is independent.
    invite(&*store, other.id, "x@a.example", Role::Developer, owner.id, 4, 24).await;
    assert_eq!(store.open_invitations(org.id).await.unwrap().len(), 2);

    // A member's e-mail is a conflict; a token hash is unique.
    assert!(matches!(
        store
            .create_invitation(new_invitation(org.id, "owner@a.example", Role::Admin, owner.id, 5, 24))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .create_invitation(new_invitation(org.id, "z@a.example", Role::Admin, owner.id, 2, 24))
            .await,
        Err(StoreError::Conflict(_))
    ));

    // Another organization's invitation is not found; revoking works once.
    assert!(matches!(
        store.invitation(other.id, second.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.revoke_invitation(other.id, second.id, Timestamp::now()).await,
        Err(StoreError::NotFound)
    ));
    let revoked = store
        .revoke_invitation(org.id, second.id, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(revoked.state(Timestamp::now()), InvitationState::Revoked);
    assert!(matches!(
        store.revoke_invitation(org.id, second.id, Timestamp::now()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(open_ids(&*store, org.id).await, vec![again.id]);
    assert!(matches!(
        store.invitation_by_hash(&[9; 32]).await,
        Err(StoreError::NotFound)
    ));
}

async fn accepting_creates_the_account_and_the_membership_once(store: Arc<dyn Store>) {
    let owner = user(&*store, "owner@a.example").await;
    let org = org_a(&*store, owner.id).await;
    invite(&*store, org.id, "new@a.example", Role::Admin, owner.id, 1, 24).await;
    let (invitation, member) = store
        .accept_invitation(&[1; 32], new_account("New Person"), Timestamp::now())
        .await
        .unwrap()
        .unwrap();
    let created = store.user_by_email(&email("new@a.example")).await.unwrap();
    assert_eq!(created.name.as_str(), "New Person");
    assert_eq!(created.password_hash, "$argon2id$test");
    assert_eq!((member.user_id, member.role), (created.id, Role::Admin));
    assert_eq!(store.role_of(org.id, created.id).await.unwrap(), Some(Role::Admin));
    assert_eq!(invitation.accepted_by, Some(created.id));
    assert_eq!(invitation.state(Timestamp::now()), InvitationState::Accepted);
    assert!(store.open_invitations(org.id).await.unwrap().is_empty());

    // An existing user, signed in as the invited e-mail.
    let existing = user(&*store, "known@a.example").await;
    invite(&*store, org.id, "known@a.example", Role::Developer, owner.id, 2, 24).await;
    let (_, member) = store
        .accept_invitation(&[2; 32], Acceptor::User(existing.id), Timestamp::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((member.user_id, member.role), (existing.id, Role::Developer));
    assert_eq!(
        store.user(existing.id).await.unwrap(),
        existing,
        "the account is untouched"
    );

    // Used: refused, twice over.
    for acceptor in [new_account("Again"), Acceptor::User(created.id)] {
        let refused = store
            .accept_invitation(&[1; 32], acceptor, Timestamp::now())
            .await
            .unwrap();
        assert_eq!(refused.unwrap_err(), AcceptRefusal::Accepted);
    }
}

async fn a_refused_acceptance_changes_nothing(store: Arc<dyn Store>) {
    let owner = user(&*store, "owner@a.example").await;
    let known = user(&*store, "known@a.example").await;
    let stranger = user(&*store, "stranger@a.example").await;
    let org = org_a(&*store, owner.id).await;
    invite(&*store, org.id, "new@a.example", Role::Admin, owner.id, 1, 24).await;
    invite(&*store, org.id, "known@a.example", Role::Admin, owner.id, 2, 24).await;
    invite(&*store, org.id, "late@a.example", Role::Admin, owner.id, 3, -1).await;
    let revoked = invite(&*store, org.id, "gone@a.example", Role::Admin, owner.id, 4, 24).await;
    store
        .revoke_invitation(org.id, revoked.id, Timestamp::now())
        .await
        .unwrap();
    // The stranger is invited, then becomes a member another way.
    invite(&*store, org.id, "stranger@a.example", Role::Admin, owner.id, 5, 24).await;
    store.add_member(org.id, stranger.id, Role::Developer).await.unwrap();

    let mails = ["new@a.example", "known@a.example", "late@a.example", "gone@a.example"];
    let before = state(&*store, org.id, &mails).await;
    let cases: Vec<(u8, Acceptor, AcceptRefusal)> = vec![
        (9, new_account("X"), AcceptRefusal::Unknown),
        (3, new_account("X"), AcceptRefusal::Expired),
        (4, new_account("X"), AcceptRefusal::Revoked),
        (2, new_account("X"), AcceptRefusal::AccountExists),
        (1, Acceptor::User(known.id), AcceptRefusal::WrongUser),
        (2, Acceptor::User(owner.id), AcceptRefusal::WrongUser),
        (5, Acceptor::User(stranger.id), AcceptRefusal::AlreadyMember),
    ];
    for (fill, acceptor, want) in cases {
        let got = store
            .accept_invitation(&[fill; 32], acceptor, Timestamp::now())
            .await
            .unwrap();
        assert_eq!(got.unwrap_err(), want);
        assert_eq!(
            state(&*store, org.id, &mails).await,
            before,
            "{want:?} changed something"
        );
    }
}

async fn concurrent_acceptances_use_an_invitation_once(store: Arc<dyn Store>) {
    let owner = user(&*store, "owner@a.example").await;
    let org = org_a(&*store, owner.id).await;
    invite(&*store, org.id, "new@a.example", Role::Admin, owner.id, 1, 24).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .accept_invitation(&[1; 32], new_account(&format!("Racer {i}")), Timestamp::now())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(refusal) => assert!(
                matches!(refusal, AcceptRefusal::Accepted | AcceptRefusal::AccountExists),
                "{refusal:?}"
            ),
        }
    }
    assert_eq!(accepted, 1);
    assert_eq!(store.members(org.id).await.unwrap().len(), 2);
}
