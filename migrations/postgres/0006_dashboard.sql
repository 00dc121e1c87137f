-- Per-minute roll-ups the live dashboard reads instead of scanning leads: deliveries, callbacks
-- and failed attempts by HTTP status (0 when no answer came: timeout or network error).

CREATE TABLE delivery_minutes (
    workspace_id BIGINT NOT NULL,
    minute_start BIGINT NOT NULL,
    delivered    BIGINT NOT NULL DEFAULT 0,
    callbacks    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, minute_start)
);

CREATE TABLE delivery_errors (
    workspace_id BIGINT NOT NULL,
    minute_start BIGINT NOT NULL,
    status       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, minute_start, status)
);
