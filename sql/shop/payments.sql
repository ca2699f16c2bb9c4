-- Payments (migration 0030, docs/payments.md): the status machine (one trigger), the order following its
-- payments (one trigger: the only place paid_amount and refunded_amount move for payments), and what the
-- card provider reports, applied forward only. Repeatable: applied after the migrations.
--
-- Locking, as everywhere for orders: the order row first, then its payment rows, so webhooks, refunds,
-- checkout and staff actions on one order queue behind each other and never deadlock.

-- == shapes ==========================================================================================
CREATE OR REPLACE FUNCTION shop.payment_json(p shop.payments)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- PL/pgSQL: its body names auth, applied after shop.
    RETURN jsonb_build_object(
        'id', p.id,
        'order_id', p.order_id,
        'provider', p.provider,
        'status', p.status,
        'amount', shop.money_json(p.amount, p.currency),
        'captured_amount', shop.money_json(p.captured_amount, p.currency),
        'refunded_amount', shop.money_json(p.refunded_amount, p.currency),
        'refunding_amount', shop.money_json(p.refunding_amount, p.currency),
        'provider_reference', p.provider_reference,
        'created_at', auth.to_rfc3339(p.created_at),
        'updated_at', auth.to_rfc3339(p.updated_at)
    );
END
$$;
COMMENT ON FUNCTION shop.payment_json(shop.payments) IS
'A payment as the API shows it: {id, order_id, provider, status, amount, captured_amount, refunded_amount, '
'refunding_amount, provider_reference, created_at, updated_at}, money as {amount, currency}. Returns jsonb.';

CREATE OR REPLACE FUNCTION shop.refund_json(r shop.refunds)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- PL/pgSQL: its body names auth, applied after shop.
    RETURN jsonb_build_object(
        'id', r.id,
        'order_id', r.order_id,
        'payment_id', r.payment_id,
        'amount', shop.money_json(r.amount, r.currency),
        'status', r.status,
        'reason', r.reason,
        'provider_reference', r.provider_reference,
        'failure_code', r.failure_code,
        'created_at', auth.to_rfc3339(r.created_at)
    );
END
$$;
COMMENT ON FUNCTION shop.refund_json(shop.refunds) IS
'A refund as the API shows it: {id, order_id, payment_id, amount, status (pending, succeeded, failed), '
'reason, provider_reference, failure_code, created_at}. Returns jsonb.';

-- == the status machine ==============================================================================
CREATE OR REPLACE FUNCTION shop.tg_payments__transition()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- A payment starts pending; staff record manual and cash-on-delivery money as taken already.
        IF NEW.status = 'pending'
            OR (NEW.status = 'captured' AND NEW.provider IN ('manual', 'cash_on_delivery')) THEN
            RETURN NEW;
        END IF;
        PERFORM shop.fail(
            409, 'invalid_transition', jsonb_build_object('from', NULL, 'to', NEW.status, 'provider', NEW.provider),
            'A payment starts pending (manual and cash-on-delivery payments may be recorded captured).'
        );
    END IF;
    IF NEW.status = OLD.status THEN
        RETURN NEW;  -- written, not changed (a refund that leaves it partially_refunded)
    END IF;
    IF NOT EXISTS (
        SELECT FROM shop.payment_transitions AS t
        WHERE t.from_status = OLD.status AND t.to_status = NEW.status
    ) THEN
        PERFORM shop.fail(
            409, 'invalid_transition', jsonb_build_object('from', OLD.status, 'to', NEW.status, 'payment_id', OLD.id),
            'A payment moves pending -> authorized -> captured -> partially_refunded -> refunded, or from '
            'pending or authorized to voided or failed; never back.'
        );
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg_payments__transition() IS
'BEFORE INSERT OR UPDATE OF status trigger on shop.payments: a new payment is pending (or captured for '
'manual and cash_on_delivery), and a status change must be in shop.payment_transitions; otherwise PT409 '
'invalid_transition {from, to}. Whoever writes (API, webhook, plain SQL). Returns the row.';

-- == the order follows its payments ==================================================================
CREATE OR REPLACE FUNCTION shop.tg_payments__order_totals()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    captured bigint := NEW.captured_amount - CASE WHEN TG_OP = 'INSERT' THEN 0 ELSE OLD.captured_amount END;
    refunded bigint := NEW.refunded_amount - CASE WHEN TG_OP = 'INSERT' THEN 0 ELSE OLD.refunded_amount END;
    after shop.orders;
