-- Actions, Clay's second currency: each table's estimate per lead, reserved and spent like data
-- credits; and a daily roll-up of what callbacks settled, per table, for the budgets page's
-- charts (the month by day, the last twelve months, the tables' shares) without scanning leads.

-- The HTTP API column that calls back costs one Action per row; recipes add their steps.
ALTER TABLE clay_tables ADD COLUMN actions_per_lead REAL NOT NULL DEFAULT 1 CHECK (actions_per_lead >= 0);
ALTER TABLE leads ADD COLUMN actions_reserved REAL;
ALTER TABLE leads ADD COLUMN actions_used REAL;
ALTER TABLE budget_months ADD COLUMN actions_reserved REAL NOT NULL DEFAULT 0 CHECK (actions_reserved >= -0.001);
ALTER TABLE budget_months ADD COLUMN actions_spent REAL NOT NULL DEFAULT 0;

CREATE TABLE budget_days (
    workspace_id      INTEGER NOT NULL,
    table_id          INTEGER NOT NULL,
    -- 00:00 UTC of the day the callbacks arrived.
    day_start         INTEGER NOT NULL,
    -- Leads called back, the credits their table estimated, and what they cost (what Clay
    -- reported, or the estimate when it did not say).
    leads             INTEGER NOT NULL DEFAULT 0,
    credits_estimated REAL    NOT NULL DEFAULT 0,
    credits_spent     REAL    NOT NULL DEFAULT 0,
    actions_spent     REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, day_start, table_id)
);
