-- Undoes 0039. CASCADE drops auth.staff_members, which reads the column; the previous
-- sql/auth/30_staff.sql creates it again, without it, when applied.
SET LOCAL ROLE postcart_owner;

ALTER TABLE auth.accounts DROP COLUMN deactivated_at CASCADE;

RESET ROLE;
