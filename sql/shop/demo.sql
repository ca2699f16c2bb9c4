-- Demo data: a small, believable store generated in place (nothing is downloaded). Called once by
-- `postcart up` as the admin; deterministic, so every demo database holds the same catalog.

CREATE OR REPLACE FUNCTION shop.load_demo_stores()
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    created integer;
BEGIN
    -- Shops in city centres (coordinates of the street address), one not yet open (not listed).
    INSERT INTO shop.warehouses (
        code, name, line1, line2, city, postal_code, country, latitude, longitude, pickup, listed
    )
    SELECT s.code, s.name, s.line1, s.line2, s.city, s.postal_code, s.country, s.latitude, s.longitude, s.pickup,
        s.listed
    FROM (VALUES
        ('BER-1', 'postcart Berlin Mitte', 'Rosenthaler Straße 40', NULL, 'Berlin', '10178', 'DE',
            52.5255, 13.4021, TRUE, TRUE),
        ('BER-2', 'postcart Berlin Kreuzberg', 'Bergmannstraße 12', NULL, 'Berlin', '10961', 'DE',
            52.4893, 13.3925, TRUE, TRUE),
        ('HAM-1', 'postcart Hamburg', 'Mönckebergstraße 7', NULL, 'Hamburg', '20095', 'DE',
            53.5503, 10.0003, TRUE, TRUE),
        ('MUC-1', 'postcart München', 'Sendlinger Straße 12', NULL, 'München', '80331', 'DE',
            48.1358, 11.5710, TRUE, TRUE),
        ('PAR-1', 'postcart Paris Rivoli', '75 Rue de Rivoli', NULL, 'Paris', '75001', 'FR',
            48.8603, 2.3444, TRUE, TRUE),
        ('PAR-2', 'postcart Paris Marais (opening soon)', '21 Rue des Francs-Bourgeois', NULL, 'Paris', '75004',
            'FR', 48.8576, 2.3609, FALSE, FALSE),
        ('LON-1', 'postcart London Covent Garden', '12 Long Acre', NULL, 'London', 'WC2E 9LH', 'GB',
            51.5124, -0.1254, TRUE, TRUE),
        ('AMS-1', 'postcart Amsterdam', 'Kalverstraat 92', NULL, 'Amsterdam', '1012 PH', 'NL',
            52.3702, 4.8906, TRUE, TRUE),
        ('VIE-1', 'postcart Wien', 'Mariahilfer Straße 45', NULL, 'Wien', '1060', 'AT',
            48.1990, 16.3550, TRUE, TRUE),
        ('MAD-1', 'postcart Madrid', 'Calle de Fuencarral 30', NULL, 'Madrid', '28004', 'ES',
            40.4227, -3.7013, TRUE, TRUE),
        ('NYC-1', 'postcart New York SoHo', '580 Broadway', 'Suite 200', 'New York', '10012', 'US',
            40.7240, -73.9976, TRUE, TRUE)
    ) AS s (code, name, line1, line2, city, postal_code, country, latitude, longitude, pickup, listed)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS created = ROW_COUNT;
    RETURN created;
END
$$;
COMMENT ON FUNCTION shop.load_demo_stores() IS
'Adds the demo stores: ten pickup shops in Berlin, Hamburg, Munich, Paris, London, Amsterdam, Vienna, '
'Madrid and New York at their street addresses'' coordinates, listed by GET /v1/stores, and one Paris '
'shop not yet open (not listed). Codes already present are skipped. Returns the number of places added. '
'Called by shop.load_demo_catalog().';
REVOKE ALL ON FUNCTION shop.load_demo_stores() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.load_demo_stores() TO postcart_owner;

CREATE OR REPLACE FUNCTION shop.load_demo_catalog()
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
SET search_path = pg_catalog, extensions, pg_temp
AS $$
DECLARE
    line record;
    item record;
    variant record;
    product_number integer := 0;
    product_id uuid;
    variant_id uuid;
    eur bigint;
    on_hand_eu integer;
    on_hand_us integer;
    eu_id uuid;
    us_id uuid;
