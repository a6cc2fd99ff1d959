-- Batches whose raw events are committed but whose rollup sums are still
-- held in memory by the process that wrote them (`sqlite/pending.rs`): one
-- row per batch, the range of its events' rowids. The flush that writes the
-- sums deletes the rows in the same transaction; rows left by a crash are
-- replayed from the raw events when the store is next opened.
CREATE TABLE deferred_batches (
    first_rowid INTEGER PRIMARY KEY,
    last_rowid  INTEGER NOT NULL
) STRICT;

-- How many flushes have committed: a reader pairs the sums held in memory
-- with a snapshot of the same generation, so none is counted twice or missed.
CREATE TABLE deferred_flushes (
    generation INTEGER NOT NULL
) STRICT;
INSERT INTO deferred_flushes (generation) VALUES (0);
