-- Takes the worker's use of schema shop back and drops the cart sweep that needs it (`postcart migrate`
-- re-creates the function once 0026 is applied again).
SET LOCAL ROLE postcart_owner;

DROP FUNCTION IF EXISTS shop.sweep_abandoned_carts(integer);
REVOKE USAGE ON SCHEMA shop FROM postcart_worker;

RESET ROLE;
