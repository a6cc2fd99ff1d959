-- Webhooks an organization's alerts are delivered to. The signing secret
-- is not stored: it is derived from the installation key and salt.
CREATE TABLE webhooks (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organizations(id),
    url         text NOT NULL,
    salt        text NOT NULL,
    created_by  uuid NOT NULL,
    created_at  bigint NOT NULL
);

-- A budget's threshold reached in one period (period_start in Unix ms, 0
-- for a lifetime budget): written once, with its deliveries, so no
-- threshold fires twice and none is lost across restarts and replicas.
CREATE TABLE budget_alerts (
    budget_id     uuid NOT NULL,
    period_start  bigint NOT NULL,
    threshold     bigint NOT NULL,
    fired_at      bigint NOT NULL,
    PRIMARY KEY (budget_id, period_start, threshold)
);

-- One payload to one webhook; state is pending, delivered or failed.
-- A pending delivery is due at next_attempt_at (a sender claims it by
-- moving that time ahead).
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY,
    webhook_id       uuid NOT NULL,
    org_id           uuid NOT NULL,
    event            text NOT NULL,
    payload          text NOT NULL,
    state            text NOT NULL,
    attempts         bigint NOT NULL,
    next_attempt_at  bigint NOT NULL,
    created_at       bigint NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);

-- Every attempt to deliver: the answer's status, or why there was none.
CREATE TABLE webhook_attempts (
    delivery_id  uuid NOT NULL,
    number       bigint NOT NULL,
    at           bigint NOT NULL,
    status       bigint,
    error        text,
    duration_ms  bigint NOT NULL,
    PRIMARY KEY (delivery_id, number)
);
