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
)
select (select count(*) from r where in_scope), predicted.tp, predicted.predicted, actual.actual
from predicted, actual
