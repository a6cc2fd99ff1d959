-- The client's tags of a request, in their canonical text (`tally_core::Tags`).
ALTER TABLE activity_events ADD COLUMN tags TEXT;
