-- consistency / policy_conflict (dimension = policy) and policy_conflict_share (dimension "all").
-- A policy conflicts when channels state different values for it (per channel, the latest version in
-- force on the as-of date: valid_from on or before it, or undated).
-- policy_conflict: numerator = channels whose value differs from the most common value, denominator =
-- channels stating the policy; detail lists every channel's value.
-- policy_conflict_share: numerator = policies in conflict, denominator = policies.
with policies as (
    select policy, channel, value
    from kind_policies
    where valid_from is null or valid_from <= cast($as_of_date as date)
    qualify row_number() over (partition by policy, channel order by valid_from desc nulls last) = 1
),

majority as (
    select policy, value
    from policies
    group by policy, value
    qualify row_number() over (partition by policy order by count(*) desc, value) = 1
),

per_policy as (
    select
        p.policy,
        count(*) filter (where p.value <> m.value) as numerator,
        count(*) as denominator,
        string_agg(p.channel || '=' || p.value, ', ' order by p.channel) as detail
    from policies as p
    join majority as m using (policy)
    group by p.policy
),

final as (
    select 'policy_conflict' as metric, policy as dimension, numerator, denominator, detail
    from per_policy
    where numerator > 0
    union all
    select 'policy_conflict_share', 'all', count(*) filter (where numerator > 0), count(*), null
    from per_policy
)

select
    'consistency' as family,
    metric,
    null::date as metric_date,
    dimension,
    numerator,
    denominator,
    detail
from final
order by metric, dimension
