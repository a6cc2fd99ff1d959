-- How many requests of each rollup row had their reported usage refused
-- (activity_events.usage_invalid). Rows counted before this are 0.
ALTER TABLE usage_rollups ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_project_model_hour ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_project_model_day ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_key_model_hour ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_key_model_day ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_member_model_hour ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_member_model_day ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_member_app_hour ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_member_app_day ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_org_member_hour ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_org_member_day ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_project_model_localday ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_member_model_localday ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_member_app_localday ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_org_member_localday ADD COLUMN usage_invalid INTEGER NOT NULL DEFAULT 0;
