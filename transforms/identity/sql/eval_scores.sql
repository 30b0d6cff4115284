-- pairs are counted from per-group sizes; a pair is in scope when at least one of its records is
with r as (
    select *, case $scope when 'all' then true when 'identifiable' then identifiable else fuzzy_linkable end as in_scope
    from eval_records
),
predicted as (
    select count(*) as predicted, count(*) filter (where a.person_id = b.person_id) as tp
    from r as a join r as b on a.customer_id = b.customer_id and a.rid < b.rid
    where a.in_scope or b.in_scope
),
actual as (
    select count(*) as actual
    from r as a join r as b on a.person_id = b.person_id and a.rid < b.rid
    where a.in_scope or b.in_scope
),
cluster_sizes as (select customer_id, count(*) as n from r group by 1),
person_sizes as (select person_id, count(*) as n from r group by 1),
cell_sizes as (select customer_id, person_id, count(*) as n from r group by 1, 2),
bcubed as (
    select sum(c.n / k.n) as precision_sum, sum(c.n / p.n) as recall_sum, count(*) as records
    from r join cell_sizes as c using (customer_id, person_id)
    join cluster_sizes as k using (customer_id) join person_sizes as p using (person_id)
    where r.in_scope
)
select (select count(*) from r where in_scope), predicted.tp, predicted.predicted, actual.actual,
       bcubed.precision_sum, bcubed.recall_sum
from predicted, actual, bcubed
