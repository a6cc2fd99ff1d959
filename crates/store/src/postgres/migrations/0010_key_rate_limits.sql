-- An API key may have rate limits: requests and tokens per minute
-- (1 to 1,000,000,000), enforced by the gateway; NULL: unlimited.
ALTER TABLE api_keys ADD COLUMN requests_per_minute bigint;
ALTER TABLE api_keys ADD COLUMN tokens_per_minute bigint;
