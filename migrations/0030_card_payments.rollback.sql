-- Undoes 0030: provider events, refunds, the refund reservation, the status/amount rule, the open card
-- attempt index and the payment status machine (the functions go with them: sql/shop/payments.sql and
-- sql/api/payments.sql are dropped first). The role postcart_gateway stays (roles are cluster-wide).
SET LOCAL ROLE postcart_owner;

REVOKE USAGE ON SCHEMA shop FROM postcart_gateway;

DROP FUNCTION IF EXISTS api.create_payment(jsonb, jsonb);
DROP FUNCTION IF EXISTS api.admin_create_refund(jsonb);
DROP FUNCTION IF EXISTS shop.card_intent_created(uuid, jsonb);
DROP FUNCTION IF EXISTS shop.card_intent_refused(uuid, text);
DROP FUNCTION IF EXISTS shop.apply_card_event(jsonb);
DROP FUNCTION IF EXISTS shop.refund_answered(uuid, boolean, text, text);
DROP FUNCTION IF EXISTS shop.settle_refund(uuid, boolean, text, text);
DROP FUNCTION IF EXISTS shop.refund_outcome_json(shop.refunds);
DROP FUNCTION IF EXISTS shop.card_advance(shop.payments, text, bigint);
DROP FUNCTION IF EXISTS shop.lock_card_payment(uuid);
DROP TRIGGER IF EXISTS _400_transition ON shop.payments;
DROP TRIGGER IF EXISTS _600_order_totals ON shop.payments;
DROP FUNCTION IF EXISTS shop.tg_payments__transition();
DROP FUNCTION IF EXISTS shop.tg_payments__order_totals();
DROP FUNCTION IF EXISTS shop.payment_json(shop.payments);
DROP FUNCTION IF EXISTS shop.refund_json(shop.refunds);

DROP TABLE IF EXISTS integration.provider_events;
DROP TABLE IF EXISTS shop.refunds;
DROP INDEX IF EXISTS shop.payments_open_card_key;
ALTER TABLE shop.payments
DROP CONSTRAINT IF EXISTS payments_status_amounts_check,
DROP CONSTRAINT IF EXISTS payments_refunding_amount_check,
DROP COLUMN IF EXISTS refunding_amount;
DROP TABLE IF EXISTS shop.payment_transitions;

RESET ROLE;
