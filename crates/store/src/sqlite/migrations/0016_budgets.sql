-- Spending budgets: what a scope of an organization may spend in a
-- calendar period of a time zone. scope_kind is organization, project,
-- apiKey or member; scope_id names the project, key or user (NULL for the
-- organization). amount_nanos in integer nano-USD; thresholds are
-- percentages, ascending, comma-separated.
CREATE TABLE budgets (
    id            BLOB PRIMARY KEY,
    org_id        BLOB NOT NULL REFERENCES organizations(id),
    scope_kind    TEXT NOT NULL,
    scope_id      BLOB,
    amount_nanos  INTEGER NOT NULL,
    period        TEXT NOT NULL,
    timezone      TEXT NOT NULL,
    action        TEXT NOT NULL,
    thresholds    TEXT NOT NULL,
    created_by    BLOB NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX budgets_by_org ON budgets (org_id, id);
