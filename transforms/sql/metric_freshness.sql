-- metric: integration/freshness_days (days, lower is better)
-- Per system. Numerator: days from the (business-local) date of the system's newest timestamped record
-- (touchpoint, or identity record's creation) to the as-of date; 0 = data up to the as-of date.
-- Denominator: 1. Value: age of the system's data in days. Detail: the newest date. A system with no
-- timestamped record has no row.
with stamps as (
    select system, occurred_at as stamped_at from fct_touchpoints
    union all
    select system, record_seen_at from customer_identities
),

per_system as (
    select system, max(cast(timezone($business_tz, stamped_at) as date)) as newest
    from stamps
    where stamped_at is not null
    group by system
),

final as (
    select system as dimension, date_diff('day', newest, cast($as_of_date as date)) as numerator, 1 as denominator,
           cast(newest as varchar) as detail
    from per_system
)

select
    'integration' as family,
    'freshness_days' as metric,
    null::date as metric_date,
    dimension,
    numerator,
    denominator,
    detail
from final
order by dimension
