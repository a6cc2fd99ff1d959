//! The request log: which raw events a [`LogQuery`] selects, in which
//! order, and the cursor that continues it. No IO: each engine runs the
//! statement built here with its own placeholders and parameter types,
//! taken from the columns of the rollup spec ([`crate::rollup::event`]).

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use tally_core::{Endpoint, EventId, Money, Outcome, ParseError, UserId};
use uuid::Uuid;

use crate::Scope;
use crate::rollup::event::{self, Kind};

/// The order of a log: newest first, or the most expensive or slowest
/// first (ties newest id first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogSort {
    #[default]
    Newest,
    Cost,
    Latency,
}

impl LogSort {
    pub const ALL: [LogSort; 3] = [LogSort::Newest, LogSort::Cost, LogSort::Latency];

    pub const fn as_str(self) -> &'static str {
        match self {
            LogSort::Newest => "newest",
            LogSort::Cost => "cost",
            LogSort::Latency => "latency",
        }
    }

    /// The column the log is ordered by (then `id`).
    pub const fn column(self) -> &'static str {
        match self {
            LogSort::Newest => "started_at",
            LogSort::Cost => "cost_nanos",
            LogSort::Latency => "latency_us",
        }
    }

    /// The value of an event in this order.
    pub fn key(self, e: &tally_core::ActivityEvent) -> i64 {
        match self {
            LogSort::Newest => e.started_at.as_millisecond(),
            LogSort::Cost => e.cost.nanos(),
            LogSort::Latency => i64::try_from(e.latency_us).unwrap_or(i64::MAX),
        }
    }

    const fn tag(self) -> char {
        match self {
            LogSort::Newest => 't',
            LogSort::Cost => 'c',
            LogSort::Latency => 'l',
        }
    }
}

impl FromStr for LogSort {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        LogSort::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| ParseError::new(format!("`{s}` is not a sort order (newest, cost, latency)")))
    }
}

/// Where a page of the log ends: the last event's sort key and id. The
/// next page starts strictly after it, so events arriving in between never
/// shift a page (they are newer than the first page, or sort where they
/// belong). Rendered as an opaque token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogCursor {
    pub sort: LogSort,
    pub key: i64,
    pub id: EventId,
}

impl LogCursor {
    pub fn after(sort: LogSort, e: &tally_core::ActivityEvent) -> Self {
        LogCursor {
            sort,
            key: sort.key(e),
            id: e.id,
        }
    }
}

impl fmt::Display for LogCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}_{}", self.sort.tag(), self.key, self.id.as_uuid().simple())
    }
}

impl FromStr for LogCursor {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("is not a cursor this log returned");
        let mut chars = s.chars();
        let tag = chars.next().ok_or_else(bad)?;
        let sort = LogSort::ALL.into_iter().find(|v| v.tag() == tag).ok_or_else(bad)?;
        let (key, id) = chars.as_str().split_once('_').ok_or_else(bad)?;
        let key: i64 = key.parse().map_err(|_| bad())?;
        let id = Uuid::try_parse(id).map_err(|_| bad())?;
        if id.get_version_num() != 7 || key < 0 {
            return Err(bad());
        }
        Ok(LogCursor {
            sort,
            key,
            id: EventId::from_uuid(id),
        })
    }
}

/// How many events a page holds: 1 to [`LogLimit::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimit(u16);

impl LogLimit {
    pub const MAX: u16 = 200;
    pub const DEFAULT: LogLimit = LogLimit(50);
    /// The page an export reads at a time: large enough that a page's
    /// statement is a small share of its cost, small enough to hold.
    pub const EXPORT: LogLimit = LogLimit(2_000);

    pub fn new(n: u16) -> Option<Self> {
        (1..=Self::MAX).contains(&n).then_some(LogLimit(n))
    }

    pub const fn get(self) -> u16 {
        self.0
    }
}

impl FromStr for LogLimit {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        s.parse::<u16>()
            .ok()
            .and_then(LogLimit::new)
            .ok_or_else(|| ParseError::new(format!("must be a whole number from 1 to {}", LogLimit::MAX)))
    }
}

