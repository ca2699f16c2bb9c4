-- Outgoing webhooks (migration 0029, docs/webhooks.md): the rules of subscriptions and deliveries, and the
-- three functions the worker runs as postcart_worker. The dispatcher fans claimed outbox events out into
-- deliveries; the sender claims due deliveries under a lease, commits, sends them over HTTP (Python, no
-- transaction open), then records the outcomes in a second short transaction.

-- == subscriptions ===================================================================================
CREATE OR REPLACE FUNCTION integration.webhook_subscription_errors(p_url text, p_event_types text[])
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'url', CASE
            WHEN p_url IS NULL OR btrim(p_url) = '' THEN 'is required'
            WHEN length(p_url) > 2000 THEN 'must be at most 2000 characters'
            WHEN p_url !~* '^https?://' THEN 'must be an http:// or https:// URL'
            WHEN p_url ~ '[[:space:][:cntrl:]]' THEN 'must not contain spaces or control characters'
            WHEN p_url ~ '^[^:]+://[^/?#]*@' THEN 'must not contain a user name or password'
            WHEN p_url !~ '^https?://[^[:space:][:cntrl:]/?#@\\]+([/?#][^[:space:][:cntrl:]]*)?$'
                THEN 'must be an http:// or https:// URL with a host (scheme in lower case)'
        END,
        'events', CASE
            WHEN p_event_types IS NULL OR cardinality(p_event_types) = 0 THEN 'is required: event types, or ["*"]'
            WHEN cardinality(p_event_types) > 100 THEN 'must list at most 100 event types'
            WHEN array_position(p_event_types, NULL) IS NOT NULL THEN 'must be strings'
            WHEN '*' = ANY(p_event_types) AND cardinality(p_event_types) > 1
                THEN '"*" already means every event type: send it alone'
            WHEN p_event_types <> ARRAY['*'] THEN (
                SELECT 'unknown event type(s): ' || string_agg(DISTINCT u.t, ', ' ORDER BY u.t)
                FROM unnest(p_event_types) AS u (t)
                WHERE NOT EXISTS (SELECT FROM integration.event_types AS k WHERE k.type = u.t)
            )
        END
    ))
$$;
COMMENT ON FUNCTION integration.webhook_subscription_errors(text, text[]) IS
'What is wrong with a subscription''s url and event types, as {url?, events?: human reason} (empty when '
'nothing is): http(s) with a host, no credentials, spaces or control characters, at most 2000 characters; '
'1 to 100 types from integration.event_types, or ["*"] alone. Returns jsonb.';

CREATE OR REPLACE FUNCTION integration.tg_webhook_subscriptions__check()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    fields jsonb := integration.webhook_subscription_errors(NEW.url, NEW.event_types);
BEGIN
    IF fields <> '{}' THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', fields),
            'A subscription needs an http(s) URL without credentials and known event types (or ["*"]).'
        );
    END IF;
    -- Sorted and without repeats, so equal subscriptions look equal.
    NEW.event_types := ARRAY(SELECT DISTINCT u.t FROM unnest(NEW.event_types) AS u (t) ORDER BY u.t);
    IF TG_OP = 'INSERT' THEN
        NEW.secret_version := 1;
        NEW.secret_rotated_at := NULL;
        RETURN NEW;
    END IF;
    -- A secret, once replaced, must never become valid again (whoever learnt it keeps it).
    IF NEW.secret_version < OLD.secret_version OR NEW.secret_version > OLD.secret_version + 1 THEN
        PERFORM shop.fail(
            409, 'invalid_secret_version',
            jsonb_build_object('from', OLD.secret_version, 'to', NEW.secret_version),
            'A signing secret is rotated one version at a time and never back to an earlier one.'
        );
    END IF;
    IF NEW.secret_version <> OLD.secret_version THEN
        NEW.secret_rotated_at := now();
    ELSE
        NEW.secret_rotated_at := OLD.secret_rotated_at;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION integration.tg_webhook_subscriptions__check() IS
