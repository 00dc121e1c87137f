-- The planner's plan catalog (seeded from the app's defaults at start-up) and saved scenarios.

CREATE TABLE plans (
    key                        TEXT             PRIMARY KEY,
    position                   BIGINT           NOT NULL,
    name                       TEXT             NOT NULL,
    legacy                     BOOLEAN          NOT NULL,
    monthly_price              DOUBLE PRECISION,
    annual_monthly_price       DOUBLE PRECISION,
    actions                    BIGINT,
    data_credits               BIGINT           NOT NULL,
    max_actions                BIGINT,
    max_data_credits           BIGINT           NOT NULL,
    extra_actions_price_per_1k DOUBLE PRECISION NOT NULL,
    extra_credits_price_per_1k DOUBLE PRECISION NOT NULL,
    rollover_multiple          DOUBLE PRECISION NOT NULL,
    updated_at                 BIGINT           NOT NULL,
    updated_by                 TEXT             NOT NULL
);

CREATE TABLE scenarios (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT   NOT NULL UNIQUE,
    query      TEXT   NOT NULL,
    saved_by   TEXT   NOT NULL,
    saved_at   BIGINT NOT NULL
);
