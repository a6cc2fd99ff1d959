//! Moving an embedded installation to PostgreSQL: every table copied with
//! its ids, in dependency order, in one target transaction (all or
//! nothing), then checked: row counts per table, and per organization the
//! raw events (count, tokens, cost) and the rollups (requests, tokens, cost)
//! on both sides.
//!
//! Rollups are copied, not recounted: after retention has deleted old raw
//! events the rollups are the only record of those days.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;

use tally_core::Money;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

use crate::postgres::{PgError, PgStore};
use crate::sqlite::SqliteStore;
use crate::{ActivityStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The target already holds data (and `force` was not given).
    #[error("the target database is not empty ({0}); pass --force to replace its contents")]
    NotEmpty(String),
    /// The source has a table this copy does not know (a newer tally?):
    /// copying without it would lose data.
    #[error("the source has tables this tally cannot copy: {0}")]
    UnknownTables(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Source tables that are not copied: the migration log, the SQLite
/// store's per-shape and local-day rollups (`rollup_*`, `local_day_phases`),
/// which are derived from the same events as `usage_rollups` and which
/// PostgreSQL does without. Since migration 0007 the rollups live in their
/// own file, which the main file's table list does not show.
fn derived(table: &str) -> bool {
    table == "schema_migrations" || table == "local_day_phases" || table.starts_with("rollup_")
}

/// Tables of the source that would not be copied and are not derived.
fn unknown_tables(c: &rusqlite::Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = c.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut unknown = Vec::new();
    for name in names {
        let name = name?;
        if !derived(&name) && !TABLES.iter().any(|t| t.name == name) {
            unknown.push(name);
        }
    }
    unknown.sort();
    Ok(unknown)
}

impl From<PgError> for TransferError {
    fn from(e: PgError) -> Self {
        TransferError::Store(e.into())
    }
}

impl From<tokio_postgres::Error> for TransferError {
    fn from(e: tokio_postgres::Error) -> Self {
        TransferError::Store(PgError::Db(e).into())
    }
}

impl From<rusqlite::Error> for TransferError {
    fn from(e: rusqlite::Error) -> Self {
        TransferError::Store(e.into())
    }
}

use crate::rollup::event::Kind::{self, *};

struct Table {
    name: &'static str,
    columns: Columns,
}

/// A table's columns: listed here, or those the rollup spec declares.
enum Columns {
    Listed(&'static [(&'static str, Kind)]),
    /// `activity_events`: [`crate::rollup::event::EVENT`].
    Events,
    /// `usage_rollups`: [`crate::rollup::shape::QUARTERS`] and every measure.
    Quarters,
}

impl Table {
    fn columns(&self) -> Vec<(&'static str, Kind)> {
        use crate::rollup::{dim, event, measure, shape};
        match self.columns {
            Columns::Listed(list) => list.to_vec(),
            Columns::Events => event::EVENT.iter().map(|c| (c.name, c.kind)).collect(),
            Columns::Quarters => {
                let kind = |c: dim::Col| c.kind().stored();
                let mut out: Vec<_> = shape::QUARTERS.cols.iter().map(|c| (c.name(), kind(*c))).collect();
                out.push((dim::BUCKET, Int8));
                out.extend(measure::COLUMNS.iter().map(|m| (*m, Int8)));
                // Blobs in SQLite, `jsonb` in PostgreSQL (see `is_histogram`).
                out.extend(measure::HIST_COLUMNS.iter().map(|h| (*h, Bytes)));
                out
            }
        }
    }
}

