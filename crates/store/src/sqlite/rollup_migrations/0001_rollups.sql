-- The rollups' own database file (`tally.rollups.db` beside `tally.db`,
-- see `rollup_file.rs`): the tables of migrations 0003 to 0005 of the main
-- file, which migration 0007 of the main file moved here, and the watermark
-- that says which raw events they count.

-- Every raw event of the main file with rowid <= watermark is counted in
-- the tables of this file, and no other. `moved_legacy` is 1 once the
-- tables a main file of schema version 6 or older kept have been copied here.
CREATE TABLE rollup_state (
    watermark    INTEGER NOT NULL,
    moved_legacy INTEGER NOT NULL
) STRICT;
INSERT INTO rollup_state (watermark, moved_legacy) VALUES (0, 0);

-- Usage rollups.
-- One row per 15-minute UTC bucket and (key, provider, routed model,
-- canonical model, app). Every UTC offset in use is a multiple of 15 minutes,
-- so every local day boundary falls on a bucket boundary. A key fixes its
-- project and creator; they are copied here so queries need no join.
-- Text dimensions use '' for "none" so they can be part of the key.

CREATE TABLE usage_rollups (
    org_id               BLOB NOT NULL,
    bucket               INTEGER NOT NULL,  -- floor(unix milliseconds / 900000)
    api_key_id           BLOB NOT NULL,
    provider             TEXT NOT NULL,
    routed_model         TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
    app                  TEXT NOT NULL,
    project_id           BLOB NOT NULL,
    created_by           BLOB NOT NULL,
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
    PRIMARY KEY (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app)
) STRICT, WITHOUT ROWID;

CREATE INDEX usage_rollups_by_project ON usage_rollups(project_id, bucket);
CREATE INDEX usage_rollups_by_key ON usage_rollups(api_key_id, bucket);
CREATE INDEX usage_rollups_by_creator ON usage_rollups(org_id, created_by, bucket);

-- Rollups per query shape, by UTC hour and by UTC day. Each analytics
-- query reads the smallest shape that holds its dimensions: whole UTC days
-- from the *_day tables, whole hours from the *_hour tables, and the
-- 15-minute remainder at the edges from usage_rollups.

-- rollups by project and model, bucket = floor(unix milliseconds / 3600000)
CREATE TABLE rollup_project_model_hour (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    routed_model         TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
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
    PRIMARY KEY (project_id, bucket, org_id, provider, routed_model, canonical_model)
) STRICT, WITHOUT ROWID;

-- rollups by project and model, bucket = floor(unix milliseconds / 86400000)
CREATE TABLE rollup_project_model_day (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    routed_model         TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
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
    PRIMARY KEY (project_id, bucket, org_id, provider, routed_model, canonical_model)
) STRICT, WITHOUT ROWID;

-- rollups by API key and model, bucket = floor(unix milliseconds / 3600000)
CREATE TABLE rollup_key_model_hour (
    org_id               BLOB NOT NULL,
    api_key_id           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    routed_model         TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
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
    PRIMARY KEY (api_key_id, bucket, org_id, provider, routed_model, canonical_model)
) STRICT, WITHOUT ROWID;

-- rollups by API key and model, bucket = floor(unix milliseconds / 86400000)
CREATE TABLE rollup_key_model_day (
    org_id               BLOB NOT NULL,
    api_key_id           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    routed_model         TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
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
    PRIMARY KEY (api_key_id, bucket, org_id, provider, routed_model, canonical_model)
) STRICT, WITHOUT ROWID;

-- rollups by member (key creator) and model, bucket = floor(unix milliseconds / 3600000)
CREATE TABLE rollup_member_model_hour (
    org_id               BLOB NOT NULL,
    created_by           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
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
    PRIMARY KEY (org_id, created_by, bucket, provider, canonical_model)
) STRICT, WITHOUT ROWID;

-- rollups by member (key creator) and model, bucket = floor(unix milliseconds / 86400000)
CREATE TABLE rollup_member_model_day (
    org_id               BLOB NOT NULL,
    created_by           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
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
    PRIMARY KEY (org_id, created_by, bucket, provider, canonical_model)
) STRICT, WITHOUT ROWID;

-- rollups by member and app, bucket = floor(unix milliseconds / 3600000)
CREATE TABLE rollup_member_app_hour (
    org_id               BLOB NOT NULL,
    created_by           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    app                  TEXT NOT NULL,
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
    PRIMARY KEY (org_id, created_by, bucket, app)
) STRICT, WITHOUT ROWID;

-- rollups by member and app, bucket = floor(unix milliseconds / 86400000)
CREATE TABLE rollup_member_app_day (
    org_id               BLOB NOT NULL,
    created_by           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    app                  TEXT NOT NULL,
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
    PRIMARY KEY (org_id, created_by, bucket, app)
) STRICT, WITHOUT ROWID;

-- rollups by organization and member, bucket = floor(unix milliseconds / 3600000)
CREATE TABLE rollup_org_member_hour (
    org_id               BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    created_by           BLOB NOT NULL,
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
    PRIMARY KEY (org_id, bucket, created_by)
) STRICT, WITHOUT ROWID;

-- rollups by organization and member, bucket = floor(unix milliseconds / 86400000)
CREATE TABLE rollup_org_member_day (
    org_id               BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    created_by           BLOB NOT NULL,
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
    PRIMARY KEY (org_id, bucket, created_by)
) STRICT, WITHOUT ROWID;

-- Local-day rollups: for the UTC offsets of the time zones an operator
-- names (`local_day_zones`), the shapes that daily series read (project x
-- model, and each member shape) summed by local day. `phase` is the offset in
-- minutes east of UTC; bucket = floor((unix milliseconds + phase * 60000)
-- / 86400000), so a local day of any zone with that offset is one bucket,
-- half-hour offsets included. A daily series there reads one row per day and
-- model instead of every hour of the day plus its 15-minute edges.

-- The offsets maintained; rows exist for these phases only.
CREATE TABLE local_day_phases (
    phase INTEGER PRIMARY KEY
) STRICT;

CREATE TABLE rollup_project_model_localday (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    phase                INTEGER NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    routed_model         TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
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
    PRIMARY KEY (project_id, phase, bucket, org_id, provider, routed_model, canonical_model)
) STRICT, WITHOUT ROWID;

CREATE TABLE rollup_member_model_localday (
    org_id               BLOB NOT NULL,
    created_by           BLOB NOT NULL,
    phase                INTEGER NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
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
    PRIMARY KEY (org_id, created_by, phase, bucket, provider, canonical_model)
) STRICT, WITHOUT ROWID;

CREATE TABLE rollup_member_app_localday (
    org_id               BLOB NOT NULL,
    created_by           BLOB NOT NULL,
    phase                INTEGER NOT NULL,
    bucket               INTEGER NOT NULL,
    app                  TEXT NOT NULL,
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
    PRIMARY KEY (org_id, created_by, phase, bucket, app)
) STRICT, WITHOUT ROWID;

CREATE TABLE rollup_org_member_localday (
    org_id               BLOB NOT NULL,
    created_by           BLOB NOT NULL,
    phase                INTEGER NOT NULL,
    bucket               INTEGER NOT NULL,
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
    PRIMARY KEY (org_id, phase, bucket, created_by)
) STRICT, WITHOUT ROWID;
