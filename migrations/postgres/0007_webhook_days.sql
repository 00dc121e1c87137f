-- Submissions counted against each webhook per UTC day, so the webhooks page can tell when each
-- runs out at the pace of the last 7 days without scanning leads.
CREATE TABLE webhook_days (
    webhook_id  BIGINT NOT NULL,
    day_start   BIGINT NOT NULL,
    submissions BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (webhook_id, day_start)
);
