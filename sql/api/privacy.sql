-- Personal data (docs/privacy.md): a customer's copy of everything held about them, and the erasure of
-- their account. Both SECURITY DEFINER: much of what they read or change (sessions, mails, events) is
-- not the customer's to touch directly; every statement is bound to the caller's own account id.

CREATE OR REPLACE FUNCTION api.export_me(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_id uuid := auth.current_customer_id();
    v_account auth.accounts;
BEGIN
    SELECT a.* INTO v_account FROM auth.accounts AS a WHERE a.id = v_id AND a.kind = 'customer';
    IF NOT FOUND THEN
        PERFORM shop.fail(
            403, 'customers_only', '{}'::jsonb, 'Only a signed-in customer can export their own data.'
        );
    END IF;

    RETURN jsonb_build_object(
        'exported_at', auth.to_rfc3339(now()),
        'account', jsonb_build_object(
            'id', v_account.id,
            'email', v_account.email,
            'full_name', v_account.full_name,
            'created_at', auth.to_rfc3339(v_account.created_at),
            'updated_at', auth.to_rfc3339(v_account.updated_at),
            'email_verified_at', auth.to_rfc3339(v_account.email_verified_at),
            'customer_group', (SELECT g.code FROM shop.customer_groups AS g WHERE g.id = v_account.customer_group_id),
            -- Credentials are never exported, only whether they exist.
            'password_set', EXISTS (SELECT FROM auth.password_hashes AS p WHERE p.account_id = v_id),
            'mfa_enabled', v_account.totp_secret IS NOT NULL,
            'recovery_codes_left', (
                SELECT count(*) FROM auth.recovery_codes AS r WHERE r.account_id = v_id AND r.used_at IS NULL
            ),
            'marketing_consent', v_account.marketing_consent,
            'marketing_consent_at', auth.to_rfc3339(v_account.marketing_consent_at),
            'marketing_suppressed', EXISTS (
                SELECT FROM integration.mail_suppressions AS m WHERE m.email = v_account.email
            )
        ),
        'addresses', coalesce((
            SELECT jsonb_agg(auth.address_json(a) ORDER BY a.created_at, a.id)
            FROM shop.addresses AS a WHERE a.customer_id = v_id
        ), '[]'),
        'carts', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'id', c.id, 'status', c.status, 'currency', c.currency, 'email', c.email,
                'shipping_address', c.shipping_address, 'order_id', c.order_id,
                'created_at', auth.to_rfc3339(c.created_at), 'updated_at', auth.to_rfc3339(c.updated_at),
                'items', coalesce((
                    SELECT jsonb_agg(jsonb_build_object(
                        'variant_id', i.variant_id, 'sku', v.sku, 'quantity', i.quantity,
                        'created_at', auth.to_rfc3339(i.created_at)
                    ) ORDER BY i.created_at, i.id)
                    FROM shop.cart_items AS i INNER JOIN shop.product_variants AS v ON i.variant_id = v.id
                    WHERE i.cart_id = c.id
                ), '[]')
            ) ORDER BY c.created_at, c.id)
            FROM shop.carts AS c WHERE c.customer_id = v_id
        ), '[]'),
        'orders', coalesce((
            SELECT jsonb_agg(shop.order_json_of(o) || jsonb_build_object('refunds', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'id', r.id, 'amount', shop.money_json(r.amount, r.currency), 'status', r.status,
                    'reason', r.reason, 'created_at', auth.to_rfc3339(r.created_at)
                ) ORDER BY r.created_at, r.id)
                FROM shop.refunds AS r WHERE r.order_id = o.id
            ), '[]')) ORDER BY o.created_at, o.id)
            FROM shop.orders AS o WHERE o.customer_id = v_id
        ), '[]'),
        'promotion_redemptions', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'code', p.code, 'order_id', r.order_id, 'email', r.email, 'amount', r.amount,
                'created_at', auth.to_rfc3339(r.created_at), 'released_at', auth.to_rfc3339(r.released_at)
            ) ORDER BY r.created_at, r.id)
            FROM shop.promotion_redemptions AS r INNER JOIN shop.promotions AS p ON r.promotion_id = p.id
            WHERE r.customer_id = v_id
        ), '[]'),
        'sessions', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'id', s.id, 'created_at', auth.to_rfc3339(s.created_at),
                'expires_at', auth.to_rfc3339(s.expires_at), 'revoked_at', auth.to_rfc3339(s.revoked_at),
                'user_agent', s.user_agent, 'ip', host(s.ip)
            ) ORDER BY s.created_at, s.id)
            FROM auth.sessions AS s WHERE s.account_id = v_id
        ), '[]'),
        'login_attempts', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'attempted_at', auth.to_rfc3339(l.attempted_at), 'succeeded', l.succeeded
            ) ORDER BY l.attempted_at, l.id)
            FROM auth.login_attempts AS l WHERE l.email = v_account.email
        ), '[]'),
        'account_requests', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'id', r.id, 'kind', r.kind, 'email', r.email, 'created_at', auth.to_rfc3339(r.created_at),
                'expires_at', auth.to_rfc3339(r.expires_at), 'used_at', auth.to_rfc3339(r.used_at)
            ) ORDER BY r.created_at, r.id)
            FROM auth.account_requests AS r WHERE r.account_id = v_id
        ), '[]'),
        'mails', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'id', m.id, 'kind', m.kind, 'to_email', m.to_email, 'status', m.status,
                'created_at', auth.to_rfc3339(m.created_at), 'sent_at', auth.to_rfc3339(m.sent_at)
            ) ORDER BY m.created_at, m.id)
            FROM integration.mails AS m WHERE m.account_id = v_id
        ), '[]'),
        'events', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'id', e.id, 'type', e.type, 'subject_id', e.subject_id, 'payload', e.payload,
                'created_at', auth.to_rfc3339(e.created_at)
            ) ORDER BY e.created_at, e.id)
            FROM integration.events AS e WHERE e.subject_id = ANY(auth.customer_subjects(v_id))
        ), '[]'),
        'behaviour_events', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'type', b.type, 'product_id', b.product_id, 'query', b.query, 'session_id', b.session_id,
                'occurred_at', auth.to_rfc3339(b.occurred_at)
            ) ORDER BY b.occurred_at)
            FROM shop.behaviour_events AS b WHERE b.account_id = v_id
        ), '[]')
    );
