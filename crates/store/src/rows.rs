//! The account and settings tables as both engines store them: each
//! table's select list and the reader of its rows, declared once; and the
//! statements on captured bodies (`request_bodies`), the same in both.

use tally_core::{
    ApiKeyId, Email, EventId, InvitationId, Name, OrgId, Plan, ProjectId, RateLimits, RetentionDays, TokenId, UserId,
};

use crate::columns::{Columns, now};
use crate::records::*;

pub(crate) const USER_COLS: &str = "id, email, name, password_hash, created_at";
pub(crate) const ORG_COLS: &str = "id, name, plan, created_at, timezone";
pub(crate) const MEMBER_COLS: &str = "u.id, u.email, u.name, m.role, m.created_at";
pub(crate) const PROJECT_COLS: &str = "id, org_id, name, created_at, capture_bodies, body_retention_days";
pub(crate) const KEY_COLS: &str = "id, org_id, project_id, name, last4, created_by, created_at, last_used_at, revoked_at, expires_at, \
     requests_per_minute, tokens_per_minute";
pub(crate) const TOKEN_COLS: &str = "id, user_id, kind, name, created_at, expires_at, last_used_at";
pub(crate) const INVITATION_COLS: &str =
    "id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, accepted_by, revoked_at";
/// `request_bodies`, in the order of [`bodies_row`] (and of its insert).
pub(crate) const BODIES_COLS: &str =
    "event_id, project_id, started_at, request, response, request_truncated, response_truncated";
/// Bodies deleted by one statement of [`prune_bodies_sql`] at most, so that
/// retention never holds SQLite's writer (and the events waiting for it),
/// or many row locks, for long.
const PRUNE_SLICE: i64 = 256;
const DAY_MS: i64 = 86_400_000;

/// Inserts one body ([`BODIES_COLS`] as parameters 1 to 7); one already
/// stored is left as it was. `p(n)` is the engine's n-th placeholder.
pub(crate) fn insert_bodies_sql(p: &dyn Fn(usize) -> String) -> String {
    let values: Vec<String> = (1..=7).map(p).collect();
    format!(
        "INSERT INTO request_bodies ({BODIES_COLS}) VALUES ({}) ON CONFLICT (event_id) DO NOTHING",
        values.join(", ")
    )
}

/// The bodies of the event given as parameter 1.
pub(crate) fn select_bodies_sql(p: &dyn Fn(usize) -> String) -> String {
    format!("SELECT {BODIES_COLS} FROM request_bodies WHERE event_id = {}", p(1))
}

/// Deletes up to [`PRUNE_SLICE`] bodies older, at parameter 1 (now, in
/// milliseconds), than their project's retention; run until it deletes
/// none. Each project's expired bodies are a range of the
/// `(project_id, started_at)` index, so nothing younger is read (`CROSS
/// JOIN` keeps SQLite's planner from scanning the bodies instead).
pub(crate) fn prune_bodies_sql(p: &dyn Fn(usize) -> String) -> String {
    format!(
        "DELETE FROM request_bodies WHERE event_id IN (
            SELECT b.event_id FROM projects p CROSS JOIN request_bodies b
            WHERE b.project_id = p.id AND b.started_at < {now} - {DAY_MS} * p.body_retention_days
            LIMIT {PRUNE_SLICE})",
        now = p(1)
    )
}
pub(crate) const MAPPING_COLS: &str = "id, org_id, alias, target, created_at";
pub(crate) const BUDGET_COLS: &str = "id, org_id, scope_kind, scope_id, amount_nanos, period, timezone, action, \
     thresholds, created_by, created_at";
pub(crate) const WEBHOOK_COLS: &str = "id, org_id, url, salt, created_by, created_at";
/// `webhook_deliveries d` joined with `webhooks w`, in the order of [`delivery_row`].
pub(crate) const DELIVERY_COLS: &str = "d.id, d.webhook_id, d.org_id, d.event, d.payload, d.state, d.attempts, \
     d.next_attempt_at, d.created_at, w.url, w.salt";
pub(crate) const ATTEMPT_COLS: &str = "number, at, status, error, duration_ms";
pub(crate) const PRICE_COLS: &str =
    "id, org_id, model, input, cached_input, cache_write, output, reasoning, created_at";

