-- One-time codes are one-time: the last TOTP time step each account used, so a code seen once (over a
-- shoulder, in a log, by a phishing proxy) cannot sign in again within its 30-second window.
-- depends: 0002_accounts

SET LOCAL ROLE postcart_owner;

ALTER TABLE auth.accounts ADD COLUMN totp_last_step bigint;
COMMENT ON COLUMN auth.accounts.totp_last_step IS
'The RFC 6238 time step of the last TOTP code accepted at login; codes of that step or earlier are refused.';

RESET ROLE;
