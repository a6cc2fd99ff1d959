//! Persistence for tally. Callers see the traits in this file; only this
//! crate knows SQL. [`sqlite::SqliteStore`] is the embedded implementation,
//! [`postgres::PgStore`] the one for several processes sharing a database,
//! and [`transfer`] copies an embedded installation into PostgreSQL.

mod columns;
pub mod log;
pub mod postgres;
pub mod records;
pub mod rollup;
mod rows;
pub mod sqlite;
pub mod transfer;

use async_trait::async_trait;
use jiff::Timestamp;
use tally_core::{
    ActivityEvent, ApiKeyId, Email, InvitationId, Name, OrgId, Plan, ProjectId, RateLimits, Role, TokenId, UserId,
};

pub use records::{
    AcceptRefusal, Acceptor, ApiKey, Attempt, AuthToken, Budget, Delivery, DeliveryState, FiredAlert, Invitation,
    InvitationState, Member, Membership, ModelMapping, NewApiKey, NewInvitation, NewToken, Organization, PriceOverride,
    Project, ProjectChange, RequestBodies, TokenKind, User, Webhook,
};

/// What can go wrong in a store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the string names what was duplicated.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The change would leave an organization without an owner.
    #[error("an organization must keep at least one owner")]
    LastOwner,
    #[error("database error: {0}")]
    Database(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The embedded store's main file is at a schema version this build no
    /// longer upgrades; the file was left as it was.
    #[error(
        "{path} is at schema version {version}, which this tally no longer upgrades (it upgrades \
         version {oldest} and later); the file was not changed. Upgrade it once with tally built \
         from commit {upgrade_with} (for example `git checkout {upgrade_with} && cargo run --release \
         -p tally -- events prune --older-than-days 36500 --data-dir <data dir>`, which brings the \
         store up to date, deletes nothing and exits), then run this tally again \
         (README.md: \"Upgrading from a version-6 data directory\")"
    )]
    Outdated {
        path: String,
        version: i64,
        oldest: i64,
        upgrade_with: &'static str,
    },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Organizations, users, memberships, projects, API keys and login tokens.
