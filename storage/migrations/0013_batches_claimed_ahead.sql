-- 0013: a bulk batch may be claimed ahead, while the request before it is still in flight (issue 13).
--
-- `ahead` = 1: the row was written while another request of the same worker was out, so the batch has NOT
-- necessarily left. Right before its request leaves, the runner appends "claim id, job, first id, last id" to the
-- departure log beside the database file (`storage/departures.py`, one write() on the event loop: as durable
-- against a crash of the process as a commit at `synchronous = NORMAL`). At start-up a claimed-ahead row whose
-- line is in that log covers rows that may have left (they become `unknown`); one without a line provably never
-- left (its rows stay `pending` and are sent after the restart).
-- `ahead` = 0: written right before the request left, as in 0012: always "may have left". Rows written by 0012
-- are copied as 0, so a database upgraded (or restored) with batches in flight keeps that meaning.
-- AUTOINCREMENT: a claim id is never reused, so a line left in the log can never match a later claim.
CREATE TABLE bulk_batches_in_flight_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     INTEGER NOT NULL REFERENCES bulk_jobs (id),
    first_id   INTEGER NOT NULL,
    last_id    INTEGER NOT NULL CHECK (last_id >= first_id),
    started_at TEXT    NOT NULL,
    ahead      INTEGER NOT NULL DEFAULT 0 CHECK (ahead IN (0, 1))
);
INSERT INTO bulk_batches_in_flight_new (id, job_id, first_id, last_id, started_at, ahead)
    SELECT id, job_id, first_id, last_id, started_at, 0 FROM bulk_batches_in_flight;
DROP TABLE bulk_batches_in_flight;
ALTER TABLE bulk_batches_in_flight_new RENAME TO bulk_batches_in_flight;
