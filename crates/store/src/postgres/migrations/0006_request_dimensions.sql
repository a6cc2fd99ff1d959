-- The client's tags of a request, in their canonical text (`tally_core::Tags`).
ALTER TABLE activity_events ADD COLUMN tags text;

-- Five more dimensions of the 15-minute rows (`rollup/dim.rs`): the end
-- user, the tags, the HTTP status and the latency and time-to-first-token
-- histogram bins. Rows counted before this have none of them (status 0,
-- bin 0: left out of percentiles); `tally rollups rebuild` recounts them.
ALTER TABLE usage_rollups
    ADD COLUMN end_user text NOT NULL DEFAULT '',
    ADD COLUMN tags text NOT NULL DEFAULT '',
    ADD COLUMN http_status bigint NOT NULL DEFAULT 0,
    ADD COLUMN latency_bin bigint NOT NULL DEFAULT 0,
    ADD COLUMN ttft_bin bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_rollups ALTER COLUMN end_user DROP DEFAULT,
    ALTER COLUMN tags DROP DEFAULT,
    ALTER COLUMN http_status DROP DEFAULT,
    ALTER COLUMN latency_bin DROP DEFAULT,
    ALTER COLUMN ttft_bin DROP DEFAULT;
ALTER TABLE usage_rollups DROP CONSTRAINT usage_rollups_pkey;
ALTER TABLE usage_rollups ADD PRIMARY KEY
    (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app,
     end_user, tags, http_status, latency_bin, ttft_bin);
