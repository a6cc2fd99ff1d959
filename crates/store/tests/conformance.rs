//! One suite, two stores: every operation of the store traits, written once
//! against `Arc<dyn Store>` and run on SQLite (`sqlite::…`) and on a
//! throwaway PostgreSQL (`postgres::…`). Both must give the answers asserted
//! here, so they give the same answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use common::*;
use jiff::Timestamp;
use tally_core::latency::{self, Latencies};
use tally_core::time::bucket_of;
use tally_core::*;
use tally_store::*;

conformance!(
    users_are_found_by_id_and_email_and_emails_are_unique,
    organizations_are_created_with_their_owner_listed_and_updated,
    memberships_and_roles,
    an_organization_keeps_an_owner,
    concurrent_demotions_keep_exactly_one_owner,
    projects_soft_delete_revokes_their_keys_and_keeps_history,
    api_keys_are_listed_newest_first_found_by_hash_renamed_and_revoked_once,
    api_keys_expire_when_created_so_or_set_and_the_cache_is_told,
    api_keys_keep_rate_limits_when_created_so_or_set_and_the_cache_is_told,
    tokens_expire_are_listed_by_kind_and_deleted_by_their_owner,
    model_mappings_and_price_overrides,
    budgets_are_kept_per_organization_updated_and_deleted,
    organizations_keep_their_time_zone,
    a_budget_period_counts_exactly_the_spend_inside_it,
    alerts_fire_once_and_their_deliveries_are_claimed_and_logged,
    events_round_trip_newest_first_and_are_counted,
    usage_answers_every_scope_and_dimension_from_rollups,
    local_day_rollups_give_the_same_answers,
    rebuilding_rollups_gives_what_ingestion_built,
    end_users_over_long_ranges_are_what_the_raw_events_say,
    pruning_raw_events_keeps_the_rollups,
    one_poison_event_never_stops_the_rollups,
);

async fn user(store: &dyn Store, mail: &str, display: &str) -> User {
    store.create_user(&email(mail), &name(display), "hash").await.unwrap()
}

fn new_key(org: OrgId, project: ProjectId, by: UserId, fill: u8, created_ms: i64) -> NewApiKey {
    NewApiKey {
        id: ApiKeyId::new(),
        org_id: org,
        project_id: project,
        name: name("k"),
        secret_hash: [fill; 32],
        last4: format!("{fill:04}"),
        created_by: by,
        created_at: at(created_ms),
        expires_at: None,
        limits: Default::default(),
    }
}

/// Byte order, as SQLite's BINARY collation sorts.
fn sorted_bytewise(mut names: Vec<&str>) -> Vec<String> {
    names.sort();
    names.into_iter().map(str::to_owned).collect()
}

async fn users_are_found_by_id_and_email_and_emails_are_unique(store: Arc<dyn Store>) {
    let a = user(&*store, "a@example.com", "Ada").await;
    assert_eq!(a.email.as_str(), "a@example.com");
    assert_eq!(a.password_hash, "hash");
    assert_eq!(store.user(a.id).await.unwrap(), a);
    assert_eq!(store.user_by_email(&email("A@Example.com")).await.unwrap(), a);
    let again = store.create_user(&email("A@example.com"), &name("B"), "h").await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert!(matches!(store.user(UserId::new()).await, Err(StoreError::NotFound)));
    assert!(matches!(
        store.user_by_email(&email("nobody@example.com")).await,
        Err(StoreError::NotFound)
    ));
}

async fn organizations_are_created_with_their_owner_listed_and_updated(store: Arc<dyn Store>) {
    let a = user(&*store, "a@example.com", "Ada").await;
    let b = user(&*store, "b@example.com", "Bob").await;
    // Names whose byte order differs from a natural-language order.
    let mut orgs = Vec::new();
    for n in ["beta", "Alpha", "alpha", "Zeta", "Ärzte"] {
        orgs.push(store.create_org(&name(n), Plan::Pro, a.id).await.unwrap());
    }
    let free = store.create_org(&name("Other"), Plan::Free, b.id).await.unwrap();
    assert_eq!(store.org(orgs[0].id).await.unwrap(), orgs[0]);
    assert!(matches!(store.org(OrgId::new()).await, Err(StoreError::NotFound)));

    let mine = store.orgs_of_user(a.id).await.unwrap();
    let names: Vec<String> = mine.iter().map(|(o, _)| o.name.as_str().to_owned()).collect();
    assert_eq!(names, sorted_bytewise(vec!["beta", "Alpha", "alpha", "Zeta", "Ärzte"]));
    assert!(mine.iter().all(|(_, role)| *role == Role::Owner));
    assert_eq!(
        store.orgs_of_user(b.id).await.unwrap(),
        vec![(free.clone(), Role::Owner)]
    );
    assert_eq!(store.orgs_of_user(UserId::new()).await.unwrap(), vec![]);

    let renamed = store.update_org(free.id, Some(&name("Renamed")), None).await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.plan), ("Renamed", Plan::Free));
    let upgraded = store.update_org(free.id, None, Some(Plan::Enterprise)).await.unwrap();
    assert_eq!((upgraded.name.as_str(), upgraded.plan), ("Renamed", Plan::Enterprise));
    let both = store
        .update_org(free.id, Some(&name("Both")), Some(Plan::Pro))
        .await
        .unwrap();
    assert_eq!(
        (both.name.as_str(), both.plan, both.created_at),
        ("Both", Plan::Pro, free.created_at)
    );
    assert_eq!(store.update_org(free.id, None, None).await.unwrap(), both);
    assert!(matches!(
        store.update_org(OrgId::new(), Some(&name("X")), None).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.update_org(OrgId::new(), None, None).await,
        Err(StoreError::NotFound)
    ));
    // An owner that does not exist is refused (a broken reference, not a conflict).
    let orphan = store.create_org(&name("Orphan"), Plan::Free, UserId::new()).await;
    assert!(matches!(orphan, Err(StoreError::Database(_))), "{orphan:?}");
}

