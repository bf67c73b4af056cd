-- What the functions run, and nothing more.
DO $$
DECLARE
    app_user text := current_setting('app.db_user');
BEGIN
    EXECUTE format('GRANT SELECT, INSERT ON orders TO %I', app_user);
    EXECUTE format('GRANT UPDATE (status) ON orders TO %I', app_user);
    EXECUTE format('GRANT SELECT, INSERT ON order_messages TO %I', app_user);
    EXECUTE format('GRANT SELECT, INSERT ON order_job_runs TO %I', app_user);
    EXECUTE format('GRANT UPDATE (result) ON order_job_runs TO %I', app_user);
END
$$;
