//! Rollup migrations carry what a file already counts.

#![allow(clippy::unwrap_used)]

use rusqlite::Connection;

use super::{ROLLUPS, apply};

/// A 15-minute row as rollup migration 3 left it, then every migration
/// since: the row keeps its sums with no end user, tags, status or bins,
/// and the shapes of migration 4 hold it by hour, UTC day and kept local day.
#[test]
fn the_request_dimensions_migration_keeps_counted_rows() {
    let mut c = Connection::open_in_memory().unwrap();
    apply(&mut c, &ROLLUPS[..3]).unwrap();
    let (org, key, project, user) = ([1_u8; 16], [2_u8; 16], [3_u8; 16], [4_u8; 16]);
    c.execute("INSERT INTO local_day_phases (phase) VALUES (330)", [])
        .unwrap();
    // Bucket 1,000 is 1970-01-11 10:00 UTC (15:30 in UTC+05:30).
    for (bucket, requests) in [(1_000_i64, 3_i64), (1_001, 4)] {
        c.execute(
            "INSERT INTO usage_rollups (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app,
                project_id, created_by, requests, upstream_errors, gateway_errors, client_errors, canceled,
                input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
                cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
             VALUES (?1, ?2, ?3, 'openai', 'openai/gpt-4o', 'gpt-4o', '', ?4, ?5, ?6, 1, 0, 0, 0,
                10, 0, 0, 5, 0, 700, 0, 0, 900, 0, 0, 0)",
            rusqlite::params![org, bucket, key, project, user, requests],
        )
        .unwrap();
    }
    apply(&mut c, &ROLLUPS[..4]).unwrap();
    let row: (String, String, i64, i64, i64, i64, i64) = c
        .query_row(
            "SELECT end_user, tags, http_status, latency_bin, ttft_bin, requests, cost_nanos
             FROM usage_rollups WHERE bucket = 1000",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(row, (String::new(), String::new(), 0, 0, 0, 3, 700));
    for (table, bucket) in [
        ("rollup_project_status_hour", 250),
        ("rollup_project_end_user_day", 10),
        ("rollup_project_latency_localday", 10),
    ] {
        let (requests, cost): (i64, i64) = c
            .query_row(
                &format!("SELECT SUM(requests), SUM(cost_nanos) FROM {table} WHERE bucket = ?1"),
                [bucket],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((requests, cost), (7, 1400), "{table}");
    }
}

/// 15-minute rows as rollup migration 4 left them, a row per latency and
/// time-to-first-token bin: migration 5 merges the rows that differed only
/// by their bins into one with both histograms, and every shape's rows
/// (here by project and model, by hour and by kept local day) carry them.
#[test]
fn the_histogram_migration_merges_rows_by_bin() {
    let mut c = Connection::open_in_memory().unwrap();
    crate::sqlite::saturate::register(&c).unwrap();
    crate::sqlite::histogram::register(&c).unwrap();
    apply(&mut c, &ROLLUPS[..4]).unwrap();
    let (org, key, project, user) = ([1_u8; 16], [2_u8; 16], [3_u8; 16], [4_u8; 16]);
    c.execute("INSERT INTO local_day_phases (phase) VALUES (330)", [])
        .unwrap();
    // (bucket, latency bin, ttft bin, requests): two bins of one quarter, a later quarter.
    for (bucket, bin, ttft, requests) in [
        (1_000_i64, 30_i64, 0_i64, 3_i64),
        (1_000, 31, 20, 2),
        (1_001, 30, 20, 1),
    ] {
        c.execute(
            "INSERT INTO usage_rollups (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app,
                end_user, tags, http_status, latency_bin, ttft_bin,
                project_id, created_by, requests, upstream_errors, gateway_errors, client_errors, canceled,
                input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
                cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
             VALUES (?1, ?2, ?3, 'openai', 'openai/gpt-4o', 'gpt-4o', '', '', '', 200, ?4, ?5, ?6, ?7, ?8, 0, 0, 0, 0,
                10, 0, 0, 5, 0, 700, 0, 0, 900, 0, 0, 0)",
            rusqlite::params![org, bucket, key, bin, ttft, project, user, requests],
        )
        .unwrap();
    }
    apply(&mut c, ROLLUPS).unwrap();
    let hist = |bins: &[(i64, u64)]| {
        let mut h = tally_core::latency::Histogram::default();
        for (b, n) in bins {
            h.add(*b, *n);
        }
        crate::sqlite::histogram::stored(&h)
    };
    let quarter: (i64, i64, Option<Vec<u8>>, Option<Vec<u8>>) = c
        .query_row(
            "SELECT COUNT(*), SUM(requests), MIN(latency_hist), MIN(ttft_hist) FROM usage_rollups WHERE bucket = 1000",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(quarter, (1, 5, hist(&[(30, 3), (31, 2)]), hist(&[(20, 2)])));
    for (table, bucket) in [
        ("rollup_project_model_hour", 250),
        ("rollup_project_model_localday", 10),
    ] {
        let row: (i64, i64, Option<Vec<u8>>, Option<Vec<u8>>) = c
            .query_row(
                &format!(
                    "SELECT COUNT(*), SUM(requests), MIN(latency_hist), MIN(ttft_hist) FROM {table} WHERE bucket = ?1"
                ),
                [bucket],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(row, (1, 6, hist(&[(30, 4), (31, 2)]), hist(&[(20, 3)])), "{table}");
    }
    let gone: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'rollup_project_latency%' OR name LIKE 'rollup_project_ttft%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(gone, 0);
}