/// Every table, parents before children. Column names are the same on both
/// sides; the kinds are the PostgreSQL types.
const TABLES: &[Table] = &[
    Table {
        name: "organizations",
        columns: Columns::Listed(&[
            ("id", Uuid),
            ("name", Text),
            ("plan", Text),
            ("created_at", Int8),
            ("timezone", Text),
        ]),
    },
    Table {
        name: "users",
        columns: Columns::Listed(&[
            ("id", Uuid),
            ("email", Text),
            ("name", Text),
            ("password_hash", Text),
            ("created_at", Int8),
        ]),
    },
    Table {
        name: "memberships",
        columns: Columns::Listed(&[
            ("org_id", Uuid),
            ("user_id", Uuid),
            ("role", Text),
            ("created_at", Int8),
        ]),
    },
    Table {
        name: "projects",
        columns: Columns::Listed(&[
            ("id", Uuid),
            ("org_id", Uuid),
            ("name", Text),
            ("created_at", Int8),
            ("deleted_at", Int8),
            ("capture_bodies", Bool),
            ("body_retention_days", Int8),
        ]),
    },
    Table {
        name: "api_keys",
        columns: Columns::Listed(&[
            ("id", Uuid),
            ("org_id", Uuid),
            ("project_id", Uuid),
            ("name", Text),
            ("secret_hash", Bytes),
            ("last4", Text),
            ("created_by", Uuid),
            ("created_at", Int8),
            ("last_used_at", Int8),
            ("revoked_at", Int8),
            ("expires_at", Int8),
            ("requests_per_minute", Int8),
            ("tokens_per_minute", Int8),
        ]),
    },
    Table {
        name: "user_tokens",
        columns: Columns::Listed(&[
            ("id", Uuid),
            ("user_id", Uuid),
            ("kind", Text),
            ("name", Text),
            ("secret_hash", Bytes),
            ("created_at", Int8),
            ("expires_at", Int8),
            ("last_used_at", Int8),
        ]),
    },
    Table {
        name: "invitations",
        columns: Columns::Listed(&[
            ("id", Uuid),
            ("org_id", Uuid),
            ("email", Text),
            ("role", Text),
            ("secret_hash", Bytes),
            ("invited_by", Uuid),
            ("created_at", Int8),
            ("expires_at", Int8),
            ("accepted_at", Int8),
            ("accepted_by", Uuid),
            ("revoked_at", Int8),
        ]),
    },
    Table {
        name: "model_mappings",
        columns: Columns::Listed(&[
            ("id", Uuid),
            ("org_id", Uuid),
            ("alias", Text),
            ("target", Text),
            ("created_at", Int8),
        ]),
    },
    Table {
        name: "price_overrides",
        columns: Columns::Listed(&[
            ("id", Uuid),
            ("org_id", Uuid),
            ("model", Text),
            ("input", Int8),
            ("cached_input", Int8),
            ("cache_write", Int8),
            ("output", Int8),
            ("reasoning", Int8),
            ("created_at", Int8),
        ]),
    },
    Table {
        name: "budgets",
        columns: Columns::Listed(&[
            ("id", Uuid),
            ("org_id", Uuid),
            ("scope_kind", Text),
            ("scope_id", Uuid),
            ("amount_nanos", Int8),
            ("period", Text),
            ("timezone", Text),
            ("action", Text),
            ("thresholds", Text),
            ("created_by", Uuid),
            ("created_at", Int8),
        ]),
    },
    Table {
        name: "webhooks",
        columns: Columns::Listed(&[
            ("id", Uuid),
            ("org_id", Uuid),
            ("url", Text),
            ("salt", Text),
            ("created_by", Uuid),
            ("created_at", Int8),
        ]),
    },
    Table {
        name: "budget_alerts",
        columns: Columns::Listed(&[
            ("budget_id", Uuid),
            ("period_start", Int8),
            ("threshold", Int8),
            ("fired_at", Int8),
        ]),
    },
    Table {
        name: "webhook_deliveries",
        columns: Columns::Listed(&[
            ("id", Uuid),
            ("webhook_id", Uuid),
            ("org_id", Uuid),
            ("event", Text),
            ("payload", Text),
            ("state", Text),
            ("attempts", Int8),
            ("next_attempt_at", Int8),
            ("created_at", Int8),
        ]),
    },
    Table {
        name: "webhook_attempts",
        columns: Columns::Listed(&[
            ("delivery_id", Uuid),
            ("number", Int8),
            ("at", Int8),
            ("status", Int8),
            ("error", Text),
            ("duration_ms", Int8),
        ]),
    },
    Table {
        name: "activity_events",
        columns: Columns::Events,
    },
    Table {
        name: "usage_rollups",
        columns: Columns::Quarters,
    },
    Table {
        name: "request_bodies",
        columns: Columns::Listed(&[
            ("event_id", Uuid),
            ("project_id", Uuid),
            ("started_at", Int8),
            ("request", Bytes),
            ("response", Bytes),
            ("request_truncated", Bool),
            ("response_truncated", Bool),
        ]),
    },
];

