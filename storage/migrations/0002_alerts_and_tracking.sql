-- 0002: alert state that survives restarts, delivery tracking, and what a bulk preview refused.

-- Small facts the alerting must not forget across restarts: "texin balance is low", "intruder 42 last
-- reported at …". Keys are namespaced by the code that owns them.
CREATE TABLE alert_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Delivery follow-ups: when to ask the provider next, how often it was asked, and whether we stopped asking.
ALTER TABLE messages ADD COLUMN next_check_at TEXT;
ALTER TABLE messages ADD COLUMN check_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN tracking_done INTEGER NOT NULL DEFAULT 0;

-- Only sent rows still followed are in it, so the tracker's query stays cheap however long the history grows.
CREATE INDEX messages_to_track ON messages (provider, next_check_at)
    WHERE status = 'sent' AND tracking_done = 0;

-- Numbers the preview refused or found twice never become rows; the summary and the export still name them.
ALTER TABLE bulk_jobs ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bulk_jobs ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;
-- Set when the chat got its one delivery summary.
ALTER TABLE bulk_jobs ADD COLUMN delivery_summary_at TEXT;

-- What was sent before this migration is history, not work: the tracker would otherwise ask the provider about
-- every old message and post a delivery summary for every old job.
UPDATE messages SET tracking_done = 1;
UPDATE bulk_jobs SET delivery_summary_at = updated_at;
