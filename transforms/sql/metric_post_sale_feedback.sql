-- metric: consistency/post_sale_feedback_share (higher is better)
-- Per order channel and overall. Numerator: orders of identified customers followed, within
-- $feedback_days days after the order, by a feedback touchpoint of the same customer (journey stage
-- "feedback" in fct_touchpoints, e.g. a satisfaction survey, in any channel or system). Denominator:
-- orders of identified customers (touchpoint "order": orders with a line that is a sale; an order whose
-- lines are all cancelled or returned is an "order_cancelled" touchpoint and does not count).
with orders as (
    select system, reference_id as order_id, channel, customer_id, occurred_at
    from fct_touchpoints
    where touchpoint_type = 'order' and customer_id is not null
),

feedback as (
    select customer_id, occurred_at from fct_touchpoints where journey_stage = 'feedback' and customer_id is not null
),

flagged as (
    select
        o.channel,
        exists (
            select 1 from feedback as f
            where f.customer_id = o.customer_id
              and f.occurred_at >= o.occurred_at
              and f.occurred_at <= o.occurred_at + to_days(cast($feedback_days as integer))
        ) as followed
    from orders as o
),

final as (
    select coalesce(channel, 'all') as dimension, count(*) filter (where followed) as numerator, count(*) as denominator
    from flagged
    group by grouping sets ((channel), ())
)

select
    'consistency' as family,
    'post_sale_feedback_share' as metric,
    null::date as metric_date,
    dimension,
    numerator,
    denominator,
    null as detail
from final
order by dimension