#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_user(&self, email: &Email, name: &Name, password_hash: &str) -> StoreResult<User>;
    async fn user(&self, id: UserId) -> StoreResult<User>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<User>;

    /// Creates the organization with `owner` as its first owner.
    async fn create_org(&self, name: &Name, plan: Plan, owner: UserId) -> StoreResult<Organization>;
    async fn org(&self, id: OrgId) -> StoreResult<Organization>;
    /// The organizations `user` belongs to, with their role in each.
    async fn orgs_of_user(&self, user: UserId) -> StoreResult<Vec<(Organization, Role)>>;
    async fn update_org(&self, id: OrgId, name: Option<&Name>, plan: Option<Plan>) -> StoreResult<Organization>;
    /// Sets the zone the organization's budgets follow unless they name one.
    async fn set_org_timezone(&self, id: OrgId, zone: &tally_core::TimeZone) -> StoreResult<Organization>;

    async fn role_of(&self, org: OrgId, user: UserId) -> StoreResult<Option<Role>>;
    async fn add_member(&self, org: OrgId, user: UserId, role: Role) -> StoreResult<Member>;
    async fn members(&self, org: OrgId) -> StoreResult<Vec<Member>>;
    async fn member(&self, org: OrgId, user: UserId) -> StoreResult<Member>;
    /// Changes a role; refuses to demote the last owner.
    async fn set_role(&self, org: OrgId, user: UserId, role: Role) -> StoreResult<Member>;
    /// Removes a membership; refuses to remove the last owner. The member's
    /// keys stay, and so does their attributed spend.
    async fn remove_member(&self, org: OrgId, user: UserId) -> StoreResult<()>;

    async fn create_project(&self, org: OrgId, name: &Name) -> StoreResult<Project>;
    /// A live (not deleted) project.
    async fn project(&self, id: ProjectId) -> StoreResult<Project>;
    async fn projects(&self, org: OrgId) -> StoreResult<Vec<Project>>;
    /// Changes what `change` names of a live project, in one statement.
    async fn update_project(&self, id: ProjectId, change: ProjectChange) -> StoreResult<Project>;
    async fn rename_project(&self, id: ProjectId, name: &Name) -> StoreResult<Project> {
        let change = ProjectChange {
            name: Some(name.clone()),
            ..ProjectChange::default()
        };
        self.update_project(id, change).await
    }
    /// Soft-deletes the project and revokes its keys; its history stays.
    async fn delete_project(&self, id: ProjectId, at: Timestamp) -> StoreResult<()>;

    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey>;
    async fn api_key(&self, id: ApiKeyId) -> StoreResult<ApiKey>;
    /// Keys of an organization, optionally of one project and/or one creator, newest first.
    async fn api_keys(
        &self,
        org: OrgId,
        project: Option<ProjectId>,
        created_by: Option<UserId>,
    ) -> StoreResult<Vec<ApiKey>>;
    async fn rename_api_key(&self, id: ApiKeyId, name: &Name) -> StoreResult<ApiKey>;
    /// Sets or clears the key's expiry time (a revoked key keeps it too).
    async fn set_api_key_expiry(&self, id: ApiKeyId, expires_at: Option<Timestamp>) -> StoreResult<ApiKey>;
    /// Sets the key's rate limits (both at once; `None` for unlimited).
    async fn set_api_key_limits(&self, id: ApiKeyId, limits: RateLimits) -> StoreResult<ApiKey>;
    /// Revokes the key (idempotent: a revoked key keeps its first revocation time).
    async fn revoke_api_key(&self, id: ApiKeyId, at: Timestamp) -> StoreResult<ApiKey>;
    /// The active key whose secret hashes to `secret_hash`, for the gateway.
    async fn active_key_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<ApiKey>;
    /// A number that changes whenever a key is revoked or its expiry or limits set
    /// through this store (directly or by deleting its project): a cache of
    /// active keys made at one revision is stale at any other.
    fn key_revision(&self) -> u64;
    async fn touch_api_key(&self, id: ApiKeyId, at: Timestamp) -> StoreResult<()>;

    async fn create_token(&self, token: NewToken) -> StoreResult<AuthToken>;
    /// The unexpired token whose secret hashes to `secret_hash`; marks it used.
    async fn token_by_hash(&self, secret_hash: &[u8; 32], now: Timestamp) -> StoreResult<AuthToken>;
    async fn tokens(&self, user: UserId, kind: TokenKind) -> StoreResult<Vec<AuthToken>>;
    async fn delete_token(&self, user: UserId, id: TokenId) -> StoreResult<()>;
}

/// Invitations to organizations: the only way a person joins one through
/// the API. Nobody is a member, and no account exists, until the invitee
/// accepts.
#[async_trait]
pub trait InvitationStore: Send + Sync {
    /// Creates an invitation, revoking (in the same transaction) any open
    /// one of the same organization and e-mail: re-inviting replaces.
    /// `Conflict` when a user with this e-mail is already a member.
    async fn create_invitation(&self, invitation: NewInvitation) -> StoreResult<Invitation>;
    /// The organization's open (neither accepted nor revoked) invitations,
    /// expired ones included, newest first.
    async fn open_invitations(&self, org: OrgId) -> StoreResult<Vec<Invitation>>;
    async fn invitation(&self, org: OrgId, id: InvitationId) -> StoreResult<Invitation>;
    /// Revokes an open invitation; `NotFound` when it is not open.
    async fn revoke_invitation(&self, org: OrgId, id: InvitationId, at: Timestamp) -> StoreResult<Invitation>;
    /// The invitation whose token hashes to `secret_hash`, in any state.
    async fn invitation_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<Invitation>;
    /// Accepts the pending invitation whose token hashes to `secret_hash`,
    /// in one transaction: creates the account when asked, adds the
    /// membership, marks the invitation accepted. A refusal changes nothing.
    async fn accept_invitation(
        &self,
        secret_hash: &[u8; 32],
        acceptor: Acceptor,
        now: Timestamp,
    ) -> StoreResult<Result<(Invitation, Member), AcceptRefusal>>;
}

