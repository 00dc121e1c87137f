-- One-off fixes of stored data that Kiln makes at start-up, each recorded here when done, so
-- that a start does not look for what was already fixed (the first one read every lead).
CREATE TABLE upkeep (
    task    TEXT    PRIMARY KEY,
    done_at INTEGER NOT NULL
);
