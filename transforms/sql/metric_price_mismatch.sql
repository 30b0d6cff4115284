-- metric: consistency/price_mismatch_sku_share (lower is better)
-- From the ERP channel price lists, per day of the $lookback_days days ending on the as-of date
-- (dimension "all"). Numerator: SKUs whose active list price differs between channels that day.
-- Denominator: SKUs with an active price that day. The row without a date covers the whole window:
-- SKUs that differed on at least one day / SKUs priced on at least one day; its detail names the SKUs.
--
-- metric: consistency/price_spread (lower is better)
-- Per day and SKU (dimension = SKU), only SKUs whose channel prices differ that day. Numerator: highest
-- minus lowest channel price. Denominator: lowest price. Value: the relative spread. Detail lists every
-- channel's price.
with days as (
    -- generate_series (its end included) in the select list: Spark has no range() table function over dates
    select cast(d as date) as day
    from (select unnest(generate_series(cast($as_of_date as date) - cast($lookback_days - 1 as integer),
                                        cast($as_of_date as date), interval 1 day)) as d)
),

prices as (
    select sku, channel, price, valid_from, coalesce(valid_to, date '9999-12-31') as valid_to from kind_prices
),

daily as (
    select d.day, p.sku, p.channel, p.price
    from days as d
    join prices as p on d.day between p.valid_from and p.valid_to
    qualify row_number() over (partition by d.day, p.sku, p.channel order by p.valid_from desc) = 1
),

per_sku as (
    select
        day,
        sku,
        min(price) as low,
        max(price) as high,
        string_agg(channel || '=' || cast(price as varchar), ', ' order by channel) as detail
    from daily
    group by day, sku
),

share as (
    select
        'price_mismatch_sku_share' as metric,
        day as metric_date,
        'all' as dimension,
        count(*) filter (where high > low) as numerator,
        count(*) as denominator,
        null as detail
    from per_sku
    group by day
),

window_share as (
    select
        'price_mismatch_sku_share' as metric,
        null::date as metric_date,
        'all' as dimension,
        count(distinct sku) filter (where high > low) as numerator,
        count(distinct sku) as denominator,
        string_agg(distinct sku, ', ' order by sku) filter (where high > low) as detail
    from per_sku
),

spread as (
    select
        'price_spread' as metric,
        day as metric_date,
        sku as dimension,
        high - low as numerator,
        low as denominator,
        detail
    from per_sku
    where high > low
),

-- explicit columns, not `union all by name` (which Spark lacks)
final as (
    select metric, metric_date, dimension, numerator, denominator, detail from share
    union all
    select metric, metric_date, dimension, numerator, denominator, detail from window_share
    union all
    select metric, metric_date, dimension, numerator, denominator, detail from spread
)

select
    'consistency' as family,
    metric,
    metric_date,
    dimension,
    numerator,
    denominator,
    detail
from final
order by metric, metric_date nulls first, dimension