BEGIN
    IF captured = 0 AND refunded = 0 THEN
        RETURN NULL;
    END IF;
    -- An unpaid order becomes paid once captured payments cover its total (order.paid from the order's
    -- status trigger); a cancelled one keeps its status and shows refund_due; a shipped cash-on-delivery
    -- order stays fulfilled.
    UPDATE shop.orders AS o
    SET paid_amount = o.paid_amount + captured,
        refunded_amount = o.refunded_amount + refunded,
        payment_status = CASE
            WHEN o.refunded_amount + refunded > 0 AND o.refunded_amount + refunded = o.paid_amount + captured THEN 'refunded'
            WHEN o.refunded_amount + refunded > 0 THEN 'partially_refunded'
            WHEN o.paid_amount + captured >= o.total THEN 'paid'
            WHEN o.paid_amount + captured > 0 THEN 'partially_paid'
            ELSE 'unpaid'
        END,
        paid_at = CASE WHEN o.paid_amount + captured >= o.total THEN coalesce(o.paid_at, now()) ELSE o.paid_at END,
        status = CASE
            WHEN o.status = 'pending_payment' AND o.paid_amount + captured >= o.total THEN 'paid' ELSE o.status
        END
    WHERE o.id = NEW.order_id
    RETURNING * INTO after;
    -- Everything paid given back on an order that shipped: refunded (order.refunded).
    IF after.payment_status = 'refunded' AND after.status IN ('fulfilled', 'completed', 'returned') THEN
        UPDATE shop.orders AS o SET status = 'refunded' WHERE o.id = after.id;
    END IF;
    IF captured > 0 THEN
        PERFORM integration.emit('payment.captured', NEW.id, jsonb_build_object(
            'payment_id', NEW.id, 'order_id', after.id, 'number', after.number, 'provider', NEW.provider,
            'amount', shop.money_json(captured, NEW.currency), 'fully_paid', after.paid_amount >= after.total
        ));
    END IF;
    IF refunded > 0 THEN
        PERFORM integration.emit('payment.refunded', NEW.id, jsonb_build_object(
            'payment_id', NEW.id, 'order_id', after.id, 'number', after.number, 'provider', NEW.provider,
            'amount', shop.money_json(refunded, NEW.currency),
            'refunded_amount', shop.money_json(NEW.refunded_amount, NEW.currency),
            'fully_refunded', NEW.refunded_amount = NEW.captured_amount
        ));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_payments__order_totals() IS
'AFTER INSERT OR UPDATE OF captured_amount, refunded_amount trigger on shop.payments, the one place a '
'payment moves its order''s money: paid_amount and refunded_amount follow by the change, payment_status '
'(unpaid, partially_paid, paid, partially_refunded, refunded) and paid_at follow, a pending_payment order '
'becomes paid once covered and a shipped one refunded once everything is given back (the order''s status '
'trigger checks and announces those). Writes payment.captured and payment.refunded in the same '
'transaction. Returns NULL.';

-- == what the card provider reports ==================================================================
CREATE OR REPLACE FUNCTION shop.card_advance(p_payment shop.payments, p_intent_status text, p_amount_received bigint)
RETURNS text
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    -- Forward only: a report that would move the payment back (a late succeeded after a refund, a
    -- canceled after capture) changes nothing.
    CASE p_intent_status
        WHEN 'requires_capture' THEN
            IF p_payment.status = 'pending' THEN
                UPDATE shop.payments AS p SET status = 'authorized' WHERE p.id = p_payment.id;
                RETURN 'applied';
            END IF;
        WHEN 'succeeded' THEN
            IF p_payment.status IN ('pending', 'authorized') THEN
                IF p_payment.status = 'pending' THEN
                    UPDATE shop.payments AS p SET status = 'authorized' WHERE p.id = p_payment.id;
                END IF;
                UPDATE shop.payments AS p
                SET status = 'captured',
                    captured_amount = least(coalesce(nullif(p_amount_received, 0), p.amount), p.amount)
                WHERE p.id = p_payment.id;
                RETURN 'applied';
            END IF;
        WHEN 'canceled' THEN
            IF p_payment.status IN ('pending', 'authorized') THEN
                UPDATE shop.payments AS p SET status = 'voided' WHERE p.id = p_payment.id;
                RETURN 'applied';
            END IF;
        ELSE
            NULL;
    END CASE;
    RETURN 'ignored';
