-- 0016 (PostgreSQL, the same as SQLite): RETENTION_DAYS removes the texts of finished schedules too (a one-time PIN sent by /send at: stayed forever).
-- Set when the body (and each recipient's own text) was replaced by the placeholder, as on messages (0009).
ALTER TABLE schedules ADD COLUMN text_removed_at TEXT;
