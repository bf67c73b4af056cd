-- The handler runtime's own tables, whatever the app. Recorded in runtime_schema_migrations, apart from
-- the app's versions. IF NOT EXISTS: databases migrated before the runtime owned these tables have them
-- from the example service's 0001 and 0003, with the same columns.
-- Privileges on them are the app's to grant (grant_connect(privileges=...) or its own migrations).

-- lambda_src.batch.BatchProcessor: SQS messages whose work committed, recorded in the same transaction.
CREATE TABLE IF NOT EXISTS processed_messages (
    message_id    text PRIMARY KEY,
    processed_at  timestamptz NOT NULL DEFAULT now()
);

-- lambda_src.schedule.claim / record_result: one row per (job, scheduled time) makes each run idempotent.
CREATE TABLE IF NOT EXISTS job_runs (
    job             text NOT NULL,
    scheduled_time  timestamptz NOT NULL,
    result          jsonb NOT NULL DEFAULT '{}',
    finished_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, scheduled_time)
);

-- lambda_src.websocket / realtime: WebSocket connections and their channel subscriptions.
CREATE TABLE IF NOT EXISTS ws_connections (
    connection_id  text PRIMARY KEY,
    connected_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS ws_subscriptions (
    connection_id  text NOT NULL REFERENCES ws_connections (connection_id) ON DELETE CASCADE,
    channel        text NOT NULL,
    subscribed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, connection_id)
);