/// Writes activity events. Batches are written atomically.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Writes a batch of events and the bodies captured for some of them,
    /// in one transaction. A body whose event is already stored (a retried
    /// batch) is skipped like its event.
    async fn record_with_bodies(&self, events: Vec<ActivityEvent>, bodies: Vec<RequestBodies>) -> StoreResult<()>;
    async fn record(&self, events: Vec<ActivityEvent>) -> StoreResult<()> {
        self.record_with_bodies(events, Vec::new()).await
    }
    /// Brings whatever the store writes behind the events up to date (the
    /// embedded store's rollups); called when the writer goes idle and when
    /// it stops. Reads see every committed event either way.
    async fn flush(&self) -> StoreResult<()> {
        Ok(())
    }
    /// How many events an organization has; a check for tests and tools.
    async fn event_count(&self, org: OrgId) -> StoreResult<u64>;
    /// An organization's newest raw events, newest first (an activity log;
    /// analytics never read raw events).
    async fn recent_events(&self, org: OrgId, limit: u32) -> StoreResult<Vec<ActivityEvent>>;
    /// Deletes raw events that started before `before` (retention); returns
    /// how many. Rollups are kept, so analytics still cover those days, but
    /// a later [`AnalyticsStore::rebuild_rollups`] can only recount what is
    /// left.
    async fn prune_events(&self, before: Timestamp) -> StoreResult<u64>;
    /// Deletes the captured bodies older, at `now`, than their project's
    /// retention (deleted projects' too); returns how many.
    async fn prune_bodies(&self, now: Timestamp) -> StoreResult<u64>;
}

/// Reads the request log: raw events one by one (analytics read rollups).
#[async_trait]
pub trait LogStore: Send + Sync {
    /// One page of the request log: the raw events of a scope and range
    /// that pass a filter, in the query's order ([`log`]). Covers the raw
    /// events retention has kept.
    async fn log(&self, query: log::LogQuery) -> StoreResult<log::LogPage>;
    /// One raw event (`NotFound` when it is not, or no longer, stored).
    async fn event(&self, id: tally_core::EventId) -> StoreResult<ActivityEvent>;
    /// The bodies captured for an event, if any (still) are.
    async fn bodies(&self, id: tally_core::EventId) -> StoreResult<Option<RequestBodies>>;
}

/// Per-organization gateway settings: model aliases and price overrides.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    async fn model_mappings(&self, org: OrgId) -> StoreResult<Vec<ModelMapping>>;
    /// Refuses a second mapping with the same alias (`Conflict`).
    async fn create_model_mapping(&self, mapping: ModelMapping) -> StoreResult<ModelMapping>;
    async fn delete_model_mapping(&self, org: OrgId, id: uuid::Uuid) -> StoreResult<()>;
    async fn price_overrides(&self, org: OrgId) -> StoreResult<Vec<PriceOverride>>;
    /// Creates or replaces the override for `(org, model)`.
    async fn put_price_override(&self, price: PriceOverride) -> StoreResult<PriceOverride>;
    async fn delete_price_override(&self, org: OrgId, id: uuid::Uuid) -> StoreResult<()>;
}

/// What an analytics query covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Org(OrgId),
    Project(ProjectId),
    ApiKey(ApiKeyId),
    /// Keys created by one member, within one organization.
    Member(OrgId, UserId),
}

/// A dimension to group usage by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    /// The 15-minute UTC bucket (see `tally_core::time::BUCKET_MS`).
    Bucket,
    Provider,
    RoutedModel,
    CanonicalModel,
    App,
    ApiKey,
    /// The member who created the key.
    Member,
    Project,
    /// The client's own user (`ActivityEvent::end_user`).
    EndUser,
    /// The request's tags in their canonical text (`Tags`'s `Display`).
    Tags,
    /// The HTTP status answered.
    Status,
}

