-- A table's enriched leads whose forwarding gave up: counted on the table's settings, and sent
-- again from there once the destination works.
CREATE INDEX leads_forward_dead ON leads (table_id, id) WHERE forward_state = 'dead';