/// A user to insert: a new id, created now.
pub(crate) fn new_user(email: &Email, name: &Name, password_hash: &str) -> User {
    User {
        id: UserId::new(),
        email: email.clone(),
        name: name.clone(),
        password_hash: password_hash.to_owned(),
        created_at: now(),
    }
}

/// An organization to insert: a new id, created now.
pub(crate) fn new_org(name: &Name, plan: Plan) -> Organization {
    Organization {
        id: OrgId::new(),
        name: name.clone(),
        plan,
        created_at: now(),
        timezone: tally_core::TimeZone::utc(),
    }
}

/// A project to insert: a new id, created now.
pub(crate) fn new_project(org: OrgId, name: &Name) -> Project {
    Project {
        id: ProjectId::new(),
        org_id: org,
        name: name.clone(),
        created_at: now(),
        capture_bodies: false,
        body_retention: RetentionDays::DEFAULT,
    }
}

pub(crate) fn user_row<C: Columns>(r: &C) -> Result<User, C::Error> {
    Ok(User {
        id: UserId::from_uuid(r.uuid(0)?),
        email: r.email(1)?,
        name: r.name(2)?,
        password_hash: r.text(3)?,
        created_at: r.ts(4)?,
    })
}

pub(crate) fn org_row<C: Columns>(r: &C) -> Result<Organization, C::Error> {
    Ok(Organization {
        id: OrgId::from_uuid(r.uuid(0)?),
        name: r.name(1)?,
        plan: r.parsed(2)?,
        created_at: r.ts(3)?,
        timezone: tally_core::TimeZone::parse(&r.text(4)?).map_err(|e| C::corrupt(4, e))?,
    })
}

pub(crate) fn member_row<C: Columns>(r: &C) -> Result<Member, C::Error> {
    Ok(Member {
        user_id: UserId::from_uuid(r.uuid(0)?),
        email: r.email(1)?,
        name: r.name(2)?,
        role: r.parsed(3)?,
        joined_at: r.ts(4)?,
    })
}

pub(crate) fn project_row<C: Columns>(r: &C) -> Result<Project, C::Error> {
    Ok(Project {
        id: ProjectId::from_uuid(r.uuid(0)?),
        org_id: OrgId::from_uuid(r.uuid(1)?),
        name: r.name(2)?,
        created_at: r.ts(3)?,
        capture_bodies: r.flag(4)?,
        body_retention: r.retention(5)?,
    })
}

pub(crate) fn bodies_row<C: Columns>(r: &C) -> Result<RequestBodies, C::Error> {
    Ok(RequestBodies {
        event_id: EventId::from_uuid(r.uuid(0)?),
        project_id: ProjectId::from_uuid(r.uuid(1)?),
        started_at: r.ts(2)?,
        request: r.bytes(3)?,
        response: r.bytes(4)?,
        request_truncated: r.flag(5)?,
        response_truncated: r.flag(6)?,
    })
}

pub(crate) fn key_row<C: Columns>(r: &C) -> Result<ApiKey, C::Error> {
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(r.uuid(0)?),
        org_id: OrgId::from_uuid(r.uuid(1)?),
        project_id: ProjectId::from_uuid(r.uuid(2)?),
        name: r.name(3)?,
        last4: r.text(4)?,
        created_by: UserId::from_uuid(r.uuid(5)?),
        created_at: r.ts(6)?,
        last_used_at: r.opt_ts(7)?,
        revoked_at: r.opt_ts(8)?,
        expires_at: r.opt_ts(9)?,
        limits: RateLimits {
            requests_per_minute: r.per_minute(10)?,
            tokens_per_minute: r.per_minute(11)?,
        },
    })
}

pub(crate) fn token_row<C: Columns>(r: &C) -> Result<AuthToken, C::Error> {
    let kind = r.text(2)?;
    Ok(AuthToken {
        id: TokenId::from_uuid(r.uuid(0)?),
        user_id: UserId::from_uuid(r.uuid(1)?),
        kind: if kind == "session" {
            TokenKind::Session
        } else {
            TokenKind::Personal
        },
        name: r.text(3)?,
        created_at: r.ts(4)?,
        expires_at: r.opt_ts(5)?,
        last_used_at: r.opt_ts(6)?,
    })
}

