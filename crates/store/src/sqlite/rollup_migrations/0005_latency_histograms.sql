-- Latency and time-to-first-token histograms move from two key columns of
-- `usage_rollups` (a row per bin) into two columns of every rollup row:
-- `Histogram::to_bytes` (`tally_core::latency`), NULL for none, merged by
-- `tally_hist_add` and `tally_hist_sum` (`sqlite/histogram.rs`). The
-- 15-minute rows that differed only by their bins become one row, the
-- latency and time-to-first-token shapes go (every shape has the
-- histograms now), and every other shape's rows are recomputed from the
-- 15-minute rows, which count everything (also days whose raw events were
-- pruned). On a large file this takes minutes, once.

CREATE TABLE usage_rollups_next (
    org_id               BLOB NOT NULL,
    bucket               INTEGER NOT NULL,
    api_key_id           BLOB NOT NULL,
    provider             TEXT NOT NULL,
    routed_model         TEXT NOT NULL,
    canonical_model      TEXT NOT NULL,
    app                  TEXT NOT NULL,
    end_user             TEXT NOT NULL,
    tags                 TEXT NOT NULL,
    http_status          INTEGER NOT NULL,
    project_id           BLOB NOT NULL,
    created_by           BLOB NOT NULL,
    requests             INTEGER NOT NULL,
    upstream_errors      INTEGER NOT NULL,
    gateway_errors       INTEGER NOT NULL,
    client_errors        INTEGER NOT NULL,
    canceled             INTEGER NOT NULL,
    input_tokens         INTEGER NOT NULL,
    cached_input_tokens  INTEGER NOT NULL,
    cache_write_tokens   INTEGER NOT NULL,
    output_tokens        INTEGER NOT NULL,
    reasoning_tokens     INTEGER NOT NULL,
    cost_nanos           INTEGER NOT NULL,
    estimated            INTEGER NOT NULL,
    unpriced             INTEGER NOT NULL,
    latency_us           INTEGER NOT NULL,
    ttft_us              INTEGER NOT NULL,
    ttft_count           INTEGER NOT NULL,
    usage_invalid        INTEGER NOT NULL,
    latency_hist         BLOB,
    ttft_hist            BLOB,
    PRIMARY KEY (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app, end_user, tags, http_status)
) STRICT, WITHOUT ROWID;
INSERT INTO usage_rollups_next (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app, end_user, tags, http_status, project_id, created_by, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT org_id, bucket, api_key_id, provider, routed_model, canonical_model, app, end_user, tags, http_status, MIN(project_id), MIN(created_by), tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_bins(latency_bin, requests), tally_hist_bins(ttft_bin, requests)
FROM usage_rollups
GROUP BY org_id, bucket, api_key_id, provider, routed_model, canonical_model, app, end_user, tags, http_status;
DROP TABLE usage_rollups;
ALTER TABLE usage_rollups_next RENAME TO usage_rollups;
CREATE INDEX usage_rollups_by_project ON usage_rollups(project_id, bucket);
CREATE INDEX usage_rollups_by_key ON usage_rollups(api_key_id, bucket);
CREATE INDEX usage_rollups_by_creator ON usage_rollups(org_id, created_by, bucket);

DROP TABLE rollup_project_latency_hour;
DROP TABLE rollup_project_latency_day;
DROP TABLE rollup_project_latency_localday;
DROP TABLE rollup_project_ttft_hour;
DROP TABLE rollup_project_ttft_day;
DROP TABLE rollup_project_ttft_localday;
DELETE FROM open_day_leads WHERE shape IN ('rollup_project_latency', 'rollup_project_ttft');

-- rollup_org_member: every row recomputed with its histograms.
ALTER TABLE rollup_org_member_hour ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_org_member_hour ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_org_member_hour;
INSERT INTO rollup_org_member_hour (org_id, created_by, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT org_id, created_by, bucket / 4, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY org_id, created_by, bucket / 4;
ALTER TABLE rollup_org_member_day ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_org_member_day ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_org_member_day;
INSERT INTO rollup_org_member_day (org_id, created_by, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT org_id, created_by, bucket / 96, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY org_id, created_by, bucket / 96;
ALTER TABLE rollup_org_member_localday ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_org_member_localday ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_org_member_localday;
INSERT INTO rollup_org_member_localday (org_id, created_by, phase, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT org_id, created_by, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups u CROSS JOIN local_day_phases p
GROUP BY org_id, created_by, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000;

-- rollup_member_app: every row recomputed with its histograms.
ALTER TABLE rollup_member_app_hour ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_member_app_hour ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_member_app_hour;
INSERT INTO rollup_member_app_hour (org_id, created_by, app, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT org_id, created_by, app, bucket / 4, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY org_id, created_by, app, bucket / 4;
ALTER TABLE rollup_member_app_day ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_member_app_day ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_member_app_day;
INSERT INTO rollup_member_app_day (org_id, created_by, app, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT org_id, created_by, app, bucket / 96, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY org_id, created_by, app, bucket / 96;
ALTER TABLE rollup_member_app_localday ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_member_app_localday ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_member_app_localday;
INSERT INTO rollup_member_app_localday (org_id, created_by, app, phase, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT org_id, created_by, app, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups u CROSS JOIN local_day_phases p
GROUP BY org_id, created_by, app, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000;

-- rollup_member_model: every row recomputed with its histograms.
ALTER TABLE rollup_member_model_hour ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_member_model_hour ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_member_model_hour;
INSERT INTO rollup_member_model_hour (org_id, created_by, provider, canonical_model, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT org_id, created_by, provider, canonical_model, bucket / 4, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY org_id, created_by, provider, canonical_model, bucket / 4;
ALTER TABLE rollup_member_model_day ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_member_model_day ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_member_model_day;
INSERT INTO rollup_member_model_day (org_id, created_by, provider, canonical_model, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT org_id, created_by, provider, canonical_model, bucket / 96, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY org_id, created_by, provider, canonical_model, bucket / 96;
ALTER TABLE rollup_member_model_localday ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_member_model_localday ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_member_model_localday;
INSERT INTO rollup_member_model_localday (org_id, created_by, provider, canonical_model, phase, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT org_id, created_by, provider, canonical_model, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups u CROSS JOIN local_day_phases p
GROUP BY org_id, created_by, provider, canonical_model, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000;

-- rollup_key_model: every row recomputed with its histograms.
ALTER TABLE rollup_key_model_hour ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_key_model_hour ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_key_model_hour;
INSERT INTO rollup_key_model_hour (api_key_id, org_id, provider, routed_model, canonical_model, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT api_key_id, org_id, provider, routed_model, canonical_model, bucket / 4, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY api_key_id, org_id, provider, routed_model, canonical_model, bucket / 4;
ALTER TABLE rollup_key_model_day ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_key_model_day ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_key_model_day;
INSERT INTO rollup_key_model_day (api_key_id, org_id, provider, routed_model, canonical_model, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT api_key_id, org_id, provider, routed_model, canonical_model, bucket / 96, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY api_key_id, org_id, provider, routed_model, canonical_model, bucket / 96;

-- rollup_project_model: every row recomputed with its histograms.
ALTER TABLE rollup_project_model_hour ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_project_model_hour ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_project_model_hour;
INSERT INTO rollup_project_model_hour (project_id, org_id, provider, routed_model, canonical_model, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT project_id, org_id, provider, routed_model, canonical_model, bucket / 4, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY project_id, org_id, provider, routed_model, canonical_model, bucket / 4;
ALTER TABLE rollup_project_model_day ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_project_model_day ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_project_model_day;
INSERT INTO rollup_project_model_day (project_id, org_id, provider, routed_model, canonical_model, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT project_id, org_id, provider, routed_model, canonical_model, bucket / 96, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY project_id, org_id, provider, routed_model, canonical_model, bucket / 96;
ALTER TABLE rollup_project_model_localday ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_project_model_localday ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_project_model_localday;
INSERT INTO rollup_project_model_localday (project_id, org_id, provider, routed_model, canonical_model, phase, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT project_id, org_id, provider, routed_model, canonical_model, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups u CROSS JOIN local_day_phases p
GROUP BY project_id, org_id, provider, routed_model, canonical_model, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000;

-- rollup_project_status: every row recomputed with its histograms.
ALTER TABLE rollup_project_status_hour ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_project_status_hour ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_project_status_hour;
INSERT INTO rollup_project_status_hour (project_id, org_id, http_status, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT project_id, org_id, http_status, bucket / 4, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY project_id, org_id, http_status, bucket / 4;
ALTER TABLE rollup_project_status_day ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_project_status_day ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_project_status_day;
INSERT INTO rollup_project_status_day (project_id, org_id, http_status, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT project_id, org_id, http_status, bucket / 96, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY project_id, org_id, http_status, bucket / 96;
ALTER TABLE rollup_project_status_localday ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_project_status_localday ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_project_status_localday;
INSERT INTO rollup_project_status_localday (project_id, org_id, http_status, phase, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT project_id, org_id, http_status, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups u CROSS JOIN local_day_phases p
GROUP BY project_id, org_id, http_status, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000;

-- rollup_project_end_user: every row recomputed with its histograms.
ALTER TABLE rollup_project_end_user_hour ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_project_end_user_hour ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_project_end_user_hour;
INSERT INTO rollup_project_end_user_hour (project_id, org_id, end_user, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT project_id, org_id, end_user, bucket / 4, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY project_id, org_id, end_user, bucket / 4;
ALTER TABLE rollup_project_end_user_day ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_project_end_user_day ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_project_end_user_day;
INSERT INTO rollup_project_end_user_day (project_id, org_id, end_user, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT project_id, org_id, end_user, bucket / 96, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY project_id, org_id, end_user, bucket / 96;
ALTER TABLE rollup_project_end_user_localday ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_project_end_user_localday ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_project_end_user_localday;
INSERT INTO rollup_project_end_user_localday (project_id, org_id, end_user, phase, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT project_id, org_id, end_user, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups u CROSS JOIN local_day_phases p
GROUP BY project_id, org_id, end_user, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000;

-- rollup_project_tags: every row recomputed with its histograms.
ALTER TABLE rollup_project_tags_hour ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_project_tags_hour ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_project_tags_hour;
INSERT INTO rollup_project_tags_hour (project_id, org_id, tags, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT project_id, org_id, tags, bucket / 4, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY project_id, org_id, tags, bucket / 4;
ALTER TABLE rollup_project_tags_day ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_project_tags_day ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_project_tags_day;
INSERT INTO rollup_project_tags_day (project_id, org_id, tags, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT project_id, org_id, tags, bucket / 96, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups
GROUP BY project_id, org_id, tags, bucket / 96;
ALTER TABLE rollup_project_tags_localday ADD COLUMN latency_hist BLOB;
ALTER TABLE rollup_project_tags_localday ADD COLUMN ttft_hist BLOB;
DELETE FROM rollup_project_tags_localday;
INSERT INTO rollup_project_tags_localday (project_id, org_id, tags, phase, bucket, requests, upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid, latency_hist, ttft_hist)
SELECT project_id, org_id, tags, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000, tally_sum(requests), tally_sum(upstream_errors), tally_sum(gateway_errors), tally_sum(client_errors), tally_sum(canceled), tally_sum(input_tokens), tally_sum(cached_input_tokens), tally_sum(cache_write_tokens), tally_sum(output_tokens), tally_sum(reasoning_tokens), tally_sum(cost_nanos), tally_sum(estimated), tally_sum(unpriced), tally_sum(latency_us), tally_sum(ttft_us), tally_sum(ttft_count), tally_sum(usage_invalid), tally_hist_sum(latency_hist), tally_hist_sum(ttft_hist)
FROM usage_rollups u CROSS JOIN local_day_phases p
GROUP BY project_id, org_id, tags, p.phase, (u.bucket * 900000 + p.phase * 60000) / 86400000;