'BEFORE INSERT OR UPDATE trigger on integration.webhook_subscriptions, whoever writes: PT422 '
'validation_failed {fields} for a bad url or event types (integration.webhook_subscription_errors); sorts '
'the types; a new subscription starts at secret_version 1; an update may raise secret_version by exactly '
'one (PT409 invalid_secret_version otherwise), which sets secret_rotated_at. Returns NEW.';

CREATE OR REPLACE TRIGGER _100_check
BEFORE INSERT OR UPDATE ON integration.webhook_subscriptions
FOR EACH ROW EXECUTE FUNCTION integration.tg_webhook_subscriptions__check();

-- == deliveries: the state rules =====================================================================
CREATE OR REPLACE FUNCTION integration.tg_webhook_deliveries__transition()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF (NEW.subscription_id, NEW.event_id, NEW.created_at) IS DISTINCT FROM (OLD.subscription_id, OLD.event_id, OLD.created_at) THEN
        PERFORM shop.fail(
            409, 'delivery_immutable', '{}'::jsonb,
            'A delivery''s subscription, event and creation time never change.'
        );
    END IF;
    -- pending -> pending (an attempt claimed or failed), delivered or dead; delivered or dead -> pending
    -- only as a replay, which starts counting attempts again.
    IF NOT (
        OLD.status = 'pending'
        OR (NEW.status = 'pending' AND NEW.attempts = 0 AND NEW.locked_until IS NULL)
    ) THEN
        PERFORM shop.fail(
            409, 'invalid_transition',
            jsonb_build_object('from', OLD.status, 'to', NEW.status),
            'A delivered or dead delivery only goes back to pending, with attempts reset (a replay).'
        );
    END IF;
    IF NEW.attempts < OLD.attempts AND NOT (OLD.status <> 'pending' AND NEW.attempts = 0) THEN
        PERFORM shop.fail(
            409, 'invalid_transition', jsonb_build_object('from', OLD.status, 'to', NEW.status),
            'Attempts only go up, except when a replay resets them.'
        );
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION integration.tg_webhook_deliveries__transition() IS
'BEFORE UPDATE trigger on integration.webhook_deliveries, whoever writes: subscription, event and '
'created_at never change; a delivered or dead delivery may only go back to pending with attempts 0 and no '
'lease (a replay); attempts never go down otherwise. PT409 delivery_immutable / invalid_transition. '
'Returns NEW.';

CREATE OR REPLACE TRIGGER _100_transition
BEFORE UPDATE ON integration.webhook_deliveries
FOR EACH ROW EXECUTE FUNCTION integration.tg_webhook_deliveries__transition();

CREATE OR REPLACE FUNCTION integration.tg_webhook_attempts__append_only()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    PERFORM shop.fail(
        409, 'attempts_append_only', '{}'::jsonb,
        'The attempt history is append-only; it goes only with its delivery.'
    );
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION integration.tg_webhook_attempts__append_only() IS
'BEFORE UPDATE trigger on integration.webhook_attempts: refuses every change (PT409 attempts_append_only), '
'the owner''s too. Rows leave only with their delivery (ON DELETE CASCADE). Returns nothing.';

CREATE OR REPLACE TRIGGER _100_append_only
BEFORE UPDATE ON integration.webhook_attempts
FOR EACH ROW EXECUTE FUNCTION integration.tg_webhook_attempts__append_only();

