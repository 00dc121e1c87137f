-- A lead's dedupe key, 128 bits of SHA-256, as two integers rather than 32 hex characters: half
-- the bytes in each row and in the unique index every new lead is checked against, and bound
-- without a string on either side (an import takes about a sixth less time: docs/BENCHMARKS.md).
-- SQLite changes a table's UNIQUE constraint only by rebuilding the table; nothing refers to
-- `leads`, so it is copied, dropped and renamed, and its indexes made again.
--
-- A plain key (`e:…`), left from before keys were hashed by a database that Kiln has not started
-- on since, moves to `legacy_dedupe_key`: Kiln hashes it at start-up
-- (`store::leads::hash_plain_dedupe_keys`). A key marked `<hash>-<id>` (a lead kept beside the
-- one whose hash its key turned out to be) has no halves: it takes no part in dedupe.
CREATE TABLE leads_with_key_halves (
    id                  INTEGER PRIMARY KEY,
    workspace_id        INTEGER NOT NULL,
    import_id           INTEGER NOT NULL,
    -- NULL while held: no routing rule matched and the workspace holds unrouted rows.
    table_id            INTEGER,
    priority            INTEGER NOT NULL,
    line                INTEGER NOT NULL,
    -- The first and last 64 bits of the SHA-256 of the normalised email, else LinkedIn URL, else
    -- domain + full name, else company + name (`ingest::lead::DedupeKey`). NULL only for a lead
    -- that takes no part in dedupe: one kept, from before keys were hashed, beside the lead whose
    -- hash its own turned out to be.
    key_hi              INTEGER,
    key_lo              INTEGER,
    -- The JSON object Kiln sends to Clay (with "kiln_id" added at sending).
    payload             TEXT    NOT NULL,
    state               TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER NOT NULL DEFAULT 0,
    lease_until         INTEGER,
    webhook_id          INTEGER,
    wait_reason         TEXT,
    last_status         INTEGER,
    last_error          TEXT,
    delivered_at        INTEGER,
    credits_reserved    REAL,
    budget_month        INTEGER,
    credits_used        REAL,
    callback_at         INTEGER,
    enrichment          TEXT,
    forward_state       TEXT,
    forward_attempts    INTEGER NOT NULL DEFAULT 0,
    forward_next_at     INTEGER NOT NULL DEFAULT 0,
    forward_lease_until INTEGER,
    forward_error       TEXT,
    forwarded_at        INTEGER,
    purged_at           INTEGER,
    actions_reserved    REAL,
    actions_used        REAL,
    -- A plain key not hashed yet (see above); NULL once Kiln has started on this version.
    legacy_dedupe_key   TEXT,
    UNIQUE (workspace_id, key_hi, key_lo)
);

