-- Parked leads by table and reason, so the worker finds which tables wait, and why, by a few
-- seeks in this index rather than by reading every parked lead (a table can park a million).
DROP INDEX leads_waiting;
CREATE INDEX leads_waiting ON leads (workspace_id, table_id, wait_reason) WHERE state = 'waiting';
