-- B-cubed's terms for the records in $scope: per record, cell / cluster (precision) and cell / person (recall),
-- where cell = its cluster's records of its person; counted by the three sizes, so that the caller sums them
-- exactly (a float sum's last bits depend on the order of its terms: threads, engines)
with r as (
    select *, case $scope when 'all' then true when 'identifiable' then identifiable else fuzzy_linkable end as in_scope
    from eval_records
),
cluster_sizes as (select customer_id, count(*) as n from r group by 1),
person_sizes as (select person_id, count(*) as n from r group by 1),
cell_sizes as (select customer_id, person_id, count(*) as n from r group by 1, 2)
select c.n as cell, k.n as cluster, p.n as person, count(*) as records
from r join cell_sizes as c using (customer_id, person_id)
join cluster_sizes as k using (customer_id) join person_sizes as p using (person_id)
where r.in_scope
group by 1, 2, 3
order by 1, 2, 3
