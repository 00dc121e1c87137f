-- The planner's plan catalog (seeded from the app's defaults at start-up) and saved scenarios.

CREATE TABLE plans (
    key                        TEXT    PRIMARY KEY,
    position                   INTEGER NOT NULL,
    name                       TEXT    NOT NULL,
    legacy                     BOOLEAN NOT NULL,
    monthly_price              REAL,
    annual_monthly_price       REAL,
    actions                    INTEGER,
    data_credits               INTEGER NOT NULL,
    max_actions                INTEGER,
    max_data_credits           INTEGER NOT NULL,
    extra_actions_price_per_1k REAL    NOT NULL,
    extra_credits_price_per_1k REAL    NOT NULL,
    rollover_multiple          REAL    NOT NULL,
    updated_at                 INTEGER NOT NULL,
    updated_by                 TEXT    NOT NULL
);

CREATE TABLE scenarios (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    query      TEXT    NOT NULL,
    saved_by   TEXT    NOT NULL,
    saved_at   INTEGER NOT NULL
);
