-- 0004: the opt-out blocklist. A number here is never sent to, by any path, provider or chat.

-- Numbers are stored normalised (254XXXXXXXXX), so every way of writing one matches. The primary key is the
-- lookup the send paths make (one per /send, one per claimed bulk row), so no other index is needed.
CREATE TABLE blocked_numbers (
    number          TEXT PRIMARY KEY,
    reason          TEXT,
    blocked_by_chat INTEGER NOT NULL,
    blocked_by_user INTEGER,          -- NULL: an anonymous group admin, on behalf of the chat
    blocked_at      TEXT NOT NULL
) WITHOUT ROWID;
