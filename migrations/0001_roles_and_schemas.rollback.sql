-- Drops the schemas (and everything in them); the roles stay, as other databases may use them.
DROP SCHEMA IF EXISTS reporting CASCADE;
DROP SCHEMA IF EXISTS integration CASCADE;
DROP SCHEMA IF EXISTS audit CASCADE;
DROP SCHEMA IF EXISTS auth CASCADE;
DROP SCHEMA IF EXISTS shop CASCADE;
DROP SCHEMA IF EXISTS api CASCADE;