/// One value, already in its PostgreSQL type.
enum Cell {
    Uuid(Option<Uuid>),
    Text(Option<String>),
    Int8(Option<i64>),
    Int4(Option<i32>),
    Bool(Option<bool>),
    Bytes(Option<Vec<u8>>),
    Jsonb(Option<Jsonb>),
}

/// A `jsonb` value from its text, for a binary `COPY`.
#[derive(Debug)]
struct Jsonb(String);

impl ToSql for Jsonb {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // jsonb's binary form: format version 1, then the text.
        out.extend_from_slice(&[1]);
        out.extend_from_slice(self.0.as_bytes());
        Ok(tokio_postgres::types::IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSONB
    }

    tokio_postgres::types::to_sql_checked!();
}

/// Whether a copied column is a rollup histogram (a blob of
/// `Histogram::to_bytes` in SQLite, `jsonb` in PostgreSQL).
fn is_histogram(column: &str) -> bool {
    crate::rollup::measure::HIST_COLUMNS.contains(&column)
}

impl Cell {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Cell::Uuid(v) => v,
            Cell::Text(v) => v,
            Cell::Int8(v) => v,
            Cell::Int4(v) => v,
            Cell::Bool(v) => v,
            Cell::Bytes(v) => v,
            Cell::Jsonb(v) => v,
        }
    }
}

fn pg_type(kind: Kind) -> Type {
    match kind {
        Uuid => Type::UUID,
        Text => Type::TEXT,
        Int8 => Type::INT8,
        Int4 => Type::INT4,
        Bool => Type::BOOL,
        Bytes => Type::BYTEA,
    }
}

fn cell(table: &str, column: &str, kind: Kind, v: rusqlite::types::ValueRef<'_>) -> Result<Cell, StoreError> {
    use rusqlite::types::ValueRef as V;
    let bad = || StoreError::Corrupt(format!("{table}.{column}: unexpected value {v:?}"));
    if is_histogram(column) {
        return Ok(match v {
            V::Null => Cell::Jsonb(None),
            V::Blob(b) => {
                let h = tally_core::latency::Histogram::from_bytes(b).map_err(|_| bad())?;
                Cell::Jsonb(crate::postgres::hist_json(&h).map(Jsonb))
            }
            _ => return Err(bad()),
        });
    }
    Ok(match (kind, v) {
        (Uuid, V::Null) => Cell::Uuid(None),
        (Uuid, V::Blob(b)) => Cell::Uuid(Some(uuid::Uuid::from_slice(b).map_err(|_| bad())?)),
        (Text, V::Null) => Cell::Text(None),
        (Text, V::Text(t)) => Cell::Text(Some(String::from_utf8(t.to_vec()).map_err(|_| bad())?)),
        (Int8, V::Null) => Cell::Int8(None),
        (Int8, V::Integer(i)) => Cell::Int8(Some(i)),
        (Int4, V::Null) => Cell::Int4(None),
        (Int4, V::Integer(i)) => Cell::Int4(Some(i32::try_from(i).map_err(|_| bad())?)),
        (Bool, V::Null) => Cell::Bool(None),
        (Bool, V::Integer(i)) => Cell::Bool(Some(i != 0)),
        (Bytes, V::Null) => Cell::Bytes(None),
        (Bytes, V::Blob(b)) => Cell::Bytes(Some(b.to_vec())),
        _ => return Err(bad()),
    })
}

/// Rows of one table, read from the source.
struct Page {
    table: usize,
    rows: Vec<Vec<Cell>>,
}

const PAGE_ROWS: usize = 2_000;

