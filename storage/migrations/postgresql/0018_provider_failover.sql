-- 0018 (PostgreSQL, the same as SQLite): provider failover (docs/failover.md). A message the first provider
-- refused before sending and another provider then took keeps that provider in `provider`, and here the one that
-- refused and why.
ALTER TABLE messages ADD COLUMN failover_from TEXT;
ALTER TABLE messages ADD COLUMN failover_reason TEXT;
-- 1: the person chose the job's provider (via:), so its batches never fail over. Jobs stored before this
-- migration count as chosen: they keep the provider they were started with.
ALTER TABLE bulk_jobs ADD COLUMN provider_chosen INTEGER NOT NULL DEFAULT 1;
