-- 0008: per-chat daily quotas, and what they count.

-- An admin's choice for one chat. No row: the chat's role default (SENDER_DAILY_UNITS / ADMIN_DAILY_UNITS).
-- A row with daily_units NULL: no limit for this chat ("/quota <chat> off"), whatever its role's default.
CREATE TABLE chat_quotas (
    chat_id     INTEGER PRIMARY KEY,
    daily_units INTEGER CHECK (daily_units IS NULL OR daily_units >= 0),
    set_by      INTEGER,
    set_at      TEXT NOT NULL
);

-- The message rows are the ledger: a row counts on the local day it was written (created_at) with its charged
-- units, or its segments until the provider answers. A retry moves a row back to pending: counted_at then holds
-- the time of that retry, so the new attempt counts on the day it was asked for, not on the day of the original.
ALTER TABLE messages ADD COLUMN counted_at TEXT;

-- "Units of chat X since T": a range scan of one chat's rows of the day, however long the history grows.
CREATE INDEX messages_by_chat_time ON messages (chat_id, created_at);
-- Requeued rows are few; partial, so ordinary inserts never touch it.
CREATE INDEX messages_recounted ON messages (chat_id, counted_at) WHERE counted_at IS NOT NULL;
