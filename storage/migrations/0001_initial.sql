-- 0001: authorization, message log, bulk jobs, audit.
-- Timestamps are ISO-8601 UTC text; money is decimal text (see storage/codec.py).

CREATE TABLE chats (
    chat_id    INTEGER PRIMARY KEY,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'sender', 'viewer')),
    title      TEXT,
    added_by   INTEGER,             -- NULL: seeded from ADMIN_CHAT_IDS
    added_at   TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);

CREATE TABLE bulk_jobs (
    id                  INTEGER PRIMARY KEY,
    chat_id             INTEGER NOT NULL,
    user_id             INTEGER,
    body                TEXT    NOT NULL,
    encoding            TEXT    NOT NULL,
    segments            INTEGER NOT NULL CHECK (segments >= 0),
    provider            TEXT    NOT NULL,
    sender_id           TEXT,
    state               TEXT    NOT NULL
                        CHECK (state IN ('queued', 'running', 'done', 'cancelled', 'failed')),
    total_recipients    INTEGER NOT NULL CHECK (total_recipients >= 0),
    progress_message_id INTEGER,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    finished_at         TEXT
);

CREATE INDEX bulk_jobs_by_chat ON bulk_jobs (chat_id, id);

-- One row per recipient per message. chat_id is deliberately not a foreign key: history outlives access.
CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    chat_id             INTEGER NOT NULL,
    user_id             INTEGER,
    provider            TEXT    NOT NULL,
    provider_message_id TEXT,
    recipient           TEXT    NOT NULL,
    body                TEXT    NOT NULL,
    encoding            TEXT    NOT NULL,
    segments            INTEGER NOT NULL CHECK (segments >= 0),
    units               INTEGER CHECK (units >= 0),
    cost                TEXT,
    status              TEXT    NOT NULL
                        CHECK (status IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'unknown',
                                          'cancelled')),
    error               TEXT,
    bulk_job_id         INTEGER REFERENCES bulk_jobs (id) ON DELETE RESTRICT,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
);

-- /status and /history for one chat, latest first.
CREATE INDEX messages_by_chat ON messages (chat_id, id);
-- Delivery reports name the provider's id. Partial: rows not yet sent cost nothing to insert.
CREATE INDEX messages_by_provider_id ON messages (provider, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
-- Next pending batch of a job, per-status totals of a job, jobs with pending work.
CREATE INDEX messages_by_job_status ON messages (bulk_job_id, status, id);
-- Start-up sweep of rows left in flight by a crash; partial so it stays tiny.
CREATE INDEX messages_in_flight ON messages (id) WHERE status = 'sending';

CREATE TABLE audit (
    id            INTEGER PRIMARY KEY,
    at            TEXT    NOT NULL,
    actor_chat_id INTEGER,
    actor_user_id INTEGER,
    action        TEXT    NOT NULL,
    target        TEXT,
    detail        TEXT,
    units         INTEGER
);

CREATE INDEX audit_by_actor_chat ON audit (actor_chat_id, id);

-- Append-only, enforced by the database itself and not only by the repository having no update method.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only; they cannot be changed');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only; they cannot be deleted');
END;
