-- Application tables.
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

-- SQS messages whose work committed: the idempotency record, written in the same transaction.
CREATE TABLE processed_messages (
    message_id    text PRIMARY KEY,
    processed_at  timestamptz NOT NULL DEFAULT now()
);

-- The worker's example work: one audit row per created user.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_type  text NOT NULL,
    user_id     bigint,
    message_id  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Scheduled jobs: one row per (job, scheduled time) makes each run idempotent.
CREATE TABLE job_runs (
    job             text NOT NULL,
    scheduled_time  timestamptz NOT NULL,
    result          jsonb NOT NULL DEFAULT '{}',
    finished_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, scheduled_time)
);

CREATE TABLE daily_stats (
    day            date PRIMARY KEY,
    users_total    bigint NOT NULL,
    users_created  bigint NOT NULL,
    computed_at    timestamptz NOT NULL DEFAULT now()
);
