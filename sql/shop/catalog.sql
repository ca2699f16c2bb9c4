-- Catalog rules: trigger functions and their triggers, the availability helpers the storefront reads
-- stock through, and the category tree helper. Repeatable: applied after the migrations on every deploy.

-- == trigger functions ===============================================================================
CREATE OR REPLACE FUNCTION shop.tg_categories__no_cycle()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF NEW.parent_id IS NOT NULL AND EXISTS (
        WITH RECURSIVE ancestors AS (
            SELECT c.id, c.parent_id
            FROM shop.categories AS c
            WHERE c.id = NEW.parent_id
            UNION
            SELECT c.id, c.parent_id
            FROM shop.categories AS c
            INNER JOIN ancestors AS a ON c.id = a.parent_id
        )
        SELECT FROM ancestors WHERE ancestors.id = NEW.id
    ) THEN
        PERFORM shop.fail(
            422, 'category_cycle',
            jsonb_build_object('id', NEW.id, 'parent_id', NEW.parent_id),
            'A category cannot be placed below itself or one of its subcategories.'
        );
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg_categories__no_cycle() IS
'BEFORE INSERT/UPDATE trigger on shop.categories: refuses a parent_id that would make the tree a cycle '
'(PT422 category_cycle). Returns the row.';

CREATE OR REPLACE FUNCTION shop.tg_products__published_at()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF NEW.status = 'published' AND NEW.published_at IS NULL THEN
        NEW.published_at := now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg_products__published_at() IS
'BEFORE INSERT/UPDATE trigger on shop.products: stamps published_at when a product becomes published '
'without one (an explicit published_at is kept). Returns the row.';

CREATE OR REPLACE FUNCTION shop.tg_variant_prices__product_id()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    SELECT v.product_id INTO NEW.product_id FROM shop.product_variants AS v WHERE v.id = NEW.variant_id;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg_variant_prices__product_id() IS
'BEFORE INSERT/UPDATE trigger on shop.variant_prices: copies the variant''s product_id onto the price row '
'(the composite foreign key then guarantees it stays right). Returns the row.';

-- == triggers ========================================================================================
-- Prefixes order BEFORE triggers (they fire by name): _100 checks, _200 derived columns, _900 timestamps.
CREATE OR REPLACE TRIGGER _100_no_cycle
BEFORE INSERT OR UPDATE OF parent_id ON shop.categories
FOR EACH ROW EXECUTE FUNCTION shop.tg_categories__no_cycle();
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.categories
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

CREATE OR REPLACE TRIGGER _200_published_at
BEFORE INSERT OR UPDATE OF status, published_at ON shop.products
FOR EACH ROW EXECUTE FUNCTION shop.tg_products__published_at();
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.products
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.product_variants
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

CREATE OR REPLACE TRIGGER _200_product_id
BEFORE INSERT OR UPDATE OF variant_id ON shop.variant_prices
FOR EACH ROW EXECUTE FUNCTION shop.tg_variant_prices__product_id();
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.variant_prices
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.stock_levels
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

-- == availability: the storefront's only window on stock =============================================
-- Anonymous callers and customers cannot read shop.stock_levels; these return numbers only. This is the
-- one place that decides what "available" means (reservations with expiry will plug in here).
CREATE OR REPLACE FUNCTION shop.stock_available(on_hand integer, reserved integer)
RETURNS integer
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT on_hand - reserved
$$;
COMMENT ON FUNCTION shop.stock_available(integer, integer) IS
'What one stock row can still sell: on_hand - reserved (negative while backorders are reserved beyond '
'on_hand). Every availability figure is a sum of this. Returns integer.';
REVOKE ALL ON FUNCTION shop.stock_available(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.stock_available(integer, integer) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.stock_available(integer, integer) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.stock_available(integer, integer) TO postcart_staff;
-- Reporting views call it too, as their reader.
GRANT EXECUTE ON FUNCTION shop.stock_available(integer, integer) TO postcart_analyst;
GRANT EXECUTE ON FUNCTION shop.stock_available(integer, integer) TO postcart_dba;

CREATE OR REPLACE FUNCTION shop.variant_availability(variant_ids uuid[])
RETURNS TABLE (variant_id uuid, available bigint)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT ids.id, coalesce(sum(shop.stock_available(s.on_hand, s.reserved)), 0)::bigint
    FROM (SELECT DISTINCT u.id FROM unnest(variant_ids) AS u (id)) AS ids  -- an id given twice counts once
    LEFT JOIN shop.stock_levels AS s ON ids.id = s.variant_id
    GROUP BY ids.id;
END
$$;
COMMENT ON FUNCTION shop.variant_availability(uuid[]) IS
'Availability of the given variants: one row per distinct id with available = sum over warehouses of '
'on_hand - reserved (0 when there is no stock row). Reveals nothing but these numbers. Returns a set of '
'(variant_id, available).';
REVOKE ALL ON FUNCTION shop.variant_availability(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.variant_availability(uuid[]) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.variant_availability(uuid[]) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.variant_availability(uuid[]) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.product_availability(product_ids uuid[])
RETURNS TABLE (product_id uuid, available bigint)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL for its cached plan (see sql/shop/catalog_version.sql): the stock triggers call it per write.
    RETURN QUERY
    SELECT ids.id, coalesce(sum(shop.stock_available(s.on_hand, s.reserved)), 0)::bigint
    FROM (SELECT DISTINCT u.id FROM unnest(product_ids) AS u (id)) AS ids  -- an id given twice counts once
    LEFT JOIN shop.product_variants AS v ON ids.id = v.product_id
    LEFT JOIN shop.stock_levels AS s ON v.id = s.variant_id
    GROUP BY ids.id;
END
$$;
COMMENT ON FUNCTION shop.product_availability(uuid[]) IS
'Availability of the given products: one row per distinct id with available = the sum over all their '
'variants and warehouses of on_hand - reserved (0 without stock). Returns a set of (product_id, available).';
REVOKE ALL ON FUNCTION shop.product_availability(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.product_availability(uuid[]) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.product_availability(uuid[]) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.product_availability(uuid[]) TO postcart_staff;

-- == category tree ===================================================================================
CREATE OR REPLACE FUNCTION shop.category_children(parent_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    RETURN (
        SELECT coalesce(
            jsonb_agg(
                jsonb_build_object(
                    'id', c.id, 'slug', c.slug, 'name', c.name,
                    'children', shop.category_children(c.id)
                )
                ORDER BY c.position, c.name, c.id
            ),
            '[]'
        )
        FROM shop.categories AS c
        WHERE (category_children.parent_id IS NULL AND c.parent_id IS NULL)
            OR c.parent_id = category_children.parent_id
    );
END
$$;
COMMENT ON FUNCTION shop.category_children(uuid) IS
'The subtree below a category (NULL: the whole tree), as the caller may see it: a JSON array of '
'{id, slug, name, children} ordered by position then name, children nested the same way. Returns jsonb.';
REVOKE ALL ON FUNCTION shop.category_children(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.category_children(uuid) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.category_children(uuid) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.category_children(uuid) TO postcart_staff;