END
$$;
COMMENT ON FUNCTION api.export_me(jsonb) IS
'GET /v1/me/export: everything held about the calling customer as one document {exported_at, account '
'(profile, consent, whether a password and MFA are set; never a hash or secret), addresses, carts (with '
'items), orders (with lines, payments, shipments, returns, refunds), promotion_redemptions, sessions (with '
'user agent and IP), login_attempts, account_requests (password resets, e-mail verifications), mails, '
'events (outbox events about the account, its carts and orders), behaviour_events (storefront events sent '
'while signed in)}. Customers only (PT403 customers_only).';

CREATE OR REPLACE FUNCTION api.delete_me(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_id uuid := auth.current_customer_id();
    v_account auth.accounts;
    v_placeholder extensions.citext;
    v_open jsonb;
    v_subjects uuid[];
    v_records uuid[];
BEGIN
    IF derived -> 'reauthenticated' IS DISTINCT FROM 'true'::jsonb THEN
        PERFORM shop.fail(401, 'reauthentication_required', '{}'::jsonb, 'Send your password to erase your account.');
    END IF;
    SELECT a.* INTO v_account
    FROM auth.accounts AS a
    WHERE a.id = v_id AND a.kind = 'customer'
    -- Not FOR UPDATE: a checkout inserting an order checks its foreign key with FOR KEY SHARE on this row,
    -- and must not deadlock with this erasure waiting for that checkout's cart just below.
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM shop.fail(403, 'customers_only', '{}'::jsonb, 'Only a signed-in customer can erase their own account.');
    END IF;
    IF v_account.anonymised_at IS NOT NULL THEN  -- a parallel call erased it while this one waited
        PERFORM shop.fail(
            401, 'token_revoked', '{}'::jsonb, 'This session has ended (logged out, revoked or expired); log in again.'
        );
    END IF;

    -- A checkout under way holds its cart: wait for it, so the order it places is seen just below.
    PERFORM FROM shop.carts AS c WHERE c.customer_id = v_id AND c.status = 'open' FOR UPDATE;
    -- An order still to be paid or shipped needs its address and e-mail: finish or cancel it first.
    SELECT jsonb_agg(o.number ORDER BY o.number) INTO v_open
    FROM shop.orders AS o
    WHERE o.customer_id = v_id AND o.status IN ('pending_payment', 'paid');
    IF v_open IS NOT NULL THEN
        PERFORM shop.fail(
            409, 'open_orders', jsonb_build_object('orders', v_open),
            'Some of your orders are still to be paid or shipped; cancel them or wait until they are delivered.'
        );
    END IF;

    v_placeholder := 'erased-' || replace(v_id::text, '-', '') || '@erased.invalid';
    v_subjects := auth.customer_subjects(v_id);  -- before the carts go
    -- The rows about the person, before some of them go: their audit records are erased at the end.
    v_records := v_subjects || ARRAY(SELECT a.id FROM shop.addresses AS a WHERE a.customer_id = v_id)
        || ARRAY(SELECT s.id FROM auth.sessions AS s WHERE s.account_id = v_id)
        || ARRAY(
            SELECT g.id FROM shop.carts AS g
            WHERE g.merged_into IN (SELECT c.id FROM shop.carts AS c WHERE c.customer_id = v_id)
        );

    -- Orders stay for the accounts (lines, totals, tax, country): their personal copies do not.
    UPDATE shop.orders AS o
    SET email = v_placeholder, shipping_address = auth.erased_address(o.shipping_address)
    WHERE o.customer_id = v_id;
    UPDATE shop.promotion_redemptions AS r SET email = v_placeholder WHERE r.customer_id = v_id;
    UPDATE shop.carts AS c
    SET email = NULL, shipping_address = auth.erased_address(c.shipping_address)
    WHERE c.customer_id = v_id AND c.status = 'ordered';
    -- Carts that never became orders go, with guest carts merged into them.
    DELETE FROM shop.carts AS g
    WHERE g.merged_into IN (SELECT c.id FROM shop.carts AS c WHERE c.customer_id = v_id AND c.status <> 'ordered');
    DELETE FROM shop.carts AS c WHERE c.customer_id = v_id AND c.status <> 'ordered';
    DELETE FROM shop.addresses AS a WHERE a.customer_id = v_id;

    -- Credentials and sessions: nothing left to sign in with, every token dead at once.
    DELETE FROM auth.password_hashes AS p WHERE p.account_id = v_id;
    DELETE FROM auth.recovery_codes AS r WHERE r.account_id = v_id;
    DELETE FROM auth.account_requests AS r WHERE r.account_id = v_id;
    DELETE FROM auth.refresh_tokens AS t
    WHERE t.session_id IN (SELECT s.id FROM auth.sessions AS s WHERE s.account_id = v_id);
    UPDATE auth.sessions AS s
    SET revoked_at = coalesce(s.revoked_at, now()), user_agent = NULL, ip = NULL
    WHERE s.account_id = v_id;
    DELETE FROM auth.login_attempts AS l WHERE l.email = v_account.email;

    -- Mail to them, their suppression entry and stored responses (which may quote their address).
    DELETE FROM integration.mails AS m WHERE m.account_id = v_id OR m.to_email = v_account.email;
    DELETE FROM integration.mail_suppressions AS s WHERE s.email = v_account.email;
    DELETE FROM integration.idempotency_keys AS k WHERE k.owner_id = v_id::text;
    -- Their storefront events stay, as anonymous ones, for the funnel counts.
    UPDATE shop.behaviour_events AS b SET account_id = NULL WHERE b.account_id = v_id;
    UPDATE integration.events AS e
    SET payload = e.payload - ARRAY['email', 'full_name', 'shipping_address', 'phone']
    WHERE e.subject_id = ANY(v_subjects) AND e.payload ?| ARRAY['email', 'full_name', 'shipping_address', 'phone'];

    UPDATE auth.accounts AS a
    SET
        email = v_placeholder,
        full_name = 'Erased customer',
        totp_secret = NULL,
        totp_last_step = NULL,
        email_verified_at = NULL,
        customer_group_id = NULL,
        marketing_consent = FALSE,
        marketing_consent_at = now(),
        anonymised_at = now(),
        deactivated_at = coalesce(a.deactivated_at, now())
    WHERE a.id = v_id;

    PERFORM integration.emit('customer.deleted', v_id, jsonb_build_object(
        'customer_id', v_id, 'deleted_at', auth.to_rfc3339(now())
    ));
    -- Last: the audit records of the statements above hold the values they replaced.
    PERFORM audit.forget_person(v_id, v_records, v_account.email::text);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION api.delete_me(jsonb, jsonb) IS
'DELETE /v1/me {password} → null (204): erases the calling customer in one transaction. The server checks '
'the password first (derived.reauthenticated; else PT401 reauthentication_required, wrong passwords count '
'toward the login lockout). Orders and redemptions keep their lines, totals and tax with the e-mail replaced '
'by a unique unroutable placeholder and the address reduced to country and region; the account gets the '
'placeholder and a neutral name, loses its password, MFA, consent and group; addresses, carts never ordered, '
'recovery codes, account requests, refresh tokens, login attempts, mails, the suppression entry and stored '
'idempotent responses are deleted; storefront behaviour events lose their account; sessions are revoked '
'(user agent and IP cleared); personal members '
'leave the payloads of outbox events about it; customer.deleted is emitted; the audit records about the '
'person keep what happened but their personal values read "[erased]" (audit.forget_person). PT409 open_orders '
'(details.orders: numbers) while an order is pending payment or paid and unshipped; PT403 customers_only.';

REVOKE EXECUTE ON FUNCTION api.export_me(jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION api.delete_me(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.export_me(jsonb) TO postcart_customer;
GRANT EXECUTE ON FUNCTION api.delete_me(jsonb, jsonb) TO postcart_customer;
