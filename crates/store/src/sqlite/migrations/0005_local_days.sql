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
