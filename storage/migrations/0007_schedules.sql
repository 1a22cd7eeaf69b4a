-- 0007: scheduled sends (/send and /bulk with in: or at:), kept until they fire, are cancelled or are missed.

-- state: pending → firing (claimed, about to go through the normal send path with request key "sched:<id>") →
-- done; or pending → cancelled / missed (came due while the bot was down, beyond SCHEDULE_GRACE_SECONDS) /
-- refused (the chat may no longer send, a recipient opted out: the reason is in ``outcome``).
-- ``recipients`` is a JSON array of normalised numbers; ``request_key`` is the update that created the schedule,
-- so a repeated delivery of it cannot store a second one.
CREATE TABLE schedules (
    id           INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL,
    user_id      INTEGER,
    kind         TEXT NOT NULL CHECK (kind IN ('send', 'bulk')),
    provider     TEXT NOT NULL,
    body         TEXT NOT NULL,
    recipients   TEXT NOT NULL,
    source       TEXT,
    due_at       TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'firing', 'done', 'cancelled', 'missed', 'refused')),
    created_at   TEXT NOT NULL,
    finished_at  TEXT,
    outcome      TEXT,
    request_key  TEXT UNIQUE
);

CREATE INDEX schedules_by_state_due ON schedules (state, due_at);
CREATE INDEX schedules_by_chat ON schedules (chat_id, state);
