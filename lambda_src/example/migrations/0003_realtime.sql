-- WebSocket connections and their channel subscriptions: the runtime's tables (ws_connections,
-- ws_subscriptions), created by its migrations before these; databases migrated before that have them
-- from this file. The app's role may keep track of them (0004 narrows it).
DO $$
BEGIN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ws_connections, ws_subscriptions TO %I',
                   current_setting('app.db_user'));
END
$$;
