-- The application's role gets only what the application does (0002 granted every DML on every table).
-- audit_log is append-only: app_user may add rows, never read, change, delete or truncate them.
-- No table loses rows the app never deletes; UPDATE only on the columns the app updates.
-- Tables of later migrations get nothing by default: each migration grants what its code needs.
DO $$
DECLARE
    app_user text := current_setting('app.db_user');
BEGIN
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', app_user);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', app_user);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM %I', app_user);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM %I', app_user);
    EXECUTE format('REVOKE CREATE ON SCHEMA public FROM %I', app_user);

    -- users: the CRUD API (id and created_at never change)
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON users TO %I', app_user);
    EXECUTE format('GRANT UPDATE (email, name, bio, updated_at) ON users TO %I', app_user);
    -- outbox: written with the change, read FOR UPDATE and marked published; never deleted
    EXECUTE format('GRANT SELECT, INSERT ON outbox TO %I', app_user);
    EXECUTE format('GRANT UPDATE (published_at) ON outbox TO %I', app_user);
    -- processed_messages: the worker's idempotency records, purged by the schedule
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON processed_messages TO %I', app_user);
    -- audit_log: append-only
    EXECUTE format('GRANT INSERT ON audit_log TO %I', app_user);
    -- job_runs: a run is claimed, then its result written
    EXECUTE format('GRANT SELECT, INSERT ON job_runs TO %I', app_user);
    EXECUTE format('GRANT UPDATE (result) ON job_runs TO %I', app_user);
    -- daily_stats: one row per day, recomputed by a rerun
    EXECUTE format('GRANT SELECT, INSERT ON daily_stats TO %I', app_user);
    EXECUTE format('GRANT UPDATE (users_total, users_created, computed_at) ON daily_stats TO %I', app_user);
    -- WebSocket bookkeeping: rows come and go, never change
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON ws_connections, ws_subscriptions TO %I', app_user);
END
$$;