/// What a log keeps of the events in its scope and range; every field set
/// must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Events of keys created by this member.
    pub member: Option<UserId>,
    pub canonical_model: Option<String>,
    pub routed_model: Option<String>,
    pub provider: Option<String>,
    pub app: Option<String>,
    pub end_user: Option<String>,
    /// Events tagged with this key and value.
    pub tag: Option<(String, String)>,
    pub endpoint: Option<Endpoint>,
    /// Any of these outcomes (none: any outcome).
    pub outcomes: Vec<Outcome>,
    pub http_status: Option<u16>,
    pub stream: Option<bool>,
    pub estimated: Option<bool>,
    pub unpriced: Option<bool>,
    pub usage_invalid: Option<bool>,
    /// At least this cost.
    pub min_cost: Option<Money>,
    /// At least this latency, in microseconds.
    pub min_latency_us: Option<u64>,
}

/// One page of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    pub scope: Scope,
    /// Events that started in `[from, to)`.
    pub from: Timestamp,
    pub to: Timestamp,
    pub filter: LogFilter,
    pub sort: LogSort,
    /// Continue after this event (it must be of the same sort).
    pub after: Option<LogCursor>,
    pub limit: LogLimit,
}

/// A parameter of a log statement, typed as its column is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Uuid(Uuid),
    Text(String),
    Int(i64, Kind),
    Bool(bool),
}

/// A log statement: a `WHERE … ORDER BY … LIMIT` over `activity_events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSql {
    pub text: String,
    pub params: Vec<Param>,
}

/// How a condition compares its column.
#[derive(Clone, Copy)]
enum Op {
    Eq,
    AtLeast,
    Before,
}

struct Builder<'p> {
    placeholder: &'p dyn Fn(usize) -> String,
    conds: Vec<String>,
    params: Vec<Param>,
}

impl Builder<'_> {
    fn push(&mut self, column: &'static str, op: Op, value: Param) {
        self.params.push(value);
        let p = (self.placeholder)(self.params.len());
        let op = match op {
            Op::Eq => "=",
            Op::AtLeast => ">=",
            Op::Before => "<",
        };
        self.conds.push(format!("{column} {op} {p}"));
    }

    /// A condition on a column of the event spec, its parameter typed by it.
    fn int(&mut self, column: &'static str, op: Op, n: i64) {
        let kind = event::kind_of(column).unwrap_or(Kind::Int8);
        let value = if kind == Kind::Bool {
            Param::Bool(n != 0)
        } else {
            Param::Int(n, kind)
        };
        self.push(column, op, value);
    }

    fn text(&mut self, column: &'static str, v: &Option<String>) {
        if let Some(v) = v {
            self.push(column, Op::Eq, Param::Text(v.clone()));
        }
    }

    fn flag(&mut self, column: &'static str, v: Option<bool>) {
        if let Some(v) = v {
            self.push(column, Op::Eq, Param::Bool(v));
        }
    }
}

