-- 0005: contact groups, named lists of numbers shared by every allowed chat (/group, /bulk @name).

-- ``name`` is stored lower-case (names are case-insensitive); members are E.164 numbers, once per group.
CREATE TABLE contact_groups (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    created_at         TEXT NOT NULL,
    created_by_chat_id INTEGER NOT NULL
);

CREATE TABLE contact_group_members (
    group_id INTEGER NOT NULL REFERENCES contact_groups (id) ON DELETE CASCADE,
    phone    TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (group_id, phone)
);