/// Reads every table in one read transaction (a consistent snapshot even
/// beside a running server) and sends it page by page.
fn read_source(c: &rusqlite::Connection, pages: &tokio::sync::mpsc::Sender<Page>) -> Result<(), StoreError> {
    let tx = c.unchecked_transaction()?;
    for (index, table) in TABLES.iter().enumerate() {
        let columns = table.columns();
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let mut stmt = tx.prepare(&format!("SELECT {} FROM {}", names.join(", "), table.name))?;
        let mut rows = stmt.query([])?;
        // A failed send: the writing side gave up; it reports why.
        let sent = |rows| pages.blocking_send(Page { table: index, rows }).is_ok();
        let mut page = Vec::with_capacity(PAGE_ROWS);
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(columns.len());
            for (i, (column, kind)) in columns.iter().enumerate() {
                cells.push(cell(table.name, column, *kind, row.get_ref(i)?)?);
            }
            page.push(cells);
            if page.len() == PAGE_ROWS && !sent(std::mem::replace(&mut page, Vec::with_capacity(PAGE_ROWS))) {
                return Ok(());
            }
        }
        if !sent(page) {
            return Ok(());
        }
    }
    Ok(())
}

/// Copies everything from `source` into `target`. Refuses a target that
/// holds any row unless `force`, which empties it first (in the same
/// transaction as the copy). Returns the check of the result.
pub async fn sqlite_to_postgres(source: &SqliteStore, target: &PgStore, force: bool) -> Result<Report, TransferError> {
    // The source's rollups count every event first, so they are copied whole.
    source.flush().await?;
    let unknown = source.read(unknown_tables).await?;
    if !unknown.is_empty() {
        return Err(TransferError::UnknownTables(unknown.join(", ")));
    }
    let mut client = target.client().await?;
    let tx = client.transaction().await?;
    let mut present = Vec::new();
    for table in TABLES {
        let n: i64 = tx
            .query_one(&format!("SELECT COUNT(*) FROM {}", table.name), &[])
            .await?
            .try_get(0)?;
        if n > 0 {
            present.push(format!("{}: {n} rows", table.name));
        }
    }
    if !present.is_empty() {
        if !force {
            return Err(TransferError::NotEmpty(present.join(", ")));
        }
        let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        tx.batch_execute(&format!("TRUNCATE {}", names.join(", "))).await?;
    }

    let (send, mut pages) = tokio::sync::mpsc::channel::<Page>(4);
    let reader = source.read(move |c| read_source(c, &send));
    let writer = async {
        let mut current: Option<(usize, Pin<Box<BinaryCopyInWriter>>)> = None;
        while let Some(page) = pages.recv().await {
            if current.as_ref().is_none_or(|(t, _)| *t != page.table) {
                if let Some((_, mut w)) = current.take() {
                    w.as_mut().finish().await?;
                }
                let table = &TABLES[page.table];
                let columns = table.columns();
                let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
                let types: Vec<Type> = columns
                    .iter()
                    .map(|(n, k)| if is_histogram(n) { Type::JSONB } else { pg_type(*k) })
                    .collect();
                let sink = tx
                    .copy_in(&format!("COPY {} ({}) FROM STDIN BINARY", table.name, names.join(", ")))
                    .await?;
                current = Some((page.table, Box::pin(BinaryCopyInWriter::new(sink, &types))));
            }
            if let Some((_, w)) = current.as_mut() {
                for row in &page.rows {
                    let values: Vec<&(dyn ToSql + Sync)> = row.iter().map(Cell::as_sql).collect();
                    w.as_mut().write(&values).await?;
                }
            }
        }
        if let Some((_, mut w)) = current.take() {
            w.as_mut().finish().await?;
        }
        Ok::<(), TransferError>(())
    };
    let (read, written) = tokio::join!(reader, writer);
    // A write failure ends the reader early (its sends fail), so report it first.
    written?;
    read?;
    tx.commit().await?;
    drop(client);
    check(source, target).await
}

/// Sums over an organization's raw events or rollups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    /// Raw events: how many; rollups: the sum of `requests`.
    pub requests: i64,
    pub input: i64,
    pub cached_input: i64,
    pub cache_write: i64,
    pub output: i64,
    pub reasoning: i64,
    pub cost_nanos: i64,
}

