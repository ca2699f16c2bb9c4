-- E-mail (migration 0031, docs/email.md): who may get marketing mail, the fan-out of outbox events into
-- mails (called by integration.dispatch_events in its transaction), and the worker's claim and record,
-- shaped like the webhook sender's: claim under a lease and commit, send over SMTP with no transaction
-- open (Python), record the outcomes in a second short transaction.

-- == marketing consent ===============================================================================
CREATE OR REPLACE FUNCTION integration.marketing_allowed(p_email extensions.citext, p_account_id uuid)
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT NOT EXISTS (SELECT FROM integration.mail_suppressions AS s WHERE s.email = p_email)
        AND coalesce(
            -- The account's own answer: the one named, else the one the address belongs to.
            (SELECT a.marketing_consent FROM auth.accounts AS a WHERE a.id = p_account_id),
            (SELECT a.marketing_consent FROM auth.accounts AS a WHERE a.email = p_email),
            (SELECT m.marketing_without_consent FROM integration.mail_settings AS m),
            FALSE
        )
$$;
COMMENT ON FUNCTION integration.marketing_allowed(extensions.citext, uuid) IS
'Whether marketing mail may go to p_email (of account p_account_id, or of no account): never to a '
'suppressed address; else the account''s answer (marketing_consent, of p_account_id or of the account '
'with that address), else the store''s rule (mail_settings.marketing_without_consent, default FALSE). '
'Returns boolean. Internal: called by SECURITY DEFINER functions.';

CREATE OR REPLACE FUNCTION integration.set_marketing_consent(p_consent boolean)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    v_email extensions.citext;
BEGIN
    UPDATE auth.accounts AS a
    SET marketing_consent = p_consent, marketing_consent_at = now()
    WHERE a.id = auth.current_account_id()
    RETURNING a.email INTO v_email;
    IF v_email IS NULL THEN
        RETURN;
    END IF;
    -- The newest word wins: a yes lifts an earlier unsubscribe of the address, a no adds one.
    IF p_consent THEN
        DELETE FROM integration.mail_suppressions AS s WHERE s.email = v_email;
    ELSE
        INSERT INTO integration.mail_suppressions (email, source) VALUES (v_email, 'customer')
        ON CONFLICT (email) DO NOTHING;
    END IF;
END
$$;
COMMENT ON FUNCTION integration.set_marketing_consent(boolean) IS
'The caller''s answer to marketing mail (PATCH /v1/me {marketing_emails}): records it with its time; '
'yes removes the address from integration.mail_suppressions, no adds it. Returns nothing.';

CREATE OR REPLACE FUNCTION integration.caller_marketing_emails()
RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT integration.marketing_allowed(a.email, a.id)
    FROM auth.accounts AS a
    WHERE a.id = auth.current_account_id()
$$;
COMMENT ON FUNCTION integration.caller_marketing_emails() IS
'Whether the caller''s account gets marketing mail now (GET /v1/me marketing_emails). Returns boolean.';

