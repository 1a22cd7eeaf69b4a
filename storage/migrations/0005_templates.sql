-- 0004: saved message templates, shared by every allowed chat (`/template save`, `#name` in /send and /bulk).

-- The name is kept in lower case (names are case-insensitive); the text may hold {column} placeholders for CSV
-- uploads. Who saved it last is kept beside the text; the audit log holds the full history.
CREATE TABLE templates (
    name        TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    saved_by    INTEGER,
    saved_at    TEXT NOT NULL
);
