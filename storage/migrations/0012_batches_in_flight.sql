-- 0012: a bulk batch in flight is one row here, instead of a `sending` status written on each of its recipients.
-- The row says: "the pending rows of job_id with first_id <= id <= last_id may have left". It is written (after
-- checking that exactly the batch's rows are pending there and none is blocked) right before the request leaves,
-- and deleted once the batch's outcomes are stored. At start-up, pending rows a leftover row covers become
-- `unknown` (never resent silently); a batch that provably never left has its row deleted, its rows stay pending.
-- One small insert per request instead of a hundred row and index updates (issue 13).
CREATE TABLE bulk_batches_in_flight (
    id         INTEGER PRIMARY KEY,
    job_id     INTEGER NOT NULL REFERENCES bulk_jobs (id),
    first_id   INTEGER NOT NULL,
    last_id    INTEGER NOT NULL CHECK (last_id >= first_id),
    started_at TEXT    NOT NULL
);
