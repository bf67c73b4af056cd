-- Application tables. The runtime's own (processed_messages, job_runs) come from its migrations,
-- applied before these (lambda_src/migrations); databases migrated before that have them from here.
CREATE TABLE users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       text NOT NULL,
    name        text NOT NULL,
    bio         text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email)
);

-- Events written in the same transaction as the change (transactional outbox), published to SQS.
CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_type    text NOT NULL,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- The worker's example work: one audit row per created user.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_type  text NOT NULL,
    user_id     bigint,
    message_id  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE daily_stats (
    day            date PRIMARY KEY,
    users_total    bigint NOT NULL,
    users_created  bigint NOT NULL,
    computed_at    timestamptz NOT NULL DEFAULT now()
);