INSERT INTO leads_with_key_halves (
    id, workspace_id, import_id, table_id, priority, line, key_hi, key_lo, payload, state, created_at,
    attempts, next_attempt_at, lease_until, webhook_id, wait_reason, last_status, last_error, delivered_at,
    credits_reserved, budget_month, credits_used, callback_at, enrichment, forward_state, forward_attempts,
    forward_next_at, forward_lease_until, forward_error, forwarded_at, purged_at, actions_reserved, actions_used,
    legacy_dedupe_key
)
SELECT
    id, workspace_id, import_id, table_id, priority, line,
    CASE WHEN is_hash THEN
          ((instr('0123456789abcdef', substr(dedupe_key, 1, 1)) - 1) - CASE WHEN substr(dedupe_key, 1, 1) >= '8' THEN 16 ELSE 0 END) * 1152921504606846976
        + (instr('0123456789abcdef', substr(dedupe_key, 2, 1)) - 1) * 72057594037927936
        + (instr('0123456789abcdef', substr(dedupe_key, 3, 1)) - 1) * 4503599627370496
        + (instr('0123456789abcdef', substr(dedupe_key, 4, 1)) - 1) * 281474976710656
        + (instr('0123456789abcdef', substr(dedupe_key, 5, 1)) - 1) * 17592186044416
        + (instr('0123456789abcdef', substr(dedupe_key, 6, 1)) - 1) * 1099511627776
        + (instr('0123456789abcdef', substr(dedupe_key, 7, 1)) - 1) * 68719476736
        + (instr('0123456789abcdef', substr(dedupe_key, 8, 1)) - 1) * 4294967296
        + (instr('0123456789abcdef', substr(dedupe_key, 9, 1)) - 1) * 268435456
        + (instr('0123456789abcdef', substr(dedupe_key, 10, 1)) - 1) * 16777216
        + (instr('0123456789abcdef', substr(dedupe_key, 11, 1)) - 1) * 1048576
        + (instr('0123456789abcdef', substr(dedupe_key, 12, 1)) - 1) * 65536
        + (instr('0123456789abcdef', substr(dedupe_key, 13, 1)) - 1) * 4096
        + (instr('0123456789abcdef', substr(dedupe_key, 14, 1)) - 1) * 256
        + (instr('0123456789abcdef', substr(dedupe_key, 15, 1)) - 1) * 16
        + (instr('0123456789abcdef', substr(dedupe_key, 16, 1)) - 1)
    END,
    CASE WHEN is_hash THEN
          ((instr('0123456789abcdef', substr(dedupe_key, 17, 1)) - 1) - CASE WHEN substr(dedupe_key, 17, 1) >= '8' THEN 16 ELSE 0 END) * 1152921504606846976
        + (instr('0123456789abcdef', substr(dedupe_key, 18, 1)) - 1) * 72057594037927936
        + (instr('0123456789abcdef', substr(dedupe_key, 19, 1)) - 1) * 4503599627370496
        + (instr('0123456789abcdef', substr(dedupe_key, 20, 1)) - 1) * 281474976710656
        + (instr('0123456789abcdef', substr(dedupe_key, 21, 1)) - 1) * 17592186044416
        + (instr('0123456789abcdef', substr(dedupe_key, 22, 1)) - 1) * 1099511627776
        + (instr('0123456789abcdef', substr(dedupe_key, 23, 1)) - 1) * 68719476736
        + (instr('0123456789abcdef', substr(dedupe_key, 24, 1)) - 1) * 4294967296
        + (instr('0123456789abcdef', substr(dedupe_key, 25, 1)) - 1) * 268435456
        + (instr('0123456789abcdef', substr(dedupe_key, 26, 1)) - 1) * 16777216
        + (instr('0123456789abcdef', substr(dedupe_key, 27, 1)) - 1) * 1048576
        + (instr('0123456789abcdef', substr(dedupe_key, 28, 1)) - 1) * 65536
        + (instr('0123456789abcdef', substr(dedupe_key, 29, 1)) - 1) * 4096
        + (instr('0123456789abcdef', substr(dedupe_key, 30, 1)) - 1) * 256
        + (instr('0123456789abcdef', substr(dedupe_key, 31, 1)) - 1) * 16
        + (instr('0123456789abcdef', substr(dedupe_key, 32, 1)) - 1)
    END,
    payload, state, created_at,
    attempts, next_attempt_at, lease_until, webhook_id, wait_reason, last_status, last_error, delivered_at,
    credits_reserved, budget_month, credits_used, callback_at, enrichment, forward_state, forward_attempts,
    forward_next_at, forward_lease_until, forward_error, forwarded_at, purged_at, actions_reserved, actions_used,
    CASE WHEN dedupe_key LIKE '_:%' THEN dedupe_key END
FROM (SELECT *, length(dedupe_key) = 32 AND dedupe_key NOT GLOB '*[^0-9a-f]*' AS is_hash FROM leads)
ORDER BY id;

DROP TABLE leads;
ALTER TABLE leads_with_key_halves RENAME TO leads;

CREATE INDEX leads_import ON leads (import_id, state);
CREATE INDEX leads_retrying ON leads (next_attempt_at) WHERE state = 'retrying';
CREATE INDEX leads_in_flight ON leads (lease_until) WHERE state = 'in_flight';
CREATE INDEX leads_forwarding ON leads (forward_next_at, id) WHERE forward_state IN ('queued', 'retrying');
CREATE INDEX leads_forward_in_flight ON leads (forward_lease_until) WHERE forward_state = 'in_flight';
CREATE INDEX leads_waiting ON leads (workspace_id, table_id, wait_reason) WHERE state = 'waiting';
CREATE INDEX leads_forward_dead ON leads (table_id, id) WHERE forward_state = 'dead';
CREATE INDEX leads_awaiting_callback ON leads (import_id, table_id, delivered_at, state, callback_at)
    WHERE state = 'delivered' AND callback_at IS NULL;