impl Sums {
    /// The sums of a row that selects them (as `select_sums` does) after
    /// the organization's id: column `i` read by `n(i)`.
    fn read<E>(n: impl Fn(usize) -> Result<i64, E>) -> Result<Self, E> {
        Ok(Sums {
            requests: n(1)?,
            input: n(2)?,
            cached_input: n(3)?,
            cache_write: n(4)?,
            output: n(5)?,
            reasoning: n(6)?,
            cost_nanos: n(7)?,
        })
    }
}

impl fmt::Display for Sums {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests, tokens in {} (cached {}, cache write {}) out {} (reasoning {}), cost {} USD",
            self.requests,
            self.input,
            self.cached_input,
            self.cache_write,
            self.output,
            self.reasoning,
            Money::from_nanos(self.cost_nanos)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCheck {
    pub table: &'static str,
    pub source: i64,
    pub target: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgCheck {
    pub org: Uuid,
    pub name: String,
    pub source_events: Sums,
    pub target_events: Sums,
    pub source_rollups: Sums,
    pub target_rollups: Sums,
}

/// The check of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub tables: Vec<TableCheck>,
    pub orgs: Vec<OrgCheck>,
}

impl Report {
    /// Every difference between source and target, described.
    pub fn mismatches(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.tables {
            if t.source != t.target {
                out.push(format!(
                    "{}: {} rows in the source, {} in the target",
                    t.table, t.source, t.target
                ));
            }
        }
        for o in &self.orgs {
            if o.source_events != o.target_events {
                out.push(format!(
                    "organization {} ({}): raw events differ: source {}; target {}",
                    o.org, o.name, o.source_events, o.target_events
                ));
            }
            if o.source_rollups != o.target_rollups {
                out.push(format!(
                    "organization {} ({}): rollups differ: source {}; target {}",
                    o.org, o.name, o.source_rollups, o.target_rollups
                ));
            }
        }
        out
    }

    pub fn is_exact(&self) -> bool {
        self.mismatches().is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<18} {:>12} {:>12}", "table", "source", "target")?;
        for t in &self.tables {
            let mark = if t.source == t.target { "ok" } else { "MISMATCH" };
            writeln!(f, "{:<18} {:>12} {:>12}  {mark}", t.table, t.source, t.target)?;
        }
        for o in &self.orgs {
            writeln!(f, "organization {} ({})", o.org, o.name)?;
            for (what, source, target) in [
                ("raw events", o.source_events, o.target_events),
                ("rollups", o.source_rollups, o.target_rollups),
            ] {
                if source == target {
                    writeln!(f, "  {what:<10} ok: {source}")?;
                } else {
                    writeln!(f, "  {what:<10} MISMATCH: source {source}; target {target}")?;
                }
            }
            if o.source_rollups != o.source_events {
                writeln!(
                    f,
                    "  note: the rollups cover more or other requests than the raw events (raw events pruned?); \
                     both were copied as they are"
                )?;
            }
        }
        Ok(())
    }
}

const EVENT_SUMS: [&str; 7] = [
    "COUNT(*)",
    "SUM(COALESCE(input_tokens, 0))",
    "SUM(COALESCE(cached_input_tokens, 0))",
    "SUM(COALESCE(cache_write_tokens, 0))",
    "SUM(COALESCE(output_tokens, 0))",
    "SUM(COALESCE(reasoning_tokens, 0))",
    "SUM(cost_nanos)",
];
const ROLLUP_SUMS: [&str; 7] = [
    "SUM(requests)",
    "SUM(input_tokens)",
    "SUM(cached_input_tokens)",
    "SUM(cache_write_tokens)",
    "SUM(output_tokens)",
    "SUM(reasoning_tokens)",
    "SUM(cost_nanos)",
];

