-- Pairwise counts of every scope at once, from group sizes instead of the pairs themselves: a group of n
-- records (a customer; a person; a customer's records of one person), m of them in a scope, holds
-- n(n-1)/2 - (n-m)(n-m-1)/2 pairs with at least one record in that scope. Returns twice those pairs (an exact
-- integer; the caller halves it) per group kind, and a `records` row with the records in each scope.
-- A null customer or person pairs with nobody.
with r as (
    select customer_id, person_id,
           case when identifiable then 1 else 0 end as in_identifiable,
           case when fuzzy_linkable then 1 else 0 end as in_fuzzy_linkable
    from eval_records
),
sizes as (
    select 'predicted' as pairs, count(*) as n, sum(in_identifiable) as m_identifiable,
           sum(in_fuzzy_linkable) as m_fuzzy_linkable
    from r where customer_id is not null group by customer_id
    union all
    select 'true_positive', count(*), sum(in_identifiable), sum(in_fuzzy_linkable)
    from r where customer_id is not null and person_id is not null group by customer_id, person_id
    union all
    select 'true', count(*), sum(in_identifiable), sum(in_fuzzy_linkable)
    from r where person_id is not null group by person_id
)
select pairs,
       sum(n * (n - 1)) as doubled_all,
       sum(n * (n - 1) - (n - m_identifiable) * (n - m_identifiable - 1)) as doubled_identifiable,
       sum(n * (n - 1) - (n - m_fuzzy_linkable) * (n - m_fuzzy_linkable - 1)) as doubled_fuzzy_linkable
from sizes
group by pairs
union all
select 'records', count(*), sum(in_identifiable), sum(in_fuzzy_linkable) from r
