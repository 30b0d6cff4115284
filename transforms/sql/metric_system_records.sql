-- metric: integration/system_records
-- Per system and overall ("all"). Numerator: identity-bearing records of the system (contacts,
-- accounts, members, tickets, subscribers, analytics devices). Denominator: identity records of all
-- systems. Value: the system's share of all records.
--
-- metric: integration/linked_share (higher is better)
-- Per system and overall. Numerator: records of the system resolved into a unified customer together
-- with at least one other record (of any system). Denominator: records of the system.
--
-- metric: integration/no_identifier_share (lower is better)
-- Per system and overall. Numerator: records of the system that carry no usable identifier (no email,
-- phone, loyalty id or login id after normalisation and placeholder removal), so cannot be linked.
-- Denominator: records of the system.
with identities as (
    select
        system,
        array_length(identifier_types) = 0 as no_identifier,
        count(*) over (partition by customer_id) > 1 as linked
    from customer_identities
),

per_system as (
    select
        coalesce(system, 'all') as dimension,
        count(*) as records,
        count(*) filter (where linked) as linked,
        count(*) filter (where no_identifier) as no_identifier
    from identities
    group by grouping sets ((system), ())
),

final as (
    select 'system_records' as metric, dimension, records as numerator,
           (select count(*) from customer_identities) as denominator
    from per_system
    union all
    select 'linked_share', dimension, linked, records from per_system
    union all
    select 'no_identifier_share', dimension, no_identifier, records from per_system
)

select
    'integration' as family,
    metric,
    null::date as metric_date,
    dimension,
    numerator,
    denominator,
    null as detail
from final
order by metric, dimension
