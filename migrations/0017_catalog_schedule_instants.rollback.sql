SET LOCAL ROLE postcart_owner;

DROP TRIGGER IF EXISTS _950_schedule_instant ON shop.products;
DROP FUNCTION IF EXISTS shop.tg_products__schedule_instant();
DROP TABLE IF EXISTS shop.catalog_schedule_instants;

RESET ROLE;
