-- Spending budgets: what a scope of an organization may spend in a
-- calendar period of a time zone. scope_kind is organization, project,
-- apiKey or member; scope_id names the project, key or user (NULL for the
-- organization). amount_nanos in integer nano-USD; thresholds are
-- percentages, ascending, comma-separated.
CREATE TABLE budgets (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organizations(id),
    scope_kind    text NOT NULL,
    scope_id      uuid,
    amount_nanos  bigint NOT NULL,
    period        text NOT NULL,
    timezone      text NOT NULL,
    action        text NOT NULL,
    thresholds    text NOT NULL,
    created_by    uuid NOT NULL,
    created_at    bigint NOT NULL
);

CREATE INDEX budgets_by_org ON budgets (org_id, id);

-- The tally processes sharing this database, by when each last said it
-- was alive: budgets count every live replica's spend in flight.
CREATE TABLE gateway_replicas (
    id       uuid PRIMARY KEY,
    seen_at  bigint NOT NULL
);
