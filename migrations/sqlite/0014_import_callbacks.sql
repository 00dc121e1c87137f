-- Delivered leads still awaiting their callback, now by import first: the imports and deliveries
-- pages count each listed import's "called back" and "no callback" leads on every refresh, which
-- read the row of every delivered lead. The tables' and workspaces' counts of missing callbacks
-- (alerts, dashboard) now read this index alone instead of a row per awaiting lead. `state` and
-- `callback_at` are constant here, but SQLite reads a row for any column of the predicate that
-- the index does not hold.
DROP INDEX leads_awaiting_callback;
CREATE INDEX leads_awaiting_callback ON leads (import_id, table_id, delivered_at, state, callback_at)
    WHERE state = 'delivered' AND callback_at IS NULL;
