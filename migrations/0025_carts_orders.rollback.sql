-- Drops the carts, promotions and orders tables (with their data and the reporting views on them) and the
-- region column of addresses.
-- The functions of sql/shop/carts.sql, promotions.sql, checkout.sql, orders.sql and sql/api/ that use them
-- are dropped first; `postcart migrate` re-creates them.
SET LOCAL ROLE postcart_owner;

DO $$
DECLARE
    f regprocedure;
BEGIN
    -- Every function whose body names one of these tables (the demo and seed loaders included).
    FOR f IN
        SELECT p.oid::regprocedure
        FROM pg_catalog.pg_proc AS p
        JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
        WHERE n.nspname IN ('api', 'shop', 'reporting', 'integration')
            AND p.prosrc ~ 'shop\.(carts|cart_items|promotions|promotion_targets|promotion_redemptions|orders|order_items|order_allocations|order_numbers|order_transitions|payments|payment_methods|fulfillments|fulfillment_items|returns|return_items)\M'
    LOOP
        EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', f);
    END LOOP;
END
$$;

DROP TABLE IF EXISTS shop.return_items CASCADE;
DROP TABLE IF EXISTS shop.returns CASCADE;
DROP TABLE IF EXISTS shop.fulfillment_items CASCADE;
DROP TABLE IF EXISTS shop.fulfillments CASCADE;
DROP TABLE IF EXISTS shop.payments CASCADE;
DROP TABLE IF EXISTS shop.promotion_redemptions CASCADE;
DROP TABLE IF EXISTS shop.order_allocations CASCADE;
DROP TABLE IF EXISTS shop.order_items CASCADE;
DROP TABLE IF EXISTS shop.order_transitions CASCADE;
DROP TABLE IF EXISTS shop.orders CASCADE;
DROP TABLE IF EXISTS shop.order_numbers CASCADE;
DROP TABLE IF EXISTS shop.cart_items CASCADE;
DROP TABLE IF EXISTS shop.carts CASCADE;
DROP TABLE IF EXISTS shop.promotion_targets CASCADE;
DROP TABLE IF EXISTS shop.promotions CASCADE;
DROP TABLE IF EXISTS shop.payment_methods CASCADE;
ALTER TABLE shop.addresses DROP COLUMN IF EXISTS region;

RESET ROLE;
