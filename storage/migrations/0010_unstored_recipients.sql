-- 0010: the recipients of a large bulk job not stored yet as message rows (the runner stores them in chunks while
-- the first batches go out). Written with the job, so a crash while storing loses nobody: at start-up the job goes
-- on storing from next_index. Each chunk inserts its rows and advances next_index (and lowers units) in one
-- transaction; the row is deleted once everything is stored, or when the job is cancelled.
-- items: a JSON array of numbers, or of [number, body, encoding, segments] for a personalised job.
-- units: what the items not stored yet count against the chat's daily quota (their segments).
CREATE TABLE bulk_job_unstored (
    job_id INTEGER PRIMARY KEY REFERENCES bulk_jobs (id),
    next_index INTEGER NOT NULL,
    items TEXT NOT NULL,
    units INTEGER NOT NULL
);
