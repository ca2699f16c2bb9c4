-- The tax service's side of checkout (docs/carriers.md "External tax service"): what the layer asks the
-- service about before POST /v1/carts/{id}/checkout, when a tax service is configured. Nothing here runs
-- without one.

CREATE OR REPLACE FUNCTION api.checkout_tax_basis(args jsonb, derived jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    cart shop.carts := shop.request_cart(args, derived, FALSE);
    quote jsonb;
BEGIN
    quote := shop.price_cart(cart.id);
    -- A cart checkout will refuse, or without a destination, needs no quote.
    IF cart.status <> 'open' OR jsonb_array_length(quote -> 'problems') > 0
        OR NOT (quote ->> 'tax_calculated')::boolean THEN
        RETURN jsonb_build_object('basis', NULL);
    END IF;
    RETURN jsonb_build_object('basis', shop.tax_basis(quote, cart.shipping_address));
END
$$;
COMMENT ON FUNCTION api.checkout_tax_basis(jsonb, jsonb) IS
'Before POST /v1/carts/{id}/checkout when a tax service is configured: {basis} for the caller''s cart '
'(args.id; a guest''s by derived.cart_token_sha256), shop.tax_basis of its current pricing, which the layer '
'sends to the tax service and hands back to api.checkout with the answer; basis is null when checkout would '
'refuse the cart anyway or it has no address. Reads only (the cart is not locked). 404 cart_not_found.';
REVOKE ALL ON FUNCTION api.checkout_tax_basis(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.checkout_tax_basis(jsonb, jsonb) TO postcart_anon, postcart_customer;
