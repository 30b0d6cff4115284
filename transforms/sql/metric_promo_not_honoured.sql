-- metric: consistency/promo_not_honoured_share (lower is better)
-- Per campaign and channel (dimension "campaign|channel"). Eligible lines: order lines of the campaign's
-- SKU, by a customer who was sent the campaign before ordering, in a channel the campaign lists as
-- valid, on a (business-local) day inside its validity; cancelled and returned lines are no sales and
-- are not eligible. Numerator: eligible lines where the campaign's promo code was not applied.
-- Denominator: eligible lines.
with campaigns as (
    select campaign_id, upper(promo_code) as promo_code, sku, valid_channels, valid_from, valid_to
    from kind_campaigns where sku is not null
),

recipients as (
    select e.campaign_id, i.customer_id, min(e.event_at) as first_sent_at
    from kind_marketing_events as e
    join customer_identities as i
        on i.system = e._source_system and i.record_id = e.subscriber_id and i.entity <> 'devices'
    where e.event_type = 'sent'
    group by e.campaign_id, i.customer_id
),

eligible as (
    select
        c.campaign_id,
        o.channel,
        -- the line carries this campaign's code (fct_orders.promo_campaign_id names only one campaign
        -- when several campaigns share a code, e.g. one campaign per SKU)
        coalesce(upper(o.discount_code) = c.promo_code, false) as honoured
    from fct_orders as o
    join campaigns as c
        on o.sku = c.sku
        and o.order_date_local between c.valid_from and c.valid_to
        and list_contains(c.valid_channels, o.channel)
    join recipients as r
        on r.campaign_id = c.campaign_id and r.customer_id = o.customer_id and o.ordered_at >= r.first_sent_at
    where o.is_sale
),

final as (
    select
        campaign_id || '|' || channel as dimension,
        count(*) filter (where not honoured) as numerator,
        count(*) as denominator
    from eligible
    group by campaign_id, channel
)

select
    'consistency' as family,
    'promo_not_honoured_share' as metric,
    null::date as metric_date,
    dimension,
    numerator,
    denominator,
    null as detail
from final
order by dimension
