-- Accounts, login tokens and the raw activity events.
-- Ids are 16-byte UUID blobs, times are Unix milliseconds (UTC),
-- money is integer nano-USD.

CREATE TABLE organizations (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    plan        TEXT NOT NULL CHECK (plan IN ('free', 'pro', 'enterprise')),
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id             BLOB PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
    org_id      BLOB NOT NULL REFERENCES organizations(id),
    user_id     BLOB NOT NULL REFERENCES users(id),
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer')),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX memberships_by_user ON memberships(user_id);

CREATE TABLE projects (
    id          BLOB PRIMARY KEY,
    org_id      BLOB NOT NULL REFERENCES organizations(id),
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    deleted_at  INTEGER
) STRICT;
CREATE INDEX projects_by_org ON projects(org_id);

CREATE TABLE api_keys (
    id            BLOB PRIMARY KEY,
    org_id        BLOB NOT NULL REFERENCES organizations(id),
    project_id    BLOB NOT NULL REFERENCES projects(id),
    name          TEXT NOT NULL,
    secret_hash   BLOB NOT NULL UNIQUE,
    last4         TEXT NOT NULL,
    created_by    BLOB NOT NULL REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
) STRICT;
CREATE INDEX api_keys_by_project ON api_keys(project_id);
CREATE INDEX api_keys_by_org ON api_keys(org_id);

CREATE TABLE user_tokens (
    id            BLOB PRIMARY KEY,
    user_id       BLOB NOT NULL REFERENCES users(id),
    kind          TEXT NOT NULL CHECK (kind IN ('session', 'personal')),
    name          TEXT NOT NULL,
    secret_hash   BLOB NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER
) STRICT;
CREATE INDEX user_tokens_by_user ON user_tokens(user_id);

-- One row per gateway request, whatever its outcome.
CREATE TABLE activity_events (
    id               BLOB PRIMARY KEY,
    started_at       INTEGER NOT NULL,
    org_id           BLOB NOT NULL,
    project_id       BLOB NOT NULL,
    api_key_id       BLOB NOT NULL,
    created_by       BLOB NOT NULL,
    requested_model  TEXT,
    provider         TEXT,
    routed_model     TEXT,
    canonical_model  TEXT,
    app              TEXT,
    endpoint         TEXT NOT NULL,
    stream           INTEGER NOT NULL,
    outcome          TEXT NOT NULL,
    http_status      INTEGER NOT NULL,
    error            TEXT,
    input_tokens        INTEGER,
    cached_input_tokens INTEGER,
    cache_write_tokens  INTEGER,
    output_tokens       INTEGER,
    reasoning_tokens    INTEGER,
    cost_nanos       INTEGER NOT NULL,
    estimated        INTEGER NOT NULL,
    unpriced         INTEGER NOT NULL,
    latency_us       INTEGER NOT NULL,
    ttft_us          INTEGER
) STRICT;
CREATE INDEX activity_events_by_org_time ON activity_events(org_id, started_at);
