-- metric: integration/systems_integrated_share (higher is better)
-- Dimension "all"; detail names the integrated systems. A system holding customer records is integrated
-- when at least $integrated_min_share of its identity records belong to a unified customer that also has
-- a record in another system. Numerator: integrated systems. Denominator: systems holding customer
-- records.
with customer_systems as (
    select customer_id, count(distinct system) as system_count from customer_identities group by customer_id
),

per_system as (
    select i.system, avg(case when cs.system_count > 1 then 1.0 else 0.0 end) as linked_share
    from customer_identities as i
    join customer_systems as cs using (customer_id)
    group by i.system
),

final as (
    select
        count(*) filter (where linked_share >= $integrated_min_share) as numerator,
        count(*) as denominator,
        string_agg(system, ', ' order by system) filter (where linked_share >= $integrated_min_share) as detail
    from per_system
)

select
    'integration' as family,
    'systems_integrated_share' as metric,
    null::date as metric_date,
    'all' as dimension,
    numerator,
    denominator,
    detail
from final