-- == fan-out: events → mails =========================================================================
CREATE OR REPLACE FUNCTION integration.fan_out_mails(p_event_ids uuid[])
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    made integer;
BEGIN
    WITH wanted AS (
        SELECT e.id AS event_id, e.created_at, k.kind, r.account_id, r.to_email
        FROM integration.events AS e
        CROSS JOIN LATERAL (
            SELECT
                CASE e.type
                    WHEN 'order.created' THEN 'order_confirmation'
                    WHEN 'fulfillment.created' THEN 'shipping_notification'
                    WHEN 'customer.password_reset_requested' THEN 'password_reset'
                    WHEN 'customer.email_verification_requested' THEN 'email_verification'
                    WHEN 'cart.abandoned' THEN 'abandoned_cart'
                END AS kind
        ) AS k
        CROSS JOIN LATERAL (
            SELECT o.customer_id AS account_id, o.email AS to_email
            FROM shop.orders AS o
            WHERE k.kind IN ('order_confirmation', 'shipping_notification') AND o.id = (e.payload ->> 'order_id')::uuid
            UNION ALL
            SELECT a.id, coalesce(q.email, a.email)
            FROM auth.account_requests AS q
            INNER JOIN auth.accounts AS a ON q.account_id = a.id
            WHERE k.kind IN ('password_reset', 'email_verification') AND q.id = (e.payload ->> 'request_id')::uuid
            UNION ALL
            SELECT c.customer_id, (e.payload ->> 'email')::extensions.citext
            FROM shop.carts AS c
            WHERE k.kind = 'abandoned_cart' AND c.id = (e.payload ->> 'cart_id')::uuid
                AND auth.email_is_valid(e.payload ->> 'email')
        ) AS r
        WHERE e.id = ANY(p_event_ids) AND k.kind IS NOT NULL
    )

    -- Marketing to a recipient without consent is kept as skipped: the record says why nothing went.
    INSERT INTO integration.mails (kind, event_id, account_id, to_email, status, next_attempt_at, last_error)
    SELECT w.kind, w.event_id, w.account_id, w.to_email, s.status,
        CASE WHEN s.status = 'pending' THEN now() END,
        CASE WHEN s.status = 'skipped' THEN 'no marketing consent at fan-out' END
    FROM wanted AS w
    INNER JOIN integration.mail_kinds AS mk ON w.kind = mk.kind
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN mk.marketing AND NOT integration.marketing_allowed(w.to_email, w.account_id) THEN 'skipped'
            ELSE 'pending'
        END AS status
    ) AS s
    ORDER BY w.created_at, w.event_id
    ON CONFLICT ON CONSTRAINT mails_event_kind_key DO NOTHING;
    GET DIAGNOSTICS made = ROW_COUNT;
    IF made > 0 THEN
        PERFORM pg_notify('mails', '');  -- wakes the mail senders when this commits
    END IF;
    RETURN made;
END
$$;
COMMENT ON FUNCTION integration.fan_out_mails(uuid[]) IS
'Called by integration.dispatch_events in its transaction, for the events it claimed: one mail per event '
'and kind (UNIQUE (event_id, kind): a repeat makes nothing): order.created → order_confirmation and '
'fulfillment.created → shipping_notification (to the order''s e-mail), customer.password_reset_requested '
'→ password_reset and customer.email_verification_requested → email_verification (to the account), '
'cart.abandoned → abandoned_cart (marketing, to the cart''s e-mail: skipped without consent). NOTIFY '
'mails when it made any. Returns how many mails it made.';

-- == the worker: claim, then record ==================================================================
CREATE OR REPLACE FUNCTION integration.check_retry_policy(
    p_max_attempts integer, p_backoff_base interval, p_backoff_cap interval
)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
AS $$
BEGIN
    IF p_max_attempts IS NULL OR p_max_attempts NOT BETWEEN 1 AND 100 OR p_backoff_base IS NULL
        OR p_backoff_cap IS NULL OR p_backoff_base <= INTERVAL '0' OR p_backoff_cap < p_backoff_base THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object(
                'max_attempts', 'must be 1 to 100', 'backoff', 'base > 0 and cap >= base'
            )),
            'Record outcomes with 1 to 100 attempts and a positive backoff base no larger than its cap.'
        );
    END IF;
END
$$;
COMMENT ON FUNCTION integration.check_retry_policy(integer, interval, interval) IS
'For the senders'' record functions (webhooks and mail): raises PT422 validation_failed unless 1 to 100 '
'attempts and a positive backoff base no larger than its cap. Returns nothing.';