pub(crate) fn invitation_row<C: Columns>(r: &C) -> Result<Invitation, C::Error> {
    Ok(Invitation {
        id: InvitationId::from_uuid(r.uuid(0)?),
        org_id: OrgId::from_uuid(r.uuid(1)?),
        email: r.email(2)?,
        role: r.parsed(3)?,
        invited_by: UserId::from_uuid(r.uuid(4)?),
        created_at: r.ts(5)?,
        expires_at: r.ts(6)?,
        accepted_at: r.opt_ts(7)?,
        accepted_by: r.opt_uuid(8)?.map(UserId::from_uuid),
        revoked_at: r.opt_ts(9)?,
    })
}

pub(crate) fn mapping_row<C: Columns>(r: &C) -> Result<ModelMapping, C::Error> {
    Ok(ModelMapping {
        id: r.uuid(0)?,
        org_id: OrgId::from_uuid(r.uuid(1)?),
        alias: r.text(2)?,
        target: r.text(3)?,
        created_at: r.ts(4)?,
    })
}

pub(crate) fn price_row<C: Columns>(r: &C) -> Result<PriceOverride, C::Error> {
    Ok(PriceOverride {
        id: r.uuid(0)?,
        org_id: OrgId::from_uuid(r.uuid(1)?),
        model: r.text(2)?,
        input: r.int(3)?,
        cached_input: r.opt_int(4)?,
        cache_write: r.opt_int(5)?,
        output: r.int(6)?,
        reasoning: r.opt_int(7)?,
        created_at: r.ts(8)?,
    })
}

pub(crate) fn budget_row<C: Columns>(r: &C) -> Result<Budget, C::Error> {
    let scope_kind = r.text(2)?;
    let scope = tally_core::BudgetScope::from_parts(&scope_kind, r.opt_uuid(3)?).map_err(|e| C::corrupt(2, e))?;
    let amount = tally_core::Amount::new(tally_core::Money::from_nanos(r.int(4)?)).map_err(|e| C::corrupt(4, e))?;
    let timezone = tally_core::TimeZone::parse(&r.text(6)?).map_err(|e| C::corrupt(6, e))?;
    Ok(Budget {
        id: tally_core::BudgetId::from_uuid(r.uuid(0)?),
        org_id: OrgId::from_uuid(r.uuid(1)?),
        scope,
        amount,
        period: r.parsed(5)?,
        timezone,
        action: r.parsed(7)?,
        thresholds: r.parsed(8)?,
        created_by: UserId::from_uuid(r.uuid(9)?),
        created_at: r.ts(10)?,
    })
}

pub(crate) fn webhook_row<C: Columns>(r: &C) -> Result<Webhook, C::Error> {
    Ok(Webhook {
        id: tally_core::WebhookId::from_uuid(r.uuid(0)?),
        org_id: OrgId::from_uuid(r.uuid(1)?),
        url: r.text(2)?,
        salt: r.text(3)?,
        created_by: UserId::from_uuid(r.uuid(4)?),
        created_at: r.ts(5)?,
    })
}

pub(crate) fn delivery_row<C: Columns>(r: &C) -> Result<Delivery, C::Error> {
    Ok(Delivery {
        id: tally_core::DeliveryId::from_uuid(r.uuid(0)?),
        webhook_id: tally_core::WebhookId::from_uuid(r.uuid(1)?),
        org_id: OrgId::from_uuid(r.uuid(2)?),
        event: r.text(3)?,
        payload: r.text(4)?,
        state: r.parsed(5)?,
        attempts: u32::try_from(r.int(6)?).map_err(|e| C::corrupt(6, e))?,
        next_attempt_at: r.ts(7)?,
        created_at: r.ts(8)?,
        url: r.text(9)?,
        salt: r.text(10)?,
    })
}

pub(crate) fn attempt_row<C: Columns>(r: &C) -> Result<Attempt, C::Error> {
    let status = r
        .opt_int(2)?
        .map(|s| u16::try_from(s).map_err(|e| C::corrupt(2, e)))
        .transpose()?;
    Ok(Attempt {
        number: u32::try_from(r.int(0)?).map_err(|e| C::corrupt(0, e))?,
        at: r.ts(1)?,
        status,
        error: r.opt_text(3)?,
        duration_ms: u64::try_from(r.int(4)?).map_err(|e| C::corrupt(4, e))?,
    })
}
