//! Budgets: how much a scope (an organization, a project, an API key, or
//! the keys one member created) may spend in a calendar period of a time
//! zone, and what happens when it has.
//!
//! A period is a local calendar day, ISO week (from Monday), month, or the
//! whole lifetime (`total`). Its window is `[start, end)` in instants: the
//! local midnights (or the first instant of the day where a DST change
//! skips midnight) in the budget's zone.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};

use crate::{ApiKeyId, Money, ParseError, ProjectId, TimeZone, UserId};

/// What a budget covers, within its organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BudgetScope {
    Organization,
    Project(ProjectId),
    ApiKey(ApiKeyId),
    /// The keys one member created.
    Member(UserId),
}

impl BudgetScope {
    /// `organization`, `project`, `apiKey` or `member`.
    pub const fn kind(&self) -> &'static str {
        match self {
            BudgetScope::Organization => "organization",
            BudgetScope::Project(_) => "project",
            BudgetScope::ApiKey(_) => "apiKey",
            BudgetScope::Member(_) => "member",
        }
    }

    /// The id of what it covers (`None` for the organization).
    pub fn id(&self) -> Option<uuid::Uuid> {
        match self {
            BudgetScope::Organization => None,
            BudgetScope::Project(p) => Some(*p.as_uuid()),
            BudgetScope::ApiKey(k) => Some(*k.as_uuid()),
            BudgetScope::Member(u) => Some(*u.as_uuid()),
        }
    }

    /// From its kind and id, as `kind` and `id` write them.
    pub fn parse(kind: &str, id: Option<&str>) -> Result<Self, ParseError> {
        let id = |what: &str| id.ok_or_else(|| ParseError::new(format!("a {what} scope needs an `id`")));
        match kind {
            "organization" => Ok(BudgetScope::Organization),
            "project" => Ok(BudgetScope::Project(id("project")?.parse()?)),
            "apiKey" => Ok(BudgetScope::ApiKey(id("apiKey")?.parse()?)),
            "member" => Ok(BudgetScope::Member(id("member")?.parse()?)),
            other => Err(ParseError::new(format!(
                "`{other}` is not a scope: use organization, project, apiKey or member"
            ))),
        }
    }

    /// From the stored kind and id.
    pub fn from_parts(kind: &str, id: Option<uuid::Uuid>) -> Result<Self, ParseError> {
        let text = id.map(|u| u.to_string());
        Self::parse(kind, text.as_deref())
    }
}

/// The calendar period a budget's spend is counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Day,
    /// An ISO week, from Monday.
    Week,
    Month,
    /// The whole lifetime: never resets.
    Total,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Day, Period::Week, Period::Month, Period::Total];

    pub const fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Total => "total",
        }
    }

    /// The period containing `now` in `zone`.
    pub fn window(self, zone: &TimeZone, now: Timestamp) -> Window {
        let today = now.to_zoned(zone.as_jiff().clone()).date();
        let first = match self {
            Period::Total => return Window { start: None, end: None },
            Period::Day => today,
            Period::Week => today
                .checked_sub(i64::from(today.weekday().to_monday_zero_offset()).days())
                .unwrap_or(today),
            Period::Month => today.first_of_month(),
        };
        let next = match self {
            Period::Day => first.tomorrow().ok(),
            Period::Week => first.checked_add(7.days()).ok(),
            Period::Month => first.checked_add(1.month()).ok(),
            Period::Total => None,
        };
        let start = |d: Date| zone.start_of(d).ok();
        Window {
            start: start(first),
            end: next.and_then(start),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Period {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ParseError::new(format!("`{s}` is not a period: use day, week, month or total")))
    }
}

/// A period's instants: `[start, end)`; `None` is unbounded (a lifetime
/// budget has neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Option<Timestamp>,
    /// When the period resets.
    pub end: Option<Timestamp>,
}

/// What a budget does once spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BudgetAction {
    /// The gateway refuses the scope's requests until the period resets.
    Block,
    /// Only reported (thresholds, status); requests go on.
    Alert,
}

impl BudgetAction {
    pub const fn as_str(self) -> &'static str {
        match self {
            BudgetAction::Block => "block",
            BudgetAction::Alert => "alert",
        }
    }
}

impl FromStr for BudgetAction {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "block" => Ok(BudgetAction::Block),
            "alert" => Ok(BudgetAction::Alert),
            _ => Err(ParseError::new(format!("`{s}` is not an action: use block or alert"))),
        }
    }
}

/// A budget's amount: more than zero and at most a billion USD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(Money);

impl Amount {
    pub const MAX: Money = Money::from_nanos(1_000_000_000 * crate::money::NANOS_PER_USD);

    pub fn new(money: Money) -> Result<Self, ParseError> {
        if money <= Money::ZERO || money > Self::MAX {
            return Err(ParseError::new("an amount is more than 0 and at most 1000000000 USD"));
        }
        Ok(Self(money))
    }

    pub const fn money(self) -> Money {
        self.0
    }
}

impl FromStr for Amount {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::new(s.parse()?)
    }
}

/// The percentages of its amount at which a budget alerts: distinct, from
/// 1 to 1000, ascending, at most [`Thresholds::MAX`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Thresholds(Vec<u16>);

impl Thresholds {
    pub const MAX: usize = 10;

    pub fn new(mut percents: Vec<u16>) -> Result<Self, ParseError> {
        if percents.len() > Self::MAX {
            return Err(ParseError::new(format!("at most {} thresholds", Self::MAX)));
        }
        if let Some(bad) = percents.iter().find(|p| !(1..=1000).contains(*p)) {
            return Err(ParseError::new(format!(
                "a threshold is a percentage from 1 to 1000, not {bad}"
            )));
        }
        percents.sort_unstable();
        percents.dedup();
        Ok(Self(percents))
    }

    pub fn percents(&self) -> &[u16] {
        &self.0
    }

    /// The thresholds `spent` has reached of `amount`, ascending (exact:
    /// `spent x 100 >= amount x percent`).
    pub fn reached(&self, spent: Money, amount: Amount) -> impl Iterator<Item = u16> + '_ {
        let (spent, amount) = (i128::from(spent.nanos()), i128::from(amount.money().nanos()));
        self.0
            .iter()
            .copied()
            .filter(move |p| spent * 100 >= amount * i128::from(*p))
    }

    /// As stored: `50,80,100`.
    pub fn to_text(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(u16::to_string).collect();
        parts.join(",")
    }
}

impl FromStr for Thresholds {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Ok(Self::default());
        }
        let percents = s
            .split(',')
            .map(|p| {
                p.trim()
                    .parse::<u16>()
                    .map_err(|_| ParseError::new(format!("`{p}` is not a percentage")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(percents)
    }
}

#[cfg(test)]
mod tests;
