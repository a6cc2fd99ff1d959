//! The columns of a raw event (`activity_events`), in stored order. Each
//! engine's insert, select list and row reader are generated from
//! [`EVENT`]; adding a field of [`ActivityEvent`] to storage is one entry
//! here plus one migration per engine.

use jiff::Timestamp;
use tally_core::{ActivityEvent, ApiKeyId, Endpoint, EventId, Money, OrgId, Outcome, ProjectId, Usage, UserId};
use uuid::Uuid;

/// How a column is stored (SQLite: BLOB, TEXT or INTEGER; PostgreSQL: the
/// type of the same name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Uuid,
    Text,
    Int8,
    Int4,
    Bool,
    Bytes,
}

impl Kind {
    /// The column type in SQLite's `STRICT` tables.
    pub const fn sqlite(self) -> &'static str {
        match self {
            Kind::Uuid | Kind::Bytes => "BLOB",
            Kind::Text => "TEXT",
            Kind::Int8 | Kind::Int4 | Kind::Bool => "INTEGER",
        }
    }

    /// The column type in PostgreSQL.
    pub const fn postgres(self) -> &'static str {
        match self {
            Kind::Uuid => "uuid",
            Kind::Text => "text",
            Kind::Int8 => "bigint",
            Kind::Int4 => "integer",
            Kind::Bool => "boolean",
            Kind::Bytes => "bytea",
        }
    }
}

/// One stored value, borrowed from an event or a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Null,
    Uuid(Uuid),
    Text(&'a str),
    Int(i64),
    Bool(bool),
}

impl<'a> Value<'a> {
    fn uuid(self) -> Result<Uuid, String> {
        match self {
            Value::Uuid(u) => Ok(u),
            other => Err(format!("expected an id, found {other:?}")),
        }
    }

    fn opt_int(self) -> Result<Option<i64>, String> {
        match self {
            Value::Null => Ok(None),
            Value::Int(n) => Ok(Some(n)),
            Value::Bool(b) => Ok(Some(i64::from(b))),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }

    fn int(self) -> Result<i64, String> {
        self.opt_int()?
            .ok_or_else(|| "expected an integer, found NULL".to_owned())
    }

    fn opt_text(self) -> Result<Option<&'a str>, String> {
        match self {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s)),
            other => Err(format!("expected text, found {other:?}")),
        }
    }

    fn text(self) -> Result<&'a str, String> {
        self.opt_text()?.ok_or_else(|| "expected text, found NULL".to_owned())
    }

    fn bool(self) -> Result<bool, String> {
        match self {
            Value::Bool(b) => Ok(b),
            Value::Int(n) => Ok(n != 0),
            other => Err(format!("expected a flag, found {other:?}")),
        }
    }
}

/// A column of `activity_events` and how it maps to [`ActivityEvent`].
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    /// The stored value of an event.
    pub get: for<'e> fn(&'e ActivityEvent) -> Value<'e>,
    /// Sets the field from a stored value.
    pub set: fn(&mut ActivityEvent, Value<'_>) -> Result<(), String>,
}

/// A count as stored: saturated into `i64`.
fn stored(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored count read back (a negative one counts as 0).
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn opt_text(v: &Option<String>) -> Value<'_> {
    v.as_deref().map_or(Value::Null, Value::Text)
}

fn opt_count(v: Option<u64>) -> Value<'static> {
    v.map_or(Value::Null, |n| Value::Int(stored(n)))
}

macro_rules! id {
    ($name:literal, $field:ident, $ty:ident) => {
        Column {
            name: $name,
            kind: Kind::Uuid,
            nullable: false,
            get: |e| Value::Uuid(*e.$field.as_uuid()),
            set: |e, v| {
                e.$field = $ty::from_uuid(v.uuid()?);
                Ok(())
            },
        }
    };
}

macro_rules! opt_text {
    ($name:literal, $($field:ident).+) => {
        Column {
            name: $name,
            kind: Kind::Text,
            nullable: true,
            get: |e| opt_text(&e.$($field).+),
            set: |e, v| {
                e.$($field).+ = v.opt_text()?.map(str::to_owned);
                Ok(())
            },
        }
    };
}

macro_rules! flag {
    ($name:literal, $field:ident) => {
        Column {
            name: $name,
            kind: Kind::Bool,
            nullable: false,
            get: |e| Value::Bool(e.$field),
            set: |e, v| {
                e.$field = v.bool()?;
                Ok(())
            },
        }
    };
}

macro_rules! opt_count {
    ($name:literal, $($field:ident).+) => {
        Column {
            name: $name,
            kind: Kind::Int8,
            nullable: true,
            get: |e| opt_count(e.$($field).+),
            set: |e, v| {
                e.$($field).+ = v.opt_int()?.map(count);
                Ok(())
            },
        }
    };
}

