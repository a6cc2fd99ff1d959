-- Latency and time-to-first-token histograms move from two key columns of
-- `usage_rollups` (a row per bin) into two columns of each row: a `jsonb`
-- object of bin (`tally_core::latency`) to count, merged by the functions
-- below. Rows that differed only by their bins become one row.

-- The merge of two histograms (NULL for none); counts saturate.
CREATE FUNCTION tally_hist_add(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a ELSE (
        SELECT jsonb_object_agg(k, n) FROM (
            SELECT k, LEAST(SUM(v::numeric), 9223372036854775807)::bigint AS n
            FROM (SELECT key, value FROM jsonb_each_text(a)
                  UNION ALL SELECT key, value FROM jsonb_each_text(b)) AS e(k, v)
            GROUP BY k
        ) AS s
    ) END
$$;

CREATE AGGREGATE tally_hist_sum(jsonb) (SFUNC = tally_hist_add, STYPE = jsonb);

CREATE TEMPORARY TABLE usage_rollups_merged ON COMMIT DROP AS
SELECT org_id, bucket, api_key_id, provider, routed_model, canonical_model, app,
       end_user, tags, http_status,
       (array_agg(project_id))[1] AS project_id,
       (array_agg(created_by))[1] AS created_by,
       LEAST(SUM(requests), 9223372036854775807)::bigint AS requests,
       LEAST(SUM(upstream_errors), 9223372036854775807)::bigint AS upstream_errors,
       LEAST(SUM(gateway_errors), 9223372036854775807)::bigint AS gateway_errors,
       LEAST(SUM(client_errors), 9223372036854775807)::bigint AS client_errors,
       LEAST(SUM(canceled), 9223372036854775807)::bigint AS canceled,
       LEAST(SUM(input_tokens), 9223372036854775807)::bigint AS input_tokens,
       LEAST(SUM(cached_input_tokens), 9223372036854775807)::bigint AS cached_input_tokens,
       LEAST(SUM(cache_write_tokens), 9223372036854775807)::bigint AS cache_write_tokens,
       LEAST(SUM(output_tokens), 9223372036854775807)::bigint AS output_tokens,
       LEAST(SUM(reasoning_tokens), 9223372036854775807)::bigint AS reasoning_tokens,
       GREATEST(LEAST(SUM(cost_nanos), 9223372036854775807), -9223372036854775808)::bigint AS cost_nanos,
       LEAST(SUM(estimated), 9223372036854775807)::bigint AS estimated,
       LEAST(SUM(unpriced), 9223372036854775807)::bigint AS unpriced,
       LEAST(SUM(latency_us), 9223372036854775807)::bigint AS latency_us,
       LEAST(SUM(ttft_us), 9223372036854775807)::bigint AS ttft_us,
       LEAST(SUM(ttft_count), 9223372036854775807)::bigint AS ttft_count,
       LEAST(SUM(usage_invalid), 9223372036854775807)::bigint AS usage_invalid,
       tally_hist_sum(CASE WHEN latency_bin <> 0 THEN jsonb_build_object(latency_bin::text, requests) END) AS latency_hist,
       tally_hist_sum(CASE WHEN ttft_bin <> 0 THEN jsonb_build_object(ttft_bin::text, requests) END) AS ttft_hist
FROM usage_rollups
GROUP BY org_id, bucket, api_key_id, provider, routed_model, canonical_model, app, end_user, tags, http_status;

TRUNCATE usage_rollups;
ALTER TABLE usage_rollups DROP CONSTRAINT usage_rollups_pkey;
ALTER TABLE usage_rollups DROP COLUMN latency_bin, DROP COLUMN ttft_bin;
ALTER TABLE usage_rollups ADD COLUMN latency_hist jsonb, ADD COLUMN ttft_hist jsonb;
ALTER TABLE usage_rollups ADD PRIMARY KEY
    (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app, end_user, tags, http_status);
INSERT INTO usage_rollups (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app,
    end_user, tags, http_status, project_id, created_by, requests, upstream_errors, gateway_errors,
    client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
    reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid,
    latency_hist, ttft_hist)
SELECT org_id, bucket, api_key_id, provider, routed_model, canonical_model, app,
    end_user, tags, http_status, project_id, created_by, requests, upstream_errors, gateway_errors,
    client_errors, canceled, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
    reasoning_tokens, cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count, usage_invalid,
    latency_hist, ttft_hist
FROM usage_rollups_merged;
