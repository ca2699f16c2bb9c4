-- Drops the schemas (and everything in them); the roles stay, as other databases may use them.
DROP SCHEMA IF EXISTS reporting, integration, audit, auth, shop, api CASCADE;
