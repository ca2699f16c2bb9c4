-- Payments and refunds (docs/payments.md): the database's half of each. A card payment or refund takes three
-- short steps, with the provider call in between run by the layer outside any transaction: this file's
-- function records the attempt (and reserves a refund), the provider is asked with an idempotency key
-- derived from the attempt's id, and shop.card_intent_created / shop.refund_answered (postcart_gateway)
-- store its answer. Writes are SECURITY DEFINER with EXECUTE granted per role.

-- == POST /v1/orders/{id}/payments ==================================================================
CREATE OR REPLACE FUNCTION api.create_payment(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    target shop.orders;
    due bigint;
    payment shop.payments;
BEGIN
    IF args ->> 'provider' IS DISTINCT FROM 'card' OR jsonb_typeof(args -> 'provider') <> 'string' THEN
        PERFORM shop.fail(
            422, 'validation_failed', '{"fields": {"provider": "must be card"}}',
            'Customers pay online by card (wallets included); staff record manual payments.'
        );
    END IF;
    target := shop.lock_order(shop.order_id_arg(args));
    -- A customer pays only its own orders, a guest only the order of the cart whose token it holds
    -- (derived.cart_token_sha256: the X-Cart-Token the layer hashed); another's is as unknown as a missing one.
    IF NOT (
        target.customer_id = auth.current_customer_id()
        OR (target.customer_id IS NULL AND EXISTS (
            SELECT FROM shop.carts AS c
            WHERE c.id = target.cart_id AND c.customer_id IS NULL
                AND c.token_hash = decode(derived ->> 'cart_token_sha256', 'hex')
        ))
    ) IS TRUE THEN
        PERFORM shop.fail(404, 'order_not_found', jsonb_build_object('id', target.id), 'There is no such order.');
    END IF;
    due := target.total - target.paid_amount;
    IF target.status <> 'pending_payment' OR due <= 0 THEN
        PERFORM shop.fail(
            409, 'order_not_payable', jsonb_build_object('status', target.status, 'payment_status', target.payment_status),
            'Only an order awaiting payment can be paid.'
        );
    END IF;
    -- One open card attempt per order (unique index): asking again resumes it, so the provider sees the
    -- same idempotency key and never charges twice.
    SELECT p.* INTO payment
    FROM shop.payments AS p
    WHERE p.order_id = target.id AND p.provider = 'card' AND p.status IN ('pending', 'authorized')
    FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO shop.payments (order_id, provider, status, amount, currency)
        VALUES (target.id, 'card', 'pending', due, target.currency)
        RETURNING * INTO payment;
    END IF;
    RETURN jsonb_build_object('payment', shop.payment_json(payment), 'order_number', target.number);
END
$$;
COMMENT ON FUNCTION api.create_payment(jsonb, jsonb) IS
'Starts paying one of the caller''s own orders by card (a guest''s: the order of the cart whose token '
'derived.cart_token_sha256 proves): {provider: "card"} -> {payment, order_number}, a '
'pending card payment for what is still due (total - paid_amount), or the open attempt of the order when '
'there is one. The layer then creates the provider''s PaymentIntent (idempotency key from the payment id) '
'and answers 201 {payment: {id, status, amount, provider, client_secret}}. 404 order_not_found (also '
'another''s order); 409 order_not_payable (not pending_payment, nothing due); 422 validation_failed.';

-- == POST /v1/admin/orders/{id}/refunds =============================================================
CREATE OR REPLACE FUNCTION api.admin_create_refund(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    target shop.orders;
    fields jsonb;
    wanted bigint;
    payment shop.payments;
    refund shop.refunds;
    refundable bigint;
BEGIN
    fields := jsonb_strip_nulls(jsonb_build_object(
        'amount', shop.whole_number_error(args, 'amount', TRUE, 1, 100000000000),
        'reason', auth.text_field_error(args, 'reason', FALSE, 1000),
        'payment_id', CASE WHEN args ? 'payment_id' AND (jsonb_typeof(args -> 'payment_id') <> 'string'
            OR args ->> 'payment_id' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
            THEN 'must be the id of a payment of this order' END
    ));
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'Send the amount to refund in minor units (a whole number above 0), a reason, and optionally '
            'the payment_id to refund.'
        );
    END IF;
    wanted := (args ->> 'amount')::bigint;
    -- The order, then its payments, locked: racing refunds queue here, and each sees the others'
    -- reservations.
    target := shop.lock_order(shop.order_id_arg(args));
    PERFORM FROM shop.payments AS p WHERE p.order_id = target.id ORDER BY p.id FOR UPDATE;
    -- What is left to give back: captured, less refunded and less refunds in flight; the order's own
    -- refunded_amount also counts refunds recorded with returns.
    refundable := least(
        (SELECT coalesce(sum(p.captured_amount - p.refunded_amount - p.refunding_amount), 0)
            FROM shop.payments AS p WHERE p.order_id = target.id),
        target.paid_amount - target.refunded_amount
            - (SELECT coalesce(sum(p.refunding_amount), 0) FROM shop.payments AS p WHERE p.order_id = target.id)
    );
    -- One payment takes the whole refund: the one named, else the newest that can.
    SELECT p.* INTO payment
    FROM shop.payments AS p
    WHERE p.order_id = target.id
        AND p.status IN ('captured', 'partially_refunded')
        AND p.captured_amount - p.refunded_amount - p.refunding_amount >= wanted
        AND (NOT args ? 'payment_id' OR p.id = (args ->> 'payment_id')::uuid)
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT 1;
    IF NOT FOUND OR wanted > refundable THEN
        PERFORM shop.fail(
            409, 'refund_exceeds_captured',
            jsonb_build_object(
                'amount', shop.money_json(wanted, target.currency),
                'refundable', shop.money_json(greatest(refundable, 0), target.currency)
            ),
            'A refund is at most what one payment captured and has not refunded yet (refunds in flight count).'
        );
    END IF;
    -- Reserved now (CHECK refunded + refunding <= captured), settled when the provider answers.
    UPDATE shop.payments AS p SET refunding_amount = p.refunding_amount + wanted WHERE p.id = payment.id;
    INSERT INTO shop.refunds (order_id, payment_id, amount, currency, reason, staff_id)
    VALUES (target.id, payment.id, wanted, payment.currency, nullif(btrim(args ->> 'reason'), ''), auth.current_account_id())
    RETURNING * INTO refund;
    -- Money staff took by hand is given back by hand: recorded as done.
    IF payment.provider <> 'card' THEN
        refund := shop.settle_refund(refund.id, TRUE, NULL, NULL);
    END IF;
    RETURN jsonb_build_object(
        'refund', shop.refund_json(refund),
        'payment', jsonb_build_object('id', payment.id, 'provider', payment.provider,
            'provider_reference', payment.provider_reference),
        'order', shop.refund_outcome_json(refund) -> 'order'
    );
END
$$;
COMMENT ON FUNCTION api.admin_create_refund(jsonb) IS
'Refunds part or all of an order''s payment (order_manager): {amount (minor units), reason?, payment_id?} -> '
'{refund, payment: {id, provider, provider_reference}, order: {status, payment_status, refunded_amount}}. '
'The refund goes to the named payment, else the newest captured one that covers it; its amount is reserved '
'on the payment at once. A manual payment''s refund is recorded as succeeded; a card refund stays pending '
'until the layer has asked the provider (shop.refund_answered). 404 order_not_found; 409 '
'refund_exceeds_captured {amount, refundable} (refunds in flight count, so racing refunds never exceed '
'what was captured); 422 validation_failed.';

-- == grants ==========================================================================================
REVOKE ALL ON FUNCTION api.create_payment(jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_create_refund(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.create_payment(jsonb, jsonb) TO postcart_anon, postcart_customer;
GRANT EXECUTE ON FUNCTION api.admin_create_refund(jsonb) TO order_manager;