async fn memberships_and_roles(store: Arc<dyn Store>) {
    let owner = user(&*store, "owner@example.com", "zoe").await;
    let org = store.create_org(&name("O"), Plan::Enterprise, owner.id).await.unwrap();
    let mut added = Vec::new();
    for (mail, display, role) in [
        ("a@example.com", "Bob", Role::Admin),
        ("b@example.com", "alice", Role::Developer),
        ("c@example.com", "Émile", Role::Developer),
        ("d@example.com", "Alice", Role::Developer),
    ] {
        let u = user(&*store, mail, display).await;
        let m = store.add_member(org.id, u.id, role).await.unwrap();
        assert_eq!((m.user_id, m.role, m.email.as_str()), (u.id, role, mail));
        added.push(u);
    }
    assert!(matches!(
        store.add_member(org.id, added[0].id, Role::Developer).await,
        Err(StoreError::Conflict(_))
    ));
    let members = store.members(org.id).await.unwrap();
    let names: Vec<String> = members.iter().map(|m| m.name.as_str().to_owned()).collect();
    assert_eq!(names, sorted_bytewise(vec!["zoe", "Bob", "alice", "Émile", "Alice"]));
    assert_eq!(store.member(org.id, added[0].id).await.unwrap().role, Role::Admin);
    assert!(matches!(
        store.member(org.id, UserId::new()).await,
        Err(StoreError::NotFound)
    ));

    assert_eq!(store.role_of(org.id, added[1].id).await.unwrap(), Some(Role::Developer));
    assert_eq!(store.role_of(org.id, UserId::new()).await.unwrap(), None);
    assert_eq!(store.role_of(OrgId::new(), owner.id).await.unwrap(), None);

    let promoted = store.set_role(org.id, added[1].id, Role::Admin).await.unwrap();
    assert_eq!(promoted.role, Role::Admin);
    assert_eq!(store.orgs_of_user(added[1].id).await.unwrap()[0].1, Role::Admin);
    assert!(matches!(
        store.set_role(org.id, UserId::new(), Role::Admin).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_role(OrgId::new(), owner.id, Role::Admin).await,
        Err(StoreError::NotFound)
    ));

    store.remove_member(org.id, added[2].id).await.unwrap();
    assert_eq!(store.role_of(org.id, added[2].id).await.unwrap(), None);
    assert!(matches!(
        store.remove_member(org.id, added[2].id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.members(org.id).await.unwrap().len(), 4);
    assert!(store.orgs_of_user(added[2].id).await.unwrap().is_empty());
}

async fn an_organization_keeps_an_owner(store: Arc<dyn Store>) {
    let a = user(&*store, "a@example.com", "A").await;
    let b = user(&*store, "b@example.com", "B").await;
    let org = store.create_org(&name("O"), Plan::Pro, a.id).await.unwrap();
    assert!(matches!(
        store.set_role(org.id, a.id, Role::Admin).await,
        Err(StoreError::LastOwner)
    ));
    assert!(matches!(
        store.remove_member(org.id, a.id).await,
        Err(StoreError::LastOwner)
    ));
    // Keeping the owner role is not a demotion.
    assert_eq!(
        store.set_role(org.id, a.id, Role::Owner).await.unwrap().role,
        Role::Owner
    );
    store.add_member(org.id, b.id, Role::Owner).await.unwrap();
    store.set_role(org.id, a.id, Role::Developer).await.unwrap();
    assert!(matches!(
        store.remove_member(org.id, b.id).await,
        Err(StoreError::LastOwner)
    ));
    assert!(matches!(
        store.set_role(org.id, b.id, Role::Developer).await,
        Err(StoreError::LastOwner)
    ));
    assert_eq!(store.role_of(org.id, a.id).await.unwrap(), Some(Role::Developer));
    store.remove_member(org.id, a.id).await.unwrap();
    assert_eq!(store.members(org.id).await.unwrap().len(), 1);
}

/// Two owners demote each other (or leave) at the same moment, many times:
/// exactly one succeeds each round, and the organization always keeps an owner.
async fn concurrent_demotions_keep_exactly_one_owner(store: Arc<dyn Store>) {
    let a = user(&*store, "a@example.com", "A").await;
    let b = user(&*store, "b@example.com", "B").await;
    let org = store.create_org(&name("O"), Plan::Pro, a.id).await.unwrap();
    store.add_member(org.id, b.id, Role::Owner).await.unwrap();
    for round in 0..30 {
        let (s1, s2) = (store.clone(), store.clone());
        let leave = round % 3 == 2;
        let one = tokio::spawn(async move {
            if leave {
                s1.remove_member(org.id, a.id).await.map(|_| ())
            } else {
                s1.set_role(org.id, a.id, Role::Admin).await.map(|_| ())
            }
        });
        let two = tokio::spawn(async move { s2.set_role(org.id, b.id, Role::Developer).await.map(|_| ()) });
        let results = [one.await.unwrap(), two.await.unwrap()];
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let last = results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::LastOwner)))
            .count();
        assert_eq!((ok, last), (1, 1), "round {round}: {results:?}");
        let owners = store
            .members(org.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.role == Role::Owner)
            .count();
        assert_eq!(owners, 1, "round {round}");
        // Back to two owners for the next round.
        for u in [a.id, b.id] {
            match store.role_of(org.id, u).await.unwrap() {
                None => {
                    store.add_member(org.id, u, Role::Owner).await.unwrap();
                }
                Some(Role::Owner) => {}
                Some(_) => {
                    store.set_role(org.id, u, Role::Owner).await.unwrap();
                }
            }
        }
    }
}

