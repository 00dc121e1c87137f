-- A lead whose import is not queued yet was `pending`; it is now `staged`, a name as long as
-- `queued`, so that queueing an import rewrites each of its rows at the same size: SQLite then
-- overwrites the row in place instead of moving it (queueing 891,222 leads: 2.44–2.53 s before,
-- 2.03–2.23 s after; docs/BENCHMARKS.md). Both databases keep the same names.
UPDATE leads SET state = 'staged' WHERE state = 'pending';
