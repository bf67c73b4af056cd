-- WebSocket connections and their channel subscriptions.
CREATE TABLE ws_connections (
    connection_id  text PRIMARY KEY,
    connected_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ws_subscriptions (
    connection_id  text NOT NULL REFERENCES ws_connections (connection_id) ON DELETE CASCADE,
    channel        text NOT NULL,
    subscribed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, connection_id)
);

DO $$
BEGIN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ws_connections, ws_subscriptions TO %I',
                   current_setting('app.db_user'));
END
$$;
