-- 0015: the lease of the active process (storage/lease.py, README "High availability").
-- The process that becomes active adds 1 to `epoch` before it does anything else; its claims and records of bulk
-- rows carry the epoch they started with and change nothing once it differs. So a process that was active, then
-- paused or cut off while another took over, can never claim or record a batch again.
CREATE TABLE ha_lease (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    epoch    INTEGER NOT NULL,
    owner    TEXT,
    taken_at TEXT
);
INSERT INTO ha_lease (id, epoch) VALUES (1, 0);
