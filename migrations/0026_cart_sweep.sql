-- The background worker sweeps abandoned carts (shop.sweep_abandoned_carts, sql/shop/carts.sql): it may
-- reach the shop schema, where that function is its only grant. See docs/orders.md ("Carts").
-- depends: 0020_worker_sweeps 0025_carts_orders

SET LOCAL ROLE postcart_owner;

GRANT USAGE ON SCHEMA shop TO postcart_worker;

RESET ROLE;
