-- Rollups per query shape, by UTC hour and by UTC day. Each analytics
-- query reads the smallest shape that holds its dimensions: whole UTC days
-- from the *_day tables, whole hours from the *_hour tables, and the
-- 15-minute remainder at the edges from usage_rollups. Maintained in the
-- same transaction as the raw events, like usage_rollups.

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
