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

latest as (
    select system, max(stamped_at) as latest_at
    from stamps
    group by system
),

per_system as (
    -- the newest local date of any stamp (not the local date of the latest stamp: a clock set back can move
    -- the local date back). Two offsets of a time zone differ by less than a day, so a stamp three days older
    -- than the system's latest has an earlier local date: only the stamps of the last three days are converted,
    -- not every touchpoint (the conversion was most of this metric's time)
    select s.system, max(cast(timezone($business_tz, s.stamped_at) as date)) as newest
    from stamps as s
    join latest as l on l.system is not distinct from s.system
    where s.stamped_at >= l.latest_at - to_days(3)
    group by s.system
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
