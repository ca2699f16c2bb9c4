-- Catalog management rules: typed attributes checked against the product's type, slugs generated from
-- names with a history of former ones, and the visibility every row of a product carries for the
-- storefront policies. Repeatable: applied after the migrations on every deploy.

-- == attributes ======================================================================================
CREATE OR REPLACE FUNCTION shop.attribute_problems(definition jsonb, attributes jsonb)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT nullif(coalesce(jsonb_object_agg(problems.field, problems.reason), '{}'), '{}')
    FROM (
        SELECT
            'attributes.' || coalesce(a.key, d.key) AS field,
            CASE
                WHEN d.key IS NULL THEN 'is not an attribute of this product type'
                WHEN a.key IS NULL THEN
                    CASE WHEN coalesce((d.value ->> 'required')::boolean, FALSE) THEN 'is required' END
                WHEN d.value ->> 'type' = 'text' AND jsonb_typeof(a.value) <> 'string' THEN 'must be text'
                WHEN d.value ->> 'type' = 'number' AND jsonb_typeof(a.value) <> 'number' THEN 'must be a number'
                WHEN d.value ->> 'type' = 'boolean' AND jsonb_typeof(a.value) <> 'boolean'
                    THEN 'must be true or false'
                WHEN d.value ->> 'type' = 'enum' AND NOT (
                    jsonb_typeof(a.value) = 'string' AND d.value -> 'values' @> jsonb_build_array(a.value)
                ) THEN 'must be one of ' || (
                    SELECT string_agg(v.value, ', ' ORDER BY v.n)
                    FROM jsonb_array_elements_text(d.value -> 'values') WITH ORDINALITY AS v (value, n)
                )
            END AS reason
        FROM jsonb_each(coalesce(attributes, '{}')) AS a (key, value)
        FULL JOIN jsonb_each(coalesce(definition, '{}')) AS d (key, value) ON a.key = d.key
    ) AS problems
    WHERE problems.reason IS NOT NULL
