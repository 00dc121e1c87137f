-- The workspace's token bucket lives with the workspace, so that every Kiln process that sends
-- for it draws from one bucket and together they keep to Clay's rate. NULL tokens: full.
ALTER TABLE workspaces ADD COLUMN bucket_tokens REAL;
ALTER TABLE workspaces ADD COLUMN bucket_updated_at INTEGER NOT NULL DEFAULT 0;
