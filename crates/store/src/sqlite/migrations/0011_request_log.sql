-- The request log (`log.rs`) reads a scope's events newest first, the id
-- breaking ties: one index per scope it is asked for most (an organization,
-- a project, an API key), each in that order. A member's events are read
-- through the organization's.
DROP INDEX activity_events_by_org_time;
CREATE INDEX activity_events_by_org_time ON activity_events(org_id, started_at, id);
CREATE INDEX activity_events_by_project_time ON activity_events(project_id, started_at, id);
CREATE INDEX activity_events_by_key_time ON activity_events(api_key_id, started_at, id);
