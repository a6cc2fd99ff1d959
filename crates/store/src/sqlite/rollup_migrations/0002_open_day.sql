-- The open day (`open_day.rs`). The `*_day` tables of the shapes are
-- complete for the UTC days before `open_day` only; the days from it on
-- are in the `*_hour` tables, and are rolled into the day tables from
-- their hours, a few key ranges per write, once a later day is written
-- (`newest_day`, the newest day written). Live traffic then writes each
-- hour row once per write instead of an hour row and a day row.
ALTER TABLE rollup_state ADD COLUMN open_day INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_state ADD COLUMN newest_day INTEGER NOT NULL DEFAULT 0;
-- Every event is in rollup_org_member_day, and until now every day was in
-- the day tables: the open day is the one after the newest.
UPDATE rollup_state SET
    open_day = (SELECT COALESCE(MAX(bucket) + 1, 0) FROM rollup_org_member_day),
    newest_day = (SELECT COALESCE(MAX(bucket), 0) FROM rollup_org_member_day);

-- The leading key columns (ids, 16 bytes each, concatenated) of the hour
-- rows written for each shape and day from the open day on and not rolled
-- into the day table since: the key ranges a roll reads.
CREATE TABLE open_day_leads (
    shape TEXT NOT NULL,
    day   INTEGER NOT NULL,
    lead  BLOB NOT NULL,
    PRIMARY KEY (day, shape, lead)
) STRICT, WITHOUT ROWID;
