-- Stream-through: each enriched lead forwarded to a table's destination (a CRM, any webhook),
-- the optional purge of its personal fields once forwarded, and the "no callback" deadline.

-- The destination (a secret, like webhook URLs) and the optional value of its Authorization header.
ALTER TABLE clay_tables ADD COLUMN forward_url            TEXT;
ALTER TABLE clay_tables ADD COLUMN forward_auth           TEXT;
-- Once forwarded, the lead keeps its ids, dedupe hash and counts; its fields are erased.
ALTER TABLE clay_tables ADD COLUMN purge_after_forward    BOOLEAN NOT NULL DEFAULT FALSE;
-- A lead delivered this long ago without a callback is flagged "no callback".
ALTER TABLE clay_tables ADD COLUMN callback_timeout_mins  BIGINT NOT NULL DEFAULT 60 CHECK (callback_timeout_mins >= 1);

-- Forward states: queued, in_flight, retrying, forwarded, dead; NULL when nothing is to forward.
ALTER TABLE leads ADD COLUMN forward_state       TEXT;
ALTER TABLE leads ADD COLUMN forward_attempts    BIGINT NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN forward_next_at     BIGINT NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN forward_lease_until BIGINT;
ALTER TABLE leads ADD COLUMN forward_error       TEXT;
ALTER TABLE leads ADD COLUMN forwarded_at        BIGINT;
ALTER TABLE leads ADD COLUMN purged_at           BIGINT;

CREATE INDEX leads_forwarding ON leads (forward_next_at, id) WHERE forward_state IN ('queued', 'retrying');
CREATE INDEX leads_forward_in_flight ON leads (forward_lease_until) WHERE forward_state = 'in_flight';
-- Delivered leads still waiting for their callback, oldest first ("no callback" after a while).
CREATE INDEX leads_awaiting_callback ON leads (table_id, delivered_at) WHERE state = 'delivered' AND callback_at IS NULL;
