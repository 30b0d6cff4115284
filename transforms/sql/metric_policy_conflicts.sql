-- metric: consistency/policy_conflict (lower is better)
-- One row per service policy whose channels disagree (dimension = policy). Per channel the latest
-- version in force on the as-of date counts (valid_from on or before it, or undated); the most common
-- value is the reference. Numerator: channels whose value differs from it. Denominator: channels stating
-- the policy. Detail lists every channel's value.
--
-- metric: consistency/policy_conflict_share (lower is better)
-- Dimension "all". Numerator: policies whose channels state different values on the as-of date.
-- Denominator: policies stated by any channel.
--
-- metric: consistency/policy_conflict_contacts (lower is better)
-- The service events a conflicting policy causes, per policy in conflict that governs a support topic
-- (policy_topics in data/sources.yaml, e.g. online_order_return_in_store -> return). Numerator: support
-- contacts of identified customers on that topic about a product the same customer had bought (in any
-- channel; a cancelled or returned line is no purchase) before the contact, i.e. contacts where the channels' different rules apply. Denominator:
-- support contacts of identified customers on that topic. Detail: the topic.
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

identified_contacts as (
    select t.record_id, t.created_at, t.sku, t.topic, i.customer_id
    from kind_tickets as t
    join customer_identities as i
        on i.system = t._source_system and i.entity = t._source_entity and i.record_id = t.record_id
    where array_length(i.identifier_types) > 0
),

governed as (
    select pt.policy, pt.topic
    from policy_topics as pt
    join per_policy as pp on pp.policy = pt.policy and pp.numerator > 0
),

-- (customer, SKU, time) of the contacts after a sale of that SKU to that customer: a join, not an EXISTS
-- inside the aggregate (Spark does not run correlated subqueries there); whether a sale came before depends
-- on these three only
after_sale as (
    select distinct c.customer_id, c.sku, c.created_at
    from identified_contacts as c
    join fct_orders as o
        on o.customer_id = c.customer_id and o.sku = c.sku and o.ordered_at <= c.created_at and o.is_sale
),

policy_contacts as (
    select
        g.policy,
        g.topic,
        count(s.customer_id) as numerator,
        count(c.record_id) as denominator
    from governed as g
    left join identified_contacts as c on c.topic = g.topic
    left join after_sale as s on s.customer_id = c.customer_id and s.sku = c.sku and s.created_at = c.created_at
    group by g.policy, g.topic
),

final as (
    select 'policy_conflict_contacts' as metric, policy as dimension, numerator, denominator, 'topic=' || topic as detail
    from policy_contacts
    union all
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
