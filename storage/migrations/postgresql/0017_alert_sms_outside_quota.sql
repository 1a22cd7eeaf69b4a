-- 0017 (PostgreSQL, the same as SQLite): alert SMS (bot/web/alert_intake.py) are the bot's own: no chat's daily
-- quota counts them, and /usage shows them on their own line. 1 marks such a row.
ALTER TABLE messages ADD COLUMN outside_quota INTEGER NOT NULL DEFAULT 0;
