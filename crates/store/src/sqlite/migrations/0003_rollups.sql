-- Usage rollups, maintained in the same transaction as the raw events.
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
