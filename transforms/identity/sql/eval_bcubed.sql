-- B-cubed's terms of every scope at once: per record, cell / cluster (precision) and cell / person (recall),
-- where cell = its cluster's records of its person; counted by the three sizes, with the records of each scope
-- among them, so that the caller sums them exactly (a float sum's last bits depend on the order of its terms:
-- threads, engines). A record without a person has no terms.
with r as (
    select customer_id, person_id,
           case when identifiable then 1 else 0 end as in_identifiable,
           case when fuzzy_linkable then 1 else 0 end as in_fuzzy_linkable
    from eval_records
),
cluster_sizes as (select customer_id, count(*) as n from r group by 1),
person_sizes as (select person_id, count(*) as n from r group by 1),
cell_sizes as (select customer_id, person_id, count(*) as n from r group by 1, 2)
select c.n as cell, k.n as cluster, p.n as person, count(*) as records_all,
       sum(r.in_identifiable) as records_identifiable, sum(r.in_fuzzy_linkable) as records_fuzzy_linkable
from r join cell_sizes as c using (customer_id, person_id)
join cluster_sizes as k using (customer_id) join person_sizes as p using (person_id)
group by 1, 2, 3
order by 1, 2, 3