-- == the worker: dispatch ============================================================================
CREATE OR REPLACE FUNCTION integration.dispatch_events(p_batch_size integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    claimed uuid[];
    fanned integer;
BEGIN
    PERFORM shop.check_batch_size(p_batch_size);
    -- Oldest first; events another dispatcher holds are skipped, so two never fan out one event.
    SELECT array_agg(e.id) INTO claimed
    FROM (
        SELECT ev.id
        FROM integration.events AS ev
        WHERE ev.dispatched_at IS NULL
        ORDER BY ev.created_at, ev.id
        LIMIT p_batch_size
        FOR UPDATE SKIP LOCKED
    ) AS e;
    IF claimed IS NULL THEN
        RETURN 0;
    END IF;
    -- One delivery per event and active subscription that names its type (or "*") and existed when the
    -- event was written.
    -- In the events' order, each a microsecond or more after the one before: newest first in the staff's
    -- list is then the events' order too.
    INSERT INTO integration.webhook_deliveries (subscription_id, event_id, created_at)
    SELECT s.id, e.id, clock_timestamp()
    FROM integration.events AS e
    INNER JOIN integration.webhook_subscriptions AS s
        ON s.active AND s.created_at <= e.created_at AND (e.type = ANY(s.event_types) OR s.event_types = '{*}')
    WHERE e.id = ANY(claimed)
    ORDER BY e.created_at, e.id
    ON CONFLICT ON CONSTRAINT webhook_deliveries_event_key DO NOTHING;
    GET DIAGNOSTICS fanned = ROW_COUNT;
    PERFORM integration.fan_out_mails(claimed);  -- and the mails they imply, in this transaction (mail.sql)
    UPDATE integration.events AS e
    SET dispatched_at = now(), attempts = e.attempts + 1
    WHERE e.id = ANY(claimed);
    IF fanned > 0 THEN
        PERFORM pg_notify('webhook_deliveries', '');  -- wakes the senders when this commits
    END IF;
    RETURN cardinality(claimed);
END
$$;
COMMENT ON FUNCTION integration.dispatch_events(integer) IS
'For postcart_worker (woken by NOTIFY integration_events): claims up to p_batch_size (1 to 10000) '
'undispatched outbox events, oldest first, FOR UPDATE SKIP LOCKED; writes one pending delivery per event '
'and active subscription naming its type or "*" (created no later than the event); marks the events '
'dispatched; NOTIFY webhook_deliveries when it wrote any. The same transaction makes their mails '
'(integration.fan_out_mails). Returns the number of events claimed.';

-- == the worker: send ================================================================================
CREATE OR REPLACE FUNCTION integration.claim_webhook_deliveries(
    p_limit integer, p_lease interval, p_per_subscription integer DEFAULT 1000, p_in_flight jsonb DEFAULT '{}'
)
RETURNS TABLE (
    delivery_id uuid, attempt integer, url text, subscription_id uuid, secret_versions integer[],
    event_id uuid, body text
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 OR p_lease IS NULL
        OR p_lease NOT BETWEEN INTERVAL '1 second' AND INTERVAL '1 hour'
        OR p_per_subscription IS NULL OR p_per_subscription < 1 THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object(
                'limit', 'must be 1 to 1000', 'lease', '1 s to 1 h', 'per_subscription', 'at least 1'
            )),
            'The sender claims 1 to 1000 deliveries under a lease of 1 second to 1 hour.'
        );
    END IF;
    RETURN QUERY
    WITH due AS (
        -- Per active subscription, its earliest due deliveries, no more than it may still have in flight
        -- (p_per_subscription less what this sender has open to it: p_in_flight {subscription id: count}),
        -- so one slow subscriber never takes every slot; then the earliest of those overall.
        SELECT d.id, d.attempts, d.locked_until, d.last_attempt_at
        FROM integration.webhook_subscriptions AS s
        CROSS JOIN LATERAL (
            SELECT w.id, w.attempts, w.locked_until, w.last_attempt_at, w.next_attempt_at
            FROM integration.webhook_deliveries AS w
            WHERE w.subscription_id = s.id AND w.status = 'pending' AND w.next_attempt_at <= now()
            ORDER BY w.next_attempt_at
            LIMIT greatest(p_per_subscription - coalesce((p_in_flight ->> s.id::text)::integer, 0), 0)
            FOR UPDATE SKIP LOCKED
        ) AS d
        WHERE s.active
        ORDER BY d.next_attempt_at
        LIMIT p_limit
    ),

    -- A lease that ran out without an outcome: its worker died or lost the database mid-attempt.
    lost AS (
        INSERT INTO integration.webhook_attempts (delivery_id, attempt, attempted_at, error)
        SELECT due.id, due.attempts, coalesce(due.last_attempt_at, now()),
            'no outcome recorded: the worker stopped or lost the database during the attempt'
        FROM due
        WHERE due.locked_until IS NOT NULL AND due.attempts >= 1
    ),

    -- next_attempt_at moves to the lease's end: if no outcome comes, the delivery is due again then.
    claimed AS (
        UPDATE integration.webhook_deliveries AS d
        SET attempts = d.attempts + 1, locked_until = now() + p_lease, next_attempt_at = now() + p_lease,
            last_attempt_at = now(), updated_at = now()
        FROM due
        WHERE d.id = due.id
        RETURNING d.id, d.attempts, d.subscription_id, d.event_id
    )

    SELECT c.id, c.attempts, s.url, c.subscription_id,
        CASE WHEN s.secret_rotated_at > now() - INTERVAL '24 hours'
            THEN ARRAY[s.secret_version, s.secret_version - 1] ELSE ARRAY[s.secret_version] END,
        c.event_id,
        -- One primary-key lookup per claimed row, whatever the planner guesses of the CTE's size.
        (
            SELECT jsonb_build_object('type', e.type, 'timestamp', auth.to_rfc3339(e.created_at), 'data', e.payload)
            FROM integration.events AS e
            WHERE e.id = c.event_id
        )::text
    FROM claimed AS c
    INNER JOIN integration.webhook_subscriptions AS s ON c.subscription_id = s.id;
