-- The delivery ledger: every lead's way to Clay, the budget months, workspace cool-downs after a
-- 429, callback tokens of tables, and the alerts the engine raises.

-- Lead states: held (no table), queued (ready), in_flight (claimed, being sent), retrying (waits
-- for next_attempt_at), waiting (needs a webhook or budget; wait_reason says which), paused,
-- cancelled, delivered, dead (last_error says why).
ALTER TABLE leads ADD COLUMN attempts        BIGINT NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
-- An in-flight lead whose lease has passed belongs to a process that died: it is sent again.
ALTER TABLE leads ADD COLUMN lease_until     BIGINT;
ALTER TABLE leads ADD COLUMN webhook_id      BIGINT;
ALTER TABLE leads ADD COLUMN wait_reason     TEXT;
ALTER TABLE leads ADD COLUMN last_status     BIGINT;
ALTER TABLE leads ADD COLUMN last_error      TEXT;
ALTER TABLE leads ADD COLUMN delivered_at    BIGINT;
-- The credits reserved by the claim, and the budget month they were reserved in.
ALTER TABLE leads ADD COLUMN credits_reserved DOUBLE PRECISION;
ALTER TABLE leads ADD COLUMN budget_month    BIGINT;
ALTER TABLE leads ADD COLUMN credits_used    DOUBLE PRECISION;
ALTER TABLE leads ADD COLUMN callback_at     BIGINT;
-- The enriched fields Clay called back with (a JSON object).
ALTER TABLE leads ADD COLUMN enrichment      TEXT;

DROP INDEX leads_import;
CREATE INDEX leads_import ON leads (import_id, state);
-- The queue: ready leads by workspace, highest priority first, oldest first.
CREATE INDEX leads_ready ON leads (workspace_id, priority DESC, id) WHERE state = 'queued';
CREATE INDEX leads_retrying ON leads (next_attempt_at) WHERE state = 'retrying';
CREATE INDEX leads_in_flight ON leads (lease_until) WHERE state = 'in_flight';
CREATE INDEX leads_waiting ON leads (workspace_id, table_id) WHERE state = 'waiting';

-- After a 429, the whole workspace waits until then (unix ms); persisted so a restart honours it.
ALTER TABLE workspaces ADD COLUMN cooldown_until BIGINT NOT NULL DEFAULT 0;

-- Clay's HTTP API column calls back with this token; rotatable.
ALTER TABLE clay_tables ADD COLUMN callback_token TEXT;

CREATE TABLE budget_months (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    -- The month's first instant (unix ms), on the workspace's budget day.
    month_start  BIGINT NOT NULL,
    -- Estimates of leads sent and not yet called back.
    reserved     DOUBLE PRECISION    NOT NULL DEFAULT 0 CHECK (reserved >= -0.001),
    -- Credits Clay reported (or the estimate, when the callback did not say).
    spent        DOUBLE PRECISION    NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, month_start)
);

CREATE TABLE alerts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id BIGINT,
    kind         TEXT    NOT NULL,
    -- What the alert is about, e.g. "webhook:4": one open alert per kind and subject.
    subject      TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    raised_at    BIGINT NOT NULL,
    cleared_at   BIGINT
);
CREATE UNIQUE INDEX alerts_open ON alerts (kind, subject) WHERE cleared_at IS NULL;
