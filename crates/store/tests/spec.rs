//! The rollup spec against the shipped migrations: every table the spec
//! describes exists in each engine with exactly its columns, types, null
//! rules and primary key, after every migration has run on a fresh store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use tally_store::postgres::PgStore;
use tally_store::rollup::dim::{BUCKET, DimKind};
use tally_store::rollup::event::{EVENT, Kind};
use tally_store::rollup::grain::Grain;
use tally_store::rollup::measure::{HIST_COLUMNS, MEASURES};
use tally_store::rollup::shape::{QUARTERS, SHAPES, Shape};
use tally_store::sqlite::{SqliteStore, rollups_path};

/// A column as a table declares it: type and whether it may be NULL.
type Columns = BTreeMap<String, (String, bool)>;

/// What the spec says a table of `shape` at `grain` holds (SQLite types).
fn expected_rollup(shape: &Shape, grain: Grain) -> Columns {
    let mut cols = Columns::new();
    for c in shape.cols {
        let kind = match c.dimension().kind {
            DimKind::Text => "TEXT",
            DimKind::Id => "BLOB",
            DimKind::Int => "INTEGER",
        };
        cols.insert(c.name().to_owned(), (kind.to_owned(), false));
    }
    if matches!(grain, Grain::LocalDay | Grain::Span) {
        cols.insert("phase".to_owned(), ("INTEGER".to_owned(), false));
    }
    if grain == Grain::Span {
        cols.insert("level".to_owned(), ("INTEGER".to_owned(), false));
    }
    cols.insert(BUCKET.to_owned(), ("INTEGER".to_owned(), false));
    for m in &MEASURES {
        cols.insert(m.column.to_owned(), ("INTEGER".to_owned(), false));
    }
    for h in HIST_COLUMNS {
        cols.insert(h.to_owned(), ("BLOB".to_owned(), true));
    }
    cols
}

/// A SQLite table's columns and its primary key, in key order.
fn sqlite_table(c: &rusqlite::Connection, table: &str) -> (Columns, Vec<String>) {
    let mut stmt = c.prepare(&format!("PRAGMA table_info({table})")).unwrap();
    let mut cols = Columns::new();
    let mut key: Vec<(i64, String)> = Vec::new();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (name, ty, not_null, pk) = row.unwrap();
        // A primary-key column of a WITHOUT ROWID or STRICT table is never NULL.
        cols.insert(name.clone(), (ty, !(not_null || pk > 0)));
        if pk > 0 {
            key.push((pk, name));
        }
    }
    key.sort();
    (cols, key.into_iter().map(|(_, n)| n).collect())
}

#[test]
fn sqlite_tables_are_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let main = dir.path().join(tally_store::sqlite::DB_FILE);
    let events = rusqlite::Connection::open(&main).unwrap();
    let (cols, _) = sqlite_table(&events, "activity_events");
    let mut stmt = events
        .prepare("SELECT name FROM pragma_table_info('activity_events') ORDER BY cid")
        .unwrap();
    let names: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    // In stored order, so that a reader by position could not go wrong either.
    assert_eq!(names, EVENT.iter().map(|c| c.name).collect::<Vec<_>>());
    for c in EVENT {
        assert_eq!(
            cols[c.name],
            (c.kind.sqlite().to_owned(), c.nullable),
            "activity_events.{}",
            c.name
        );
    }

    let rollups = rusqlite::Connection::open(rollups_path(&main)).unwrap();
    let mut tables = vec![(&QUARTERS, Grain::Quarter)];
    for s in SHAPES {
        tables.extend(s.grains.iter().map(|g| (s, *g)));
    }
    for (shape, grain) in tables {
        let table = shape.table_of(grain);
        let (cols, key) = sqlite_table(&rollups, &table);
        assert_eq!(cols, expected_rollup(shape, grain), "{table}");
        assert_eq!(key, shape.primary_key(grain), "{table}");
    }
    // No table is left over from an earlier spec.
    let mut stmt = rollups
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    let mut names: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    names.retain(|n| {
        ![
            "rollup_state",
            "local_day_phases",
            "open_day_leads",
            "schema_migrations",
        ]
        .contains(&n.as_str())
    });
    let mut want = tally_store::rollup::shape::tables();
    want.sort();
    assert_eq!(names, want);
}

#[tokio::test]
async fn postgres_tables_are_the_spec() {
    let db = tally_pg_harness::database().await;
    drop(PgStore::connect(db.url(), 1).await.unwrap());
    let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let columns = |table: &'static str| {
        let client = &client;
        async move {
            client
                .query(
                    "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns
                     WHERE table_name = $1 ORDER BY ordinal_position",
                    &[&table],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1), r.get::<_, bool>(2)))
                .collect::<Vec<_>>()
        }
    };
    let want: Vec<(String, String, bool)> = EVENT
        .iter()
        .map(|c| (c.name.to_owned(), c.kind.postgres().to_owned(), c.nullable))
        .collect();
    assert_eq!(columns("activity_events").await, want);

    let mut want: Vec<(String, String, bool)> = QUARTERS
        .cols
        .iter()
        .map(|c| {
            let kind = match c.kind() {
                DimKind::Text => Kind::Text,
                DimKind::Id => Kind::Uuid,
                DimKind::Int => Kind::Int8,
            };
            (c.name().to_owned(), kind.postgres().to_owned(), false)
        })
        .collect();
    want.push((BUCKET.to_owned(), Kind::Int8.postgres().to_owned(), false));
    want.extend(
        MEASURES
            .iter()
            .map(|m| (m.column.to_owned(), Kind::Int8.postgres().to_owned(), false)),
    );
    want.extend(HIST_COLUMNS.iter().map(|h| (h.to_string(), "jsonb".to_owned(), true)));
    let mut got = columns("usage_rollups").await;
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

/// One row of ARCHITECTURE.md's table of shapes, as the spec says it.
fn doc_row(shape: &Shape) -> String {
    let code = |names: &[&str]| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let names: Vec<&str> = shape.cols.iter().map(|c| c.name()).collect();
    let keyed = names.len() - shape.carried;
    let mut key = format!(
        "{} · {}",
        code(&names[..shape.before_bucket]),
        code(&names[shape.before_bucket..keyed])
    );
    if shape.carried > 0 {
        key.push_str(&format!(" ({} carried)", code(&names[keyed..])));
    }
    let grains: Vec<&str> = shape
        .grains
        .iter()
        .map(|g| match g {
            Grain::Quarter => "15 min",
            Grain::Hour => "hour",
            Grain::UtcDay => "UTC day",
            Grain::LocalDay => "local day",
            Grain::Span => "spans of 2–64 days",
        })
        .collect();
    format!("| `{}` | {key} | {} |", shape.table, grains.join(", "))
}

#[test]
fn the_architecture_table_of_shapes_is_the_spec() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../ARCHITECTURE.md")).unwrap();
    let start = doc.find("<!-- spec:shapes -->\n").unwrap() + "<!-- spec:shapes -->\n".len();
    let end = doc.find("<!-- /spec:shapes -->").unwrap();
    let rows: Vec<String> = std::iter::once(&QUARTERS).chain(SHAPES).map(doc_row).collect();
    // After the header and its rule.
    let table: Vec<&str> = doc[start..end].lines().skip(2).collect();
    assert_eq!(table, rows, "ARCHITECTURE.md's table of shapes");
}