END
$$;
COMMENT ON FUNCTION integration.claim_webhook_deliveries(integer, interval, integer, jsonb) IS
'For postcart_worker''s sender: claims up to p_limit (1 to 1000) due pending deliveries of active '
'subscriptions, earliest first, FOR UPDATE SKIP LOCKED, at most p_per_subscription per subscription less '
'the attempts the sender already has open to it (p_in_flight: {subscription id: count}); counts the '
'attempt and leases each until now() + p_lease (1 s to 1 h), after which an attempt without an outcome is '
'recorded as lost and the delivery is claimed again. Returns per delivery: the attempt number, the url, '
'the subscription id, the secret versions to sign with (the previous one too for 24 hours after a '
'rotation), the event id (the webhook-id) and the body {type, timestamp, data} as text.';

CREATE OR REPLACE FUNCTION integration.webhook_outcomes(p_outcomes jsonb)
RETURNS TABLE (
    delivery_id uuid, attempt integer, attempted_at timestamptz, duration_ms integer, response_status integer,
    error text
)
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT o.delivery_id, o.attempt, o.attempted_at, greatest(o.duration_ms, 0),
        CASE WHEN o.response_status BETWEEN 100 AND 599 THEN o.response_status END,
        left(coalesce(o.error, CASE WHEN o.response_status NOT BETWEEN 100 AND 599 OR o.response_status IS NULL
            THEN 'no answer' END), 1000)
    FROM jsonb_to_recordset(p_outcomes) AS o (
        delivery_id uuid, attempt integer, attempted_at timestamptz, duration_ms integer,
        response_status integer, error text
    )
$$;
COMMENT ON FUNCTION integration.webhook_outcomes(jsonb) IS
'The sender''s outcomes (a JSON array of {delivery_id, attempt, attempted_at, duration_ms, '
'response_status?, error?}) as rows, each with an HTTP status (100-599) or an error (at most 1000 '
'characters). Returns a set of rows.';