/// The value of one dimension in a result row. Text dimensions are `None`
/// when the event had none (no model resolved, no app).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DimValue {
    Bucket(i64),
    Text(Option<String>),
    Id(uuid::Uuid),
    Int(i64),
}

/// Usage summed over `[from_bucket, to_bucket)` in `scope`, grouped by `group_by`.
///
/// Periods: grouped by [`Dim::Bucket`] with `cuts`, the answer has one row
/// per group and period, and the row's `DimValue::Bucket` is its period's
/// label, the period's first bucket: the latest of `from_bucket` and the
/// cuts inside `(from_bucket, to_bucket)` at or before the usage. The store
/// does this labelling, once; a caller whose cuts are exactly its period
/// starts (the first being `from_bucket`) finds a row's period by equality
/// and never maps buckets itself. Grouped by `Dim::Bucket` without cuts,
/// a row's bucket is the first 15-minute bucket of what it sums, which
/// may be a quarter or, in a store with coarser rollups, an hour or a day:
/// only cuts fix the periods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    pub scope: Scope,
    pub from_bucket: i64,
    pub to_bucket: i64,
    pub group_by: Vec<Dim>,
    /// Where the caller's periods start (15-minute buckets), when it groups
    /// by `Dim::Bucket` by periods (see the type's doc): rows come back
    /// labelled with these. Empty for 15-minute buckets, or a query that
    /// does not group by time.
    pub cuts: Vec<i64>,
}

impl UsageQuery {
    /// The labels of the query's periods, ascending, when it groups by
    /// periods: `from_bucket` and the cuts inside the range.
    pub(crate) fn period_starts(&self) -> Option<Vec<i64>> {
        if self.cuts.is_empty() || !self.group_by.contains(&Dim::Bucket) {
            return None;
        }
        if self.from_bucket >= self.to_bucket {
            return Some(vec![self.from_bucket]);
        }
        let periods = rollup::period::Periods::new(self.from_bucket, self.to_bucket, &self.cuts);
        Some(periods.starts().to_vec())
    }
}

/// Analytics reads. Answers come from rollups (and, in the embedded store,
/// the raw events its rollups do not count yet).
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// One row per distinct group with at least one request; grouped by
    /// periods (`query.cuts`), one per group and period, each labelled with
    /// its period's first bucket (the contract is on [`UsageQuery`]).
    async fn usage(&self, query: UsageQuery) -> StoreResult<Vec<(Vec<DimValue>, tally_core::UsageTotals)>>;
    /// The latency histograms of the rows `usage` answers for the same
    /// query (the same groups, merged from the same rollup rows).
    async fn latencies(&self, query: UsageQuery) -> StoreResult<Vec<(Vec<DimValue>, tally_core::latency::Latencies)>>;
    /// Recomputes every rollup from the raw events; returns the rows written.
    async fn rebuild_rollups(&self) -> StoreResult<u64>;
    /// Keeps rollups by local day for these UTC offsets (minutes east of
    /// UTC; 0 and offsets that are not whole quarter hours are ignored) and
    /// for no others, computing new ones from the rollups already kept. The
    /// answers are the same either way, only faster for viewers in those
    /// zones. Returns false when the store keeps no local-day rollups.
    async fn set_local_day_offsets(&self, offsets: Vec<i64>) -> StoreResult<bool> {
        let _ = offsets;
        Ok(false)
    }
}