/// The sums as a select list; PostgreSQL sums BIGINT into NUMERIC, so
/// there each is cast back (exactly: an overflow is an error, not a rounding).
fn select_sums(exprs: &[&str], postgres: bool) -> String {
    exprs
        .iter()
        .map(|e| {
            if postgres {
                format!("({e})::bigint")
            } else {
                (*e).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

type OrgSums = BTreeMap<Uuid, Sums>;

/// The numbers of one side: rows per table (in [`TABLES`] order), sums per
/// organization, and organization names.
#[derive(Default)]
struct Side {
    counts: Vec<i64>,
    events: OrgSums,
    rollups: OrgSums,
    names: BTreeMap<Uuid, String>,
}

fn sqlite_side(c: &rusqlite::Connection) -> Result<Side, StoreError> {
    let tx = c.unchecked_transaction()?;
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push(tx.query_row(&format!("SELECT COUNT(*) FROM {}", table.name), [], |r| r.get(0))?);
    }
    let sums = |exprs: &[&str], table: &str| -> Result<OrgSums, StoreError> {
        let mut stmt = tx.prepare(&format!(
            "SELECT org_id, {} FROM {table} GROUP BY org_id",
            select_sums(exprs, false)
        ))?;
        let rows = stmt.query_map([], |r| {
            let n = |i: usize| -> rusqlite::Result<i64> { Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0)) };
            Ok((r.get::<_, Uuid>(0)?, Sums::read(n)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    let events = sums(&EVENT_SUMS, "activity_events")?;
    let rollups = sums(&ROLLUP_SUMS, "usage_rollups")?;
    let mut stmt = tx.prepare("SELECT id, name FROM organizations")?;
    let names = stmt
        .query_map([], |r| Ok((r.get::<_, Uuid>(0)?, r.get::<_, String>(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(Side {
        counts,
        events,
        rollups,
        names,
    })
}

async fn postgres_side(target: &PgStore) -> Result<Side, TransferError> {
    let mut client = target.client().await?;
    // One snapshot for every number.
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let mut counts = Vec::new();
    for table in TABLES {
        let n: i64 = tx
            .query_one(&format!("SELECT COUNT(*) FROM {}", table.name), &[])
            .await?
            .try_get(0)?;
        counts.push(n);
    }
    let mut all = Vec::new();
    for (exprs, table) in [(EVENT_SUMS, "activity_events"), (ROLLUP_SUMS, "usage_rollups")] {
        let rows = tx
            .query(
                &format!(
                    "SELECT org_id, {} FROM {table} GROUP BY org_id",
                    select_sums(&exprs, true)
                ),
                &[],
            )
            .await?;
        let mut sums = OrgSums::new();
        for r in rows {
            let n =
                |i: usize| -> Result<i64, tokio_postgres::Error> { Ok(r.try_get::<_, Option<i64>>(i)?.unwrap_or(0)) };
            sums.insert(r.try_get(0)?, Sums::read(n)?);
        }
        all.push(sums);
    }
    tx.commit().await?;
    let rollups = all.pop().unwrap_or_default();
    let events = all.pop().unwrap_or_default();
    Ok(Side {
        counts,
        events,
        rollups,
        names: BTreeMap::new(),
    })
}

/// Compares `source` and `target` table by table and organization by
/// organization.
pub async fn check(source: &SqliteStore, target: &PgStore) -> Result<Report, TransferError> {
    source.flush().await?;
    let from = source.read(sqlite_side).await?;
    let to = postgres_side(target).await?;
    let tables = TABLES
        .iter()
        .zip(from.counts.iter().zip(&to.counts))
        .map(|(t, (s, d))| TableCheck {
            table: t.name,
            source: *s,
            target: *d,
        })
        .collect();
    let mut orgs: Vec<Uuid> = from
        .events
        .keys()
        .chain(to.events.keys())
        .chain(from.rollups.keys())
        .chain(to.rollups.keys())
        .chain(from.names.keys())
        .copied()
        .collect();
    orgs.sort();
    orgs.dedup();
    let get = |m: &OrgSums, o: &Uuid| m.get(o).copied().unwrap_or_default();
    let orgs = orgs
        .iter()
        .map(|o| OrgCheck {
            org: *o,
            name: from
                .names
                .get(o)
                .cloned()
                .unwrap_or_else(|| "no such organization".to_owned()),
            source_events: get(&from.events, o),
            target_events: get(&to.events, o),
            source_rollups: get(&from.rollups, o),
            target_rollups: get(&to.rollups, o),
        })
        .collect();
    Ok(Report { tables, orgs })
}
