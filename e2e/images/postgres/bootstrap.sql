-- The roles and schemas supabase/postgres creates before the program's migrations run (its init-scripts and
-- migrations in supabase/postgres migrations/db/), reduced to what the services here log in with and alter.
-- Passwords: supabase_admin gets POSTGRES_PASSWORD (set by the entrypoint); the service roles get theirs from
-- the program's own 99-roles.sql.
\set ON_ERROR_STOP on
CREATE ROLE supabase_admin WITH SUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS LOGIN;
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE authenticator WITH LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;
CREATE ROLE supabase_auth_admin WITH LOGIN NOINHERIT CREATEROLE;
CREATE ROLE supabase_storage_admin WITH LOGIN NOINHERIT CREATEROLE;
CREATE ROLE supabase_functions_admin WITH LOGIN NOINHERIT CREATEROLE;
CREATE ROLE pgbouncer WITH LOGIN;
CREATE ROLE dashboard_user WITH CREATEDB CREATEROLE REPLICATION;
GRANT anon, authenticated, service_role TO supabase_storage_admin;

CREATE SCHEMA IF NOT EXISTS extensions;
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role, supabase_auth_admin, supabase_storage_admin;

-- auth runs its own migrations in this schema as supabase_auth_admin (supabase/auth migrations/).
CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION supabase_auth_admin;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
ALTER ROLE supabase_auth_admin SET search_path = auth;
CREATE SCHEMA IF NOT EXISTS storage AUTHORIZATION supabase_storage_admin;
GRANT USAGE ON SCHEMA storage TO anon, authenticated, service_role;
ALTER ROLE supabase_storage_admin SET search_path = storage;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
GRANT CREATE ON DATABASE postgres TO supabase_auth_admin, supabase_storage_admin, supabase_functions_admin;
