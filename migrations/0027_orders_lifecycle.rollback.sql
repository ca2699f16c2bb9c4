-- Undoes 0027: the cash-on-delivery transition (orders that took it keep their status), the customer's
-- reads of shipments and returns, the worker's schema access and the sweeper that needs it.
SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS shop.sweep_unpaid_orders(integer);
REVOKE USAGE ON SCHEMA shop FROM postcart_worker;

REVOKE SELECT ON shop.fulfillment_items, shop.returns, shop.return_items FROM postcart_customer;
DROP POLICY IF EXISTS return_items_select_customer ON shop.return_items;
DROP POLICY IF EXISTS returns_select_customer ON shop.returns;
DROP POLICY IF EXISTS fulfillment_items_select_customer ON shop.fulfillment_items;

DELETE FROM shop.order_transitions
WHERE from_status = 'pending_payment' AND to_status = 'fulfilled';

RESET ROLE;
