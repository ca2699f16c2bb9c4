-- Where orders' tax came from (docs/carriers.md "External tax service"): per day, currency and source, so
-- a store using a tax service sees how many orders were charged the built-in rates instead, and why.

-- == reporting.tax_sources_daily =====================================================================
CREATE OR REPLACE VIEW reporting.tax_sources_daily AS
SELECT
    (o.created_at AT TIME ZONE 'UTC')::date AS day,
    o.currency,
    o.tax_source,
    o.tax_fallback_reason,
    count(*) AS orders,
    sum(o.tax_total) AS tax,
    sum(o.total) AS totals
FROM shop.orders AS o
GROUP BY (o.created_at AT TIME ZONE 'UTC')::date, o.currency, o.tax_source, o.tax_fallback_reason;

COMMENT ON VIEW reporting.tax_sources_daily IS
'Orders per day (UTC, placed), currency and tax source: builtin (no tax service), external (the tax '
'service''s quote) or builtin_fallback (a tax service is configured but its quote could not be used: '
'tax_fallback_reason says why; these orders may need a tax review). Cancelled orders included. Amounts in '
'minor units; no personal data.';
COMMENT ON COLUMN reporting.tax_sources_daily.day IS 'The day the orders were placed (UTC).';
COMMENT ON COLUMN reporting.tax_sources_daily.currency IS 'ISO 4217 currency of the amounts in this row.';
COMMENT ON COLUMN reporting.tax_sources_daily.tax_source IS 'builtin, external or builtin_fallback.';
COMMENT ON COLUMN reporting.tax_sources_daily.tax_fallback_reason IS
'Why the built-in rates were charged (timeout, unavailable, bad_answer, quote_mismatch...); NULL otherwise.';
COMMENT ON COLUMN reporting.tax_sources_daily.orders IS 'Orders placed that day with this source and reason.';
COMMENT ON COLUMN reporting.tax_sources_daily.tax IS 'Their tax_total, summed (minor units).';
COMMENT ON COLUMN reporting.tax_sources_daily.totals IS 'Their totals, summed (minor units).';

GRANT SELECT ON reporting.tax_sources_daily TO postcart_analyst;
GRANT SELECT ON reporting.tax_sources_daily TO postcart_dba;
