-- 0014: one plain state machine for the money path (issue 23, docs/bulk.md). A batch in flight is its rows in
-- `sending` again, and a job stores every recipient as a row when Send is pressed, so the in-flight ranges
-- (0012, 0013) and the unstored rest of large jobs (0010) go.
-- Pending rows an in-flight range covers may have left: they become `sending`, which the next start of the bot
-- turns `unknown` and reports to the admins (never resent by itself; `/retry` sends them on purpose).
-- The unstored rest never left from this file: its rows become `pending` and the job sends them once. But in a
-- restored backup (the restore marker of storage/restore_marker.py is there) the live bot may have stored and
-- sent them after the backup was taken: then they become `sending` too, and the restore settles them `unknown`.
UPDATE messages SET status = 'sending'
 WHERE status = 'pending' AND EXISTS (
    SELECT 1 FROM bulk_batches_in_flight b
     WHERE b.job_id = messages.bulk_job_id AND messages.id BETWEEN b.first_id AND b.last_id);

-- The rest's items are numbers, or [number, body, encoding, segments] for a personalised job.
INSERT INTO messages (chat_id, user_id, provider, body, encoding, segments, status, bulk_job_id, recipient,
                      created_at, updated_at)
SELECT j.chat_id, j.user_id, j.provider,
       CASE WHEN item.type = 'array' THEN json_extract(item.value, '$[1]') ELSE j.body END,
       CASE WHEN item.type = 'array' THEN json_extract(item.value, '$[2]') ELSE j.encoding END,
       CASE WHEN item.type = 'array' THEN json_extract(item.value, '$[3]') ELSE j.segments END,
       CASE WHEN EXISTS (SELECT 1 FROM alert_state WHERE key = 'restored-from-backup') THEN 'sending'
            ELSE 'pending' END,
       j.id,
       CASE WHEN item.type = 'array' THEN json_extract(item.value, '$[0]') ELSE item.value END,
       j.created_at, j.updated_at
  FROM bulk_job_unstored u
  JOIN bulk_jobs j ON j.id = u.job_id
  JOIN json_each(u.items) AS item ON item.key >= u.next_index
 ORDER BY u.job_id, item.key;

DROP TABLE bulk_batches_in_flight;
DROP TABLE bulk_job_unstored;
