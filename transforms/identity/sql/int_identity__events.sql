with prev_records as (
    select prev_id, count(*) as records from int_identity__cluster_records where prev_id is not null group by prev_id
),
label_prev as (
    -- rank 1: the previous id the cluster holds most records of (ties: the smallest id)
    select label, prev_id, count(*) as n,
           row_number() over (partition by label order by count(*) desc, prev_id) as rank
    from int_identity__cluster_records where prev_id is not null group by label, prev_id
),
merged as (
    select $run_id as run_id, 'merged' as event, unnest(list_filter(claimed, lambda x: x <> customer_id)) as customer_id,
           customer_id as related_customer_id
    from int_identity__survivors
),
merged_counts as (
    select m.*, coalesce(p.records, 0) as records, 'alias of ' || m.related_customer_id as detail
    from merged as m left join prev_records as p on p.prev_id = m.customer_id
),
fresh as (
    -- a new cluster split off the previous id it holds most records of, if any
    select n.label, n.customer_id, a.records, max(case when lp.rank = 1 then lp.prev_id end) as split_from
    from int_identity__new_ids as n
    join int_identity__anchor as a using (label)
    left join label_prev as lp using (label)
    group by n.label, n.customer_id, a.records
),
moved as (
    -- records that had a customer before and now belong to another surviving customer
    select r.rid, r.prev_id, l.customer_id
    from int_identity__cluster_records as r
    join int_identity__label_ids as l using (label)
    left join int_identity__survivors as s on list_contains(s.claimed, r.prev_id)
    where l.carried and r.prev_id is not null and l.customer_id <> r.prev_id
      and coalesce(s.customer_id, '') <> l.customer_id
),
removed as (
    select m.customer_id from prev_id_map as m
    where m.status = 'active' and m.customer_id not in (select prev_id from int_identity__claims)
),
final as (
    select run_id, event, customer_id, related_customer_id, records, detail from merged_counts
    union all
    select $run_id, case when split_from is null then 'new' else 'split' end, customer_id, split_from, records,
           case when split_from is null then null else 'split off ' || split_from end
    from fresh
    union all
    select $run_id, 'moved', customer_id, prev_id, count(*), 'records moved from ' || prev_id
    from moved group by customer_id, prev_id
    union all
    select $run_id, 'removed', customer_id, null, 0, 'no records left in any source' from removed
)
select * from final
