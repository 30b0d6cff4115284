-- metric: integration/complete_360_share (higher is better)
-- Dimension "all"; detail names the required systems. Numerator: unified customers with at least one
-- record in every system that the configured 360 definition names (metrics.complete_360_systems in
-- data/sources.yaml; default: every system with a customers source). Denominator: unified customers with at least one usable identifier (email, phone,
-- loyalty id or login id) on some record.
with required as (
    select unnest($complete_360_systems) as system
),

customers as (
    select customer_id
    from customer_identities
    group by customer_id
    having bool_or(array_length(identifier_types) > 0)
),

present as (
    select i.customer_id, count(distinct i.system) as required_systems
    from customer_identities as i
    join required as r using (system)
    join customers as c using (customer_id)
    group by i.customer_id
),

final as (
    select
        (select count(*) from present where required_systems = (select count(distinct system) from required)) as numerator,
        (select count(*) from customers) as denominator,
        (select string_agg(distinct system, ', ' order by system) from required) as detail
)

select
    'integration' as family,
    'complete_360_share' as metric,
    null::date as metric_date,
    'all' as dimension,
    numerator,
    denominator,
    detail
from final
