-- Publication instants for the catalog version, in a table of their own: the version is then read without
-- touching shop.products (a long lock on the catalog never delays a 304). Filled by a trigger on
-- shop.products (sql/shop/catalog_version.sql) and, here, from what is already published.
-- depends: 0012_catalog_admin_products 0016_catalog_schedule

SET LOCAL ROLE postcart_owner;

CREATE TABLE shop.catalog_schedule_instants (
    at timestamptz PRIMARY KEY
);
COMMENT ON TABLE shop.catalog_schedule_instants IS
'Every instant at which a product was or will be published; shop.catalog_schedule_instant() reads the '
'latest passed one. No personal data; written only by a trigger.';
ALTER TABLE shop.catalog_schedule_instants ENABLE ROW LEVEL SECURITY;
ALTER TABLE shop.catalog_schedule_instants FORCE ROW LEVEL SECURITY;
CREATE POLICY catalog_schedule_instants_owner_all ON shop.catalog_schedule_instants
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);

INSERT INTO shop.catalog_schedule_instants (at)
SELECT DISTINCT p.published_at FROM shop.products AS p
WHERE p.status = 'published' AND p.published_at IS NOT NULL;

RESET ROLE;
