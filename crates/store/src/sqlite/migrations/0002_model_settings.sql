-- Per-organization model aliases and price overrides.

CREATE TABLE model_mappings (
    id          BLOB PRIMARY KEY,
    org_id      BLOB NOT NULL REFERENCES organizations(id),
    alias       TEXT NOT NULL,
    target      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (org_id, alias)
) STRICT;

-- Prices in integer nano-USD per million tokens.
CREATE TABLE price_overrides (
    id            BLOB PRIMARY KEY,
    org_id        BLOB NOT NULL REFERENCES organizations(id),
    model         TEXT NOT NULL,
    input         INTEGER NOT NULL,
    cached_input  INTEGER,
    cache_write   INTEGER,
    output        INTEGER NOT NULL,
    reasoning     INTEGER,
    created_at    INTEGER NOT NULL,
    UNIQUE (org_id, model)
) STRICT;
