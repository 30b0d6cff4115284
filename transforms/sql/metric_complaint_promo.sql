-- metric: consistency/complaint_promo_share (lower is better)
-- Dimension "all"; detail names the campaigns. A complaint is a support case of an identified customer
-- (one with a usable identifier)
-- about a product with a topic in $complaint_topics; it is open from its first contact until it is
-- resolved (or closed), or until the end of the as-of date when it is not. Numerator: customers who were
-- sent a campaign promoting the product of one of their open complaints while it was open. Denominator:
-- customers with at least one complaint about a product.
with identified as (
    select customer_id from customer_identities group by customer_id having bool_or(array_length(identifier_types) > 0)
),

complaints as (
    select
        customer_id,
        sku,
        opened_at,
        coalesce(case when status in ('resolved', 'closed') then resolved_at end,
                 cast(cast($as_of_date as date) + 1 as timestamptz)) as open_until
    from fct_support_cases
    where sku is not null and list_contains($complaint_topics, topic)
      and customer_id in (select customer_id from identified)
),

sends as (
    select e.campaign_id, c.sku, i.customer_id, e.event_at
    from kind_marketing_events as e
    join kind_campaigns as c using (campaign_id)
    join customer_identities as i
        on i.system = e._source_system and i.record_id = e.subscriber_id and i.entity <> 'devices'
    where e.event_type = 'sent' and c.sku is not null
),

conflicts as (
    select distinct k.customer_id, s.campaign_id
    from complaints as k
    join sends as s
        on s.customer_id = k.customer_id and s.sku = k.sku and s.event_at >= k.opened_at and s.event_at < k.open_until
),

final as (
    select
        (select count(distinct customer_id) from conflicts) as numerator,
        (select count(distinct customer_id) from complaints) as denominator,
        (select string_agg(distinct campaign_id, ', ' order by campaign_id) from conflicts) as detail
)

select
    'consistency' as family,
    'complaint_promo_share' as metric,
    null::date as metric_date,
    'all' as dimension,
    numerator,
    denominator,
    detail
from final
