-- Body capture, per project, off by default: the request body as received
-- and the response as relayed, each cut at the gateway's cap, kept for the
-- project's retention. Never headers.
ALTER TABLE projects ADD COLUMN capture_bodies boolean NOT NULL DEFAULT false;
ALTER TABLE projects ADD COLUMN body_retention_days bigint NOT NULL DEFAULT 7
    CHECK (body_retention_days BETWEEN 1 AND 90);

CREATE TABLE request_bodies (
    event_id            uuid PRIMARY KEY,
    project_id          uuid NOT NULL,
    started_at          bigint NOT NULL,
    request             bytea NOT NULL,
    response            bytea NOT NULL,
    request_truncated   boolean NOT NULL,
    response_truncated  boolean NOT NULL
);
-- Retention deletes each project's bodies older than its days.
CREATE INDEX request_bodies_by_project_time ON request_bodies(project_id, started_at);
