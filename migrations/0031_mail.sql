-- E-mail (issue 8 item 3, issue 9 item 4; docs/email.md): account requests (password reset, e-mail
-- verification) whose tokens are derived in Python from the request id and never stored; marketing
-- consent and verification on accounts; the addresses that unsubscribed; the store's marketing rule; and
-- the mail queue the dispatcher fills from the outbox and the worker sends over SMTP. Rules and the
-- worker's functions are in sql/integration/mail.sql, the routes in sql/api/mail.sql.
-- depends: 0029_webhooks 0030_card_payments

SET LOCAL ROLE postcart_owner;

-- == accounts: verification and marketing consent ===================================================
ALTER TABLE auth.accounts ADD COLUMN email_verified_at timestamptz;
ALTER TABLE auth.accounts ADD COLUMN marketing_consent boolean;
ALTER TABLE auth.accounts ADD COLUMN marketing_consent_at timestamptz;
COMMENT ON COLUMN auth.accounts.email_verified_at IS
'When the owner of the address proved it (a verification link); NULL: not verified. Cleared should the '
'e-mail change.';
COMMENT ON COLUMN auth.accounts.marketing_consent IS
'Marketing e-mail: TRUE the customer said yes, FALSE no (or unsubscribed), NULL never asked, which '
'integration.mail_settings.marketing_without_consent decides (default: no marketing).';
COMMENT ON COLUMN auth.accounts.marketing_consent_at IS 'When marketing_consent was last set, as evidence.';

GRANT SELECT (email_verified_at, marketing_consent, marketing_consent_at) ON auth.accounts TO postcart_customer;
GRANT SELECT (email_verified_at, marketing_consent, marketing_consent_at) ON auth.accounts TO postcart_staff;

-- == account requests: password reset and e-mail verification =======================================
CREATE TABLE auth.account_requests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind text NOT NULL,
    -- NULL: a reset asked for an unknown address (the same work is done, nothing is sent).
    account_id uuid REFERENCES auth.accounts (id) ON DELETE CASCADE,
    -- The address verified (kind email_verification): a change of e-mail voids the request.
    email extensions.citext,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    CONSTRAINT account_requests_kind_check CHECK (kind IN ('password_reset', 'email_verification')),
    CONSTRAINT account_requests_expires_at_check CHECK (expires_at > created_at),
    CONSTRAINT account_requests_email_check CHECK ((kind = 'email_verification') = (email IS NOT NULL)),
    CONSTRAINT account_requests_account_check CHECK (kind = 'password_reset' OR account_id IS NOT NULL)
);
CREATE INDEX account_requests_account_id_idx ON auth.account_requests (account_id, kind, created_at);
CREATE INDEX account_requests_expires_at_idx ON auth.account_requests (expires_at);
COMMENT ON TABLE auth.account_requests IS
'Password resets (30 minutes) and e-mail verifications (48 hours): one row per request, single use '
'(used_at). The token mailed is <id>.<base64url HMAC-SHA256(server secret key, kind:id)>, derived in '
'Python by the worker and checked by the web app; it is never stored, and the id alone proves nothing.';

-- == marketing: suppressions and the store's rule ===================================================
CREATE TABLE integration.mail_suppressions (
    email extensions.citext PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    source text NOT NULL,
    CONSTRAINT mail_suppressions_source_check CHECK (source IN ('unsubscribe_link', 'customer', 'staff'))
);
COMMENT ON TABLE integration.mail_suppressions IS
'Addresses that get no marketing mail, account or guest: written by the one-click unsubscribe and by a '
'customer saying no; a customer saying yes again removes its address. Transactional mail ignores it.';

CREATE TABLE integration.mail_settings (
    id boolean PRIMARY KEY DEFAULT TRUE,
    marketing_without_consent boolean NOT NULL DEFAULT FALSE,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mail_settings_one_row CHECK (id)
);
COMMENT ON TABLE integration.mail_settings IS
'The store''s marketing rule (one row). marketing_without_consent FALSE (the default, GDPR): marketing '
'mail only to accounts that said yes; TRUE ("soft opt-in" where the law allows it): also to accounts that '
'never answered and to guest addresses, until they unsubscribe.';
INSERT INTO integration.mail_settings (id) VALUES (TRUE);

-- == the mail queue ==================================================================================
CREATE TABLE integration.mail_kinds (
    kind text PRIMARY KEY,
    marketing boolean NOT NULL,
    description text NOT NULL
);
COMMENT ON TABLE integration.mail_kinds IS
'The mails the store sends, each from one template (src/postcart/templates/mail/<kind>.*); marketing '
'ones honour consent and unsubscribes, transactional ones are always sent.';
INSERT INTO integration.mail_kinds (kind, marketing, description) VALUES
('order_confirmation', FALSE, 'order.created: the order, its lines and totals.'),
('shipping_notification', FALSE, 'fulfillment.created: what was shipped, the carrier and tracking number.'),
('password_reset', FALSE, 'customer.password_reset_requested: a link to choose a new password.'),
('email_verification', FALSE, 'customer.email_verification_requested: a link that verifies the address.'),
('abandoned_cart', TRUE, 'cart.abandoned: a reminder of what was left in the cart.');

