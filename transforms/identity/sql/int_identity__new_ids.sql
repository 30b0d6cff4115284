with fresh as (
    select a.label, a.anchor, 'C' || upper(substr(md5(a.anchor), 1, 16)) as candidate
    from int_identity__anchor as a
    where a.label not in (select label from int_identity__survivors)
),
final as (
    select label,
           case when candidate in (select customer_id from prev_id_map)
                then 'C' || upper(substr(md5(anchor || '#' || $run_id), 1, 16))
                else candidate end as customer_id
    from fresh
)
select * from final
