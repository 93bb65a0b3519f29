-- Version 2: outbox leases, so each notification is delivered by one
-- replica. DueOutbox leases the rows it returns to the store value that
-- read them (claimed_by) until lease_until; a live store renews its leases,
-- OutboxRetry and Close clear them, and the rows of a replica that died
-- are due again for the others once the lease has passed.

-- +goose Up
ALTER TABLE outbox
    ADD COLUMN claimed_by  text,
    ADD COLUMN lease_until timestamptz;

-- +goose Down
ALTER TABLE outbox
    DROP COLUMN claimed_by,
    DROP COLUMN lease_until;
