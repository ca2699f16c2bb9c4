-- Orders after checkout (issue 7 part 3, docs/orders.md "Orders after checkout"): the one status change
-- cash on delivery needs, a customer's read access to the shipments and returns of its own orders (the
-- order JSON shows them), and schema access for the worker's unpaid-order sweeper. The rules are in
-- sql/shop/orders.sql, the routes in sql/api/orders.sql.
-- depends: 0025_carts_orders

SET LOCAL ROLE postcart_owner;

-- Cash on delivery ships before it is paid: pending_payment -> fulfilled. The status trigger allows it only
-- for orders whose payment_method is cash_on_delivery.
INSERT INTO shop.order_transitions (from_status, to_status) VALUES ('pending_payment', 'fulfilled');

-- A customer reads what was shipped and returned on its own orders (columns the order JSON shows; not the
-- warehouse a unit came from, nor which staff member recorded it).
CREATE POLICY fulfillment_items_select_customer ON shop.fulfillment_items
FOR SELECT TO postcart_customer USING (
    fulfillment_id IN (
        SELECT f.id
        FROM shop.fulfillments AS f
        INNER JOIN shop.orders AS o ON f.order_id = o.id
        WHERE o.customer_id = (SELECT auth.current_customer_id())
    )
);
CREATE POLICY returns_select_customer ON shop.returns
FOR SELECT TO postcart_customer USING (
    order_id IN (
        SELECT o.id
        FROM shop.orders AS o
        WHERE o.customer_id = (SELECT auth.current_customer_id())
    )
);
CREATE POLICY return_items_select_customer ON shop.return_items
FOR SELECT TO postcart_customer USING (
    return_id IN (
        SELECT r.id
        FROM shop.returns AS r
        INNER JOIN shop.orders AS o ON r.order_id = o.id
        WHERE o.customer_id = (SELECT auth.current_customer_id())
    )
);
GRANT SELECT (fulfillment_id, order_item_id, quantity) ON shop.fulfillment_items TO postcart_customer;
GRANT SELECT (id, order_id, restock, refund_amount, reason, created_at) ON shop.returns TO postcart_customer;
GRANT SELECT (return_id, order_item_id, quantity) ON shop.return_items TO postcart_customer;

-- The worker runs shop.sweep_unpaid_orders (EXECUTE granted where it is defined); no table privilege.
GRANT USAGE ON SCHEMA shop TO postcart_worker;

RESET ROLE;
