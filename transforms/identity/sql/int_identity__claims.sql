-- each previous id goes to the cluster that holds most of its records
with overlap as (
    select prev_id, label, count(*) as n from int_identity__cluster_records where prev_id is not null group by all
),
final as (
    select o.prev_id, arg_max(o.label, [o.n, -a.anchor_rank]) as label
    from overlap as o
    join (select label, row_number() over (order by anchor) as anchor_rank from int_identity__anchor) as a using (label)
    group by o.prev_id
)
select * from final
