-- metric: consistency/policy_conflict
-- One row per service policy whose channels disagree (dimension = policy). Per channel the latest
-- version in force on the as-of date counts (valid_from on or before it, or undated); the most common
-- value is the reference. Numerator: channels whose value differs from it. Denominator: channels stating
-- the policy. Detail lists every channel's value.
--
-- metric: consistency/policy_conflict_share
-- Dimension "all". Numerator: policies whose channels state different values on the as-of date.
-- Denominator: policies stated by any channel.
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