BEGIN
    -- Two concurrent calls must not both see an empty catalog.
    LOCK TABLE shop.products IN SHARE ROW EXCLUSIVE MODE;
    IF EXISTS (SELECT FROM shop.products) THEN
        RETURN 0;
    END IF;

    -- The Berlin centre has a collection counter open to the public; Newark only ships. Orders are
    -- allocated from Berlin first (priority 10), then Newark (20), then the shops (default 100).
    INSERT INTO shop.warehouses (
        code, name, line1, city, postal_code, country, latitude, longitude, pickup, listed, priority
    ) VALUES
    ('eu-central', 'Berlin fulfilment centre', 'Am Borsigturm 100', 'Berlin', '13507', 'DE', 52.5869, 13.2836,
        TRUE, TRUE, 10),
    ('us-east', 'Newark fulfilment centre', '1 Port Street', 'Newark', '07114', 'US', 40.6895, -74.1745,
        FALSE, FALSE, 20)
    ON CONFLICT (code) DO NOTHING;
    SELECT w.id INTO eu_id FROM shop.warehouses AS w WHERE w.code = 'eu-central';
    SELECT w.id INTO us_id FROM shop.warehouses AS w WHERE w.code = 'us-east';
    PERFORM shop.load_demo_stores();

    INSERT INTO shop.categories (slug, name, position) VALUES
    ('apparel', 'Apparel', 1),
    ('home', 'Home', 2),
    ('accessories', 'Accessories', 3)
    ON CONFLICT (slug) DO NOTHING;
    INSERT INTO shop.categories (parent_id, slug, name, position)
    SELECT parent.id, sub.slug, sub.name, sub.position
    FROM (VALUES
        ('apparel', 't-shirts', 'T-shirts', 1),
        ('apparel', 'hoodies', 'Hoodies', 2),
        ('home', 'mugs', 'Mugs', 1),
        ('home', 'posters', 'Posters', 2),
        ('accessories', 'bags', 'Bags', 1),
        ('accessories', 'caps', 'Caps', 2)
    ) AS sub (parent_slug, slug, name, position)
    INNER JOIN shop.categories AS parent ON sub.parent_slug = parent.slug
    ON CONFLICT (slug) DO NOTHING;

    -- One line per subcategory: product names, price base and step (EUR cents), the variants every
    -- product of the line comes in, the materials it cycles through, and a description template.
    FOR line IN
        SELECT *
        FROM (VALUES
            (
                't-shirts', 'TS', 2490, 300,
                ARRAY[
                    'Aurora Organic Tee', 'Harbor Stripe Tee', 'Summit Logo Tee', 'Meadow Pocket Tee',
                    'Nordic Crew Tee', 'Citrus Graphic Tee', 'Midnight Heavyweight Tee', 'Coastline Linen Tee',
                    'Ember Vintage Tee'
                ],
                '[{"code": "S", "name": "Small", "options": {"size": "S"}, "extra": 0},
                  {"code": "M", "name": "Medium", "options": {"size": "M"}, "extra": 0},
                  {"code": "L", "name": "Large", "options": {"size": "L"}, "extra": 0},
                  {"code": "XL", "name": "X-Large", "options": {"size": "XL"}, "extra": 200}]'::jsonb,
                ARRAY['organic cotton', 'cotton-linen blend', 'recycled cotton'],
                '%s: a soft %s T-shirt with a relaxed fit and a ribbed crew neck. Pre-washed, so it keeps '
                || 'its shape and size wash after wash.',
                '{"fit": "relaxed", "care": "machine wash 30 °C"}'::jsonb
            ),
            (
                'hoodies', 'HD', 5490, 400,
                ARRAY[
                    'Classic Pullover Hoodie', 'Harbor Zip Hoodie', 'Summit Fleece Hoodie', 'Nordic Knit Hoodie',
                    'Café Crème Hoodie', 'Midnight Oversized Hoodie', 'Trail Tech Hoodie', 'Meadow Garden Hoodie',
                    'Ember Heavyweight Hoodie'
                ],
                '[{"code": "S", "name": "Small", "options": {"size": "S"}, "extra": 0},
                  {"code": "M", "name": "Medium", "options": {"size": "M"}, "extra": 0},
                  {"code": "L", "name": "Large", "options": {"size": "L"}, "extra": 0}]'::jsonb,
                ARRAY['brushed organic cotton fleece', 'recycled polyester fleece', 'merino wool blend'],
                '%s: a warm hoodie in %s with a lined hood, kangaroo pocket and ribbed cuffs. Made for '
                || 'cold mornings and long evenings.',
                '{"fit": "regular", "care": "machine wash 30 °C, inside out"}'::jsonb
            ),
            (
                'mugs', 'MG', 1490, 200,
                ARRAY[
                    'Café Crème Mug', 'Morning Ritual Mug', 'Harbor Enamel Mug', 'Nordic Stoneware Mug',
                    'Summit Camp Mug', 'Citrus Splash Mug', 'Midnight Matte Mug', 'Meadow Speckled Mug'
                ],
                '[{"code": "WHT", "name": "White", "options": {"colour": "white"}, "extra": 0},
                  {"code": "BLK", "name": "Black", "options": {"colour": "black"}, "extra": 100}]'::jsonb,
                ARRAY['stoneware', 'enamel-coated steel', 'porcelain'],
                '%s: a generous %s mug that holds a proper cup of coffee and sits well in the hand.',
                '{"capacity_ml": 350, "dishwasher_safe": true}'::jsonb
            ),
            (
                'posters', 'PS', 1990, 250,
                ARRAY[
                    'Aurora Borealis Poster', 'Harbor Lights Poster', 'Summit Contours Poster',
                    'Meadow Botanica Poster', 'Nordic Fjord Poster', 'Citrus Grove Poster', 'Midnight City Poster',
                    'Coastline Map Poster'
                ],
                '[{"code": "A3", "name": "A3", "options": {"size": "A3"}, "extra": 0},
                  {"code": "A2", "name": "A2", "options": {"size": "A2"}, "extra": 600},
                  {"code": "5070", "name": "50 x 70 cm", "options": {"size": "50x70"}, "extra": 1200}]'::jsonb,
                ARRAY['200 gsm matte paper', '250 gsm fine-art paper', '190 gsm satin paper'],
                '%s: a giclée print on %s with rich, lasting colours. Ships rolled in a sturdy tube; '
                || 'frame not included.',
                '{"print": "giclée", "frame": "not included"}'::jsonb
            ),
            (
                'bags', 'BG', 2990, 1300,
                ARRAY[
                    'Everyday Canvas Tote', 'Market Net Bag', 'Citrus Beach Tote', 'Nordic Sling Bag',
                    'Trail Hip Pack', 'Midnight Laptop Sleeve', 'Summit Rolltop Backpack', 'Harbor Weekender Bag'
                ],
                '[{"code": "NAT", "name": "Natural", "options": {"colour": "natural"}, "extra": 0},
                  {"code": "BLK", "name": "Black", "options": {"colour": "black"}, "extra": 0}]'::jsonb,
                ARRAY['recycled canvas', 'waxed cotton', 'recycled nylon'],
                '%s: a hard-wearing bag in %s with reinforced straps and an inside pocket for keys and '
                || 'cards.',
                '{"care": "spot clean"}'::jsonb
            ),
            (
                'caps', 'CP', 2290, 200,
                ARRAY[
                    'Classic Six-Panel Cap', 'Harbor Trucker Cap', 'Summit Dad Cap', 'Meadow Bucket Hat',
                    'Nordic Corduroy Cap', 'Citrus Visor', 'Midnight Snapback', 'Trail Running Cap'
                ],
                '[{"code": "NVY", "name": "Navy", "options": {"colour": "navy"}, "extra": 0},
                  {"code": "OLV", "name": "Olive", "options": {"colour": "olive"}, "extra": 0},
                  {"code": "BLK", "name": "Black", "options": {"colour": "black"}, "extra": 0}]'::jsonb,
                ARRAY['cotton twill', 'corduroy', 'recycled polyester'],
                '%s: a low-profile cap in %s with an adjustable strap and a pre-curved brim.',
                '{"size": "one size"}'::jsonb
            )
        ) AS lines (category_slug, code, base_eur, step_eur, names, variants, materials, template, extra)
    LOOP
        FOR item IN
            SELECT n.name, n.i::integer AS i
            FROM unnest(line.names) WITH ORDINALITY AS n (name, i)
            ORDER BY n.i
        LOOP
            product_number := product_number + 1;
            INSERT INTO shop.products (
                slug, name, description, attributes, category_id, image_url, status, published_at, created_at
            )
            SELECT
                s.slug,
                item.name,
                format(line.template, item.name, line.materials[1 + (item.i - 1) % 3]),
                jsonb_build_object('material', line.materials[1 + (item.i - 1) % 3]) || line.extra,
                c.id,
                'https://placehold.co/800x800/png?text=' || replace(item.name, ' ', '+'),
                -- A couple of drafts and one retired product, the rest on sale.
                CASE
                    WHEN product_number IN (24, 47) THEN 'draft'
                    WHEN product_number = 36 THEN 'archived'
                    ELSE 'published'
                END,
                CASE
                    WHEN product_number NOT IN (24, 47)
                        THEN timestamptz '2025-01-06 09:00:00+00' + product_number * interval '3 days 5 hours'
                END,
                timestamptz '2025-01-01 08:00:00+00' + product_number * interval '3 days'
            FROM (
                SELECT trim(BOTH '-' FROM regexp_replace(shop.search_key(item.name), '[^a-z0-9]+', '-', 'g'))
                AS slug
            ) AS s
            CROSS JOIN shop.categories AS c
            WHERE c.slug = line.category_slug
            RETURNING id INTO product_id;

            FOR variant IN
                SELECT v.spec, v.i::integer AS i
                FROM jsonb_array_elements(line.variants) WITH ORDINALITY AS v (spec, i)
                ORDER BY v.i
            LOOP
                INSERT INTO shop.product_variants (product_id, sku, name, options, position)
                VALUES (
                    product_id,
                    format('%s-%s-%s', line.code, lpad(item.i::text, 2, '0'), variant.spec ->> 'code'),
                    variant.spec ->> 'name',
                    variant.spec -> 'options',
                    variant.i
                )
                RETURNING id INTO variant_id;

                eur := line.base_eur + ((item.i - 1) % 4) * line.step_eur
                    + (variant.spec ->> 'extra')::bigint;
                -- USD: about 8 % more, ending in 99.
                INSERT INTO shop.variant_prices (variant_id, currency, amount) VALUES
                (variant_id, 'EUR', eur),
                (variant_id, 'USD', ((eur * 108 / 100 + 50) / 100) * 100 - 1);

                -- Some variants sell out everywhere, and every sixteenth product entirely.
                IF product_number % 16 = 0 OR (product_number + variant.i) % 9 = 0 THEN
                    on_hand_eu := 0;
                    on_hand_us := 0;
                ELSE
                    on_hand_eu := (product_number * 7 + variant.i * 11) % 23;
                    on_hand_us := (product_number * 5 + variant.i * 3) % 17;
                END IF;
                -- Stock arrives through the ledger (which creates the stock rows); a sold-out pair still
                -- gets its empty row.
                INSERT INTO shop.stock_movements (variant_id, warehouse_id, kind, quantity, note)
                SELECT variant_id, s.warehouse_id, 'receipt', s.quantity, 'Demo opening stock'
                FROM (VALUES (eu_id, on_hand_eu), (us_id, on_hand_us)) AS s (warehouse_id, quantity)
                WHERE s.quantity > 0;
                INSERT INTO shop.stock_levels (variant_id, warehouse_id) VALUES (variant_id, eu_id), (variant_id, us_id)
                ON CONFLICT DO NOTHING;
            END LOOP;
        END LOOP;
    END LOOP;
    PERFORM shop.load_demo_tax_shipping();

    -- Some stock is reserved, as if orders were waiting: a quarter in Berlin, a fifth in Newark.
    UPDATE shop.stock_levels AS s SET reserved = s.on_hand / CASE WHEN s.warehouse_id = eu_id THEN 4 ELSE 5 END
    WHERE s.warehouse_id IN (eu_id, us_id);

    -- Hoodies are watched: at 5 or fewer available a stock.low event is written (reporting.low_stock).
    UPDATE shop.product_variants AS v SET low_stock_threshold = 5 WHERE v.sku LIKE 'HD-%';

    RETURN product_number;
END
$$;
COMMENT ON FUNCTION shop.load_demo_catalog() IS
'Fills an empty catalog with a deterministic demo store: 50 products in Apparel (T-shirts, Hoodies), '
'Home (Mugs, Posters) and Accessories (Bags, Caps), 2-4 variants each with EUR and USD prices, stock '
'received through the ledger into two warehouses (some variants sold out, some reserved), a low-stock '
'threshold of 5 on hoodies, two drafts and one archived product, and the demo stores of '
'shop.load_demo_stores(). Does nothing when any '
'product exists. Returns the number of products created (0 when the catalog was not empty). Then loads '
'the demo tax rates, shipping and variant weights (shop.load_demo_tax_shipping()).';
REVOKE ALL ON FUNCTION shop.load_demo_catalog() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.load_demo_catalog() TO postcart_owner;