CREATE OR REPLACE FUNCTION integration.record_webhook_attempts(
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
    -- Locked in one order (a subscription's deletion cascades here too); gone ones are skipped.
    PERFORM FROM integration.webhook_deliveries AS d
    WHERE d.id IN (SELECT o.delivery_id FROM integration.webhook_outcomes(p_outcomes) AS o)
    ORDER BY d.id
    FOR NO KEY UPDATE;

    -- Every attempt that happened is history, even one whose lease another worker has taken over since.
    INSERT INTO integration.webhook_attempts (delivery_id, attempt, attempted_at, duration_ms, response_status, error)
    SELECT o.delivery_id, o.attempt, o.attempted_at, o.duration_ms, o.response_status, o.error
    FROM integration.webhook_outcomes(p_outcomes) AS o
    WHERE EXISTS (SELECT FROM integration.webhook_deliveries AS d WHERE d.id = o.delivery_id);

    -- The outcome decides only while the lease is the attempt's own: still pending, same attempt number.
    -- Full jitter: the wait is uniformly random below min(cap, base * 2^(attempt - 1)).
    UPDATE integration.webhook_deliveries AS d SET
        status = CASE
            WHEN o.response_status BETWEEN 200 AND 299 THEN 'delivered'
            WHEN d.attempts >= p_max_attempts THEN 'dead'
            ELSE 'pending'
        END,
        next_attempt_at = CASE
            WHEN o.response_status BETWEEN 200 AND 299 OR d.attempts >= p_max_attempts THEN NULL
            ELSE now() + random() * least(p_backoff_cap, p_backoff_base * power(2, least(d.attempts - 1, 40)))
        END,
        delivered_at = CASE WHEN o.response_status BETWEEN 200 AND 299 THEN now() END,
        locked_until = NULL,
        last_response_status = o.response_status,
        last_error = o.error,
        updated_at = now()
    FROM integration.webhook_outcomes(p_outcomes) AS o
    WHERE d.id = o.delivery_id
        AND d.status = 'pending' AND d.attempts = o.attempt AND d.locked_until IS NOT NULL;
    GET DIAGNOSTICS applied = ROW_COUNT;
    RETURN applied;
END
$$;
COMMENT ON FUNCTION integration.record_webhook_attempts(jsonb, integer, interval, interval) IS
'For postcart_worker''s sender: records outcomes [{delivery_id, attempt, attempted_at, duration_ms, '
'response_status?, error?}] as attempt history, and for each delivery still leased to that attempt: 2xx '
'-> delivered; otherwise dead once attempts reached p_max_attempts, else pending again after a random '
'wait below min(p_backoff_cap, p_backoff_base * 2^(attempt - 1)). Returns how many deliveries the '
'outcomes decided.';

-- == staff: replay ===================================================================================
CREATE OR REPLACE FUNCTION integration.replay_webhook_delivery(p_subscription_id uuid, p_delivery_id uuid)
RETURNS integration.webhook_deliveries
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    delivery integration.webhook_deliveries;
BEGIN
    SELECT d.* INTO delivery
    FROM integration.webhook_deliveries AS d
    WHERE d.id = p_delivery_id AND d.subscription_id = p_subscription_id
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM shop.fail(404, 'delivery_not_found', '{}'::jsonb, 'No such delivery for this webhook.');
    END IF;
    IF delivery.status = 'pending' THEN
        PERFORM shop.fail(
            409, 'delivery_pending', jsonb_build_object('next_attempt_at', auth.to_rfc3339(delivery.next_attempt_at)),
            'This delivery is still pending: it will be attempted again without a replay.'
        );
    END IF;
    UPDATE integration.webhook_deliveries AS d SET
        status = 'pending', attempts = 0, locked_until = NULL, delivered_at = NULL, updated_at = now(),
        next_attempt_at = now()
    WHERE d.id = delivery.id
    RETURNING d.* INTO delivery;
    PERFORM pg_notify('webhook_deliveries', '');
    RETURN delivery;
END
$$;
COMMENT ON FUNCTION integration.replay_webhook_delivery(uuid, uuid) IS
'For store_admin: puts a delivered or dead delivery of the subscription back to pending with attempts 0, '
'due at once (once its subscription is active), and wakes the senders. PT404 '
'delivery_not_found; PT409 delivery_pending. Returns the delivery row.';

REVOKE ALL ON FUNCTION integration.webhook_subscription_errors(text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.tg_webhook_subscriptions__check() FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.tg_webhook_deliveries__transition() FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.tg_webhook_attempts__append_only() FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.dispatch_events(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.claim_webhook_deliveries(integer, interval, integer, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.webhook_outcomes(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.record_webhook_attempts(jsonb, integer, interval, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION integration.replay_webhook_delivery(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integration.webhook_subscription_errors(text, text[]) TO store_admin;
GRANT EXECUTE ON FUNCTION integration.dispatch_events(integer) TO postcart_worker;
GRANT EXECUTE ON FUNCTION integration.claim_webhook_deliveries(integer, interval, integer, jsonb) TO postcart_worker;
GRANT EXECUTE ON FUNCTION integration.record_webhook_attempts(jsonb, integer, interval, interval) TO postcart_worker;
GRANT EXECUTE ON FUNCTION integration.replay_webhook_delivery(uuid, uuid) TO store_admin;
