-- A lead's dedupe key, 128 bits of SHA-256, as two integers rather than 32 hex characters: half
-- the bytes in each row and in the unique index every new lead is checked against, and bound
-- without a string on either side (on SQLite an import takes about a sixth less time:
-- docs/BENCHMARKS.md). See the SQLite migration of the same number for the keys that are not a
-- hash.
ALTER TABLE leads ADD COLUMN key_hi BIGINT, ADD COLUMN key_lo BIGINT;
ALTER TABLE leads RENAME COLUMN dedupe_key TO legacy_dedupe_key;
ALTER TABLE leads ALTER COLUMN legacy_dedupe_key DROP NOT NULL;
UPDATE leads SET
    key_hi = CASE WHEN legacy_dedupe_key ~ '^[0-9a-f]{32}$' THEN ('x' || substr(legacy_dedupe_key, 1, 16))::bit(64)::bigint END,
    key_lo = CASE WHEN legacy_dedupe_key ~ '^[0-9a-f]{32}$' THEN ('x' || substr(legacy_dedupe_key, 17, 16))::bit(64)::bigint END,
    legacy_dedupe_key = CASE WHEN legacy_dedupe_key LIKE '_:%' THEN legacy_dedupe_key END;
ALTER TABLE leads DROP CONSTRAINT leads_workspace_id_dedupe_key_key;
ALTER TABLE leads ADD CONSTRAINT leads_workspace_id_key_key UNIQUE (workspace_id, key_hi, key_lo);