/// Every column of `activity_events`, in stored order.
pub const EVENT: &[Column] = &[
    id!("id", id, EventId),
    Column {
        name: "started_at",
        kind: Kind::Int8,
        nullable: false,
        get: |e| Value::Int(e.started_at.as_millisecond()),
        set: |e, v| {
            e.started_at = Timestamp::from_millisecond(v.int()?).map_err(|err| err.to_string())?;
            Ok(())
        },
    },
    id!("org_id", org_id, OrgId),
    id!("project_id", project_id, ProjectId),
    id!("api_key_id", api_key_id, ApiKeyId),
    id!("created_by", created_by, UserId),
    opt_text!("requested_model", requested_model),
    opt_text!("provider", provider),
    opt_text!("routed_model", routed_model),
    opt_text!("canonical_model", canonical_model),
    opt_text!("app", app),
    Column {
        name: "endpoint",
        kind: Kind::Text,
        nullable: false,
        get: |e| Value::Text(e.endpoint.as_str()),
        set: |e, v| {
            e.endpoint = v
                .text()?
                .parse()
                .map_err(|err: tally_core::ParseError| err.to_string())?;
            Ok(())
        },
    },
    flag!("stream", stream),
    Column {
        name: "outcome",
        kind: Kind::Text,
        nullable: false,
        get: |e| Value::Text(e.outcome.as_str()),
        set: |e, v| {
            e.outcome = v
                .text()?
                .parse()
                .map_err(|err: tally_core::ParseError| err.to_string())?;
            Ok(())
        },
    },
    Column {
        name: "http_status",
        kind: Kind::Int4,
        nullable: false,
        get: |e| Value::Int(i64::from(e.http_status)),
        set: |e, v| {
            e.http_status = u16::try_from(v.int()?).unwrap_or(0);
            Ok(())
        },
    },
    opt_text!("error", error),
    opt_count!("input_tokens", usage.input),
    opt_count!("cached_input_tokens", usage.cached_input),
    opt_count!("cache_write_tokens", usage.cache_write),
    opt_count!("output_tokens", usage.output),
    opt_count!("reasoning_tokens", usage.reasoning),
    Column {
        name: "cost_nanos",
        kind: Kind::Int8,
        nullable: false,
        get: |e| Value::Int(e.cost.nanos()),
        set: |e, v| {
            e.cost = Money::from_nanos(v.int()?);
            Ok(())
        },
    },
    flag!("estimated", estimated),
    flag!("unpriced", unpriced),
    Column {
        name: "latency_us",
        kind: Kind::Int8,
        nullable: false,
        get: |e| Value::Int(stored(e.latency_us)),
        set: |e, v| {
            e.latency_us = count(v.int()?);
            Ok(())
        },
    },
    opt_count!("ttft_us", ttft_us),
    flag!("usage_invalid", usage_invalid),
    opt_text!("end_user", end_user),
    Column {
        name: "tags",
        kind: Kind::Text,
        nullable: true,
        get: |e| e.tags.as_ref().map_or(Value::Null, |t| Value::Text(t.as_str())),
        set: |e, v| {
            e.tags = match v.opt_text()? {
                Some(text) => tally_core::Tags::parse(text).map_err(|err| err.to_string())?,
                None => None,
            };
            Ok(())
        },
    },
];

/// The columns of [`EVENT`] as a select or insert list.
/// How the column named `name` is stored, when [`EVENT`] has it.
pub fn kind_of(name: &str) -> Option<Kind> {
    EVENT.iter().find(|c| c.name == name).map(|c| c.kind)
}

pub fn column_list() -> String {
    EVENT.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

/// An event from its stored values, in [`EVENT`] order.
pub fn read<'a>(values: impl IntoIterator<Item = Value<'a>>) -> Result<ActivityEvent, String> {
    let mut e = blank();
    let mut n = 0;
    for (column, v) in EVENT.iter().zip(values) {
        (column.set)(&mut e, v).map_err(|err| format!("{}: {err}", column.name))?;
        n += 1;
    }
    if n == EVENT.len() {
        Ok(e)
    } else {
        Err(format!("{n} of {} columns", EVENT.len()))
    }
}

/// An event every column of [`EVENT`] overwrites.
pub(crate) fn blank() -> ActivityEvent {
    ActivityEvent {
        id: EventId::from_uuid(Uuid::nil()),
        started_at: Timestamp::UNIX_EPOCH,
        org_id: OrgId::from_uuid(Uuid::nil()),
        project_id: ProjectId::from_uuid(Uuid::nil()),
        api_key_id: ApiKeyId::from_uuid(Uuid::nil()),
        created_by: UserId::from_uuid(Uuid::nil()),
        requested_model: None,
        provider: None,
        routed_model: None,
        canonical_model: None,
        app: None,
        end_user: None,
        tags: None,
        endpoint: Endpoint::ChatCompletions,
        stream: false,
        outcome: Outcome::Success,
        http_status: 0,
        error: None,
        usage: Usage::default(),
        cost: Money::ZERO,
        estimated: false,
        unpriced: false,
        usage_invalid: false,
        latency_us: 0,
        ttft_us: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_is_named_once() {
        let mut names: Vec<&str> = EVENT.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EVENT.len());
    }
}