CREATE OR REPLACE FUNCTION integration.mail_context(p_kind text, p_event_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    -- PL/pgSQL, not SQL: its plans are kept for the session, where a SQL function with SET is planned
    -- again on every call (4 ms of the claim's 8 at 5,000 pending mails).
    payload jsonb;
    context jsonb;
BEGIN
    SELECT e.payload INTO payload FROM integration.events AS e WHERE e.id = p_event_id;
    IF p_kind IN ('order_confirmation', 'shipping_notification') THEN
        SELECT jsonb_build_object('order', shop.order_json_of(o), 'full_name', o.shipping_address ->> 'full_name')
        INTO context
        FROM shop.orders AS o
        WHERE o.id = (payload ->> 'order_id')::uuid;
    ELSIF p_kind IN ('password_reset', 'email_verification') THEN
        SELECT jsonb_build_object('full_name', a.full_name, 'request_id', q.id, 'expires_at', auth.to_rfc3339(q.expires_at))
        INTO context
        FROM auth.account_requests AS q
        INNER JOIN auth.accounts AS a ON q.account_id = a.id
        WHERE q.id = (payload ->> 'request_id')::uuid;
    ELSIF p_kind = 'abandoned_cart' THEN
        SELECT jsonb_build_object('full_name', a.full_name)
        INTO context
        FROM shop.carts AS c
        INNER JOIN auth.accounts AS a ON c.customer_id = a.id
        WHERE c.id = (payload ->> 'cart_id')::uuid;
    END IF;
    RETURN jsonb_build_object('event', coalesce(payload, '{}')) || coalesce(context, '{}');
END
$$;
COMMENT ON FUNCTION integration.mail_context(text, uuid) IS
'What the template of a mail of kind p_kind shows, read when it is sent: {event: the event''s payload} '
'plus {order (as the API shows it), full_name} for order mails, {full_name, request_id, expires_at} for '
'account requests, {full_name} of a customer''s abandoned cart. Returns jsonb. Internal.';

CREATE OR REPLACE FUNCTION integration.claim_mails(p_limit integer, p_lease interval)
RETURNS TABLE (mail_id uuid, attempt integer, kind text, to_email text, marketing boolean, context jsonb)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 OR p_lease IS NULL
        OR p_lease NOT BETWEEN INTERVAL '1 second' AND INTERVAL '1 hour' THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('limit', 'must be 1 to 1000', 'lease', '1 s to 1 h')),
            'The mail sender claims 1 to 1000 mails under a lease of 1 second to 1 hour.'
        );
    END IF;
    RETURN QUERY
    WITH due AS (
        SELECT w.id, w.to_email, w.account_id, k.marketing
        FROM integration.mails AS w
        INNER JOIN integration.mail_kinds AS k ON w.kind = k.kind
        WHERE w.status = 'pending' AND w.next_attempt_at <= now()
        ORDER BY w.next_attempt_at
        LIMIT p_limit
        FOR UPDATE OF w SKIP LOCKED
    ),

    -- Consent asked again, of the marketing mails claimed only: an opt-out since the fan-out wins.
    verdict AS MATERIALIZED (
        SELECT due.id, NOT due.marketing OR integration.marketing_allowed(due.to_email, due.account_id) AS allowed
        FROM due
    ),

    skipped AS (
        UPDATE integration.mails AS m
        SET status = 'skipped', next_attempt_at = NULL, locked_until = NULL, updated_at = now(),
            last_error = 'no marketing consent at send time'
        FROM verdict AS v
        WHERE m.id = v.id AND NOT v.allowed
    ),

    -- next_attempt_at moves to the lease's end: without an outcome by then the mail is due again.
    claimed AS (
        UPDATE integration.mails AS m
        SET attempts = m.attempts + 1, locked_until = now() + p_lease, next_attempt_at = now() + p_lease,
            last_attempt_at = now(), updated_at = now()
        FROM verdict AS v
        WHERE m.id = v.id AND v.allowed
        RETURNING m.id, m.attempts, m.kind, m.to_email, m.event_id
    )

    SELECT c.id, c.attempts, c.kind, c.to_email::text, k.marketing, integration.mail_context(c.kind, c.event_id)
    FROM claimed AS c
    INNER JOIN integration.mail_kinds AS k ON c.kind = k.kind;
END
$$;
COMMENT ON FUNCTION integration.claim_mails(integer, interval) IS
'For postcart_worker''s mail sender: takes up to p_limit (1 to 1000) due pending mails, earliest first, '
'FOR UPDATE SKIP LOCKED; marks skipped the marketing ones whose recipient no longer consents (an opt-out '
'after the fan-out wins); counts the attempt of the others and leases each until now() + p_lease (1 s to '
'1 h). Returns per mail handed out (fewer than p_limit when some were skipped): the attempt, kind, '
'recipient, whether it is marketing, and the template''s context (integration.mail_context).';