CREATE TABLE integration.mails (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind text NOT NULL REFERENCES integration.mail_kinds (kind),
    event_id uuid NOT NULL REFERENCES integration.events (id) ON DELETE CASCADE,
    account_id uuid REFERENCES auth.accounts (id) ON DELETE SET NULL,
    to_email extensions.citext NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz DEFAULT now(),
    locked_until timestamptz,
    last_attempt_at timestamptz,
    last_error text,
    sent_at timestamptz,
    message_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mails_event_kind_key UNIQUE (event_id, kind),
    CONSTRAINT mails_to_email_check CHECK (auth.email_is_valid(to_email::text)),
    CONSTRAINT mails_status_check CHECK (status IN ('pending', 'sent', 'dead', 'skipped')),
    CONSTRAINT mails_attempts_check CHECK (attempts >= 0),
    CONSTRAINT mails_pending_check CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
    CONSTRAINT mails_lease_check CHECK (locked_until IS NULL OR status = 'pending'),
    CONSTRAINT mails_sent_check CHECK (
        (status = 'sent') = (sent_at IS NOT NULL AND message_id IS NOT NULL)
    ),
    CONSTRAINT mails_error_check CHECK (length(last_error) <= 1000),
    CONSTRAINT mails_message_id_check CHECK (length(message_id) <= 300)
);
CREATE INDEX mails_due_idx ON integration.mails (next_attempt_at) WHERE status = 'pending';
CREATE INDEX mails_account_id_idx ON integration.mails (account_id);
COMMENT ON TABLE integration.mails IS
'One message to send, made by integration.fan_out_mails in the dispatcher''s transaction (one per event '
'and kind). status: pending (next_attempt_at set), sent (message_id and sent_at), dead (no success after '
'the last attempt) or skipped (marketing to a recipient without consent, at fan-out or at send time). '
'Written only by the integration functions.';
COMMENT ON COLUMN integration.mails.to_email IS
'The recipient, resolved at fan-out (the order''s, account''s or cart''s).';
COMMENT ON COLUMN integration.mails.locked_until IS
'Lease of the worker sending the current attempt; past it without an outcome the mail is due again.';
COMMENT ON COLUMN integration.mails.message_id IS
'The Message-ID header sent (the same for every attempt of the mail, so a repeat is recognisable).';

-- == row-level security and grants ===================================================================
ALTER TABLE auth.account_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.account_requests FORCE ROW LEVEL SECURITY;
ALTER TABLE integration.mail_suppressions ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.mail_suppressions FORCE ROW LEVEL SECURITY;
ALTER TABLE integration.mail_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.mail_settings FORCE ROW LEVEL SECURITY;
ALTER TABLE integration.mail_kinds ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.mail_kinds FORCE ROW LEVEL SECURITY;
ALTER TABLE integration.mails ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration.mails FORCE ROW LEVEL SECURITY;

CREATE POLICY account_requests_owner_all ON auth.account_requests
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY mail_suppressions_owner_all ON integration.mail_suppressions
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY mail_settings_owner_all ON integration.mail_settings
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY mail_settings_store_admin ON integration.mail_settings
FOR ALL TO store_admin USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY mail_kinds_owner_all ON integration.mail_kinds
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY mail_kinds_select_store_admin ON integration.mail_kinds
FOR SELECT TO store_admin USING (TRUE);
CREATE POLICY mails_owner_all ON integration.mails
FOR ALL TO postcart_owner USING (TRUE) WITH CHECK (TRUE);
CREATE POLICY mails_select_store_admin ON integration.mails
FOR SELECT TO store_admin USING (TRUE);

-- Requests, suppressions and mails are written by SECURITY DEFINER functions alone; store admins read the
-- queue (support: "did my confirmation go out?") and set the marketing rule.
GRANT SELECT (id, marketing_without_consent, updated_at) ON TABLE integration.mail_settings TO store_admin;
GRANT UPDATE (marketing_without_consent) ON TABLE integration.mail_settings TO store_admin;
GRANT SELECT (kind, marketing, description) ON TABLE integration.mail_kinds TO store_admin;
GRANT SELECT (
    id, kind, event_id, account_id, to_email, status, attempts, next_attempt_at, locked_until, last_attempt_at,
    last_error, sent_at, message_id, created_at, updated_at
) ON TABLE integration.mails TO store_admin;

-- The new event types, for webhook subscriptions too.
INSERT INTO integration.event_types (type, description) VALUES
('customer.password_reset_requested', 'A password reset was asked for a known account (no token in it).'),
('customer.email_verification_requested', 'An account''s e-mail address is to be verified (no token in it).');

RESET ROLE;
