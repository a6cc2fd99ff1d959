//! The demo installation: an enterprise organization with members in every
//! role, three projects, about twenty keys by different members, one member
//! who has since left, and a second organization on the free plan.

use tally_core::{Email, Name, OrgId, ParseError, Password, Plan, Role, UserId};
use tally_store::{AccountStore, StoreError};

pub mod history;
pub mod live;

use crate::KeyHasher;
use crate::accounts::{self, AccountError};

/// Every demo user's password.
pub const DEMO_PASSWORD: &str = "tally-demo";

/// (email, name, role in the enterprise organization); `None` = has left.
pub const DEMO_USERS: &[(&str, &str, Option<Role>)] = &[
    ("owner@acme.test", "Olivia Owner", Some(Role::Owner)),
    ("admin@acme.test", "Adam Admin", Some(Role::Admin)),
    ("dev@acme.test", "Dana Developer", Some(Role::Developer)),
    ("dev2@acme.test", "Diego Developer", Some(Role::Developer)),
    ("former@acme.test", "Fiona Former", None),
];

const PROJECTS: [&str; 3] = ["Support Bot", "Search", "Internal Tools"];

/// (creator index in DEMO_USERS, project index, key name, revoked)
const KEYS: &[(usize, usize, &str, bool)] = &[
    (0, 0, "support-prod", false),
    (0, 1, "search-prod", false),
    (0, 2, "ops-automation", false),
    (1, 0, "support-staging", false),
    (1, 1, "search-staging", false),
    (1, 2, "admin-scripts", false),
    (1, 0, "support-old", true),
    (2, 0, "dana-laptop", false),
    (2, 1, "dana-notebooks", false),
    (2, 2, "dana-ci", false),
    (2, 0, "dana-experiments", true),
    (3, 1, "diego-indexer", false),
    (3, 1, "diego-eval", false),
    (3, 2, "diego-slackbot", false),
    (3, 0, "diego-load-test", false),
    (4, 0, "fiona-prototype", false),
    (4, 1, "fiona-batch-jobs", false),
    (4, 2, "fiona-old", true),
    (0, 1, "search-backfill", false),
    (2, 2, "dana-cron", false),
];

/// A seeded key with its secret (known only at seeding time).
#[derive(Debug, Clone)]
pub struct DemoKey {
    pub id: tally_core::ApiKeyId,
    pub secret: crate::secrets::Secret,
    /// Revoked at the end of seeding: its traffic stops a month before today.
    pub revoked: bool,
    /// Created by the member who later left: traffic stops three weeks before today.
    pub former: bool,
}

#[derive(Debug, Clone)]
pub struct DemoInfo {
    pub enterprise_org: OrgId,
    pub free_org: OrgId,
    pub keys: Vec<DemoKey>,
    users: Vec<UserId>,
}

/// Every demo login with a description of who it is.
pub fn logins() -> Vec<(&'static str, String)> {
    DEMO_USERS
        .iter()
        .map(|(email, _, role)| {
            let what = match role {
                Some(Role::Owner) => "owner of Acme Robotics (enterprise) and Hobby Lab (free)".to_owned(),
                Some(role) => format!("{role} of Acme Robotics"),
                None => "former member: created keys in Acme Robotics, then left".to_owned(),
            };
            (*email, what)
        })
        .collect()
}

fn parse<T>(r: Result<T, ParseError>) -> Result<T, AccountError> {
    r.map_err(|e| AccountError::Store(StoreError::Corrupt(e.0)))
}