$$;
COMMENT ON FUNCTION shop.attribute_problems(jsonb, jsonb) IS
'Checks a product''s attributes against its type''s definitions (see shop.product_types): only defined '
'names, required ones present, text a string, number a number, boolean true/false, enum one of its '
'values. Returns NULL when they follow the definitions, else {"attributes.<name>": "human reason"}.';
REVOKE ALL ON FUNCTION shop.attribute_problems(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.attribute_problems(jsonb, jsonb) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.tg_products__attributes()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    definition jsonb;
    problems jsonb;
BEGIN
    IF NEW.product_type_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT t.attributes INTO definition FROM shop.product_types AS t WHERE t.id = NEW.product_type_id;
    problems := shop.attribute_problems(definition, NEW.attributes);
    IF problems IS NOT NULL THEN
        PERFORM shop.fail(
            422, 'validation_failed', jsonb_build_object('fields', problems),
            'Some attributes do not follow the product type; details.fields says which and why.'
        );
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg_products__attributes() IS
'BEFORE INSERT/UPDATE trigger on shop.products: a product with a type must hold attributes that follow '
'the type''s definitions, whoever writes (PT422 validation_failed naming each attribute in '
'details.fields). Definer rights only to read the type. Returns the row.';
REVOKE ALL ON FUNCTION shop.tg_products__attributes() FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.tg_product_types__revalidate()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    broken jsonb;
BEGIN
    SELECT jsonb_agg(jsonb_build_object('slug', b.slug, 'fields', b.problems) ORDER BY b.slug)
    INTO broken
    FROM (
        SELECT p.slug, shop.attribute_problems(NEW.attributes, p.attributes) AS problems
        FROM shop.products AS p
        WHERE p.product_type_id = NEW.id
        ORDER BY p.slug
    ) AS b
    WHERE b.problems IS NOT NULL;
    IF broken IS NOT NULL THEN
        PERFORM shop.fail(
            409, 'product_type_in_use',
            jsonb_build_object('products', jsonb_path_query_array(broken, '$[0 to 19]')),
            'Products of this type hold attributes the new definitions refuse; change them first.'
        );
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_product_types__revalidate() IS
'AFTER UPDATE trigger on shop.product_types: refuses new attribute definitions that existing products of '
'the type would break (PT409 product_type_in_use, details.products: up to 20 {slug, fields}). Returns NULL.';
REVOKE ALL ON FUNCTION shop.tg_product_types__revalidate() FROM PUBLIC;

-- == slugs ===========================================================================================
CREATE OR REPLACE FUNCTION shop.slugify(input text)
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT nullif(
        btrim(left(btrim(regexp_replace(shop.search_key(input), '[^a-z0-9]+', '-', 'g'), '-'), 80), '-'), ''
    )
$$;
COMMENT ON FUNCTION shop.slugify(text) IS
'The slug form of a name: without accents, lower case, runs of anything but letters and digits as one '
'hyphen, at most 80 characters ("Crème Brûlée -- 2 Pack" -> "creme-brulee-2-pack"). Returns NULL when '
'nothing is left.';
REVOKE ALL ON FUNCTION shop.slugify(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.slugify(text) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.free_slug(kind text, base text, self uuid)
RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    candidate text := base;
    n integer := 1;
    taken boolean;
BEGIN
    LOOP
        IF kind = 'product' THEN
            taken := EXISTS (
                SELECT FROM shop.products AS p WHERE p.slug = candidate AND p.id IS DISTINCT FROM self
            ) OR EXISTS (
                SELECT FROM shop.product_slugs AS h WHERE h.slug = candidate AND h.product_id IS DISTINCT FROM self
            );
        ELSIF kind = 'category' THEN
            taken := EXISTS (
                SELECT FROM shop.categories AS c WHERE c.slug = candidate AND c.id IS DISTINCT FROM self
            );
        ELSE
            taken := EXISTS (
                SELECT FROM shop.collections AS c WHERE c.slug = candidate AND c.id IS DISTINCT FROM self
            );
        END IF;
        IF NOT taken THEN
            RETURN candidate;
        END IF;
        n := n + 1;
        candidate := base || '-' || n;
    END LOOP;
END
$$;
COMMENT ON FUNCTION shop.free_slug(text, text, uuid) IS
'The first of base, base-2, base-3, ... that no other row of the kind (product, category or collection) '
'uses; for products, former slugs of other products count as used. self is the row being named (NULL '
'when new). Definer rights: it sees every row whatever the caller may read. Returns text.';
REVOKE ALL ON FUNCTION shop.free_slug(text, text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.free_slug(text, text, uuid) TO postcart_staff;

CREATE OR REPLACE FUNCTION shop.tg_products__slug()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    IF NEW.slug IS NULL THEN
        NEW.slug := shop.free_slug('product', coalesce(shop.slugify(NEW.name), 'product'), NEW.id);
    ELSIF (TG_OP = 'INSERT' OR NEW.slug IS DISTINCT FROM OLD.slug) AND EXISTS (
        SELECT FROM shop.product_slugs AS h WHERE h.slug = NEW.slug AND h.product_id <> NEW.id
    ) THEN
        PERFORM shop.fail(
            409, 'slug_taken', jsonb_build_object('fields', jsonb_build_object(
                'slug', 'was the slug of another product and still redirects to it'
            )),
            'Choose another slug, or leave it out to have one made from the name.'
        );
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg_products__slug() IS
'BEFORE INSERT/UPDATE trigger on shop.products: a NULL slug is made from the name (unique, -2, -3 on '
'collision, former slugs of other products included); a given slug that is another product''s former slug '
'is refused (PT409 slug_taken). Returns the row.';
REVOKE ALL ON FUNCTION shop.tg_products__slug() FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.tg_products__slug_history()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    IF NEW.slug IS DISTINCT FROM OLD.slug THEN
        DELETE FROM shop.product_slugs AS h WHERE h.slug = NEW.slug;
        INSERT INTO shop.product_slugs (slug, product_id) VALUES (OLD.slug, NEW.id)
        ON CONFLICT (slug) DO UPDATE SET product_id = excluded.product_id, retired_at = now();
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_products__slug_history() IS
'AFTER UPDATE trigger on shop.products: keeps the former slug in shop.product_slugs so it keeps '
'resolving, and forgets the new slug there (a product may take back one of its former slugs). Returns NULL.';
REVOKE ALL ON FUNCTION shop.tg_products__slug_history() FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.product_id_by_former_slug(former text)
RETURNS uuid
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
    SELECT h.product_id FROM shop.product_slugs AS h WHERE h.slug = former
$$;
COMMENT ON FUNCTION shop.product_id_by_former_slug(text) IS
'The product that once had this slug, or NULL. Callers then read the product under their own row-level '
'security, so a hidden product stays hidden. Returns uuid.';
REVOKE ALL ON FUNCTION shop.product_id_by_former_slug(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.product_id_by_former_slug(text) TO postcart_anon;
GRANT EXECUTE ON FUNCTION shop.product_id_by_former_slug(text) TO postcart_customer;
GRANT EXECUTE ON FUNCTION shop.product_id_by_former_slug(text) TO postcart_staff;

-- == visibility carried by a product's rows ==========================================================
CREATE OR REPLACE FUNCTION shop.tg_products__visibility()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    visible timestamptz := shop.visible_from(NEW.status, NEW.published_at);
BEGIN
    IF visible IS DISTINCT FROM shop.visible_from(OLD.status, OLD.published_at) THEN
        UPDATE shop.product_variants AS v SET visible_from = visible WHERE v.product_id = NEW.id;
        UPDATE shop.variant_prices AS vp SET visible_from = visible WHERE vp.product_id = NEW.id;
        IF to_regclass('shop.product_media') IS NOT NULL THEN
            UPDATE shop.product_media AS m SET visible_from = visible WHERE m.product_id = NEW.id;
            UPDATE shop.collection_products AS cp SET visible_from = visible WHERE cp.product_id = NEW.id;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_products__visibility() IS
'AFTER UPDATE trigger on shop.products: when the instant the product becomes visible changes (status or '
'published_at), copies it to visible_from of its variants, prices, media and collection entries, whose '
'storefront policies compare it with now(). Returns NULL.';
REVOKE ALL ON FUNCTION shop.tg_products__visibility() FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.tg__visible_from_product()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
BEGIN
    SELECT shop.visible_from(p.status, p.published_at) INTO NEW.visible_from
    FROM shop.products AS p WHERE p.id = NEW.product_id;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg__visible_from_product() IS
'BEFORE INSERT/UPDATE trigger for any table with product_id and visible_from columns: sets visible_from '
'from the row''s product (shop.visible_from). Returns the row.';
REVOKE ALL ON FUNCTION shop.tg__visible_from_product() FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.tg_products__first_visible()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    -- Never the writer's value: what was recorded before, else the state being left, else the new one.
    NEW.first_visible_at := CASE WHEN TG_OP = 'UPDATE' THEN OLD.first_visible_at END;
    IF NEW.first_visible_at IS NULL AND TG_OP = 'UPDATE' AND OLD.status = 'published' AND OLD.published_at <= now() THEN
        NEW.first_visible_at := OLD.published_at;
    END IF;
    IF NEW.first_visible_at IS NULL AND NEW.status = 'published' AND NEW.published_at <= now() THEN
        NEW.first_visible_at := NEW.published_at;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg_products__first_visible() IS
'BEFORE INSERT/UPDATE OF status, published_at, first_visible_at trigger on shop.products: keeps '
'first_visible_at, the first instant the product was visible to the storefront, recording it from the '
'state a write leaves or creates (published with published_at <= now()); a value written by hand is '
'ignored. Returns the row.';
REVOKE ALL ON FUNCTION shop.tg_products__first_visible() FROM PUBLIC;

-- == triggers ========================================================================================
-- Prefixes order BEFORE triggers (they fire by name): _100 checks, _200 derived columns, _900 timestamps.
CREATE OR REPLACE TRIGGER _100_attributes
BEFORE INSERT OR UPDATE OF attributes, product_type_id ON shop.products
FOR EACH ROW EXECUTE FUNCTION shop.tg_products__attributes();
CREATE OR REPLACE TRIGGER _210_slug
BEFORE INSERT OR UPDATE OF slug, name ON shop.products
FOR EACH ROW EXECUTE FUNCTION shop.tg_products__slug();
-- After _200_published_at, which stamps published_at on publication.
CREATE OR REPLACE TRIGGER _220_first_visible
BEFORE INSERT OR UPDATE OF status, published_at, first_visible_at ON shop.products
FOR EACH ROW EXECUTE FUNCTION shop.tg_products__first_visible();
CREATE OR REPLACE TRIGGER zz_slug_history
AFTER UPDATE OF slug ON shop.products
FOR EACH ROW EXECUTE FUNCTION shop.tg_products__slug_history();
CREATE OR REPLACE TRIGGER zz_visibility
AFTER UPDATE OF status, published_at ON shop.products
FOR EACH ROW EXECUTE FUNCTION shop.tg_products__visibility();

CREATE OR REPLACE TRIGGER _210_visible_from
BEFORE INSERT OR UPDATE OF product_id ON shop.product_variants
FOR EACH ROW EXECUTE FUNCTION shop.tg__visible_from_product();
-- After _200_product_id, which sets the price's product_id.
CREATE OR REPLACE TRIGGER _210_visible_from
BEFORE INSERT OR UPDATE OF variant_id, product_id ON shop.variant_prices
FOR EACH ROW EXECUTE FUNCTION shop.tg__visible_from_product();

CREATE OR REPLACE TRIGGER zz_revalidate
AFTER UPDATE OF attributes ON shop.product_types
FOR EACH ROW EXECUTE FUNCTION shop.tg_product_types__revalidate();
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.product_types
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();

-- == categories ======================================================================================
CREATE OR REPLACE FUNCTION shop.tg_categories__tree_lock()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    -- One move of the tree at a time: two concurrent moves (A under B, B under A) would each pass the
    -- cycle check against a tree without the other. The check runs after this lock, in a statement of
    -- its own, so it sees every move committed before.
    PERFORM pg_advisory_xact_lock(hashtextextended('shop.categories tree', 0));
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg_categories__tree_lock() IS
'BEFORE INSERT/UPDATE OF parent_id trigger on shop.categories: serialises changes of the tree with a '
'transaction-scoped advisory lock, so the cycle check that follows sees every committed move. Returns the row.';
REVOKE ALL ON FUNCTION shop.tg_categories__tree_lock() FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.tg_categories__slug()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF NEW.slug IS NULL THEN
        NEW.slug := shop.free_slug('category', coalesce(shop.slugify(NEW.name), 'category'), NEW.id);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION shop.tg_categories__slug() IS
'BEFORE INSERT/UPDATE trigger on shop.categories: a NULL slug is made from the name (unique, -2, -3 on '
'collision). Returns the row.';
REVOKE ALL ON FUNCTION shop.tg_categories__slug() FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.tg_categories__delete_only_empty()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    subcategories bigint;
    products bigint;
BEGIN
    -- The row is locked before this runs, so a product being put in the category meanwhile (its foreign
    -- key check locks the row too) has committed and is counted, or waits and then finds no category.
    SELECT count(*) INTO subcategories FROM shop.categories AS c WHERE c.parent_id = OLD.id;
    SELECT count(*) INTO products FROM shop.products AS p WHERE p.category_id = OLD.id;
    IF subcategories > 0 OR products > 0 THEN
        PERFORM shop.fail(
            409, 'category_not_empty',
            jsonb_build_object('id', OLD.id, 'subcategories', subcategories, 'products', products),
            'Move or delete its subcategories and move its products to another category first.'
        );
    END IF;
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION shop.tg_categories__delete_only_empty() IS
'BEFORE DELETE trigger on shop.categories: a category with subcategories or products is not deleted, '
'whoever deletes (PT409 category_not_empty, details: id, subcategories, products counts), so products '
'never silently lose their category. Definer rights to count rows the caller may not see. Returns the row.';
REVOKE ALL ON FUNCTION shop.tg_categories__delete_only_empty() FROM PUBLIC;

CREATE OR REPLACE TRIGGER _050_delete_only_empty
BEFORE DELETE ON shop.categories
FOR EACH ROW EXECUTE FUNCTION shop.tg_categories__delete_only_empty();
CREATE OR REPLACE TRIGGER _090_tree_lock
BEFORE INSERT OR UPDATE OF parent_id ON shop.categories
FOR EACH ROW EXECUTE FUNCTION shop.tg_categories__tree_lock();
CREATE OR REPLACE TRIGGER _210_slug
BEFORE INSERT OR UPDATE OF slug, name ON shop.categories
FOR EACH ROW EXECUTE FUNCTION shop.tg_categories__slug();

-- == collections and media ===========================================================================
CREATE OR REPLACE FUNCTION shop.tg_product_media__image_url()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    product uuid;
BEGIN
    FOR product IN
        SELECT DISTINCT x.id
        FROM (VALUES (CASE WHEN TG_OP <> 'INSERT' THEN OLD.product_id END),
                     (CASE WHEN TG_OP <> 'DELETE' THEN NEW.product_id END)) AS x (id)
        WHERE x.id IS NOT NULL
    LOOP
        UPDATE shop.products AS p
        SET image_url = (
            SELECT m.url FROM shop.product_media AS m
            WHERE m.product_id = product ORDER BY m.position, m.id LIMIT 1
        )
        WHERE p.id = product
            AND p.image_url IS DISTINCT FROM (
                SELECT m.url FROM shop.product_media AS m
                WHERE m.product_id = product ORDER BY m.position, m.id LIMIT 1
            );
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION shop.tg_product_media__image_url() IS
'AFTER INSERT/UPDATE/DELETE trigger on shop.product_media: keeps products.image_url the URL of the '
'product''s first image (NULL once it has none), which product summaries show. Returns NULL.';
REVOKE ALL ON FUNCTION shop.tg_product_media__image_url() FROM PUBLIC;

CREATE OR REPLACE TRIGGER _210_visible_from
BEFORE INSERT OR UPDATE OF product_id ON shop.product_media
FOR EACH ROW EXECUTE FUNCTION shop.tg__visible_from_product();
CREATE OR REPLACE TRIGGER zz_image_url
AFTER INSERT OR UPDATE OR DELETE ON shop.product_media
FOR EACH ROW EXECUTE FUNCTION shop.tg_product_media__image_url();

CREATE OR REPLACE TRIGGER _210_visible_from
BEFORE INSERT OR UPDATE OF product_id ON shop.collection_products
FOR EACH ROW EXECUTE FUNCTION shop.tg__visible_from_product();
CREATE OR REPLACE TRIGGER _900_updated_at
BEFORE UPDATE ON shop.collections
FOR EACH ROW EXECUTE FUNCTION shop.tg__set_updated_at();
