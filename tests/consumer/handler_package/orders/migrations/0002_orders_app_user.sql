-- The functions' login role (DB_USER, given to the runner as app.db_user), with IAM login on Aurora.
-- Until the runner creates the users granted through grant_connect, the app's migrations do.
DO $$
DECLARE
    app_user text := current_setting('app.db_user');
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = app_user) THEN
        EXECUTE format('CREATE ROLE %I LOGIN', app_user);
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
        EXECUTE format('GRANT rds_iam TO %I', app_user);
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), app_user);
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', app_user);
END
$$;