/// Seeds the demo data into an empty store.
pub async fn seed(store: &dyn AccountStore, hasher: &KeyHasher) -> Result<DemoInfo, AccountError> {
    let password = parse(Password::parse(DEMO_PASSWORD))?;
    let mut users: Vec<UserId> = Vec::new();
    for (email, name, _) in DEMO_USERS {
        let user = accounts::create_user(
            store,
            &parse(Email::parse(email))?,
            &parse(Name::parse(name))?,
            &password,
        )
        .await?;
        users.push(user.id);
    }
    let owner = users[0];
    let acme = store
        .create_org(&parse(Name::parse("Acme Robotics"))?, Plan::Enterprise, owner)
        .await?;
    for ((_, _, role), user) in DEMO_USERS.iter().zip(&users).skip(1) {
        store
            .add_member(acme.id, *user, role.unwrap_or(Role::Developer))
            .await?;
    }
    let mut projects = Vec::new();
    for name in PROJECTS {
        projects.push(store.create_project(acme.id, &parse(Name::parse(name))?).await?.id);
    }
    let mut keys = Vec::new();
    for (creator, project, name, revoked) in KEYS {
        let (key, secret) = accounts::create_api_key(
            store,
            hasher,
            projects[*project],
            &parse(Name::parse(name))?,
            users[*creator],
        )
        .await?;
        let former = DEMO_USERS[*creator].2.is_none();
        keys.push(DemoKey {
            id: key.id,
            secret,
            revoked: *revoked,
            former,
        });
    }

    let hobby = store
        .create_org(&parse(Name::parse("Hobby Lab"))?, Plan::Free, owner)
        .await?;
    let hobby_project = store
        .create_project(hobby.id, &parse(Name::parse("Weekend Project"))?)
        .await?;
    accounts::create_api_key(
        store,
        hasher,
        hobby_project.id,
        &parse(Name::parse("hobby-key"))?,
        owner,
    )
    .await?;

    Ok(DemoInfo {
        enterprise_org: acme.id,
        free_org: hobby.id,
        keys,
        users,
    })
}

/// Everything `tally demo` sets up on an empty store: accounts, the alias
/// `fast → openai/gpt-4o-mini`, an alerting monthly budget, `days` of history through the gateway on a
/// simulated clock (against `providers`, the mock), then the revocations and
/// the departure. Returns the info and how many history requests were sent.
pub async fn prepare(
    store: std::sync::Arc<dyn tally_store::Store>,
    hasher: &KeyHasher,
    providers: crate::gateway::routing::Providers,
    days: i64,
    per_day: u32,
) -> Result<(DemoInfo, u64), AccountError> {
    let info = seed(store.as_ref(), hasher).await?;
    store
        .create_model_mapping(tally_store::ModelMapping {
            id: uuid::Uuid::now_v7(),
            org_id: info.enterprise_org,
            alias: "fast".into(),
            target: "openai/gpt-4o-mini".into(),
            created_at: jiff::Timestamp::now(),
        })
        .await?;
    // An organization-wide monthly budget that alerts (never blocks, so
    // the demo's traffic goes on).
    store
        .create_budget(tally_store::Budget {
            id: tally_core::BudgetId::new(),
            org_id: info.enterprise_org,
            scope: tally_core::BudgetScope::Organization,
            amount: parse("10000".parse())?,
            period: tally_core::Period::Month,
            timezone: parse(tally_core::TimeZone::parse("Europe/Berlin"))?,
            action: tally_core::BudgetAction::Alert,
            thresholds: parse("50,80,100".parse())?,
            created_by: info.users[0],
            created_at: jiff::Timestamp::now(),
        })
        .await?;
    let sent = history::backfill(
        store.clone(),
        hasher.clone(),
        providers,
        &info.keys,
        jiff::Timestamp::now(),
        days,
        per_day,
    )
    .await;
    retire(store.as_ref(), &info).await?;
    Ok((info, sent))
}

/// Ends seeding: revokes the keys meant to be revoked and lets the former
/// member leave (their keys stay, and so does their spend). Run after the
/// history is filled, since that history includes their traffic.
pub async fn retire(store: &dyn AccountStore, info: &DemoInfo) -> Result<(), AccountError> {
    for key in info.keys.iter().filter(|k| k.revoked) {
        store.revoke_api_key(key.id, jiff::Timestamp::now()).await?;
    }
    for ((_, _, role), user) in DEMO_USERS.iter().zip(&info.users) {
        if role.is_none() {
            store.remove_member(info.enterprise_org, *user).await?;
        }
    }
    Ok(())
}

/// True when the store already holds the demo users.
pub async fn is_seeded(store: &dyn AccountStore) -> Result<bool, AccountError> {
    let email = parse(Email::parse(DEMO_USERS[0].0))?;
    match store.user_by_email(&email).await {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
