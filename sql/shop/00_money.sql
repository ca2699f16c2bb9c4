-- Money as every API answer shows it (DESIGN.md: integer minor units plus the ISO 4217 currency).

CREATE OR REPLACE FUNCTION shop.money_json(p_amount bigint, p_currency text)
RETURNS jsonb
LANGUAGE sql
STABLE  -- as jsonb_build_object is: a function no more volatile than its body is inlined where it is called
PARALLEL SAFE
AS $$
    SELECT jsonb_build_object('amount', p_amount, 'currency', p_currency)
$$;
COMMENT ON FUNCTION shop.money_json(bigint, text) IS
'Money as the API shows it: {amount (integer minor units), currency}. Returns jsonb (amount NULL for NULL).';
REVOKE ALL ON FUNCTION shop.money_json(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.money_json(bigint, text) TO postcart_anon, postcart_customer, postcart_staff;
