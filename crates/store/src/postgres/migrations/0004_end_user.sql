-- The client's own user a request was made for (`rollup/event.rs`).
ALTER TABLE activity_events ADD COLUMN end_user text;
