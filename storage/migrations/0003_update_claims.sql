-- 0003: the Telegram updates that asked for a spend, so a second delivery of the same update spends nothing.

-- Telegram delivers updates at least once. The identity of the update ("msg:<chat>:<message>" for a command,
-- "cbq:<callback query id>" for a button press) is stored in the same transaction as the message row or bulk
-- job it created; the primary key turns a repeat into a conflict instead of a second SMS. A bulk preview
-- records its key with neither id (it created nothing yet; the key only stops a second preview).
CREATE TABLE spend_requests (
    key         TEXT PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    message_id  INTEGER REFERENCES messages (id),
    bulk_job_id INTEGER REFERENCES bulk_jobs (id)
);
