-- 0007: PLACEHOLDER on branch h-quota only. Migration 0007 belongs to the scheduling branch (h-sched), which
-- creates the schedules table; this empty stand-in only keeps the numbering contiguous so 0008 can run here.
-- At merge, take h-sched's 0007_schedules.sql and drop this one.
SELECT 1;
