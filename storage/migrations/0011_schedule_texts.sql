-- 0011: a scheduled personalised bulk send ({column} mail merge) keeps each recipient's own text.

-- ``texts`` is a JSON array of message bodies in the order of ``recipients`` (one per number), or NULL for a
-- schedule that sends ``body`` to everyone. Kept in the row so the schedule and its texts are stored together.
ALTER TABLE schedules ADD COLUMN texts TEXT;
