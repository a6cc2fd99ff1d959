-- Five more dimensions of the 15-minute rows: the end user, the tags, the
-- HTTP status and the latency and time-to-first-token histogram bins
-- (`tally_core::latency`: eight bins per doubling, 0 for no first token),
-- and five shapes by project over them (`rollup/shape.rs`). Rows counted
-- before this have none of them: no end user, no tags, status 0 and bin 0
-- (left out of percentiles). `tally rollups rebuild` recounts them from the
-- raw events that are kept.

CREATE TABLE usage_rollups_next (
    org_id               BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    api_key_id           BLOB NOT NULL,
    provider             TEXT NOT NULL,
    routed_model         TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
    app                  TEXT NOT NULL,
    end_user             TEXT NOT NULL,
    tags                 TEXT NOT NULL,
    http_status          INTEGER NOT NULL,
    latency_bin          INTEGER NOT NULL,
    ttft_bin             INTEGER NOT NULL,
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
    usage_invalid        INTEGER NOT NULL,
    PRIMARY KEY (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app, end_user, tags, http_status, latency_bin, ttft_bin)
) STRICT, WITHOUT ROWID;
INSERT INTO usage_rollups_next (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app, end_user, tags, http_status, latency_bin, ttft_bin, project_id, created_by, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT org_id, bucket, api_key_id, provider, routed_model, canonical_model, app, '', '', 0, 0, 0, project_id, created_by, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid FROM usage_rollups;
DROP TABLE usage_rollups;
ALTER TABLE usage_rollups_next RENAME TO usage_rollups;
CREATE INDEX usage_rollups_by_project ON usage_rollups(project_id, bucket);
CREATE INDEX usage_rollups_by_key ON usage_rollups(api_key_id, bucket);
CREATE INDEX usage_rollups_by_creator ON usage_rollups(org_id, created_by, bucket);

-- rollup_project_status: by project, then http_status.
CREATE TABLE rollup_project_status_hour (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    http_status          INTEGER NOT NULL,
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
    PRIMARY KEY (project_id, bucket, org_id, http_status)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_project_status_day (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    http_status          INTEGER NOT NULL,
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
    PRIMARY KEY (project_id, bucket, org_id, http_status)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_project_status_localday (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    phase                INTEGER NOT NULL,
    bucket               INTEGER NOT NULL,
    http_status          INTEGER NOT NULL,
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
    PRIMARY KEY (project_id, phase, bucket, org_id, http_status)
) STRICT, WITHOUT ROWID;
INSERT INTO rollup_project_status_hour (project_id, org_id, http_status, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, http_status, bucket / 4, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid) FROM usage_rollups GROUP BY project_id, org_id, http_status, bucket / 4;
INSERT INTO rollup_project_status_day (project_id, org_id, http_status, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, http_status, bucket / 96, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid) FROM usage_rollups GROUP BY project_id, org_id, http_status, bucket / 96;
INSERT INTO rollup_project_status_localday (project_id, org_id, http_status, phase, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, http_status, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid)
FROM usage_rollups u CROSS JOIN local_day_phases p
GROUP BY project_id, org_id, http_status, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000;

-- rollup_project_end_user: by project, then end_user.
CREATE TABLE rollup_project_end_user_hour (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
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
    PRIMARY KEY (project_id, bucket, org_id, end_user)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_project_end_user_day (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
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
    PRIMARY KEY (project_id, bucket, org_id, end_user)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_project_end_user_localday (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    phase                INTEGER NOT NULL,
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
    PRIMARY KEY (project_id, phase, bucket, org_id, end_user)
) STRICT, WITHOUT ROWID;
INSERT INTO rollup_project_end_user_hour (project_id, org_id, end_user, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, end_user, bucket / 4, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid) FROM usage_rollups GROUP BY project_id, org_id, end_user, bucket / 4;
INSERT INTO rollup_project_end_user_day (project_id, org_id, end_user, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, end_user, bucket / 96, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid) FROM usage_rollups GROUP BY project_id, org_id, end_user, bucket / 96;
INSERT INTO rollup_project_end_user_localday (project_id, org_id, end_user, phase, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, end_user, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid)
FROM usage_rollups u CROSS JOIN local_day_phases p
GROUP BY project_id, org_id, end_user, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000;

-- rollup_project_tags: by project, then tags.
CREATE TABLE rollup_project_tags_hour (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    tags                 TEXT NOT NULL,
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
    PRIMARY KEY (project_id, bucket, org_id, tags)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_project_tags_day (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    tags                 TEXT NOT NULL,
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
    PRIMARY KEY (project_id, bucket, org_id, tags)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_project_tags_localday (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    phase                INTEGER NOT NULL,
    bucket               INTEGER NOT NULL,
    tags                 TEXT NOT NULL,
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
    PRIMARY KEY (project_id, phase, bucket, org_id, tags)
) STRICT, WITHOUT ROWID;
INSERT INTO rollup_project_tags_hour (project_id, org_id, tags, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, tags, bucket / 4, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid) FROM usage_rollups GROUP BY project_id, org_id, tags, bucket / 4;
INSERT INTO rollup_project_tags_day (project_id, org_id, tags, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, tags, bucket / 96, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid) FROM usage_rollups GROUP BY project_id, org_id, tags, bucket / 96;
INSERT INTO rollup_project_tags_localday (project_id, org_id, tags, phase, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, tags, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid)
FROM usage_rollups u CROSS JOIN local_day_phases p
GROUP BY project_id, org_id, tags, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000;

-- rollup_project_latency: by project, then provider, canonical_model, latency_bin.
CREATE TABLE rollup_project_latency_hour (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
    latency_bin          INTEGER NOT NULL,
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
    PRIMARY KEY (project_id, bucket, org_id, provider, canonical_model, latency_bin)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_project_latency_day (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
    latency_bin          INTEGER NOT NULL,
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
    PRIMARY KEY (project_id, bucket, org_id, provider, canonical_model, latency_bin)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_project_latency_localday (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    phase                INTEGER NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
    latency_bin          INTEGER NOT NULL,
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
    PRIMARY KEY (project_id, phase, bucket, org_id, provider, canonical_model, latency_bin)
) STRICT, WITHOUT ROWID;
INSERT INTO rollup_project_latency_hour (project_id, org_id, provider, canonical_model, latency_bin, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, provider, canonical_model, latency_bin, bucket / 4, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid) FROM usage_rollups GROUP BY project_id, org_id, provider, canonical_model, latency_bin, bucket / 4;
INSERT INTO rollup_project_latency_day (project_id, org_id, provider, canonical_model, latency_bin, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, provider, canonical_model, latency_bin, bucket / 96, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid) FROM usage_rollups GROUP BY project_id, org_id, provider, canonical_model, latency_bin, bucket / 96;
INSERT INTO rollup_project_latency_localday (project_id, org_id, provider, canonical_model, latency_bin, phase, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, provider, canonical_model, latency_bin, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid)
FROM usage_rollups u CROSS JOIN local_day_phases p
GROUP BY project_id, org_id, provider, canonical_model, latency_bin, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000;

-- rollup_project_ttft: by project, then provider, canonical_model, ttft_bin.
CREATE TABLE rollup_project_ttft_hour (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
    ttft_bin             INTEGER NOT NULL,
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
    PRIMARY KEY (project_id, bucket, org_id, provider, canonical_model, ttft_bin)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_project_ttft_day (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
    ttft_bin             INTEGER NOT NULL,
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
    PRIMARY KEY (project_id, bucket, org_id, provider, canonical_model, ttft_bin)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_project_ttft_localday (
    org_id               BLOB NOT NULL,
    project_id           BLOB NOT NULL,
    phase                INTEGER NOT NULL,
    bucket               INTEGER NOT NULL,
    provider             TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
    ttft_bin             INTEGER NOT NULL,
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
    PRIMARY KEY (project_id, phase, bucket, org_id, provider, canonical_model, ttft_bin)
) STRICT, WITHOUT ROWID;
INSERT INTO rollup_project_ttft_hour (project_id, org_id, provider, canonical_model, ttft_bin, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, provider, canonical_model, ttft_bin, bucket / 4, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid) FROM usage_rollups GROUP BY project_id, org_id, provider, canonical_model, ttft_bin, bucket / 4;
INSERT INTO rollup_project_ttft_day (project_id, org_id, provider, canonical_model, ttft_bin, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, provider, canonical_model, ttft_bin, bucket / 96, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid) FROM usage_rollups GROUP BY project_id, org_id, provider, canonical_model, ttft_bin, bucket / 96;
INSERT INTO rollup_project_ttft_localday (project_id, org_id, provider, canonical_model, ttft_bin, phase, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid)
SELECT project_id, org_id, provider, canonical_model, ttft_bin, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000, SUM(requests), SUM(upstream_errors), SUM(gateway_errors), SUM(client_errors), SUM(canceled), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), SUM(estimated), SUM(unpriced), SUM(latency_us), SUM(ttft_us), SUM(ttft_count), SUM(usage_invalid)
FROM usage_rollups u CROSS JOIN local_day_phases p
GROUP BY project_id, org_id, provider, canonical_model, ttft_bin, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000;

