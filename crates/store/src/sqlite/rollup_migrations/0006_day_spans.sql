-- Spans of days (`ingest/spans.rs`): the end-user shape by project is also
-- kept in spans of 2, 4, … 64 days (`level`: 1 << level days), aligned on
-- their length, of UTC days (phase 0) and of the local days of every kept
-- phase; a span's bucket is its first day. A long range then reads a few
-- spans instead of every day's rows. A span is complete, and read, once
-- every day in it is before `spans_open`: the writer computes the spans
-- that complete as the open day moves, and the first write after this
-- migration computes every span of the days already counted.

CREATE TABLE rollup_project_end_user_span (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    phase                INTEGER NOT NULL,
    level                INTEGER NOT NULL,
    bucket               INTEGER NOT NULL,
    end_user             TEXT NOT NULL,
    requests             INTEGER NOT NULL,
    upstream_errors      INTEGER NOT NULL,
    gateway_errors       INTEGER NOT NULL,
    client_errors        INTEGER NOT NULL,
    canceled             INTEGER NOT NULL,
    input_tokens         INTEGER NOT NULL,
    cached_input_tokens  INTEGER NOT NULL,
    cache_write_tokens   INTEGER NOT NULL,
    output_tokens        INTEGER NOT NULL,
    reasoning_tokens     INTEGER NOT NULL,
    cost_nanos           INTEGER NOT NULL,
    estimated            INTEGER NOT NULL,
    unpriced             INTEGER NOT NULL,
    latency_us           INTEGER NOT NULL,
    ttft_us              INTEGER NOT NULL,
    ttft_count           INTEGER NOT NULL,
    usage_invalid        INTEGER NOT NULL,
    latency_hist         BLOB,
    ttft_hist            BLOB,
    PRIMARY KEY (project_id, phase, level, bucket, org_id, end_user)
) STRICT, WITHOUT ROWID;

ALTER TABLE rollup_state ADD COLUMN spans_open INTEGER NOT NULL DEFAULT 0;
