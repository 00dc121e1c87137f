-- An import's leads are written `queued` as they arrive and become sendable with their import:
-- the worker claims the leads of a workspace's queued imports, import by import (priority, then
-- age), so queueing an import no longer rewrites every one of its leads (docs/BENCHMARKS.md).
-- PostgreSQL's `leads_import` (import_id, state) does not keep an import's leads in id order, so
-- the index of queued leads is now by import.
DROP INDEX leads_ready;
CREATE INDEX leads_ready ON leads (import_id, id) WHERE state = 'queued';
CREATE INDEX imports_sending ON imports (workspace_id, state, priority DESC, id);