CREATE OR REPLACE FUNCTION integration.record_mail_attempts(
    p_outcomes jsonb, p_max_attempts integer, p_backoff_base interval, p_backoff_cap interval
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    applied integer;
BEGIN
    PERFORM integration.check_retry_policy(p_max_attempts, p_backoff_base, p_backoff_cap);
    -- The outcome decides only while the lease is the attempt's own: still pending, same attempt number.
    -- Full jitter: the wait is uniformly random below min(cap, base * 2^(attempt - 1)).
    UPDATE integration.mails AS m SET
        status = CASE WHEN o.sent THEN 'sent' WHEN m.attempts >= p_max_attempts THEN 'dead' ELSE 'pending' END,
        next_attempt_at = CASE
            WHEN o.sent OR m.attempts >= p_max_attempts THEN NULL
            ELSE now() + random() * least(p_backoff_cap, p_backoff_base * power(2, least(m.attempts - 1, 40)))
        END,
        sent_at = CASE WHEN o.sent THEN now() END,
        message_id = CASE WHEN o.sent THEN left(o.message_id, 300) ELSE m.message_id END,
        locked_until = NULL,
        last_error = CASE WHEN NOT o.sent THEN left(coalesce(o.error, 'failed'), 1000) END,
        updated_at = now()
    FROM jsonb_to_recordset(p_outcomes) AS o (mail_id uuid, attempt integer, sent boolean, message_id text, error text)
    WHERE m.id = o.mail_id AND o.sent IS NOT NULL AND (NOT o.sent OR o.message_id IS NOT NULL)
        AND m.status = 'pending' AND m.attempts = o.attempt AND m.locked_until IS NOT NULL;
    GET DIAGNOSTICS applied = ROW_COUNT;
    RETURN applied;
END
$$;
COMMENT ON FUNCTION integration.record_mail_attempts(jsonb, integer, interval, interval) IS
'For postcart_worker''s mail sender: outcomes [{mail_id, attempt, sent, message_id?, error?}], each '
'applied only to a mail still leased to that attempt: sent → sent (message_id, sent_at); otherwise dead '
'once attempts reached p_max_attempts, else pending again after a random wait below min(p_backoff_cap, '
'p_backoff_base * 2^(attempt - 1)). Returns how many mails the outcomes decided.';

CREATE OR REPLACE FUNCTION integration.tg_mails__transition()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF (NEW.kind, NEW.event_id, NEW.to_email, NEW.created_at)
        IS DISTINCT FROM (OLD.kind, OLD.event_id, OLD.to_email, OLD.created_at)
        OR OLD.status <> 'pending' OR NEW.attempts < OLD.attempts THEN
        PERFORM shop.fail(
            409, 'invalid_transition', jsonb_build_object('from', OLD.status, 'to', NEW.status),
            'A mail''s kind, event and recipient never change, and only a pending mail changes at all.'
        );
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION integration.tg_mails__transition() IS
'BEFORE UPDATE trigger on integration.mails, whoever writes: kind, event, recipient and created_at never '
'change, sent, dead and skipped mails are final, attempts never go down (PT409 invalid_transition). '
'Returns NEW.';

CREATE OR REPLACE TRIGGER _100_transition
BEFORE UPDATE ON integration.mails
FOR EACH ROW EXECUTE FUNCTION integration.tg_mails__transition();

REVOKE ALL ON FUNCTION integration.marketing_allowed(extensions.citext, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.set_marketing_consent(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.caller_marketing_emails() FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.fan_out_mails(uuid[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.mail_context(text, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.claim_mails(integer, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.record_mail_attempts(jsonb, integer, interval, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.tg_mails__transition() FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.check_retry_policy(integer, interval, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integration.set_marketing_consent(boolean) TO postcart_customer, postcart_staff;
GRANT EXECUTE ON FUNCTION integration.caller_marketing_emails() TO postcart_customer, postcart_staff;
GRANT EXECUTE ON FUNCTION integration.claim_mails(integer, interval) TO postcart_worker;
GRANT EXECUTE ON FUNCTION integration.record_mail_attempts(jsonb, integer, interval, interval) TO postcart_worker;
