-- An API key may expire: from `expires_at` (Unix milliseconds) on, the
-- gateway refuses it as expired; NULL: never.
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
