-- Version 3: the owner index. The engine scores accounts chunk by chunk and
-- reads only the chunk's deals (by account_id) and subscriptions and
-- invoices (by customer_id): an expression index over the stored document,
-- so the write path is unchanged and existing rows are indexed at once.

-- +goose Up
CREATE INDEX records_by_owner ON records (connector, type,
    (coalesce(doc->>'customer_id', doc->>'account_id')) COLLATE "C", id)
    WHERE type IN ('deal', 'subscription', 'invoice');

-- +goose Down
DROP INDEX records_by_owner;
