-- Staff deactivation (issue 9): a member who leaves keeps their account row (orders, audit and history
-- point at it) but can no longer log in, and every session they had ends in the same transaction.
-- The functions that set it live in sql/auth/30_staff.sql.
-- depends: 0002_accounts

SET LOCAL ROLE postcart_owner;

ALTER TABLE auth.accounts ADD COLUMN deactivated_at timestamptz;
COMMENT ON COLUMN auth.accounts.deactivated_at IS
'When the account was deactivated (auth.deactivate_staff, PATCH /v1/admin/staff/{id} {active: false}); '
'NULL while active. A deactivated account cannot open a session (auth.tg_sessions__claims refuses it).';

RESET ROLE;
