-- The rollups now live in their own file (`tally.rollups.db`), written by
-- their own thread beside the raw inserts; before this migration ran, the
-- store copied these tables there (`rollup_file.rs`).
DROP TABLE usage_rollups;
DROP TABLE rollup_project_model_hour;
DROP TABLE rollup_project_model_day;
DROP TABLE rollup_key_model_hour;
DROP TABLE rollup_key_model_day;
DROP TABLE rollup_member_model_hour;
DROP TABLE rollup_member_model_day;
DROP TABLE rollup_member_app_hour;
DROP TABLE rollup_member_app_day;
DROP TABLE rollup_org_member_hour;
DROP TABLE rollup_org_member_day;
DROP TABLE local_day_phases;
DROP TABLE rollup_project_model_localday;
DROP TABLE rollup_member_model_localday;
DROP TABLE rollup_member_app_localday;
DROP TABLE rollup_org_member_localday;
DROP TABLE deferred_batches;
DROP TABLE deferred_flushes;
