-- Roles, schemas and extensions. Runs as the migrating admin (a superuser or a role with CREATEROLE
-- and CREATE on the database). Idempotent: on a shared server the roles may already exist.
-- depends:

DO $roles$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT *
        FROM (VALUES
            ('postcart_owner', 'NOLOGIN CREATEROLE'),
            ('postcart_authenticator', 'LOGIN NOINHERIT'),
            ('postcart_anon', 'NOLOGIN'),
            ('postcart_customer', 'NOLOGIN'),
            ('postcart_staff', 'NOLOGIN'),
            ('catalog_manager', 'NOLOGIN'),
            ('inventory_manager', 'NOLOGIN'),
            ('order_manager', 'NOLOGIN'),
            ('support_agent', 'NOLOGIN'),
            ('store_admin', 'NOLOGIN'),
            ('postcart_analyst', 'LOGIN'),
            ('postcart_dba', 'LOGIN')
        ) AS roles (name, options)
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
            EXECUTE format('CREATE ROLE %I %s', r.name, r.options);
        END IF;
    END LOOP;
END
$roles$;

-- The pool switches into these; staff members' own roles are granted to it as they are created.
GRANT postcart_anon TO postcart_authenticator;
GRANT postcart_customer TO postcart_authenticator;
-- The owner creates one role per staff member and puts it in the permission roles (PostgreSQL 16+
-- needs ADMIN OPTION for that; 15 accepts CREATEROLE alone).
GRANT postcart_staff TO postcart_owner WITH ADMIN OPTION;
GRANT catalog_manager TO postcart_owner WITH ADMIN OPTION;
GRANT inventory_manager TO postcart_owner WITH ADMIN OPTION;
GRANT order_manager TO postcart_owner WITH ADMIN OPTION;
GRANT support_agent TO postcart_owner WITH ADMIN OPTION;
GRANT store_admin TO postcart_owner WITH ADMIN OPTION;

DO $database$
BEGIN
    EXECUTE format('GRANT CREATE, CONNECT, TEMPORARY ON DATABASE %I TO postcart_owner', current_database());
    EXECUTE format(
        'GRANT CONNECT ON DATABASE %I TO postcart_authenticator, postcart_analyst, postcart_dba',
        current_database()
    );
    -- citext operators must resolve for every session, not only inside functions.
    EXECUTE format('ALTER DATABASE %I SET search_path = "$user", public, extensions', current_database());
END
$database$;

CREATE SCHEMA IF NOT EXISTS extensions;
GRANT USAGE ON SCHEMA extensions TO PUBLIC;
CREATE EXTENSION IF NOT EXISTS citext SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA extensions;

CREATE SCHEMA IF NOT EXISTS api AUTHORIZATION postcart_owner;
CREATE SCHEMA IF NOT EXISTS shop AUTHORIZATION postcart_owner;
CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION postcart_owner;
CREATE SCHEMA IF NOT EXISTS audit AUTHORIZATION postcart_owner;
CREATE SCHEMA IF NOT EXISTS integration AUTHORIZATION postcart_owner;
CREATE SCHEMA IF NOT EXISTS reporting AUTHORIZATION postcart_owner;
COMMENT ON SCHEMA api IS 'Functions callable from HTTP: the public surface of postcart.';
COMMENT ON SCHEMA shop IS 'Catalog, carts, orders and stock: tables, constraints, triggers and RLS policies.';
COMMENT ON SCHEMA auth IS 'Accounts, credentials, sessions and staff roles.';
COMMENT ON SCHEMA audit IS 'Append-only change log written by triggers.';
COMMENT ON SCHEMA integration IS 'Outbox of domain events, webhook subscriptions and deliveries.';
COMMENT ON SCHEMA reporting IS 'Documented views for analysts; personal data is masked here.';

-- Nobody gets anything by default: each later migration grants what a role needs, column by column.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE postcart_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
GRANT USAGE ON SCHEMA api TO postcart_anon, postcart_customer, postcart_staff;
GRANT USAGE ON SCHEMA auth TO postcart_authenticator, postcart_anon, postcart_customer, postcart_staff, postcart_dba;
GRANT USAGE ON SCHEMA shop TO postcart_anon, postcart_customer, postcart_staff;
GRANT USAGE ON SCHEMA reporting TO postcart_analyst, postcart_dba;
