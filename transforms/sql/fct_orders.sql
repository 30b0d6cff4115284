-- Order lines of every channel (shop web/ios/android and store POS), list price vs price paid,
-- the ERP list price of that channel on that (business-local) day, and the campaign of a promo code.
-- Cancelled and returned lines are kept with their order_status; is_sale is false for them (and true for
-- completed, pending and lines without a status): sales figures count only is_sale lines. attributes: the
-- export's columns no field maps (JSON, values masked).
with lines as (
    select * from kind_order_lines
),

key_customers as (
    -- one row per key; a key records of two customers hold (their link cut by a steward's non-match label) names
    -- neither: its lines are kept without that key's customer rather than given to whichever the join met first
    select key_type, key_value, case when count(*) = 1 then min(customer_id) end as customer_id
    from int_identity__key_customers
    group by key_type, key_value
),

line_keys as (
    -- the lines' login and loyalty ids as identity keys: each distinct value normalised once
    select value, sb_id(value) as key_value
    from (select login_id as value from lines where login_id is not null
          union select loyalty_id from lines where loyalty_id is not null)
),

prices as (
    select sku, channel, price, valid_from, coalesce(valid_to, date '9999-12-31') as valid_to
    from kind_prices
),

campaigns as (
    select campaign_id, sku, upper(promo_code) as promo_code from kind_campaigns where promo_code is not null
),

matched as (
    -- each line's customer, ERP price and campaign, from its lineage and join keys alone: the cut of the price
    -- and campaign joins' fan-out below sorts these few columns, not every column of the line
    select
        l._source_system,
        l._source_entity,
        l._source_file,
        l._row_number,
        l.order_id,
        l.line_no,
        coalesce(by_login.customer_id, by_loyalty.customer_id) as customer_id,
        case when by_login.customer_id is not null then 'login_id'
             when by_loyalty.customer_id is not null then 'loyalty_id' end as customer_linked_by,
        p.price as erp_list_price,
        c.campaign_id as promo_campaign_id
    from lines as l
    left join line_keys as login on login.value = l.login_id
    left join key_customers as by_login
        on by_login.key_type = 'login_id' and by_login.key_value = login.key_value
    left join line_keys as loyalty on loyalty.value = l.loyalty_id
    left join key_customers as by_loyalty
        on by_loyalty.key_type = 'loyalty_id' and by_loyalty.key_value = loyalty.key_value
    left join prices as p
        on p.sku = l.sku and p.channel = l.channel
        and cast(timezone($business_tz, l.ordered_at) as date) between p.valid_from and p.valid_to
    left join campaigns as c on c.promo_code = upper(l.discount_code)
    -- one row per staged line (its lineage), never one per (order_id, line_no): two staged lines are two
    -- rows, whatever their ids; only the fan-out of the price and campaign joins is cut here
    qualify row_number() over (
        partition by l._source_system, l._source_entity, l._source_file, l._row_number, l.order_id, l.line_no
        -- a code shared by several campaigns belongs to the one promoting this line's SKU
        order by p.valid_from desc nulls last, (c.sku = l.sku) desc nulls last, c.campaign_id
    ) = 1
),

final as (
    select
        l._source_system as system,
        l._source_entity as entity,
        l.order_id,
        l.line_no,
        l.channel,
        l.store_id,
        l.ordered_at,
        cast(timezone($business_tz, l.ordered_at) as date) as order_date_local,
        m.customer_id,
        m.customer_linked_by,
        l.sku,
        l.quantity,
        l.unit_list_price,
        l.unit_price_paid,
        m.erp_list_price,
        l.discount_code,
        m.promo_campaign_id,
        l.unit_list_price - l.unit_price_paid as unit_discount,
        -- DuckDB's type for bigint x decimal(18, 2), written out: Spark's would be decimal(38, 2)
        cast(l.quantity * l.unit_price_paid as decimal(37, 2)) as line_amount,
        l.currency,
        l.order_status,
        coalesce(l.order_status not in ('cancelled', 'returned'), true) as is_sale,
        l.payment_method,
        l.shipping_method,
        l.rating,
        l.attributes,
        l._source_file,
        l._row_number
    from lines as l
    -- null-safe: the line's partition above, whatever the lineage holds (hand-written rows may have none)
    join matched as m
        on m._source_system is not distinct from l._source_system
        and m._source_entity is not distinct from l._source_entity
        and m._source_file is not distinct from l._source_file
        and m._row_number is not distinct from l._row_number
        and m.order_id is not distinct from l.order_id
        and m.line_no is not distinct from l.line_no
)

select * from final order by ordered_at, system, entity, order_id, line_no, _source_file, _row_number
