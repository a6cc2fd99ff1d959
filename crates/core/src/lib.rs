//! Domain types of tally. No IO lives here: every type parses its input once
//! and cannot hold an invalid value afterwards.

pub mod accounts;
pub mod activity;
pub mod budget;
pub mod ids;
pub mod latency;
pub mod limits;
pub mod money;
pub mod tags;
pub mod text;
pub mod time;
pub mod totals;
pub mod usage;

pub use accounts::{Plan, RetentionDays, Role};
pub use activity::{ActivityEvent, Endpoint, Outcome};
pub use budget::{Amount, BudgetAction, BudgetScope, Period, Thresholds};
pub use ids::{ApiKeyId, BudgetId, DeliveryId, EventId, InvitationId, OrgId, ProjectId, TokenId, UserId, WebhookId};
pub use limits::{PerMinute, RateLimits};
pub use money::Money;
pub use tags::Tags;
pub use text::{Email, ModelName, Name, Password};
pub use time::{DateRange, TimeZone};
pub use totals::{TokenTotals, UsageTotals, UsageView};
pub use usage::{InvalidUsage, MAX_TOKENS, Usage};

/// Why a piece of input was refused. The message is written for the person
/// who sent the input; callers attach the name of the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
