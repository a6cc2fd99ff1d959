-- Webhooks an organization's alerts are delivered to. The signing secret
-- is not stored: it is derived from the installation key and salt.
CREATE TABLE webhooks (
    id          BLOB PRIMARY KEY,
    org_id      BLOB NOT NULL REFERENCES organizations(id),
    url         TEXT NOT NULL,
    salt        TEXT NOT NULL,
    created_by  BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

-- A budget's threshold reached in one period (period_start in Unix ms, 0
-- for a lifetime budget): written once, with its deliveries, so no
-- threshold fires twice and none is lost across restarts and replicas.
CREATE TABLE budget_alerts (
    budget_id     BLOB NOT NULL,
    period_start  INTEGER NOT NULL,
    threshold     INTEGER NOT NULL,
    fired_at      INTEGER NOT NULL,
    PRIMARY KEY (budget_id, period_start, threshold)
) STRICT;

-- One payload to one webhook; state is pending, delivered or failed.
-- A pending delivery is due at next_attempt_at (a sender claims it by
-- moving that time ahead).
CREATE TABLE webhook_deliveries (
    id               BLOB PRIMARY KEY,
    webhook_id       BLOB NOT NULL,
    org_id           BLOB NOT NULL,
    event            TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);

-- Every attempt to deliver: the answer's status, or why there was none.
CREATE TABLE webhook_attempts (
    delivery_id  BLOB NOT NULL,
    number       INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    status       INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, number)
) STRICT;
