-- Clay workspaces, their tables and webhooks, routing rules, imports and leads.

CREATE TABLE workspaces (
    id                    INTEGER PRIMARY KEY,
    name                  TEXT    NOT NULL UNIQUE,
    rate_per_sec          REAL    NOT NULL CHECK (rate_per_sec > 0),
    burst                 INTEGER NOT NULL CHECK (burst >= 1),
    plan_key              TEXT,
    -- Monthly budgets; NULL means none set.
    monthly_credit_budget INTEGER CHECK (monthly_credit_budget >= 0),
    monthly_action_budget INTEGER CHECK (monthly_action_budget >= 0),
    budget_day            INTEGER NOT NULL DEFAULT 1 CHECK (budget_day BETWEEN 1 AND 28),
    -- Where rows that match no routing rule go: a table, or held (NULL).
    fallback_table_id     INTEGER,
    demo                  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at            INTEGER NOT NULL
);

CREATE TABLE clay_tables (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces (id),
    name             TEXT    NOT NULL,
    credits_per_lead REAL    NOT NULL CHECK (credits_per_lead >= 0),
    -- The saved planner scenario the estimate was taken from, if any.
    scenario_id      INTEGER REFERENCES scenarios (id),
    created_at       INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE webhooks (
    id            INTEGER PRIMARY KEY,
    table_id      INTEGER NOT NULL REFERENCES clay_tables (id),
    -- Secret: sent only to Clay, shown masked.
    url           TEXT    NOT NULL,
    auth_token    TEXT,
    lifetime_cap  INTEGER NOT NULL CHECK (lifetime_cap > 0),
    safety_margin INTEGER NOT NULL CHECK (safety_margin >= 0 AND safety_margin < lifetime_cap),
    used          INTEGER NOT NULL CHECK (used >= 0),
    state         TEXT    NOT NULL CHECK (state IN ('active', 'failing', 'retired')),
    created_at    INTEGER NOT NULL
);
CREATE INDEX webhooks_table ON webhooks (table_id, id);

CREATE TABLE routing_rules (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    position     INTEGER NOT NULL,
    column_name  TEXT    NOT NULL,
    -- app::ingest::Condition as JSON.
    condition    TEXT    NOT NULL,
    table_id     INTEGER NOT NULL REFERENCES clay_tables (id),
    PRIMARY KEY (workspace_id, position)
);

CREATE TABLE imports (
    id                INTEGER PRIMARY KEY,
    workspace_id      INTEGER NOT NULL REFERENCES workspaces (id),
    -- The one table of every row, or NULL when rows are routed by the workspace's rules.
    table_id          INTEGER REFERENCES clay_tables (id),
    priority          INTEGER NOT NULL CHECK (priority IN (0, 1, 2)),
    source            TEXT    NOT NULL,
    filename          TEXT,
    format            TEXT    NOT NULL,
    encoding          TEXT,
    delimiter         TEXT,
    state             TEXT    NOT NULL,
    bytes             INTEGER NOT NULL DEFAULT 0,
    rows              INTEGER NOT NULL DEFAULT 0,
    accepted          INTEGER NOT NULL DEFAULT 0,
    rejected          INTEGER NOT NULL DEFAULT 0,
    duplicates        INTEGER NOT NULL DEFAULT 0,
    held              INTEGER NOT NULL DEFAULT 0,
    blank_lines       INTEGER NOT NULL DEFAULT 0,
    estimated_credits REAL    NOT NULL DEFAULT 0,
    mapping           TEXT,
    error             TEXT,
    created_by        TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    finished_at       INTEGER
);
CREATE INDEX imports_workspace ON imports (workspace_id, id);

-- Every rejected row, with its original line and the reason, for the rejects report.
CREATE TABLE import_rejects (
    import_id INTEGER NOT NULL REFERENCES imports (id),
    line      INTEGER NOT NULL,
    reason    TEXT    NOT NULL,
    raw       TEXT    NOT NULL,
    PRIMARY KEY (import_id, line)
);

CREATE TABLE leads (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    import_id    INTEGER NOT NULL,
    -- NULL while held: no routing rule matched and the workspace holds unrouted rows.
    table_id     INTEGER,
    priority     INTEGER NOT NULL,
    line         INTEGER NOT NULL,
    -- Normalised email, else domain + full name, else LinkedIn URL, else company + name.
    dedupe_key   TEXT    NOT NULL,
    -- The JSON object Kiln sends to Clay (with "kiln_id" added at sending).
    payload      TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, dedupe_key)
);
CREATE INDEX leads_import ON leads (import_id, id);
