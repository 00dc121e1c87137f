-- The last sign of life of an import while its file arrives (a batch written, or the writer's
-- heartbeat while the upload is slow). An import whose process died stays `receiving` with a
-- stale one: it is ended, and its leads discarded so the file can be uploaded again.
ALTER TABLE imports ADD COLUMN heartbeat_at INTEGER;
CREATE INDEX imports_receiving ON imports (heartbeat_at) WHERE state = 'receiving';
