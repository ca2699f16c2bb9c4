-- The dropped functions come back with the repeatable sql/ of the release that used them.
DO $$
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user) THEN
        ALTER ROLE postcart_authenticator RESET log_parameter_max_length;
        ALTER ROLE postcart_authenticator RESET log_parameter_max_length_on_error;
    END IF;
END
$$;
