-- A catalog generator for load tests: `postcart seed --products 100000` builds a believable store of any
-- size in SQL, set-based (one INSERT … SELECT per table), deterministic for a given size.

-- == bulk loading ===================================================================================
CREATE OR REPLACE FUNCTION shop.set_aside_secondary_indexes(p_tables regclass[], p_indexes boolean DEFAULT TRUE)
RETURNS text[]
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    statements text[];
    dropped record;
BEGIN
    -- Indexes no constraint stands on, and foreign keys: a load maintains each index and checks each key
    -- row by row; building them once afterwards (and checking each key with one join) costs far less.
    statements := ARRAY(
        SELECT pg_get_indexdef(i.indexrelid)
        FROM pg_index AS i
        WHERE
            p_indexes AND i.indrelid = ANY(p_tables)
            AND NOT EXISTS (SELECT FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
        ORDER BY i.indexrelid
    ) || ARRAY(
        SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
        FROM pg_constraint AS c
        WHERE c.contype = 'f' AND c.conrelid = ANY(p_tables)
        ORDER BY c.oid
    );
    FOR dropped IN
        SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS statement
        FROM pg_constraint AS c
        WHERE c.contype = 'f' AND c.conrelid = ANY(p_tables)
        UNION ALL
        SELECT format('DROP INDEX %s', i.indexrelid::regclass)
        FROM pg_index AS i
        WHERE
            p_indexes AND i.indrelid = ANY(p_tables)
            AND NOT EXISTS (SELECT FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
    LOOP
        EXECUTE dropped.statement;
    END LOOP;
    RETURN statements;
END
$$;
COMMENT ON FUNCTION shop.set_aside_secondary_indexes(regclass[], boolean) IS
'For a bulk load into nearly empty tables, inside its transaction: drops the indexes of the given tables '
'that no constraint stands on (unless p_indexes is false) and their foreign keys (holding the tables '
'exclusively until commit), and '
'returns the statements that make them again (shop.restore_secondary_indexes). The owner''s tool: no '
'grants.';
REVOKE ALL ON FUNCTION shop.set_aside_secondary_indexes(regclass[], boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shop.restore_secondary_indexes(p_statements text[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
-- Index builds sort in memory, and each foreign key is checked with one hash join.
SET maintenance_work_mem = '256MB'
SET work_mem = '64MB'
AS $$
DECLARE
    statement text;
BEGIN
    FOREACH statement IN ARRAY coalesce(p_statements, '{}') LOOP
        EXECUTE statement;
    END LOOP;
END
$$;
COMMENT ON FUNCTION shop.restore_secondary_indexes(text[]) IS
'Runs the statements shop.set_aside_secondary_indexes returned: builds the indexes again and adds the '
'foreign keys back, checking every row. Returns nothing. The owner''s tool: no grants.';
REVOKE ALL ON FUNCTION shop.restore_secondary_indexes(text[]) FROM PUBLIC;

-- == the generator ==================================================================================

CREATE OR REPLACE FUNCTION shop.seed_catalog(p_products integer)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    adjectives text[] := ARRAY[
        'Classic', 'Aurora', 'Harbor', 'Summit', 'Meadow', 'Nordic', 'Citrus', 'Midnight', 'Coastline', 'Ember',
        'Urban', 'Alpine', 'Desert', 'Velvet', 'Granite', 'Willow', 'Canyon', 'Breeze', 'Cedar', 'Lunar',
        'Solar', 'Rustic', 'Arctic', 'Maple', 'Orchid', 'Copper', 'Indigo', 'Saffron', 'Juniper', 'Pebble'
    ];
    materials text[] := ARRAY[
        'Organic Cotton', 'Linen', 'Merino', 'Recycled Polyester', 'Denim', 'Canvas', 'Leather', 'Bamboo',
        'Ceramic', 'Oak', 'Stoneware', 'Wool', 'Cashmere', 'Hemp', 'Suede'
    ];
    -- (top category, subcategory, noun): every product is a noun of a leaf category.
    kinds text[] := ARRAY[
        'Apparel|Tops|T-Shirt', 'Apparel|Tops|Polo Shirt', 'Apparel|Tops|Hoodie', 'Apparel|Tops|Sweater',
        'Apparel|Bottoms|Chinos', 'Apparel|Bottoms|Jeans', 'Apparel|Bottoms|Shorts', 'Apparel|Outerwear|Jacket',
        'Apparel|Outerwear|Hiking Jacket', 'Apparel|Outerwear|Raincoat', 'Apparel|Outerwear|Vest',
        'Footwear|Sneakers|Sneaker', 'Footwear|Boots|Hiking Boot', 'Footwear|Boots|Chelsea Boot',
        'Footwear|Sandals|Sandal', 'Home|Kitchen|Mug', 'Home|Kitchen|Teapot', 'Home|Kitchen|Cutting Board',
        'Home|Decor|Vase', 'Home|Decor|Cushion', 'Home|Decor|Poster', 'Home|Bedding|Duvet Cover',
        'Home|Bedding|Pillowcase', 'Accessories|Bags|Tote Bag', 'Accessories|Bags|Backpack',
        'Accessories|Bags|Duffel Bag', 'Accessories|Headwear|Cap', 'Accessories|Headwear|Beanie',
        'Accessories|Small Goods|Wallet', 'Accessories|Small Goods|Scarf'
    ];
    colours text[] := ARRAY['black', 'white', 'navy', 'olive', 'sand', 'rust', 'grey', 'forest'];
    brands text[] := ARRAY['Northwind', 'Fjordline', 'Kestrel & Co', 'Atelier Sol', 'Barrow', 'Tidewater'];
    sizes text[] := ARRAY['S', 'M', 'L'];
    size_names text[] := ARRAY['Small', 'Medium', 'Large'];
    v_warehouse uuid;
    v_first integer;
    -- Into a store this much smaller than the load, indexes and foreign keys are built once at the end.
    v_bulk boolean;
    v_catalog_indexes text[];
    v_listing_indexes text[];
    v_stock_keys text[];
    -- Per-row triggers that only derive columns of the new rows; in bulk mode the INSERTs below write those
    -- columns themselves (each trigger costs 10-30 microseconds a row: a fifth of the seed at 100,000).
    v_derivations text[] := ARRAY[
        'shop.products _100_attributes', 'shop.products _200_published_at', 'shop.products _220_first_visible',
        'shop.products _950_schedule_instant', 'shop.product_variants _210_visible_from',
        'shop.variant_prices _200_product_id', 'shop.variant_prices _210_visible_from'
    ];
    v_derivation text;
    -- The audited tables that take most of the generated rows: one 'seed' record stands for them (below).
    v_audited text[] := ARRAY[
        'shop.products', 'shop.product_variants', 'shop.variant_prices', 'shop.stock_movements'
    ];
    v_table text;
    v_movements bigint;
BEGIN
    IF p_products IS NULL OR p_products NOT BETWEEN 1 AND 10000000 THEN
        PERFORM shop.fail(
            422, 'validation_failed',
            jsonb_build_object('fields', jsonb_build_object('products', 'must be between 1 and 10,000,000')),
            'Ask for 1 to 10,000,000 products.'
        );
    END IF;
    LOCK TABLE shop.products IN SHARE ROW EXCLUSIVE MODE;
    -- Generated rows are not audited one by one (at 100,000 products: 1.26 million records, 932 MB, half of
    -- the load's time); one 'seed' record says what was added. Turning the trigger off takes each table's
    -- SHARE ROW EXCLUSIVE lock until commit, so no other writer's row can pass unrecorded meanwhile, and it
    -- is on again before this function returns (or rolled back with it).
    FOREACH v_table IN ARRAY v_audited LOOP
        EXECUTE format('ALTER TABLE %s DISABLE TRIGGER audit_record_change', v_table);
    END LOOP;
    -- One rewrite of the new products' listings, not one per table loaded below.
    SET CONSTRAINTS shop.product_listings_flush DEFERRED;
    v_bulk := p_products >= 4 * (SELECT count(*) FROM shop.products);
    IF v_bulk THEN
        v_catalog_indexes := shop.set_aside_secondary_indexes(
            ARRAY['shop.products', 'shop.product_variants', 'shop.variant_prices']::regclass[]
        );
        -- Safe only because those tables are now held exclusively until commit: no other writer runs while
        -- the triggers are off, and they are on again before this function returns (or rolled back with it).
        FOREACH v_derivation IN ARRAY v_derivations LOOP
            EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', split_part(v_derivation, ' ', 1),
                split_part(v_derivation, ' ', 2));
        END LOOP;
    END IF;
    -- Numbering continues after earlier seeds, so seeding twice adds, never collides.
    SELECT coalesce(max(substring(p.slug FROM '-s([0-9]+)$')::integer), 0) + 1 INTO v_first
    FROM shop.products AS p
    WHERE p.slug ~ '-s[0-9]+$';

    INSERT INTO shop.warehouses (code, name) VALUES ('seed-central', 'Seed fulfilment centre')
    ON CONFLICT (code) DO NOTHING;
    SELECT w.id INTO v_warehouse FROM shop.warehouses AS w WHERE w.code = 'seed-central';

    -- The category tree: top level, then subcategories (slugs prefixed so they never meet the demo's).
    INSERT INTO shop.categories (slug, name, position)
    SELECT DISTINCT 'seed-' || shop.slugify(split_part(k, '|', 1)), split_part(k, '|', 1), 0
    FROM unnest(kinds) AS k
    ON CONFLICT (slug) DO NOTHING;
    INSERT INTO shop.categories (parent_id, slug, name, position)
    SELECT DISTINCT top.id, 'seed-' || shop.slugify(split_part(k, '|', 2)), split_part(k, '|', 2), 0
    FROM unnest(kinds) AS k
    INNER JOIN shop.categories AS top ON top.slug = 'seed-' || shop.slugify(split_part(k, '|', 1))
    ON CONFLICT (slug) DO NOTHING;

    -- Products: adjective × material × noun spreads names over 13,500 combinations; the number in the slug
    -- keeps each unique. Multipliers co-prime with the array lengths walk every combination.
    CREATE TEMPORARY TABLE seed_products ON COMMIT DROP AS
    SELECT
        gen_random_uuid() AS id,
        n,
        adjectives[1 + (n * 7) % 30] AS adjective,
        materials[1 + (n * 11) % 15] AS material,
        kinds[1 + (n * 13) % 30] AS kind
    FROM generate_series(v_first, v_first + p_products - 1) AS n;
    -- Tells plpgsql_check the table's shape (it does not run the CREATE); at run time it only evaluates a constant.
    PERFORM 'PRAGMA:TABLE: seed_products (id uuid, n integer, adjective text, material text, kind text)';

    INSERT INTO shop.products (
        id, slug, name, description, attributes, category_id, image_url, status, published_at, first_visible_at,
        created_at
    )
    SELECT
        s.id,
        shop.slugify(s.adjective || ' ' || s.material || ' ' || split_part(s.kind, '|', 3)) || '-s' || s.n,
        s.adjective || ' ' || s.material || ' ' || split_part(s.kind, '|', 3),
        format(
            'A %s %s in %s by %s, made to last: %s. Item %s of the seed catalog.',
            lower(s.adjective), lower(split_part(s.kind, '|', 3)), lower(s.material), brands[1 + s.n % 6],
            (ARRAY[
                'reinforced seams and a relaxed fit', 'a clean, minimal finish', 'hand-finished details',
                'a water-repellent coating', 'a soft brushed surface', 'a timeless silhouette'
            ])[1 + (s.n * 5) % 6],
            s.n
        ),
        jsonb_build_object(
            'material', lower(s.material), 'colour', colours[1 + (s.n * 3) % 8], 'brand', brands[1 + s.n % 6]
        ),
        c.id,
        'https://img.postcart.dev/seed/' || s.n || '.jpg',
        'published',
        now() - make_interval(secs => s.n),
        -- What _220_first_visible records for a product published in the past.
        now() - make_interval(secs => s.n),
        now() - make_interval(secs => s.n)
    FROM seed_products AS s
    INNER JOIN shop.categories AS c ON c.slug = 'seed-' || shop.slugify(split_part(s.kind, '|', 2));

    -- Three sizes per product; prices from 9.90 to about 250.00 EUR, USD about 8 % higher.
    INSERT INTO shop.product_variants (id, product_id, sku, name, options, position, visible_from)
    SELECT
        gen_random_uuid(), s.id, 'SEED-' || s.n || '-' || sizes[v], size_names[v],
        jsonb_build_object('size', sizes[v]), v, shop.visible_from(p.status, p.published_at)
    FROM seed_products AS s
    INNER JOIN shop.products AS p ON p.id = s.id
    CROSS JOIN generate_series(1, 3) AS v;

    INSERT INTO shop.variant_prices (variant_id, product_id, currency, amount, visible_from)
    SELECT
        pv.id, pv.product_id, cur.code,
        round((990 + (s.n * 7919) % 24000 + (pv.position - 1) * 200) * cur.rate)::bigint, pv.visible_from
    FROM seed_products AS s
    INNER JOIN shop.product_variants AS pv ON pv.product_id = s.id
    CROSS JOIN (VALUES ('EUR', 1.0), ('USD', 1.08)) AS cur (code, rate);

    FOREACH v_derivation IN ARRAY CASE WHEN v_bulk THEN v_derivations ELSE '{}' END LOOP
        EXECUTE format('ALTER TABLE %s ENABLE TRIGGER %I', split_part(v_derivation, ' ', 1),
            split_part(v_derivation, ' ', 2));
    END LOOP;

    -- The stock triggers below look variants up by product: the catalog's indexes are back first. They
    -- also read the stock ledger through its indexes: only the stock tables' foreign keys wait.
    PERFORM shop.restore_secondary_indexes(v_catalog_indexes);
    IF v_bulk THEN
        v_stock_keys := shop.set_aside_secondary_indexes(
            ARRAY['shop.stock_movements', 'shop.stock_levels']::regclass[], p_indexes => FALSE
        );
    END IF;

    -- Stock, received through the ledger in one statement (its trigger creates the stock rows); about one
    -- variant in eight is sold out and only gets an empty stock row.
    INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity, note)
    SELECT pv.id, v_warehouse, 'receipt', 1 + (s.n * 31 + pv.position) % 60, 'Seed stock'
    FROM seed_products AS s
    INNER JOIN shop.product_variants AS pv ON pv.product_id = s.id
    WHERE (s.n + pv.position) % 8 <> 0;
    GET DIAGNOSTICS v_movements = ROW_COUNT;
    INSERT INTO shop.stock_levels (variant_id, warehouse_id)
    SELECT pv.id, v_warehouse
    FROM seed_products AS s
    INNER JOIN shop.product_variants AS pv ON pv.product_id = s.id
    WHERE (s.n + pv.position) % 8 = 0;

    PERFORM shop.restore_secondary_indexes(v_stock_keys);

    FOREACH v_table IN ARRAY v_audited LOOP
        EXECUTE format('ALTER TABLE %s ENABLE TRIGGER audit_record_change', v_table);
    END LOOP;
    INSERT INTO audit.records (db_role, request_id, table_name, action, new_values)
    VALUES (
        CASE current_setting('role') WHEN 'none' THEN session_user ELSE current_setting('role') END,
        nullif(current_setting('request.id', TRUE), ''),
        'shop.products',
        'seed',
        jsonb_build_object(
            'products', p_products, 'variants', 3 * p_products, 'prices', 6 * p_products,
            'stock_movements', v_movements,
            'slugs', format('-s%s to -s%s', v_first, v_first + p_products - 1)
        )
    );

    -- The listings, written now (not at commit) so that their indexes can be built after them.
    IF v_bulk THEN
        v_listing_indexes := shop.set_aside_secondary_indexes(
            ARRAY['shop.product_listings', 'shop.product_listing_prices']::regclass[]
        );
    END IF;
    SET CONSTRAINTS shop.product_listings_flush IMMEDIATE;
    PERFORM shop.restore_secondary_indexes(v_listing_indexes);
    RETURN p_products;
END
$$;
COMMENT ON FUNCTION shop.seed_catalog(integer) IS
'Load-test data: adds p_products published products (three sized variants each, EUR and USD prices, '
'stock in warehouse seed-central, attributes material/colour/brand) under a two-level category tree '
'prefixed seed-. Deterministic; a second call adds more. Into a store of less than a quarter of that many '
'products it builds the catalog tables'' and the read model''s secondary indexes and foreign keys once, at '
'the end, holding those tables exclusively until commit, and writes the columns that per-row triggers '
'derive itself (those triggers are off meanwhile, on again before it returns). The audit trail gets one '
'''seed'' record (new_values: products, variants, prices, stock_movements, slugs) instead of a record per '
'generated product, variant, price and stock movement. Returns the number of '
'products added. For the '
'admin (`postcart seed`): no grants.';

REVOKE EXECUTE ON FUNCTION shop.seed_catalog(integer) FROM PUBLIC;
