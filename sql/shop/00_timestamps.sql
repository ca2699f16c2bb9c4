-- The one updated_at trigger function, shared by every table that has the column (shop and auth).

CREATE OR REPLACE FUNCTION shop.tg__set_updated_at()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg__set_updated_at() IS
'BEFORE UPDATE trigger for any table with an updated_at column: sets it to the transaction time. '
'Returns the row.';

REVOKE EXECUTE ON FUNCTION shop.tg__set_updated_at() FROM PUBLIC;
