-- Personal data (issue 9, item 5): the mark of an account erased by DELETE /v1/me, encrypted TOTP secrets
-- and the customer.deleted event. The functions live in sql/auth/70_privacy.sql and sql/api/privacy.sql;
-- docs/privacy.md says what is personal data where.
-- depends: 0002_accounts 0005_totp_last_step 0029_webhooks 0031_mail 0039_staff_deactivation

SET LOCAL ROLE postcart_owner;

ALTER TABLE auth.accounts ADD COLUMN anonymised_at timestamptz;
COMMENT ON COLUMN auth.accounts.anonymised_at IS
'When the customer erased the account (DELETE /v1/me, api.delete_me): its personal data was replaced '
'by placeholders in the same transaction. NULL for a live account.';

-- TOTP secrets are sealed in Python (AES-256-GCM, key derived from POSTCART_SECRET_KEY, the account id as
-- associated data): enc:v1:<key id>:<base64url of nonce and ciphertext>. A plain base32 secret stored
-- before this migration stays valid until the server re-seals it (at the next login or
-- `postcart reencrypt-secrets`); the database cannot seal it, since the key never reaches it.
ALTER TABLE auth.accounts DROP CONSTRAINT accounts_totp_secret_check;
ALTER TABLE auth.accounts ADD CONSTRAINT accounts_totp_secret_check CHECK (
    totp_secret ~ '^enc:v1:[0-9a-f]{16}:[A-Za-z0-9_-]{40,255}$' OR totp_secret ~ '^[A-Z2-7]{16,128}=*$'
);
COMMENT ON COLUMN auth.accounts.totp_secret IS
'The TOTP secret sealed by the server: enc:v1:<key id>:<base64url(nonce || AES-GCM ciphertext)>, '
'readable only with POSTCART_SECRET_KEY (or the previous key during a rotation). A plain base32 secret '
'is a row from before migration 0037, re-sealed at its next use. NULL: MFA is off.';

-- The erasure deletes mail sent to the person's address, guest orders' confirmations included.
CREATE INDEX mails_to_email_idx ON integration.mails (to_email);

INSERT INTO integration.event_types (type, description) VALUES
('customer.deleted', 'A customer erased their account: erase what you copied about them (payload: customer_id).');

RESET ROLE;
