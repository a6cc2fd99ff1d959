-- Body capture, per project, off by default: the request body as received
-- and the response as relayed, each cut at the gateway's cap, kept for the
-- project's retention. Never headers.
ALTER TABLE projects ADD COLUMN capture_bodies INTEGER NOT NULL DEFAULT 0 CHECK (capture_bodies IN (0, 1));
ALTER TABLE projects ADD COLUMN body_retention_days INTEGER NOT NULL DEFAULT 7
    CHECK (body_retention_days BETWEEN 1 AND 90);

CREATE TABLE request_bodies (
    event_id            BLOB PRIMARY KEY,
    project_id          BLOB NOT NULL,
    started_at          INTEGER NOT NULL,
    request             BLOB NOT NULL,
    response            BLOB NOT NULL,
    request_truncated   INTEGER NOT NULL CHECK (request_truncated IN (0, 1)),
    response_truncated  INTEGER NOT NULL CHECK (response_truncated IN (0, 1))
) STRICT;
-- Retention deletes each project's bodies older than its days.
CREATE INDEX request_bodies_by_project_time ON request_bodies(project_id, started_at);
