-- The whole schema, version 1. Every text column that a list is ordered by
-- is COLLATE "C", so ORDER BY is byte order, as the store contracts say.
-- Times are timestamptz (microseconds); a zero time.Time is NULL where a
-- column may hold one. Documents are json (not jsonb) so they read back
-- byte for byte as written.

-- +goose Up
CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE connectors (
    connector text COLLATE "C" PRIMARY KEY
);

CREATE TABLE records (
    connector text COLLATE "C" NOT NULL,
    type      text COLLATE "C" NOT NULL,
    id        text COLLATE "C" NOT NULL,
    modified  timestamptz,
    deleted   boolean NOT NULL,
    doc       json NOT NULL,
    PRIMARY KEY (connector, type, id)
);
CREATE INDEX records_by_id ON records (connector, id);

CREATE TABLE cursors (
    connector text COLLATE "C" NOT NULL,
    stream    text COLLATE "C" NOT NULL,
    cursor    bytea NOT NULL,
    PRIMARY KEY (connector, stream)
);

CREATE TABLE stream_types (
    connector text COLLATE "C" NOT NULL,
    stream    text COLLATE "C" NOT NULL,
    type      text COLLATE "C" NOT NULL,
    PRIMARY KEY (connector, stream, type)
);

CREATE TABLE stream_seen (
    connector text COLLATE "C" NOT NULL,
    stream    text COLLATE "C" NOT NULL,
    type      text COLLATE "C" NOT NULL,
    id        text COLLATE "C" NOT NULL,
    PRIMARY KEY (connector, stream, type, id)
);

CREATE TABLE signals (
    account_key text COLLATE "C" NOT NULL,
    metric      text COLLATE "C" NOT NULL,
    at          timestamptz NOT NULL,
    value       double precision NOT NULL,
    PRIMARY KEY (account_key, metric, at)
);
CREATE INDEX signals_at ON signals (at);

CREATE TABLE links (
    account_key  text COLLATE "C" NOT NULL,
    customer_key text COLLATE "C" NOT NULL,
    rule         text NOT NULL,
    created      timestamptz NOT NULL,
    PRIMARY KEY (account_key, customer_key)
);

CREATE TABLE scores (
    account_key text COLLATE "C" PRIMARY KEY,
    at          timestamptz NOT NULL,
    doc         json NOT NULL
);

CREATE TABLE score_history (
    account_key text COLLATE "C" NOT NULL,
    at          timestamptz NOT NULL,
    doc         json NOT NULL,
    PRIMARY KEY (account_key, at)
);

CREATE TABLE written (
    connector text COLLATE "C" NOT NULL,
    object    text COLLATE "C" NOT NULL,
    id        text COLLATE "C" NOT NULL,
    field     text COLLATE "C" NOT NULL,
    value     json NOT NULL,
    at        timestamptz,
    PRIMARY KEY (connector, object, id, field)
);

CREATE TABLE pending (
    connector text COLLATE "C" NOT NULL,
    object    text COLLATE "C" NOT NULL,
    id        text COLLATE "C" NOT NULL,
    doc       json NOT NULL,
    PRIMARY KEY (connector, object, id)
);

CREATE TABLE tasks (
    dedupe_key text COLLATE "C" PRIMARY KEY,
    status     text NOT NULL,
    doc        json NOT NULL
);

-- The webhook queue. okey is the ordering key; claims holds at most one
-- claim per ordering key across every replica (its primary key), with the
-- lease after which another replica may take the claim over.
CREATE TABLE queue (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector  text COLLATE "C" NOT NULL,
    okey       text COLLATE "C" NOT NULL,
    event      json NOT NULL,
    -- What changed, for coalescing copies: event.type, object_type, object_id.
    event_type  text COLLATE "C" NOT NULL,
    object_type text COLLATE "C" NOT NULL,
    object_id   text COLLATE "C" NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    due        timestamptz NOT NULL,
    enqueued   timestamptz NOT NULL,
    last_error text NOT NULL DEFAULT ''
);
CREATE INDEX queue_by_key ON queue (okey, seq);

CREATE TABLE claims (
    okey        text COLLATE "C" PRIMARY KEY,
    seq         bigint NOT NULL,
    claimed_by  text NOT NULL,
    lease_until timestamptz NOT NULL
);
CREATE INDEX claims_by_owner ON claims (claimed_by);
CREATE INDEX claims_by_seq ON claims (seq);

-- A dedupe key is remembered until expires: the unique constraint makes a
-- redelivered event a duplicate.
CREATE TABLE dedupe (
    connector text COLLATE "C" NOT NULL,
    event_id  text COLLATE "C" NOT NULL,
    expires   timestamptz NOT NULL,
    PRIMARY KEY (connector, event_id)
);
CREATE INDEX dedupe_expires ON dedupe (expires);

CREATE TABLE dead_letters (
    seq        bigint PRIMARY KEY,
    connector  text COLLATE "C" NOT NULL,
    okey       text COLLATE "C" NOT NULL,
    event      json NOT NULL,
    event_type  text COLLATE "C" NOT NULL,
    object_type text COLLATE "C" NOT NULL,
    object_id   text COLLATE "C" NOT NULL,
    attempts   integer NOT NULL,
    due        timestamptz NOT NULL,
    enqueued   timestamptz NOT NULL,
    last_error text NOT NULL,
    dead_at    timestamptz NOT NULL
);

CREATE TABLE outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscriber text NOT NULL,
    event_id   text NOT NULL,
    type       text NOT NULL,
    payload    bytea,
    created    timestamptz NOT NULL,
    due        timestamptz NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    last_error text NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (due, id);

CREATE TABLE runs (
    start timestamptz NOT NULL,
    id    text COLLATE "C" NOT NULL,
    doc   json NOT NULL,
    PRIMARY KEY (start, id)
);

-- +goose Down
DROP TABLE runs, outbox, dead_letters, dedupe, claims, queue, tasks, pending, written,
    score_history, scores, links, signals, stream_seen, stream_types, cursors, records,
    connectors, meta;