async fn projects_soft_delete_revokes_their_keys_and_keeps_history(store: Arc<dyn Store>) {
    let a = user(&*store, "a@example.com", "A").await;
    let org = store.create_org(&name("O"), Plan::Free, a.id).await.unwrap();
    let mut projects = Vec::new();
    for n in ["search", "Support", "api", "Zebra"] {
        projects.push(store.create_project(org.id, &name(n)).await.unwrap());
    }
    let p = projects[0].clone();
    assert_eq!(store.project(p.id).await.unwrap(), p);
    let listed: Vec<String> = store
        .projects(org.id)
        .await
        .unwrap()
        .iter()
        .map(|p| p.name.as_str().to_owned())
        .collect();
    assert_eq!(listed, sorted_bytewise(vec!["search", "Support", "api", "Zebra"]));
    let renamed = store.rename_project(p.id, &name("Search")).await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.created_at), ("Search", p.created_at));
    assert!(matches!(
        store.rename_project(ProjectId::new(), &name("X")).await,
        Err(StoreError::NotFound)
    ));

    let early = store
        .create_api_key(new_key(org.id, p.id, a.id, 1, 1_000))
        .await
        .unwrap();
    let live = store
        .create_api_key(new_key(org.id, p.id, a.id, 2, 2_000))
        .await
        .unwrap();
    let elsewhere = store
        .create_api_key(new_key(org.id, projects[1].id, a.id, 3, 3_000))
        .await
        .unwrap();
    let first_revocation = store.revoke_api_key(early.id, at(5_000)).await.unwrap().revoked_at;

    store.delete_project(p.id, at(9_000)).await.unwrap();
    assert!(matches!(store.project(p.id).await, Err(StoreError::NotFound)));
    assert!(matches!(
        store.rename_project(p.id, &name("X")).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_project(p.id, at(10_000)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_project(ProjectId::new(), at(10_000)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.projects(org.id).await.unwrap().len(), 3);
    // Keys stay (history), revoked at the deletion; a key revoked before keeps its time.
    assert_eq!(store.api_key(live.id).await.unwrap().revoked_at, Some(at(9_000)));
    assert_eq!(store.api_key(early.id).await.unwrap().revoked_at, first_revocation);
    assert!(store.api_key(elsewhere.id).await.unwrap().is_active());
    assert!(matches!(
        store.active_key_by_hash(&[2; 32]).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.active_key_by_hash(&[3; 32]).await.unwrap().id, elsewhere.id);
    assert_eq!(store.api_keys(org.id, Some(p.id), None).await.unwrap().len(), 2);
}

async fn api_keys_expire_when_created_so_or_set_and_the_cache_is_told(store: Arc<dyn Store>) {
    let a = user(&*store, "a@example.com", "A").await;
    let org = store.create_org(&name("O"), Plan::Pro, a.id).await.unwrap();
    let p = store.create_project(org.id, &name("P")).await.unwrap();
    let mut expiring = new_key(org.id, p.id, a.id, 1, 1_000);
    expiring.expires_at = Some(at(5_000));
    let key = store.create_api_key(expiring).await.unwrap();
    assert_eq!(key.expires_at, Some(at(5_000)));
    assert!(!key.is_expired(at(4_999)) && key.is_expired(at(5_000)));
    // Still found by its hash: expiry is the gateway's to judge, at each use.
    assert_eq!(
        store.active_key_by_hash(&[1; 32]).await.unwrap().expires_at,
        Some(at(5_000))
    );

    let before = store.key_revision();
    let later = store.set_api_key_expiry(key.id, Some(at(9_000))).await.unwrap();
    assert_eq!(later.expires_at, Some(at(9_000)));
    assert_ne!(
        store.key_revision(),
        before,
        "a cached key must not keep its old expiry"
    );
    let never = store.set_api_key_expiry(key.id, None).await.unwrap();
    assert_eq!(never.expires_at, None);
    assert_eq!(store.api_key(key.id).await.unwrap(), never);
    assert!(matches!(
        store.set_api_key_expiry(ApiKeyId::new(), None).await,
        Err(StoreError::NotFound)
    ));
}

async fn api_keys_keep_rate_limits_when_created_so_or_set_and_the_cache_is_told(store: Arc<dyn Store>) {
    use tally_core::{PerMinute, RateLimits};
    let a = user(&*store, "a@example.com", "A").await;
    let org = store.create_org(&name("O"), Plan::Pro, a.id).await.unwrap();
    let p = store.create_project(org.id, &name("P")).await.unwrap();
    let limits = RateLimits {
        requests_per_minute: Some(PerMinute::new(60).unwrap()),
        tokens_per_minute: Some(PerMinute::new(PerMinute::MAX.into()).unwrap()),
    };
    let mut limited = new_key(org.id, p.id, a.id, 1, 1_000);
    limited.limits = limits;
    let key = store.create_api_key(limited).await.unwrap();
    assert_eq!(key.limits, limits);
    assert_eq!(store.active_key_by_hash(&[1; 32]).await.unwrap().limits, limits);

    let before = store.key_revision();
    let tokens_only = RateLimits {
        requests_per_minute: None,
        ..limits
    };
    let set = store.set_api_key_limits(key.id, tokens_only).await.unwrap();
    assert_eq!(set.limits, tokens_only);
    assert_ne!(
        store.key_revision(),
        before,
        "a cached key must not keep its old limits"
    );
    assert_eq!(store.api_key(key.id).await.unwrap(), set);
    let free = store.set_api_key_limits(key.id, RateLimits::default()).await.unwrap();
    assert!(free.limits.is_unlimited());
    assert!(matches!(
        store.set_api_key_limits(ApiKeyId::new(), limits).await,
        Err(StoreError::NotFound)
    ));
}

async fn api_keys_are_listed_newest_first_found_by_hash_renamed_and_revoked_once(store: Arc<dyn Store>) {
    let a = user(&*store, "a@example.com", "A").await;
    let b = user(&*store, "b@example.com", "B").await;
    let org = store.create_org(&name("O"), Plan::Pro, a.id).await.unwrap();
    store.add_member(org.id, b.id, Role::Developer).await.unwrap();
    let p1 = store.create_project(org.id, &name("P1")).await.unwrap();
    let p2 = store.create_project(org.id, &name("P2")).await.unwrap();
    let other_owner = user(&*store, "c@example.com", "C").await;
    let other = store
        .create_org(&name("Other"), Plan::Pro, other_owner.id)
        .await
        .unwrap();
    let po = store.create_project(other.id, &name("P")).await.unwrap();

    let mut keys = Vec::new();
    for (i, (project, by)) in [
        (p1.id, a.id),
        (p2.id, b.id),
        (p1.id, b.id),
        (p2.id, a.id),
        (p1.id, a.id),
    ]
    .into_iter()
    .enumerate()
    {
        let created = store
            .create_api_key(new_key(org.id, project, by, 10 + i as u8, 1_000 * i as i64))
            .await
            .unwrap();
        assert_eq!(created.last4, format!("{:04}", 10 + i));
        assert_eq!((created.last_used_at, created.revoked_at), (None, None));
        keys.push(created);
    }
    store
        .create_api_key(new_key(other.id, po.id, other_owner.id, 99, 0))
        .await
        .unwrap();
    let dup = store.create_api_key(new_key(org.id, p1.id, a.id, 10, 0)).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let ids = |list: Vec<ApiKey>| list.into_iter().map(|k| k.id).collect::<Vec<_>>();
    let newest_first = |pick: &dyn Fn(&ApiKey) -> bool| {
        let mut v: Vec<ApiKeyId> = keys.iter().filter(|k| pick(k)).map(|k| k.id).collect();
        v.reverse();
        v
    };
    assert_eq!(
        ids(store.api_keys(org.id, None, None).await.unwrap()),
        newest_first(&|_| true)
    );
    assert_eq!(
        ids(store.api_keys(org.id, Some(p1.id), None).await.unwrap()),
        newest_first(&|k| k.project_id == p1.id)
    );
    assert_eq!(
        ids(store.api_keys(org.id, None, Some(b.id)).await.unwrap()),
        newest_first(&|k| k.created_by == b.id)
    );
    assert_eq!(
        ids(store.api_keys(org.id, Some(p2.id), Some(a.id)).await.unwrap()),
        newest_first(&|k| k.project_id == p2.id && k.created_by == a.id)
    );
    assert!(store.api_keys(org.id, Some(po.id), None).await.unwrap().is_empty());
    assert!(store.api_keys(OrgId::new(), None, None).await.unwrap().is_empty());

    let k = keys[0].clone();
    assert_eq!(store.api_key(k.id).await.unwrap(), k);
    assert!(matches!(
        store.api_key(ApiKeyId::new()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.active_key_by_hash(&[10; 32]).await.unwrap(), k);
    assert!(matches!(
        store.active_key_by_hash(&[7; 32]).await,
        Err(StoreError::NotFound)
    ));

    let renamed = store.rename_api_key(k.id, &name("prod")).await.unwrap();
    assert_eq!(renamed.name.as_str(), "prod");
    assert!(matches!(
        store.rename_api_key(ApiKeyId::new(), &name("x")).await,
        Err(StoreError::NotFound)
    ));

    store.touch_api_key(k.id, at(50_000)).await.unwrap();
    store.touch_api_key(k.id, at(40_000)).await.unwrap();
    assert_eq!(store.api_key(k.id).await.unwrap().last_used_at, Some(at(50_000)));
    store.touch_api_key(ApiKeyId::new(), at(1)).await.unwrap();

    let revoked = store.revoke_api_key(k.id, at(60_000)).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(at(60_000)));
    let again = store.revoke_api_key(k.id, at(70_000)).await.unwrap();
    assert_eq!(again.revoked_at, Some(at(60_000)), "the first revocation time is kept");
    assert!(!again.is_active());
    assert!(matches!(
        store.active_key_by_hash(&[10; 32]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.revoke_api_key(ApiKeyId::new(), at(1)).await,
        Err(StoreError::NotFound)
    ));
    // Revoked keys are still listed (with their status).
    assert_eq!(store.api_keys(org.id, None, None).await.unwrap().len(), 5);
}

async fn tokens_expire_are_listed_by_kind_and_deleted_by_their_owner(store: Arc<dyn Store>) {
    let a = user(&*store, "a@example.com", "A").await;
    let b = user(&*store, "b@example.com", "B").await;
    let now = Timestamp::now().as_millisecond();
    let token = |user: UserId, kind: TokenKind, fill: u8, created: i64, expires: Option<i64>| NewToken {
        id: TokenId::from_uuid(uuid::Uuid::now_v7()),
        user_id: user,
        kind,
        name: format!("t{fill}"),
        secret_hash: [fill; 32],
        created_at: at(created),
        expires_at: expires.map(at),
    };
    let session = store
        .create_token(token(a.id, TokenKind::Session, 1, now, Some(now + 3_600_000)))
        .await
        .unwrap();
    assert_eq!(
        (
            session.kind,
            session.name.as_str(),
            session.expires_at,
            session.last_used_at
        ),
        (TokenKind::Session, "t1", Some(at(now + 3_600_000)), None)
    );
    let expired = store
        .create_token(token(a.id, TokenKind::Session, 2, now - 10_000, Some(now - 1)))
        .await
        .unwrap();
    let p1 = store
        .create_token(token(a.id, TokenKind::Personal, 3, now, None))
        .await
        .unwrap();
    let p2 = store
        .create_token(token(a.id, TokenKind::Personal, 4, now, None))
        .await
        .unwrap();
    store
        .create_token(token(b.id, TokenKind::Personal, 5, now, None))
        .await
        .unwrap();
    let dup = store.create_token(token(b.id, TokenKind::Personal, 5, now, None)).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    // Found while valid; the use is recorded coarsely (at most once a minute).
    let found = store.token_by_hash(&[1; 32], at(now)).await.unwrap();
    assert_eq!(found.id, session.id);
    assert_eq!(found.last_used_at, None, "the answer shows the use before this one");
    let ids = |v: Vec<AuthToken>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    let used =
        |store: Arc<dyn Store>| async move { store.tokens(a.id, TokenKind::Session).await.unwrap()[1].last_used_at };
    assert_eq!(used(store.clone()).await, Some(at(now)));
    store.token_by_hash(&[1; 32], at(now + 30_000)).await.unwrap();
    assert_eq!(
        used(store.clone()).await,
        Some(at(now)),
        "within a minute: not rewritten"
    );
    store.token_by_hash(&[1; 32], at(now + 61_000)).await.unwrap();
    assert_eq!(used(store.clone()).await, Some(at(now + 61_000)));
    // Expiry is exclusive: valid strictly before `expires_at`.
    assert!(matches!(
        store.token_by_hash(&[1; 32], at(now + 3_600_000)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.token_by_hash(&[2; 32], at(now)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.token_by_hash(&[9; 32], at(now)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.token_by_hash(&[3; 32], at(now + 1_000_000_000)).await.unwrap().id,
        p1.id
    );

    assert_eq!(
        ids(store.tokens(a.id, TokenKind::Personal).await.unwrap()),
        vec![p2.id, p1.id]
    );
    assert_eq!(
        ids(store.tokens(a.id, TokenKind::Session).await.unwrap()),
        vec![expired.id, session.id]
    );
    assert!(
        store
            .tokens(UserId::new(), TokenKind::Session)
            .await
            .unwrap()
            .is_empty()
    );

    assert!(matches!(
        store.delete_token(b.id, p1.id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_token(a.id, p1.id).await.unwrap();
    assert!(matches!(
        store.delete_token(a.id, p1.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.token_by_hash(&[3; 32], at(now)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(ids(store.tokens(a.id, TokenKind::Personal).await.unwrap()), vec![p2.id]);
}

async fn budgets_are_kept_per_organization_updated_and_deleted(store: Arc<dyn Store>) {
    let a = user(&*store, "a@example.com", "A").await;
    let org = store.create_org(&name("O"), Plan::Pro, a.id).await.unwrap();
    let other = store.create_org(&name("P"), Plan::Pro, a.id).await.unwrap();
    let project = store.create_project(org.id, &name("p")).await.unwrap();
    let budget = |org: OrgId, scope: BudgetScope, amount: &str| Budget {
        id: BudgetId::new(),
        org_id: org,
        scope,
        amount: amount.parse().unwrap(),
        period: Period::Month,
        timezone: TimeZone::parse("Asia/Kolkata").unwrap(),
        action: BudgetAction::Block,
        thresholds: "50,80,100".parse().unwrap(),
        created_by: a.id,
        // Finer than stored: the budget returned is the one read back.
        created_at: at(1_000) + jiff::SignedDuration::from_nanos(123_456),
    };
    let scopes = [
        BudgetScope::Organization,
        BudgetScope::Project(project.id),
        BudgetScope::ApiKey(ApiKeyId::new()),
        BudgetScope::Member(a.id),
    ];
    let mut made = Vec::new();
    for (i, scope) in scopes.into_iter().enumerate() {
        made.push(
            store
                .create_budget(budget(org.id, scope, &format!("{}.5", i + 1)))
                .await
                .unwrap(),
        );
    }
    let theirs = store
        .create_budget(budget(other.id, BudgetScope::Organization, "0.000000001"))
        .await
        .unwrap();
    assert_eq!(made[0].created_at, at(1_000));
    assert_eq!(store.budgets(org.id).await.unwrap(), made);
    assert_eq!(store.all_budgets().await.unwrap().len(), 5);
    assert_eq!(store.budget(org.id, made[1].id).await.unwrap(), made[1]);
    assert!(matches!(
        store.budget(org.id, theirs.id).await,
        Err(StoreError::NotFound)
    ));

    let mut changed = made[1].clone();
    changed.amount = "0.25".parse().unwrap();
    changed.period = Period::Total;
    changed.timezone = TimeZone::parse("Pacific/Chatham").unwrap();
    changed.action = BudgetAction::Alert;
    changed.thresholds = Thresholds::default();
    // The scope is kept whatever the update says.
    changed.scope = BudgetScope::Organization;
    let updated = store.update_budget(changed.clone()).await.unwrap();
    assert_eq!(updated.scope, made[1].scope);
    assert_eq!(
        (updated.amount, updated.period, updated.action),
        (changed.amount, changed.period, changed.action)
    );
    assert_eq!(updated.timezone.name(), "Pacific/Chatham");
    assert!(updated.thresholds.percents().is_empty());
    let mut foreign = theirs.clone();
    foreign.org_id = org.id;
    assert!(matches!(store.update_budget(foreign).await, Err(StoreError::NotFound)));

    assert!(matches!(
        store.delete_budget(org.id, theirs.id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_budget(org.id, made[0].id).await.unwrap();
    assert_eq!(store.budgets(org.id).await.unwrap().len(), 3);
    assert_eq!(store.budgets(other.id).await.unwrap(), [theirs]);
}

async fn organizations_keep_their_time_zone(store: Arc<dyn Store>) {
    let a = user(&*store, "a@example.com", "A").await;
    let org = store.create_org(&name("O"), Plan::Pro, a.id).await.unwrap();
    assert_eq!(org.timezone.name(), "UTC");
    let kolkata = TimeZone::parse("Asia/Kolkata").unwrap();
    let changed = store.set_org_timezone(org.id, &kolkata).await.unwrap();
    assert_eq!(changed.timezone, kolkata);
    assert_eq!(store.org(org.id).await.unwrap(), changed);
    assert_eq!(store.orgs_of_user(a.id).await.unwrap(), [(changed, Role::Owner)]);
    assert!(matches!(
        store.set_org_timezone(OrgId::new(), &kolkata).await,
        Err(StoreError::NotFound)
    ));
}

/// `(zone, period, before, at)`: the last instant of one period and the
/// first of the next, across DST changes and odd offsets.
const BUDGET_BOUNDARIES: &[(&str, &str, &str, &str)] = &[
    ("UTC", "day", "2026-03-01T23:59:59Z", "2026-03-02T00:00:00Z"),
    (
        "America/New_York",
        "day",
        "2026-03-08T04:59:59Z",
        "2026-03-08T05:00:00Z",
    ),
    (
        "America/New_York",
        "day",
        "2026-03-09T03:59:59Z",
        "2026-03-09T04:00:00Z",
    ),
    (
        "America/New_York",
        "week",
        "2026-11-02T04:59:59Z",
        "2026-11-02T05:00:00Z",
    ),
    ("Asia/Kolkata", "month", "2026-11-30T18:29:59Z", "2026-11-30T18:30:00Z"),
    ("Pacific/Chatham", "day", "2026-09-27T10:14:59Z", "2026-09-27T10:15:00Z"),
    (
        "Pacific/Chatham",
        "month",
        "2026-12-31T10:14:59Z",
        "2026-12-31T10:15:00Z",
    ),
];

/// The spend a budget reads (the rollups over its window's buckets, as
/// `tally_server::budgets::spend` asks) is exactly the events inside it.
async fn a_budget_period_counts_exactly_the_spend_inside_it(store: Arc<dyn Store>) {
    let mut keys = Vec::new();
    let mut all = Vec::new();
    for (i, &(_, _, before, after)) in BUDGET_BOUNDARIES.iter().enumerate() {
        let key = KeyRef {
            org: OrgId::new(),
            project: ProjectId::new(),
            key: ApiKeyId::new(),
            creator: UserId::new(),
        };
        let mut made = events(40 + i as u64, &[key], 0, 1, 5);
        for (n, e) in made.iter_mut().enumerate() {
            // Three events end one period for 1 nano-USD each, two open the next for 100.
            let (t, cost) = if n < 3 { (before, 1) } else { (after, 100) };
            e.started_at = t.parse().unwrap();
            e.cost = Money::from_nanos(cost);
        }
        keys.push(key);
        all.extend(made);
    }
    store.record(all).await.unwrap();
    for (&(zone, period, before, after), key) in BUDGET_BOUNDARIES.iter().zip(&keys) {
        let zone = TimeZone::parse(zone).unwrap();
        let period: Period = period.parse().unwrap();
        for (instant, want) in [(before, 3), (after, 200)] {
            let w = period.window(&zone, instant.parse().unwrap());
            let (from, to) = (
                bucket_of(w.start.unwrap()),
                tally_core::time::bucket_ceil(w.end.unwrap()),
            );
            let rows = store
                .usage(usage_query(Scope::Org(key.org), from, to, vec![]))
                .await
                .unwrap();
            let spent: i64 = rows.iter().map(|(_, t)| t.cost.nanos()).sum();
            assert_eq!(spent, want, "{zone:?} {period} at {instant}");
        }
    }
}

async fn alerts_fire_once_and_their_deliveries_are_claimed_and_logged(store: Arc<dyn Store>) {
    let a = user(&*store, "a@example.com", "A").await;
    let org = store.create_org(&name("O"), Plan::Pro, a.id).await.unwrap();
    let other = store.create_org(&name("P"), Plan::Pro, a.id).await.unwrap();
    let hook = |org: OrgId, url: &str| Webhook {
        id: WebhookId::new(),
        org_id: org,
        url: url.into(),
        salt: "salt".into(),
        created_by: a.id,
        created_at: at(1_000),
    };
    let one = store.create_webhook(hook(org.id, "http://one.example/")).await.unwrap();
    let two = store.create_webhook(hook(org.id, "http://two.example/")).await.unwrap();
    let theirs = store
        .create_webhook(hook(other.id, "http://three.example/"))
        .await
        .unwrap();
    assert_eq!(store.webhooks(org.id).await.unwrap(), [one.clone(), two.clone()]);
    assert!(matches!(
        store.webhook(org.id, theirs.id).await,
        Err(StoreError::NotFound)
    ));
    let moved = store
        .set_webhook_url(org.id, two.id, "https://two.example/hook")
        .await
        .unwrap();
    assert_eq!(moved.url, "https://two.example/hook");
    assert!(matches!(
        store.set_webhook_url(org.id, theirs.id, "http://x/").await,
        Err(StoreError::NotFound)
    ));

    let budget = BudgetId::new();
    let alert = |threshold, start: Option<i64>| FiredAlert {
        budget_id: budget,
        org_id: org.id,
        period_start: start.map(at),
        threshold,
        at: at(5_000),
        payload: format!("{{\"threshold\": {threshold}}}"),
    };
    assert!(store.fire_alert(alert(50, Some(3_600_000))).await.unwrap());
    assert!(
        !store.fire_alert(alert(50, Some(3_600_000))).await.unwrap(),
        "once per period"
    );
    assert!(store.fire_alert(alert(80, Some(3_600_000))).await.unwrap());
    assert!(
        store.fire_alert(alert(50, Some(86_400_000))).await.unwrap(),
        "again the next period"
    );
    assert!(store.fire_alert(alert(50, None)).await.unwrap());
    assert!(!store.fire_alert(alert(50, None)).await.unwrap());

    // Four alerts to two webhooks; nothing is due before 5 s.
    assert!(
        store
            .claim_deliveries(at(4_999), at(60_000), 100)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = store.claim_deliveries(at(5_000), at(60_000), 100).await.unwrap();
    assert_eq!(claimed.len(), 8);
    assert!(
        claimed
            .iter()
            .all(|d| d.event == "budget.threshold" && d.state == DeliveryState::Pending)
    );
    assert_eq!(
        claimed.iter().filter(|d| d.url == "https://two.example/hook").count(),
        4
    );
    // Claimed: not handed out again until the lease ends.
    assert!(
        store
            .claim_deliveries(at(59_999), at(90_000), 100)
            .await
            .unwrap()
            .is_empty()
    );

    let first = &claimed[0];
    let failed = Attempt {
        number: 1,
        at: at(6_000),
        status: Some(500),
        error: Some("HTTP 500".into()),
        duration_ms: 12,
    };
    store
        .record_attempt(first.id, failed.clone(), DeliveryState::Pending, at(7_000))
        .await
        .unwrap();
    let again = store.claim_deliveries(at(7_000), at(60_000), 100).await.unwrap();
    assert_eq!(again.iter().map(|d| d.id).collect::<Vec<_>>(), [first.id]);
    assert_eq!(again[0].attempts, 1);
    let ok = Attempt {
        number: 2,
        at: at(8_000),
        status: Some(204),
        error: None,
        duration_ms: 3,
    };
    store
        .record_attempt(first.id, ok.clone(), DeliveryState::Delivered, at(8_000))
        .await
        .unwrap();
    let test = store
        .queue_delivery(&one, "test", "{}".into(), at(9_000))
        .await
        .unwrap();
    let listed = store.deliveries(org.id, first.webhook_id, 100).await.unwrap();
    let (newest, _) = &listed[0];
    assert_eq!(listed.len(), if first.webhook_id == one.id { 5 } else { 4 });
    let (logged, attempts) = listed.iter().find(|(d, _)| d.id == first.id).unwrap();
    assert_eq!((logged.state, logged.attempts), (DeliveryState::Delivered, 2));
    assert_eq!(attempts, &[failed, ok]);
    if first.webhook_id == one.id {
        assert_eq!(newest.id, test.id);
    }
    assert!(matches!(
        store.deliveries(org.id, theirs.id, 100).await,
        Err(StoreError::NotFound)
    ));

    store.delete_webhook(org.id, one.id).await.unwrap();
    assert!(matches!(
        store.delete_webhook(org.id, theirs.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.webhooks(org.id).await.unwrap().len(), 1);
    // The deleted webhook's deliveries are gone with it.
    let due = store.claim_deliveries(at(100_000), at(200_000), 100).await.unwrap();
    assert!(due.iter().all(|d| d.webhook_id == two.id), "{due:?}");
}

async fn model_mappings_and_price_overrides(store: Arc<dyn Store>) {
    let a = user(&*store, "a@example.com", "A").await;
    let org = store.create_org(&name("O"), Plan::Pro, a.id).await.unwrap();
    let other = store.create_org(&name("P"), Plan::Pro, a.id).await.unwrap();
    let mapping = |org: OrgId, alias: &str, target: &str| ModelMapping {
        id: uuid::Uuid::now_v7(),
        org_id: org,
        alias: alias.into(),
        target: target.into(),
        // Finer than stored: the mapping returned is the one read back.
        created_at: at(1_000) + jiff::SignedDuration::from_nanos(123_456),
    };
    let mut made = Vec::new();
    for alias in ["fast", "Smart", "cheap", "ärger"] {
        made.push(
            store
                .create_model_mapping(mapping(org.id, alias, "openai/gpt-4o-mini"))
                .await
                .unwrap(),
        );
    }
    let dup = store.create_model_mapping(mapping(org.id, "fast", "x/y")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    store
        .create_model_mapping(mapping(other.id, "fast", "anthropic/claude-haiku-4-5"))
        .await
        .unwrap();
    let listed = store.model_mappings(org.id).await.unwrap();
    let aliases: Vec<String> = listed.iter().map(|m| m.alias.clone()).collect();
    assert_eq!(aliases, sorted_bytewise(vec!["fast", "Smart", "cheap", "ärger"]));
    assert!(listed.contains(&made[0]));
    assert!(matches!(
        store.delete_model_mapping(other.id, made[0].id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_model_mapping(org.id, made[0].id).await.unwrap();
    assert!(matches!(
        store.delete_model_mapping(org.id, made[0].id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.model_mappings(org.id).await.unwrap().len(), 3);
    assert_eq!(store.model_mappings(other.id).await.unwrap().len(), 1);

    let price = |model: &str, input: i64, created: i64| PriceOverride {
        id: uuid::Uuid::now_v7(),
        org_id: org.id,
        model: model.into(),
        input,
        cached_input: Some(input / 10),
        cache_write: None,
        output: input * 4,
        reasoning: None,
        created_at: at(created),
    };
    let first = store
        .put_price_override(price("gpt-4o", 2_500_000_000, 1))
        .await
        .unwrap();
    assert_eq!(first.input, 2_500_000_000);
    store.put_price_override(price("Claude", 3, 2)).await.unwrap();
    store.put_price_override(price("azure/gpt-4o", 5, 3)).await.unwrap();
    // A second put for the same model replaces the prices, keeping the row.
    let mut change = price("gpt-4o", 1_000_000_000, 99);
    change.reasoning = Some(7);
    change.cached_input = None;
    let replaced = store.put_price_override(change).await.unwrap();
    assert_eq!(
        (replaced.id, replaced.created_at, replaced.input, replaced.output),
        (first.id, first.created_at, 1_000_000_000, 4_000_000_000)
    );
    assert_eq!((replaced.cached_input, replaced.reasoning), (None, Some(7)));
    let listed = store.price_overrides(org.id).await.unwrap();
    let models: Vec<String> = listed.iter().map(|p| p.model.clone()).collect();
    assert_eq!(models, sorted_bytewise(vec!["gpt-4o", "Claude", "azure/gpt-4o"]));
    assert!(listed.contains(&replaced));
    assert!(store.price_overrides(other.id).await.unwrap().is_empty());
    assert!(matches!(
        store.delete_price_override(other.id, first.id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_price_override(org.id, first.id).await.unwrap();
    assert!(matches!(
        store.delete_price_override(org.id, first.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.price_overrides(org.id).await.unwrap().len(), 2);
}

/// Two organizations, three projects, five keys by three creators.
fn fixture_keys() -> Vec<KeyRef> {
    let (o1, o2) = (OrgId::new(), OrgId::new());
    let (p1, p2, p3) = (ProjectId::new(), ProjectId::new(), ProjectId::new());
    let (u1, u2, u3) = (UserId::new(), UserId::new(), UserId::new());
    let k = |org, project, creator| KeyRef {
        org,
        project,
        key: ApiKeyId::new(),
        creator,
    };
    vec![
        k(o1, p1, u1),
        k(o1, p1, u2),
        k(o1, p2, u1),
        k(o1, p2, u2),
        k(o2, p3, u3),
    ]
}

/// 2026-03-01T00:00:00Z
const START: i64 = 1_772_323_200_000;
const DAY: i64 = 86_400_000;

async fn events_round_trip_newest_first_and_are_counted(store: Arc<dyn Store>) {
    let a = user(&*store, "a@example.com", "A").await;
    let org = store.create_org(&name("O"), Plan::Pro, a.id).await.unwrap();
    let p = store.create_project(org.id, &name("P")).await.unwrap();
    let key = store.create_api_key(new_key(org.id, p.id, a.id, 1, 0)).await.unwrap();
    let keys = [KeyRef {
        org: org.id,
        project: p.id,
        key: key.id,
        creator: a.id,
    }];
    let mut all = events(7, &keys, START, 3 * DAY, 300);
    // Two events at the very same instant: ties are broken by id, newest first.
    all[1].started_at = all[0].started_at;
    store.record(all[..200].to_vec()).await.unwrap();
    store.record(all[200..].to_vec()).await.unwrap();
    store.record(Vec::new()).await.unwrap();
    assert_eq!(store.event_count(org.id).await.unwrap(), 300);
    assert_eq!(store.event_count(OrgId::new()).await.unwrap(), 0);

    let mut expected = all.clone();
    expected.sort_by(|x, y| (y.started_at, y.id.as_uuid()).cmp(&(x.started_at, x.id.as_uuid())));
    assert_eq!(store.recent_events(org.id, 1000).await.unwrap(), expected);
    assert_eq!(store.recent_events(org.id, 10).await.unwrap(), expected[..10].to_vec());
    assert!(store.recent_events(OrgId::new(), 10).await.unwrap().is_empty());
    // The batch writer records the key's last use: the newest event.
    let newest = all.iter().map(|e| e.started_at).max();
    assert_eq!(store.api_key(key.id).await.unwrap().last_used_at, newest);
}

/// What a request says about itself: its end user, tags and status.
const REQUEST_DIMS: [Dim; 3] = [Dim::EndUser, Dim::Tags, Dim::Status];

/// Every dimension alone, every pair of the older ones, each request
/// dimension by time and by model, none and all of them.
fn groupings() -> Vec<Vec<Dim>> {
    let dims = [
        Dim::Bucket,
        Dim::Provider,
        Dim::RoutedModel,
        Dim::CanonicalModel,
        Dim::App,
        Dim::ApiKey,
        Dim::Member,
        Dim::Project,
    ];
    let mut all = dims.to_vec();
    all.extend(REQUEST_DIMS);
    let mut out = vec![vec![], all];
    for (i, a) in dims.iter().enumerate() {
        out.push(vec![*a]);
        for b in &dims[i + 1..] {
            out.push(vec![*a, *b]);
            out.push(vec![*b, *a]);
        }
    }
    for d in REQUEST_DIMS {
        out.push(vec![d]);
        out.push(vec![Dim::Bucket, d]);
        out.push(vec![d, Dim::Bucket]);
        out.push(vec![Dim::CanonicalModel, Dim::Provider, d]);
    }
    out
}

fn dim_value(e: &ActivityEvent, d: Dim) -> DimValue {
    match d {
        Dim::Bucket => DimValue::Bucket(bucket_of(e.started_at)),
        Dim::Provider => DimValue::Text(e.provider.clone()),
        Dim::RoutedModel => DimValue::Text(e.routed_model.clone()),
        Dim::CanonicalModel => DimValue::Text(e.canonical_model.clone()),
        Dim::App => DimValue::Text(e.app.clone()),
        Dim::ApiKey => DimValue::Id(*e.api_key_id.as_uuid()),
        Dim::Member => DimValue::Id(*e.created_by.as_uuid()),
        Dim::Project => DimValue::Id(*e.project_id.as_uuid()),
        Dim::EndUser => DimValue::Text(e.end_user.clone()),
        Dim::Tags => DimValue::Text(e.tags.as_ref().map(ToString::to_string)),
        Dim::Status => DimValue::Int(i64::from(e.http_status)),
    }
}

fn in_scope(e: &ActivityEvent, scope: Scope) -> bool {
    match scope {
        Scope::Org(o) => e.org_id == o,
        Scope::Project(p) => e.project_id == p,
        Scope::ApiKey(k) => e.api_key_id == k,
        Scope::Member(o, u) => e.org_id == o && e.created_by == u,
    }
}

/// Whether `q` asks about `e`: in its scope and bucket range.
fn asked(e: &ActivityEvent, q: &UsageQuery) -> bool {
    let b = bucket_of(e.started_at);
    in_scope(e, q.scope) && b >= q.from_bucket && b < q.to_bucket
}

/// The answer computed from raw events (folded into the query's periods),
/// as the rollups must give it.
fn expected(all: &[ActivityEvent], q: &UsageQuery) -> BTreeMap<Vec<DimValue>, UsageTotals> {
    let rows = all.iter().filter(|e| asked(e, q)).map(|e| {
        (
            q.group_by.iter().map(|d| dim_value(e, *d)).collect(),
            UsageTotals::of(e),
        )
    });
    fold(q, rows)
}

/// The histograms computed from raw events, as the rollups must give them.
fn expected_latencies(all: &[ActivityEvent], q: &UsageQuery) -> BTreeMap<Vec<DimValue>, Latencies> {
    let rows = all.iter().filter(|e| asked(e, q)).map(|e| {
        let mut l = Latencies::default();
        l.latency.add(latency::bin_of(e.latency_us), 1);
        if let Some(t) = e.ttft_us.filter(|_| e.stream) {
            l.ttft.add(latency::bin_of(t), 1);
        }
        (q.group_by.iter().map(|d| dim_value(e, *d)).collect(), l)
    });
    fold_with(q, rows, Latencies::merge)
}

/// The store's histograms, grouped as [`answer`] groups its totals.
async fn latency_answer(store: &dyn Store, q: &UsageQuery) -> BTreeMap<Vec<DimValue>, Latencies> {
    let rows = store.latencies(q.clone()).await.unwrap();
    let n = rows.len();
    let map = fold_with(q, rows, Latencies::merge);
    if !q.group_by.contains(&Dim::Bucket) || !q.cuts.is_empty() {
        assert_eq!(map.len(), n, "one row per group and period: {q:?}");
    }
    map
}

/// The store's answer. Without time grouping, one row per group; grouped
/// by periods (cuts), one row per group and period, labelled by the store
/// with its period's start; grouped by bucket without cuts, folded (a
/// store may answer in rows coarser than 15 minutes there).
async fn answer(store: &dyn Store, q: &UsageQuery) -> BTreeMap<Vec<DimValue>, UsageTotals> {
    let rows = store.usage(q.clone()).await.unwrap();
    assert!(rows.iter().all(|(_, t)| t.requests > 0), "rows have requests: {q:?}");
    if q.group_by.contains(&Dim::Bucket) && q.cuts.is_empty() {
        return fold(q, rows);
    }
    for (key, _) in &rows {
        for v in key {
            if let DimValue::Bucket(b) = v {
                assert_eq!(
                    *b,
                    period_of(q, *b),
                    "a row labelled {b} is not at a period start: {q:?}"
                );
                assert!(
                    *b >= q.from_bucket && *b < q.to_bucket,
                    "row outside the range: {b} in {q:?}"
                );
            }
        }
    }
    let n = rows.len();
    let map: BTreeMap<_, _> = rows.into_iter().collect();
    assert_eq!(map.len(), n, "one row per group and period: {q:?}");
    map
}

/// Period starts (15-minute buckets) around the test data.
fn starts(first_ms: i64, step_ms: i64, n: i64) -> Vec<i64> {
    (0..n).map(|i| bucket_of(at(first_ms + i * step_ms))).collect()
}

fn kolkata_days() -> Vec<i64> {
    // Local midnight in Kolkata is 18:30 UTC the day before.
    starts(START - 2 * DAY + 18 * 3_600_000 + 1_800_000, DAY, 10)
}

fn kolkata_hours() -> Vec<i64> {
    starts(START - DAY + 1_800_000, 3_600_000, 7 * 24)
}

fn utc_days() -> Vec<i64> {
    starts(START - DAY, DAY, 10)
}

fn new_york_days() -> Vec<i64> {
    // Local midnight in New York in March before daylight saving: 05:00 UTC.
    starts(START - 2 * DAY + 5 * 3_600_000, DAY, 10)
}

async fn usage_answers_every_scope_and_dimension_from_rollups(store: Arc<dyn Store>) {
    let keys = fixture_keys();
    let all = events(11, &keys, START, 4 * DAY, 1_500);
    for chunk in all.chunks(250) {
        store.record(chunk.to_vec()).await.unwrap();
    }
    check_every_answer(&*store, &keys, &all).await;
}

/// Rollups by local day for Kolkata (+05:30) and New York (-05:00, -04:00):
/// some events recorded before the offsets are set (computed from the
/// rollups then), the rest after (maintained by the writer); every answer
/// stays what the raw events give, also after a rebuild and once the
/// offsets are dropped again.
async fn local_day_rollups_give_the_same_answers(store: Arc<dyn Store>) {
    let keys = fixture_keys();
    let all = events(17, &keys, START, 4 * DAY, 1_500);
    let (before, after) = all.split_at(700);
    for chunk in before.chunks(250) {
        store.record(chunk.to_vec()).await.unwrap();
    }
    let kept = store.set_local_day_offsets(vec![330, -300, -240, 0, 7]).await.unwrap();
    for chunk in after.chunks(250) {
        store.record(chunk.to_vec()).await.unwrap();
    }
    check_every_answer(&*store, &keys, &all).await;
    if kept {
        store.rebuild_rollups().await.unwrap();
        check_every_answer(&*store, &keys, &all).await;
        assert!(store.set_local_day_offsets(Vec::new()).await.unwrap());
        check_every_answer(&*store, &keys, &all).await;
    }
}

async fn check_every_answer(store: &dyn Store, keys: &[KeyRef], all: &[ActivityEvent]) {
    let scopes = [
        Scope::Org(keys[0].org),
        Scope::Org(keys[4].org),
        Scope::Org(OrgId::new()),
        Scope::Project(keys[0].project),
        Scope::Project(keys[2].project),
        Scope::ApiKey(keys[1].key),
        Scope::ApiKey(ApiKeyId::new()),
        Scope::Member(keys[0].org, keys[0].creator),
        Scope::Member(keys[0].org, keys[4].creator),
    ];
    let whole = (bucket_of(at(START)), bucket_of(at(START + 4 * DAY)) + 1);
    // A range that cuts the data: from 06:15 on day 2 to 10:45 on day 3.
    let part = (
        bucket_of(at(START + DAY + 6 * 3_600_000 + 900_000)),
        bucket_of(at(START + 2 * DAY + 10 * 3_600_000 + 2_700_000)),
    );
    let mut nonempty = 0;
    for scope in scopes {
        // Whole local days of Kolkata and of New York.
        let kolkata = (kolkata_days()[2], kolkata_days()[5]);
        let new_york = (new_york_days()[2], new_york_days()[6]);
        for (from_bucket, to_bucket) in [whole, part, (part.1, part.0), kolkata, new_york] {
            for group_by in groupings() {
                let timed = group_by.contains(&Dim::Bucket);
                let mut q = usage_query(scope, from_bucket, to_bucket, group_by);
                // Grouped by time: periods of local days and hours in
                // Kolkata (UTC+05:30) and UTC days, as the API asks.
                let cut_sets = if timed {
                    vec![vec![], kolkata_days(), kolkata_hours(), utc_days(), new_york_days()]
                } else {
                    vec![vec![]]
                };
                for cuts in cut_sets {
                    q.cuts = cuts;
                    let want = expected(all, &q);
                    nonempty += usize::from(!want.is_empty());
                    assert_eq!(answer(store, &q).await, want, "{q:?}");
                    if q.cuts.is_empty() || q.cuts == kolkata_days() {
                        assert_eq!(latency_answer(store, &q).await, expected_latencies(all, &q), "{q:?}");
                    }
                }
            }
        }
    }
    assert!(nonempty > 500, "the cases must mostly have data ({nonempty})");
}

/// Seventy days of traffic recorded day by day (the embedded store then
/// keeps spans of days for its end users, completed as days close), local
/// days kept after the fact, events that come late for closed days and
/// spans: every range of whole days, UTC or local, short or long, by end
/// user or not, is what the raw events say; also after a rebuild and once
/// the local days are dropped.
async fn end_users_over_long_ranges_are_what_the_raw_events_say(store: Arc<dyn Store>) {
    let keys = fixture_keys();
    let mut all = events(23, &keys, START, 70 * DAY, 2_000);
    all.sort_by_key(|e| e.started_at);
    // Flushed after each batch, as the writer does once idle: the rollups
    // (not the raw events after them) answer.
    for chunk in all.chunks(40) {
        store.record(chunk.to_vec()).await.unwrap();
        store.flush().await.unwrap();
    }
    let kept = store.set_local_day_offsets(vec![330, -300, -240]).await.unwrap();
    let late = events(29, &keys, START, 60 * DAY, 300);
    for chunk in late.chunks(60) {
        store.record(chunk.to_vec()).await.unwrap();
        store.flush().await.unwrap();
    }
    all.extend(late);
    // Two more days: the open day moves on and more spans complete.
    let newer = events(31, &keys, START + 70 * DAY, 2 * DAY, 100);
    store.record(newer.clone()).await.unwrap();
    store.flush().await.unwrap();
    all.extend(newer);
    check_long_ranges(&*store, &keys, &all).await;
    store.rebuild_rollups().await.unwrap();
    store.flush().await.unwrap();
    check_long_ranges(&*store, &keys, &all).await;
    if kept {
        assert!(store.set_local_day_offsets(Vec::new()).await.unwrap());
        check_long_ranges(&*store, &keys, &all).await;
    }
}

async fn check_long_ranges(store: &dyn Store, keys: &[KeyRef], all: &[ActivityEvent]) {
    let scopes = [
        Scope::Project(keys[0].project),
        Scope::Project(keys[2].project),
        Scope::Org(keys[0].org),
        Scope::ApiKey(keys[1].key),
    ];
    // Midnight in UTC, in Kolkata (18:30 UTC the day before) and in New
    // York (05:00 UTC before its change to summer time on 8 March).
    let midnights = [0, -5 * 3_600_000 - 1_800_000, 5 * 3_600_000];
    let lengths = [(0, 72), (1, 64), (2, 66), (3, 37), (5, 2), (10, 17), (32, 32), (60, 12)];
    let mut nonempty = 0;
    for scope in scopes {
        for midnight in midnights {
            for (first, days) in lengths {
                let from = bucket_of(at(START + midnight + first * DAY));
                let to = bucket_of(at(START + midnight + (first + days) * DAY));
                for group_by in [vec![Dim::EndUser], vec![], vec![Dim::EndUser, Dim::Tags]] {
                    let q = usage_query(scope, from, to, group_by);
                    let want = expected(all, &q);
                    nonempty += usize::from(!want.is_empty());
                    assert_eq!(answer(store, &q).await, want, "{q:?}");
                    assert_eq!(latency_answer(store, &q).await, expected_latencies(all, &q), "{q:?}");
                }
            }
        }
    }
    assert!(nonempty > 200, "the cases must mostly have data ({nonempty})");
}

async fn rebuilding_rollups_gives_what_ingestion_built(store: Arc<dyn Store>) {
    let keys = fixture_keys();
    let all = events(13, &keys, START, 2 * DAY, 800);
    for chunk in all.chunks(97) {
        store.record(chunk.to_vec()).await.unwrap();
    }
    let finest = |org: OrgId| {
        usage_query(
            Scope::Org(org),
            ALL_TIME.0,
            ALL_TIME.1,
            vec![
                Dim::Bucket,
                Dim::ApiKey,
                Dim::Provider,
                Dim::RoutedModel,
                Dim::CanonicalModel,
                Dim::App,
                Dim::Member,
                Dim::Project,
                Dim::EndUser,
                Dim::Tags,
                Dim::Status,
            ],
        )
    };
    let orgs = [keys[0].org, keys[4].org];
    let mut before = Vec::new();
    for org in orgs {
        before.push(answer(&*store, &finest(org)).await);
    }
    let rows = store.rebuild_rollups().await.unwrap();
    let distinct: HashSet<_> = all
        .iter()
        .map(|e| {
            (
                e.org_id,
                bucket_of(e.started_at),
                e.api_key_id,
                e.provider.clone(),
                e.routed_model.clone(),
                e.canonical_model.clone(),
                e.app.clone(),
            )
        })
        .collect();
    // Rows written: at least one per 15-minute rollup key (a store may keep
    // coarser rollups besides, and count them too).
    assert!(rows >= distinct.len() as u64, "{rows} < {}", distinct.len());
    for (org, before) in orgs.into_iter().zip(before) {
        let after = answer(&*store, &finest(org)).await;
        assert_eq!(after, before);
        assert_eq!(after, expected(&all, &finest(org)));
        assert_eq!(
            latency_answer(&*store, &finest(org)).await,
            expected_latencies(&all, &finest(org))
        );
    }
    // Rebuilding again changes nothing; new events still add up afterwards.
    assert_eq!(store.rebuild_rollups().await.unwrap(), rows);
    let more = events(14, &keys, START, 2 * DAY, 100);
    store.record(more.clone()).await.unwrap();
    let everything: Vec<ActivityEvent> = all.into_iter().chain(more).collect();
    for org in orgs {
        assert_eq!(answer(&*store, &finest(org)).await, expected(&everything, &finest(org)));
        assert_eq!(
            latency_answer(&*store, &finest(org)).await,
            expected_latencies(&everything, &finest(org))
        );
    }
}

async fn pruning_raw_events_keeps_the_rollups(store: Arc<dyn Store>) {
    let keys = fixture_keys();
    let mut all = events(17, &keys, START, 10 * DAY, 600);
    // In time order, so the last one written (which the embedded store never
    // prunes: its rowid must stay the highest) is after the cut.
    all.sort_by_key(|e| e.started_at);
    store.record(all.clone()).await.unwrap();
    let org = keys[0].org;
    let mut q = usage_query(
        Scope::Org(org),
        ALL_TIME.0,
        ALL_TIME.1,
        vec![Dim::Bucket, Dim::RoutedModel],
    );
    q.cuts = utc_days();
    let before = answer(&*store, &q).await;
    let cut = at(START + 5 * DAY);
    let old = all.iter().filter(|e| e.started_at < cut).count() as u64;
    assert!(old > 100);
    assert_eq!(store.prune_events(cut).await.unwrap(), old);
    assert_eq!(store.prune_events(cut).await.unwrap(), 0);
    let left = all.iter().filter(|e| e.started_at >= cut && e.org_id == org).count() as u64;
    assert_eq!(store.event_count(org).await.unwrap(), left);
    assert!(
        store
            .recent_events(org, 10_000)
            .await
            .unwrap()
            .iter()
            .all(|e| e.started_at >= cut)
    );
    assert_eq!(
        answer(&*store, &q).await,
        before,
        "analytics still cover the pruned days"
    );
}

/// Totals of `org` over all time, from the store.
async fn org_totals(store: &dyn Store, org: OrgId) -> UsageTotals {
    let rows = store
        .usage(UsageQuery {
            scope: Scope::Org(org),
            from_bucket: ALL_TIME.0,
            to_bucket: ALL_TIME.1,
            group_by: Vec::new(),
            cuts: Vec::new(),
        })
        .await
        .unwrap();
    let mut t = UsageTotals::default();
    for (_, r) in &rows {
        t.add(r);
    }
    t
}

/// An event stored with absurd numbers (bypassing the gateway's checks)
/// saturates its rollup rows; it never stops the writer, and the 10,000
/// normal events after it, in its rows and in another organization's, are
/// all counted.
async fn one_poison_event_never_stops_the_rollups(store: Arc<dyn Store>) {
    let keys = fixture_keys();
    let (poisoned, other) = (&keys[..1], &keys[4..]);
    let huge = Usage {
        input: Some(u64::MAX),
        cached_input: Some(u64::MAX),
        cache_write: Some(u64::MAX),
        output: Some(u64::MAX),
        reasoning: Some(u64::MAX),
    };
    let mut poison = events(5, poisoned, START, 1, 2);
    for (i, e) in poison.iter_mut().enumerate() {
        e.started_at = at(START + i as i64 * 3_600_000);
        e.usage = huge;
        e.cost = Money::from_nanos(i64::MAX);
        e.latency_us = u64::MAX;
        e.ttft_us = Some(u64::MAX);
    }
    let mut normal: Vec<ActivityEvent> = (0..2_000)
        .map(|i| {
            let mut e = poison[i % 2].clone();
            e.id = EventId::new();
            e.usage = Usage {
                input: Some(10),
                output: Some(2),
                ..Usage::default()
            };
            e.cost = Money::from_nanos(7);
            e.latency_us = 1_000;
            e.ttft_us = None;
            e
        })
        .collect();
    let others = events(6, other, START, 2 * DAY, 8_000);
    normal.extend(others.iter().cloned());
    for e in &poison {
        store.record(vec![e.clone()]).await.unwrap();
    }
    for batch in normal.chunks(1_000) {
        store.record(batch.to_vec()).await.unwrap();
    }
    store.flush().await.unwrap();

    let mut expected = UsageTotals::default();
    for e in &others {
        expected.add(&UsageTotals::of(e));
    }
    assert_eq!(org_totals(&*store, other[0].org).await, expected);
    let t = org_totals(&*store, poisoned[0].org).await;
    assert_eq!(t.requests, 2_002);
    assert!(
        t.input >= 1 << 62 && t.cost.nanos() > 1 << 62,
        "saturated, not wrapped: {t:?}"
    );
    // A later event is still counted, and a rebuild gives the same answer.
    store.record(events(7, other, START + DAY, 1, 1)).await.unwrap();
    store.flush().await.unwrap();
    assert_eq!(org_totals(&*store, other[0].org).await.requests, 8_001);
    store.rebuild_rollups().await.unwrap();
    assert_eq!(org_totals(&*store, poisoned[0].org).await.requests, 2_002);
    assert_eq!(org_totals(&*store, other[0].org).await.requests, 8_001);
}
