-- An import's leads are written `queued` as they arrive and become sendable with their import:
-- the worker claims the leads of a workspace's queued imports, import by import (priority, then
-- age), so queueing an import no longer rewrites every one of its leads (1,000,000 rows: about
-- a quarter of the import's time; docs/BENCHMARKS.md). SQLite reads an import's queued leads in
-- id order from `leads_import` (import_id, state), whose entries end with the row id, so the
-- workspace-wide index of queued leads goes, and with it a write per lead.
DROP INDEX leads_ready;
CREATE INDEX imports_sending ON imports (workspace_id, state, priority DESC, id);