/// The statement selecting `columns` for one page of `q`, with the
/// engine's placeholder for parameter `n` (1-based). It asks for one
/// event more than the page holds, to tell whether another page follows.
pub fn select(q: &LogQuery, columns: &str, placeholder: &dyn Fn(usize) -> String) -> LogSql {
    let mut b = Builder {
        placeholder,
        conds: Vec::new(),
        params: Vec::new(),
    };
    match q.scope {
        Scope::Org(org) => b.push("org_id", Op::Eq, Param::Uuid(*org.as_uuid())),
        Scope::Project(p) => b.push("project_id", Op::Eq, Param::Uuid(*p.as_uuid())),
        Scope::ApiKey(k) => b.push("api_key_id", Op::Eq, Param::Uuid(*k.as_uuid())),
        Scope::Member(org, user) => {
            b.push("org_id", Op::Eq, Param::Uuid(*org.as_uuid()));
            b.push("created_by", Op::Eq, Param::Uuid(*user.as_uuid()));
        }
    }
    let f = &q.filter;
    if let Some(user) = f.member {
        b.push("created_by", Op::Eq, Param::Uuid(*user.as_uuid()));
    }
    b.int("started_at", Op::AtLeast, q.from.as_millisecond());
    // Newest first after a cursor, the cursor is the upper bound, held to
    // the range: SQLite then reads the index from it. A second upper bound
    // on `started_at` would make it scan from the range's end on every
    // page, so each page of a long export would cost more than the last.
    let to = q.to.as_millisecond();
    let newest_after = q.after.filter(|_| q.sort == LogSort::Newest);
    if newest_after.is_none() {
        b.int("started_at", Op::Before, to);
    }
    b.text("canonical_model", &f.canonical_model);
    b.text("routed_model", &f.routed_model);
    b.text("provider", &f.provider);
    b.text("app", &f.app);
    b.text("end_user", &f.end_user);
    if let Some((key, value)) = &f.tag {
        // Canonical tags are `k=v,k=v`: a pair is tagged when `,k=v,` is in
        // `,tags,`. `replace` (not LIKE, whose case rules differ between the
        // engines) finds it the same way in both.
        b.params.push(Param::Text(format!(",{key}={value},")));
        let needle = (b.placeholder)(b.params.len());
        b.conds.push(format!(
            "length(replace(',' || tags || ',', {needle}, '')) < length(',' || tags || ',')"
        ));
    }
    if let Some(e) = f.endpoint {
        b.push("endpoint", Op::Eq, Param::Text(e.as_str().to_owned()));
    }
    if !f.outcomes.is_empty() {
        let mut any = Vec::with_capacity(f.outcomes.len());
        for o in &f.outcomes {
            b.params.push(Param::Text(o.as_str().to_owned()));
            any.push((b.placeholder)(b.params.len()));
        }
        b.conds.push(format!("outcome IN ({})", any.join(", ")));
    }
    if let Some(s) = f.http_status {
        b.int("http_status", Op::Eq, i64::from(s));
    }
    b.flag("stream", f.stream);
    b.flag("estimated", f.estimated);
    b.flag("unpriced", f.unpriced);
    b.flag("usage_invalid", f.usage_invalid);
    if let Some(m) = f.min_cost {
        b.int("cost_nanos", Op::AtLeast, m.nanos());
    }
    if let Some(l) = f.min_latency_us {
        b.int("latency_us", Op::AtLeast, i64::try_from(l).unwrap_or(i64::MAX));
    }
    let order = q.sort.column();
    if let Some(after) = q.after {
        // (to, nil) excludes `to` and everything after it, as the range does.
        let (key, id) = match newest_after {
            Some(a) if a.key >= to => (to, Uuid::nil()),
            _ => (after.key, *after.id.as_uuid()),
        };
        b.params.push(Param::Int(key, Kind::Int8));
        let key = (b.placeholder)(b.params.len());
        b.params.push(Param::Uuid(id));
        let id = (b.placeholder)(b.params.len());
        b.conds.push(format!("({order}, id) < ({key}, {id})"));
    }
    let text = format!(
        "SELECT {columns} FROM activity_events WHERE {} ORDER BY {order} DESC, id DESC LIMIT {}",
        b.conds.join(" AND "),
        u32::from(q.limit.get()) + 1
    );
    LogSql { text, params: b.params }
}

/// A page of the log: its events and, when more follow, the cursor of the
/// next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    pub events: Vec<tally_core::ActivityEvent>,
    pub next: Option<LogCursor>,
}

impl LogPage {
    /// The page from the rows of [`select`] (one more than the limit when
    /// another page follows).
    pub fn from_rows(q: &LogQuery, mut events: Vec<tally_core::ActivityEvent>) -> Self {
        let limit = usize::from(q.limit.get());
        let more = events.len() > limit;
        events.truncate(limit);
        let next = if more {
            events.last().map(|e| LogCursor::after(q.sort, e))
        } else {
            None
        };
        LogPage { events, next }
    }
}

#[cfg(test)]
mod tests;
