-- The PostgreSQL schema, equivalent to the SQLite migrations 1 to 3.
-- Ids are uuid, times are Unix milliseconds (UTC) in BIGINT, money is
-- integer nano-USD in BIGINT. Text that is sorted for display is sorted with
-- COLLATE "C" in the queries, so the order is bytewise whatever the
-- database's collation (as in SQLite).

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    plan        text NOT NULL CHECK (plan IN ('free', 'pro', 'enterprise')),
    created_at  bigint NOT NULL
);

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    email          text NOT NULL UNIQUE,
    name           text NOT NULL,
    password_hash  text NOT NULL,
    created_at     bigint NOT NULL
);

CREATE TABLE memberships (
    org_id      uuid NOT NULL REFERENCES organizations(id),
    user_id     uuid NOT NULL REFERENCES users(id),
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'developer')),
    created_at  bigint NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships(user_id);

CREATE TABLE projects (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organizations(id),
    name        text NOT NULL,
    created_at  bigint NOT NULL,
    deleted_at  bigint
);
CREATE INDEX projects_by_org ON projects(org_id);

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organizations(id),
    project_id    uuid NOT NULL REFERENCES projects(id),
    name          text NOT NULL,
    secret_hash   bytea NOT NULL UNIQUE,
    last4         text NOT NULL,
    created_by    uuid NOT NULL REFERENCES users(id),
    created_at    bigint NOT NULL,
    last_used_at  bigint,
    revoked_at    bigint
);
CREATE INDEX api_keys_by_project ON api_keys(project_id);
CREATE INDEX api_keys_by_org ON api_keys(org_id);

CREATE TABLE user_tokens (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users(id),
    kind          text NOT NULL CHECK (kind IN ('session', 'personal')),
    name          text NOT NULL,
    secret_hash   bytea NOT NULL UNIQUE,
    created_at    bigint NOT NULL,
    expires_at    bigint,
    last_used_at  bigint
);
CREATE INDEX user_tokens_by_user ON user_tokens(user_id);

CREATE TABLE model_mappings (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organizations(id),
    alias       text NOT NULL,
    target      text NOT NULL,
    created_at  bigint NOT NULL,
    UNIQUE (org_id, alias)
);

-- Prices in integer nano-USD per million tokens.
CREATE TABLE price_overrides (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organizations(id),
    model         text NOT NULL,
    input         bigint NOT NULL,
    cached_input  bigint,
    cache_write   bigint,
    output        bigint NOT NULL,
    reasoning     bigint,
    created_at    bigint NOT NULL,
    UNIQUE (org_id, model)
);

-- One row per gateway request, whatever its outcome. No foreign keys: the
-- history outlives what it refers to.
CREATE TABLE activity_events (
    id               uuid PRIMARY KEY,
    started_at       bigint NOT NULL,
    org_id           uuid NOT NULL,
    project_id       uuid NOT NULL,
    api_key_id       uuid NOT NULL,
    created_by       uuid NOT NULL,
    requested_model  text,
    provider         text,
    routed_model     text,
    canonical_model  text,
    app              text,
    endpoint         text NOT NULL,
    stream           boolean NOT NULL,
    outcome          text NOT NULL,
    http_status      integer NOT NULL,
    error            text,
    input_tokens        bigint,
    cached_input_tokens bigint,
    cache_write_tokens  bigint,
    output_tokens       bigint,
    reasoning_tokens    bigint,
    cost_nanos       bigint NOT NULL,
    estimated        boolean NOT NULL,
    unpriced         boolean NOT NULL,
    latency_us       bigint NOT NULL,
    ttft_us          bigint
);
-- The activity log (an organization's newest events).
CREATE INDEX activity_events_by_org_time ON activity_events(org_id, started_at);
-- Retention: deleting events older than a cut-off.
CREATE INDEX activity_events_by_time ON activity_events(started_at);

-- Usage rollups, maintained in the same transaction as the raw events: one
-- row per 15-minute UTC bucket and (key, provider, routed model, canonical
-- model, app). Text dimensions use '' for "none" so they can be part of the
-- key. Concurrent writers add to a row with INSERT … ON CONFLICT DO UPDATE.
CREATE TABLE usage_rollups (
    org_id               uuid NOT NULL,
    bucket               bigint NOT NULL,  -- floor(unix milliseconds / 900000)
    api_key_id           uuid NOT NULL,
    provider             text NOT NULL,
    routed_model         text NOT NULL,
    canonical_model      text NOT NULL,
    app                  text NOT NULL,
    project_id           uuid NOT NULL,
    created_by           uuid NOT NULL,
    requests             bigint NOT NULL,
    upstream_errors      bigint NOT NULL,
    gateway_errors       bigint NOT NULL,
    client_errors        bigint NOT NULL,
    canceled             bigint NOT NULL,
    input_tokens         bigint NOT NULL,
    cached_input_tokens  bigint NOT NULL,
    cache_write_tokens   bigint NOT NULL,
    output_tokens        bigint NOT NULL,
    reasoning_tokens     bigint NOT NULL,
    cost_nanos           bigint NOT NULL,
    estimated            bigint NOT NULL,
    unpriced             bigint NOT NULL,
    latency_us           bigint NOT NULL,
    ttft_us              bigint NOT NULL,
    ttft_count           bigint NOT NULL,
    PRIMARY KEY (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app)
);
CREATE INDEX usage_rollups_by_project ON usage_rollups(project_id, bucket);
CREATE INDEX usage_rollups_by_key ON usage_rollups(api_key_id, bucket);
CREATE INDEX usage_rollups_by_creator ON usage_rollups(org_id, created_by, bucket);
