-- 0009: texts removed by RETENTION_DAYS are marked by a column, not recognised by their placeholder wording, so an
-- SMS whose own text happens to read "(removed after 5 days)" is still an SMS (it can be retried).
ALTER TABLE messages ADD COLUMN text_removed_at TEXT;
ALTER TABLE bulk_jobs ADD COLUMN text_removed_at TEXT;
