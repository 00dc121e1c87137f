-- Per-minute roll-ups the live dashboard reads instead of scanning leads: deliveries, callbacks
-- and failed attempts by HTTP status (0 when no answer came: timeout or network error).

CREATE TABLE delivery_minutes (
    workspace_id INTEGER NOT NULL,
    minute_start INTEGER NOT NULL,
    delivered    INTEGER NOT NULL DEFAULT 0,
    callbacks    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, minute_start)
);

CREATE TABLE delivery_errors (
    workspace_id INTEGER NOT NULL,
    minute_start INTEGER NOT NULL,
    status       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, minute_start, status)
);
