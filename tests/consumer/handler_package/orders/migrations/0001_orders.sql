CREATE TABLE orders (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item    text NOT NULL,
    status  text NOT NULL DEFAULT 'new'
);
-- the BatchProcessor's idempotency table
CREATE TABLE order_messages (message_id text PRIMARY KEY);
-- the schedule helper's runs
CREATE TABLE order_job_runs (
    job             text NOT NULL,
    scheduled_time  timestamptz NOT NULL,
    result          jsonb,
    PRIMARY KEY (job, scheduled_time)
);