/// Organizations' spending budgets.
#[async_trait]
pub trait BudgetStore: Send + Sync {
    /// Stores a new budget (its id and creation time as given, the time
    /// cut to milliseconds).
    async fn create_budget(&self, budget: Budget) -> StoreResult<Budget>;
    /// An organization's budgets, oldest first.
    async fn budgets(&self, org: OrgId) -> StoreResult<Vec<Budget>>;
    /// Every organization's budgets, for the gateway.
    async fn all_budgets(&self) -> StoreResult<Vec<Budget>>;
    /// One budget of `org` (another organization's is not found).
    async fn budget(&self, org: OrgId, id: tally_core::BudgetId) -> StoreResult<Budget>;
    /// Replaces a budget's amount, period, zone, action and thresholds
    /// (its scope, creator and creation time stay).
    async fn update_budget(&self, budget: Budget) -> StoreResult<Budget>;
    async fn delete_budget(&self, org: OrgId, id: tally_core::BudgetId) -> StoreResult<()>;
    /// Whether other processes may write to this store (so spend read from
    /// it goes stale). An embedded store has one writer.
    fn shared(&self) -> bool {
        false
    }
    /// Notes that process `replica` is alive at `now` and answers how many
    /// processes share this store and were seen within `within` (itself
    /// included). An embedded store has one.
    async fn live_replicas(
        &self,
        replica: uuid::Uuid,
        now: Timestamp,
        within: std::time::Duration,
    ) -> StoreResult<u32> {
        let _ = (replica, now, within);
        Ok(1)
    }
}

/// Organizations' webhooks, the alerts fired and their deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook(&self, webhook: Webhook) -> StoreResult<Webhook>;
    async fn webhooks(&self, org: OrgId) -> StoreResult<Vec<Webhook>>;
    async fn webhook(&self, org: OrgId, id: tally_core::WebhookId) -> StoreResult<Webhook>;
    async fn set_webhook_url(&self, org: OrgId, id: tally_core::WebhookId, url: &str) -> StoreResult<Webhook>;
    /// Deletes the webhook with its deliveries and their attempts.
    async fn delete_webhook(&self, org: OrgId, id: tally_core::WebhookId) -> StoreResult<()>;
    /// Records `alert` and queues its payload to every webhook of its
    /// organization, in one transaction, unless it was recorded before:
    /// whether it was new.
    async fn fire_alert(&self, alert: FiredAlert) -> StoreResult<bool>;
    /// Queues one payload to one webhook, due at once.
    async fn queue_delivery(
        &self,
        webhook: &Webhook,
        event: &str,
        payload: String,
        at: Timestamp,
    ) -> StoreResult<Delivery>;
    /// Takes up to `limit` pending deliveries due at `now`, moving them to
    /// `until` so that no other sender takes them meanwhile.
    async fn claim_deliveries(&self, now: Timestamp, until: Timestamp, limit: u32) -> StoreResult<Vec<Delivery>>;
    /// Records an attempt and the delivery's state after it (due again at
    /// `next` when still pending).
    async fn record_attempt(
        &self,
        delivery: tally_core::DeliveryId,
        attempt: Attempt,
        state: DeliveryState,
        next: Timestamp,
    ) -> StoreResult<()>;
    /// A webhook's deliveries, newest first, with their attempts in order.
    async fn deliveries(
        &self,
        org: OrgId,
        webhook: tally_core::WebhookId,
        limit: u32,
    ) -> StoreResult<Vec<(Delivery, Vec<Attempt>)>>;
}

/// Everything a server needs from its store.
pub trait Store:
    AccountStore + InvitationStore + ActivityStore + LogStore + SettingsStore + AnalyticsStore + BudgetStore + WebhookStore
{
    /// The same store seen only as an activity writer.
    fn into_activity(self: std::sync::Arc<Self>) -> std::sync::Arc<dyn ActivityStore>;
}

impl<
    T: AccountStore
        + InvitationStore
        + ActivityStore
        + LogStore
        + SettingsStore
        + AnalyticsStore
        + BudgetStore
        + WebhookStore
        + 'static,
> Store for T
{
    fn into_activity(self: std::sync::Arc<Self>) -> std::sync::Arc<dyn ActivityStore> {
        self
    }
}
