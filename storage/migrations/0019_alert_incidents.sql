-- 0019: every alert that reached the admin chats, with its posts there (issue 26, README "On call").
-- One row per incident: an alert's fingerprint and its start (a re-fire after a resolve starts anew). It holds what
-- the post shows and the buttons change (acknowledged, silenced), its resolve, and how far its escalation got:
-- `escalation_step` counts the steps done, so a restart neither repeats nor loses one; `texted` holds the numbers
-- its steps reached (a JSON list), who get one all-clear SMS once it resolves (`all_clear_sent`). A fingerprint has at
-- most one firing incident: a notification for it with another start belongs to that one (Alertmanager's flaps).
CREATE TABLE alert_incidents (
    id              INTEGER PRIMARY KEY,
    fingerprint     TEXT    NOT NULL,
    starts_at       TEXT    NOT NULL DEFAULT '',
    source          TEXT    NOT NULL CHECK (source IN ('alertmanager', 'plain')),
    name            TEXT    NOT NULL,
    severity        TEXT,
    instance        TEXT,
    summary         TEXT,
    labels          TEXT    NOT NULL DEFAULT '{}',
    status          TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    escalates       INTEGER NOT NULL DEFAULT 0,
    first_seen_at   TEXT    NOT NULL,
    last_seen_at    TEXT    NOT NULL,
    notifications   INTEGER NOT NULL DEFAULT 1,
    resolved_at     TEXT,
    acked_by        TEXT,
    acked_at        TEXT,
    silence_id      TEXT,
    silenced_by     TEXT,
    silenced_until  TEXT,
    escalation_step INTEGER NOT NULL DEFAULT 0,
    escalated_to    TEXT    NOT NULL DEFAULT '',
    texted          TEXT    NOT NULL DEFAULT '[]',
    all_clear_sent  INTEGER NOT NULL DEFAULT 0,
    problem         TEXT,
    gone_at         TEXT,
    UNIQUE (fingerprint, starts_at)
);
CREATE INDEX alert_incidents_by_status ON alert_incidents (status, first_seen_at);
CREATE INDEX alert_incidents_all_clears ON alert_incidents (all_clear_sent, status);

CREATE TABLE alert_posts (
    incident_id INTEGER NOT NULL REFERENCES alert_incidents (id) ON DELETE CASCADE,
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    PRIMARY KEY (incident_id, chat_id)
);