END
$$;
COMMENT ON FUNCTION shop.card_advance(shop.payments, text, bigint) IS
'Moves a (locked) card payment forward to what the provider says its PaymentIntent is: requires_capture '
'-> authorized, succeeded -> captured (through authorized; captured_amount = amount received, at most the '
'amount), canceled -> voided. Never backward: anything else changes nothing. Returns applied or ignored.';

CREATE OR REPLACE FUNCTION shop.lock_card_payment(p_payment_id uuid)
RETURNS shop.payments
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    locked shop.payments;
BEGIN
    -- The order first, then the payment: the order routes' lock order.
    PERFORM shop.lock_order((SELECT p.order_id FROM shop.payments AS p WHERE p.id = p_payment_id));
    SELECT p.* INTO locked FROM shop.payments AS p WHERE p.id = p_payment_id AND p.provider = 'card' FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM shop.fail(404, 'payment_not_found', jsonb_build_object('id', p_payment_id), 'There is no such card payment.');
    END IF;
    RETURN locked;
END
$$;
COMMENT ON FUNCTION shop.lock_card_payment(uuid) IS
'Locks a card payment''s order, then the payment, and returns the payment; PT404 payment_not_found / '
'order_not_found when there is none.';

CREATE OR REPLACE FUNCTION shop.card_intent_created(p_payment_id uuid, p_intent jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    payment shop.payments := shop.lock_card_payment(p_payment_id);
BEGIN
    IF payment.provider_reference IS NULL THEN
        UPDATE shop.payments AS p SET provider_reference = p_intent ->> 'id' WHERE p.id = payment.id
        RETURNING * INTO payment;
    ELSIF payment.provider_reference IS DISTINCT FROM p_intent ->> 'id' THEN
        PERFORM shop.fail(
            409, 'provider_reference_mismatch',
            jsonb_build_object('payment_id', payment.id, 'provider_reference', payment.provider_reference),
            'The provider answered with another PaymentIntent than the one this payment holds.'
        );
    END IF;
    PERFORM shop.card_advance(payment, p_intent ->> 'status', (p_intent ->> 'amount_received')::bigint);
    RETURN (SELECT shop.payment_json(p) FROM shop.payments AS p WHERE p.id = payment.id);
END
$$;
COMMENT ON FUNCTION shop.card_intent_created(uuid, jsonb) IS
'For postcart_gateway (the layer, after the provider answered): stores the PaymentIntent id p_intent.id as '
'the card payment''s provider_reference (again: a no-op; another id: PT409 provider_reference_mismatch) and '
'moves the payment forward to p_intent.status (shop.card_advance). Returns the payment (shop.payment_json).';

CREATE OR REPLACE FUNCTION shop.card_intent_refused(p_payment_id uuid, p_code text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    payment shop.payments := shop.lock_card_payment(p_payment_id);
BEGIN
    -- Only an attempt the provider never took: one it holds moves by its own reports.
    IF payment.status = 'pending' AND payment.provider_reference IS NULL THEN
        UPDATE shop.payments AS p SET status = 'failed', note = left('provider refused: ' || coalesce(p_code, 'unknown'), 1000)
        WHERE p.id = payment.id;
    END IF;
    RETURN (SELECT shop.payment_json(p) FROM shop.payments AS p WHERE p.id = payment.id);
END
$$;
COMMENT ON FUNCTION shop.card_intent_refused(uuid, text) IS
'For postcart_gateway: the provider refused to create the PaymentIntent (a 4xx answer, code p_code): a '
'pending payment without provider reference becomes failed (its note says why), so the order may be paid '
'by a new attempt. Returns the payment.';

CREATE OR REPLACE FUNCTION shop.apply_card_event(p_event jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    intent jsonb := p_event -> 'data' -> 'object';
    payment_id uuid;
    payment shop.payments;
    verdict text := 'unknown';
BEGIN
    IF p_event ->> 'type' LIKE 'refund.%' THEN
        RETURN shop.apply_card_refund_event(p_event);
    END IF;
    -- Ours by the PaymentIntent id, or (when the answer to create was lost) by the payment id we sent as
    -- metadata: two index lookups: (provider, provider_reference), then the primary key.
    SELECT p.id INTO payment_id
    FROM shop.payments AS p
    WHERE p.provider = 'card' AND p.provider_reference = intent ->> 'id';
    IF payment_id IS NULL
        AND intent -> 'metadata' ->> 'postcart_payment_id' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        SELECT p.id INTO payment_id
        FROM shop.payments AS p
        WHERE p.id = (intent -> 'metadata' ->> 'postcart_payment_id')::uuid
            AND p.provider = 'card' AND p.provider_reference IS NULL;
    END IF;
    IF payment_id IS NOT NULL THEN
        payment := shop.lock_card_payment(payment_id);
    END IF;
    -- Each event once: a redelivery (even one racing this transaction) waits here and then finds the row.
    INSERT INTO integration.provider_events (provider, event_id, type, object_id, payment_id, outcome)
    VALUES ('card', p_event ->> 'id', p_event ->> 'type', intent ->> 'id', payment_id, 'unknown')
    ON CONFLICT (provider, event_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('event_id', p_event ->> 'id', 'duplicate', TRUE);
    END IF;
    IF payment_id IS NOT NULL THEN
        IF payment.provider_reference IS NULL THEN
            UPDATE shop.payments AS p SET provider_reference = intent ->> 'id' WHERE p.id = payment.id
            RETURNING * INTO payment;
        END IF;
        verdict := CASE WHEN p_event ->> 'type' LIKE 'payment_intent.%'
            THEN shop.card_advance(payment, intent ->> 'status', (intent ->> 'amount_received')::bigint)
            ELSE 'ignored'
        END;
        UPDATE integration.provider_events AS e SET outcome = verdict
        WHERE e.provider = 'card' AND e.event_id = p_event ->> 'id';
    END IF;
    RETURN jsonb_build_object('event_id', p_event ->> 'id', 'duplicate', FALSE, 'outcome', verdict,
        'payment_id', payment_id);
END
$$;
COMMENT ON FUNCTION shop.apply_card_event(jsonb) IS
'For postcart_gateway (the layer, after verifying the provider''s signature): applies a PaymentIntent event '
'{id, type, data: {object: {id, status, amount_received, metadata}}} once per event id '
'(integration.provider_events), moving the matching card payment forward only (shop.card_advance), so '
'duplicated and reordered events are safe. Returns {event_id, duplicate, outcome (applied, ignored, '
'unknown: not a payment of ours), payment_id}.';

CREATE OR REPLACE FUNCTION shop.apply_card_refund_event(p_event jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    given jsonb := p_event -> 'data' -> 'object';
    payment_id uuid;
    payment shop.payments;
    refund shop.refunds;
    outside_id uuid;
    verdict text := 'unknown';
BEGIN
    SELECT p.id INTO payment_id
    FROM shop.payments AS p
    WHERE p.provider = 'card' AND p.provider_reference = given ->> 'payment_intent';
    IF payment_id IS NOT NULL THEN
        payment := shop.lock_card_payment(payment_id);  -- the order, then the payment: the refund route's order
    END IF;
    INSERT INTO integration.provider_events (provider, event_id, type, object_id, payment_id, outcome)
    VALUES ('card', p_event ->> 'id', p_event ->> 'type', given ->> 'id', payment_id, 'unknown')
    ON CONFLICT (provider, event_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('event_id', p_event ->> 'id', 'duplicate', TRUE);
    END IF;
    IF payment_id IS NOT NULL THEN
        -- One of ours by the gateway's refund id, or (its answer lost) by the refund id we sent as metadata.
        SELECT r.* INTO refund
        FROM shop.refunds AS r
        WHERE
            r.payment_id = payment.id
            AND (r.provider_reference = given ->> 'id'
                OR (r.provider_reference IS NULL AND r.id::text = given -> 'metadata' ->> 'postcart_refund_id'))
        FOR UPDATE;
        IF FOUND THEN
            verdict := 'ignored';  -- settled already: the gateway only confirms what the answer said
            IF refund.status = 'pending' AND given ->> 'status' IN ('succeeded', 'pending', 'failed', 'canceled') THEN
                PERFORM shop.settle_refund(refund.id, given ->> 'status' IN ('succeeded', 'pending'), given ->> 'id',
                    CASE WHEN given ->> 'status' IN ('failed', 'canceled') THEN given ->> 'status' END);
                verdict := 'applied';
            END IF;
        ELSIF given ->> 'status' IN ('succeeded', 'pending') AND (given ->> 'amount')::bigint > 0 THEN
            -- Refunded at the gateway itself (its dashboard): recorded like one of ours, so the order, its
            -- payment status and the refund ceiling know. More than is left to refund cannot be ours to
            -- record: ignored, and the event's row says so.
            verdict := 'ignored';
            IF (given ->> 'amount')::bigint <= payment.captured_amount - payment.refunded_amount - payment.refunding_amount THEN
                INSERT INTO shop.refunds (order_id, payment_id, amount, currency, reason, provider_reference)
                VALUES (payment.order_id, payment.id, (given ->> 'amount')::bigint, payment.currency,
                    'refunded at the card gateway', given ->> 'id')
                RETURNING id INTO outside_id;
                UPDATE shop.payments AS p SET refunding_amount = p.refunding_amount + (given ->> 'amount')::bigint
                WHERE p.id = payment.id;
                PERFORM shop.settle_refund(outside_id, TRUE, given ->> 'id', NULL);
                verdict := 'applied';
            END IF;
        ELSE
            verdict := 'ignored';
        END IF;
        UPDATE integration.provider_events AS e SET outcome = verdict
        WHERE e.provider = 'card' AND e.event_id = p_event ->> 'id';
    END IF;
    RETURN jsonb_build_object('event_id', p_event ->> 'id', 'duplicate', FALSE, 'outcome', verdict,
        'payment_id', payment_id);
END
$$;
COMMENT ON FUNCTION shop.apply_card_refund_event(jsonb) IS
'Applies a refund.* event of the card gateway (shop.apply_card_event passes them here) once per event id: '
'{id, type, data: {object: {id, status, amount, payment_intent, metadata: {postcart_refund_id}}}}. A '
'pending refund of ours (by gateway refund id or our metadata) is settled by it (succeeded or pending: '
'refunded; failed or canceled: released); a succeeded refund unknown here (made at the gateway''s '
'dashboard) is recorded as a refund of the payment if it fits in what is left to refund. Returns '
'{event_id, duplicate, outcome, payment_id}.';

-- == refunds =========================================================================================
CREATE OR REPLACE FUNCTION shop.settle_refund(p_refund_id uuid, p_succeeded boolean, p_reference text, p_code text)
RETURNS shop.refunds
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    refund shop.refunds;
BEGIN
    SELECT r.* INTO refund FROM shop.refunds AS r WHERE r.id = p_refund_id;
    IF NOT FOUND THEN
        PERFORM shop.fail(404, 'refund_not_found', jsonb_build_object('id', p_refund_id), 'There is no such refund.');
    END IF;
    PERFORM shop.lock_order(refund.order_id);
    SELECT r.* INTO refund FROM shop.refunds AS r WHERE r.id = p_refund_id FOR UPDATE;
    IF refund.status <> 'pending' THEN
        RETURN refund;  -- answered before (a retry): nothing moves twice
    END IF;
    -- The reservation becomes a refund, or is given back; the payment's status and the order follow.
    UPDATE shop.payments AS p
    SET refunding_amount = p.refunding_amount - refund.amount,
        refunded_amount = p.refunded_amount + CASE WHEN p_succeeded THEN refund.amount ELSE 0 END,
        status = CASE
            WHEN NOT p_succeeded THEN p.status
            WHEN p.refunded_amount + refund.amount = p.captured_amount THEN 'refunded'
            ELSE 'partially_refunded'
        END
    WHERE p.id = refund.payment_id;
    UPDATE shop.refunds AS r
    SET status = CASE WHEN p_succeeded THEN 'succeeded' ELSE 'failed' END,
        provider_reference = coalesce(p_reference, r.provider_reference),
        failure_code = CASE WHEN NOT p_succeeded THEN left(coalesce(p_code, 'refused'), 100) END,
        updated_at = now()
    WHERE r.id = refund.id
    RETURNING * INTO refund;
    RETURN refund;
END
$$;
COMMENT ON FUNCTION shop.settle_refund(uuid, boolean, text, text) IS
'Settles a pending refund once its provider answered: p_succeeded moves the reserved amount to the '
'payment''s refunded_amount (status partially_refunded or refunded; the order follows by trigger), '
'otherwise gives the reservation back and marks the refund failed with p_code. A refund already settled is '
'returned unchanged. Locks the order first. Returns the refund row.';

CREATE OR REPLACE FUNCTION shop.refund_outcome_json(p_refund shop.refunds)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    RETURN shop.refund_json(p_refund) || jsonb_build_object('order', (
        SELECT jsonb_build_object(
            'status', o.status, 'payment_status', o.payment_status,
            'refunded_amount', shop.money_json(o.refunded_amount, o.currency)
        )
        FROM shop.orders AS o WHERE o.id = p_refund.order_id
    ));
END
$$;
COMMENT ON FUNCTION shop.refund_outcome_json(shop.refunds) IS
'A refund (shop.refund_json) with order: {status, payment_status, refunded_amount} of its order as it is '
'now. Returns jsonb.';

CREATE OR REPLACE FUNCTION shop.refund_answered(p_refund_id uuid, p_succeeded boolean, p_reference text, p_code text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    settled shop.refunds;
BEGIN
    -- Two statements: the second (a STABLE function) then sees what the first wrote.
    settled := shop.settle_refund(p_refund_id, p_succeeded, p_reference, p_code);
    RETURN shop.refund_outcome_json(settled);
END
$$;
COMMENT ON FUNCTION shop.refund_answered(uuid, boolean, text, text) IS
'For postcart_gateway (the layer, after the provider answered a refund): shop.settle_refund, then the '
'refund with its order''s state (shop.refund_outcome_json). Returns jsonb.';

-- == triggers ========================================================================================
CREATE OR REPLACE TRIGGER _400_transition
BEFORE INSERT OR UPDATE OF status ON shop.payments
FOR EACH ROW EXECUTE FUNCTION shop.tg_payments__transition();
CREATE OR REPLACE TRIGGER _600_order_totals
AFTER INSERT OR UPDATE OF captured_amount, refunded_amount ON shop.payments
FOR EACH ROW EXECUTE FUNCTION shop.tg_payments__order_totals();

-- == cancelled orders' open card attempts ============================================================
CREATE OR REPLACE FUNCTION shop.card_payments_to_void(p_limit integer)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    -- A cancelled order's card attempt that the gateway holds may still be confirmed by the customer:
    -- the worker cancels it there and reports the answer (shop.card_intent_created), which voids it here.
    -- Through payments_open_card_key, which holds only open card attempts.
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object('payment_id', p.id, 'intent_id', p.provider_reference) ORDER BY p.created_at)
        FROM (
            SELECT p.id, p.provider_reference, p.created_at
            FROM shop.payments AS p
            INNER JOIN shop.orders AS o ON o.id = p.order_id
            WHERE
                p.provider = 'card' AND p.status IN ('pending', 'authorized') AND p.provider_reference IS NOT NULL
                AND o.status = 'cancelled'
            ORDER BY p.created_at
            LIMIT least(greatest(p_limit, 1), 1000)
        ) AS p
    ), '[]'::jsonb);
END
$$;
COMMENT ON FUNCTION shop.card_payments_to_void(integer) IS
'For postcart_gateway (the worker): up to p_limit (1 to 1000) card payments still pending or authorized at '
'the gateway whose order is cancelled, oldest first, as [{payment_id, intent_id}]. The worker cancels each '
'PaymentIntent and reports the answer with shop.card_intent_created (canceled: voided; succeeded '
'meanwhile: captured, and the order shows refund_due).';

-- == grants ==========================================================================================
REVOKE ALL ON FUNCTION shop.payment_json(shop.payments) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.refund_json(shop.refunds) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_payments__transition() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.tg_payments__order_totals() FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.card_advance(shop.payments, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.lock_card_payment(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.card_intent_created(uuid, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.card_intent_refused(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.apply_card_event(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.apply_card_refund_event(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.settle_refund(uuid, boolean, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.refund_answered(uuid, boolean, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.refund_outcome_json(shop.refunds) FROM PUBLIC;
REVOKE ALL ON FUNCTION shop.card_payments_to_void(integer) FROM PUBLIC;
-- What a provider reports reaches the database only through the layer, as postcart_gateway: a client
-- role cannot claim a payment succeeded.
GRANT EXECUTE ON FUNCTION shop.card_intent_created(uuid, jsonb) TO postcart_gateway;
GRANT EXECUTE ON FUNCTION shop.card_intent_refused(uuid, text) TO postcart_gateway;
GRANT EXECUTE ON FUNCTION shop.apply_card_event(jsonb) TO postcart_gateway;
GRANT EXECUTE ON FUNCTION shop.refund_answered(uuid, boolean, text, text) TO postcart_gateway;
GRANT EXECUTE ON FUNCTION shop.card_payments_to_void(integer) TO postcart_gateway;
