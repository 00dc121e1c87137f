-- Clay workspaces, their tables and webhooks, routing rules, imports and leads.

CREATE TABLE workspaces (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                  TEXT    NOT NULL UNIQUE,
    rate_per_sec          DOUBLE PRECISION    NOT NULL CHECK (rate_per_sec > 0),
    burst                 BIGINT NOT NULL CHECK (burst >= 1),
    plan_key              TEXT,
    -- Monthly budgets; NULL means none set.
    monthly_credit_budget BIGINT CHECK (monthly_credit_budget >= 0),
    monthly_action_budget BIGINT CHECK (monthly_action_budget >= 0),
    budget_day            BIGINT NOT NULL DEFAULT 1 CHECK (budget_day BETWEEN 1 AND 28),
    -- Where rows that match no routing rule go: a table, or held (NULL).
    fallback_table_id     BIGINT,
    demo                  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at            BIGINT NOT NULL
);

CREATE TABLE clay_tables (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id     BIGINT NOT NULL REFERENCES workspaces (id),
    name             TEXT    NOT NULL,
    credits_per_lead DOUBLE PRECISION    NOT NULL CHECK (credits_per_lead >= 0),
    -- The saved planner scenario the estimate was taken from, if any.
    scenario_id      BIGINT REFERENCES scenarios (id),
    created_at       BIGINT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE webhooks (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_id      BIGINT NOT NULL REFERENCES clay_tables (id),
    -- Secret: sent only to Clay, shown masked.
    url           TEXT    NOT NULL,
    auth_token    TEXT,
    lifetime_cap  BIGINT NOT NULL CHECK (lifetime_cap > 0),
    safety_margin BIGINT NOT NULL CHECK (safety_margin >= 0 AND safety_margin < lifetime_cap),
    used          BIGINT NOT NULL CHECK (used >= 0),
    state         TEXT    NOT NULL CHECK (state IN ('active', 'failing', 'retired')),
    created_at    BIGINT NOT NULL
);
CREATE INDEX webhooks_table ON webhooks (table_id, id);

CREATE TABLE routing_rules (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    position     BIGINT NOT NULL,
    column_name  TEXT    NOT NULL,
    -- app::ingest::Condition as JSON.
    condition    TEXT    NOT NULL,
    table_id     BIGINT NOT NULL REFERENCES clay_tables (id),
    PRIMARY KEY (workspace_id, position)
);

CREATE TABLE imports (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id      BIGINT NOT NULL REFERENCES workspaces (id),
    -- The one table of every row, or NULL when rows are routed by the workspace's rules.
    table_id          BIGINT REFERENCES clay_tables (id),
    priority          BIGINT NOT NULL CHECK (priority IN (0, 1, 2)),
    source            TEXT    NOT NULL,
    filename          TEXT,
    format            TEXT    NOT NULL,
    encoding          TEXT,
    delimiter         TEXT,
    state             TEXT    NOT NULL,
    bytes             BIGINT NOT NULL DEFAULT 0,
    rows              BIGINT NOT NULL DEFAULT 0,
    accepted          BIGINT NOT NULL DEFAULT 0,
    rejected          BIGINT NOT NULL DEFAULT 0,
    duplicates        BIGINT NOT NULL DEFAULT 0,
    held              BIGINT NOT NULL DEFAULT 0,
    blank_lines       BIGINT NOT NULL DEFAULT 0,
    estimated_credits DOUBLE PRECISION    NOT NULL DEFAULT 0,
    mapping           TEXT,
    error             TEXT,
    created_by        TEXT    NOT NULL,
    created_at        BIGINT NOT NULL,
    finished_at       BIGINT
);
CREATE INDEX imports_workspace ON imports (workspace_id, id);

-- Every rejected row, with its original line and the reason, for the rejects report.
CREATE TABLE import_rejects (
    import_id BIGINT NOT NULL REFERENCES imports (id),
    line      BIGINT NOT NULL,
    reason    TEXT    NOT NULL,
    raw       TEXT    NOT NULL,
    PRIMARY KEY (import_id, line)
);

CREATE TABLE leads (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id BIGINT NOT NULL,
    import_id    BIGINT NOT NULL,
    -- NULL while held: no routing rule matched and the workspace holds unrouted rows.
    table_id     BIGINT,
    priority     BIGINT NOT NULL,
    line         BIGINT NOT NULL,
    -- Normalised email, else domain + full name, else LinkedIn URL, else company + name.
    dedupe_key   TEXT    NOT NULL,
    -- The JSON object Kiln sends to Clay (with "kiln_id" added at sending).
    payload      TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, dedupe_key)
);
CREATE INDEX leads_import ON leads (import_id, id);
