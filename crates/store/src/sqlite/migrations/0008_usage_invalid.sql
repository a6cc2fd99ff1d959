-- Usage a provider reported that tally refused (a count out of range or not
-- an integer, a part above its whole): the event's tokens are an estimate or
-- zero, and this flag says so.
ALTER TABLE activity_events ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
