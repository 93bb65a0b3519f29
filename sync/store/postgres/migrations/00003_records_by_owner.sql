-- Version 3: the owner index, and the newest record of each connector.
-- The engine scores accounts chunk by chunk and reads only the chunk's
-- deals (by account_id) and subscriptions and invoices (by customer_id):
-- an expression index over the stored document, so the write path is
-- unchanged and existing rows are indexed at once. Every new engine reads
-- NewestModified (max(modified) of a connector): an index on
-- (connector, modified) answers it without scanning the connector's rows.

-- +goose Up
CREATE INDEX records_by_owner ON records (connector, type,
    (coalesce(doc->>'customer_id', doc->>'account_id')) COLLATE "C", id)
    WHERE type IN ('deal', 'subscription', 'invoice');
CREATE INDEX records_newest ON records (connector, modified);

-- +goose Down
DROP INDEX records_newest;
DROP INDEX records_by_owner;
