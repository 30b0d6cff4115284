with current_ids as (
    select distinct customer_id from int_identity__label_ids
),
prev as (
    select * from prev_id_map
),
merged_now as (
    select customer_id, related_customer_id from int_identity__events where event = 'merged'
),
removed_now as (
    select customer_id from int_identity__events where event = 'removed'
),
carried as (
    -- every id issued before: active ids stay active, new aliases point at their survivor, older
    -- aliases follow their target when that target was merged tonight
    select p.customer_id,
           case when m.customer_id is not null then m.related_customer_id
                when p.status = 'merged' then coalesce(m2.related_customer_id, p.current_customer_id)
                else p.customer_id end as current_customer_id,
           case when m.customer_id is not null then 'merged'
                when r.customer_id is not null then 'removed'
                else p.status end as status,
           p.issued_run_id,
           case when m.customer_id is not null or r.customer_id is not null
                  or (p.status = 'merged' and m2.customer_id is not null) then $run_id
                else p.changed_run_id end as changed_run_id
    from prev as p
    left join merged_now as m on m.customer_id = p.customer_id
    left join merged_now as m2 on m2.customer_id = p.current_customer_id
    left join removed_now as r on r.customer_id = p.customer_id
),
issued as (
    select customer_id, customer_id as current_customer_id, 'active' as status, $run_id as issued_run_id,
           $run_id as changed_run_id
    from current_ids where customer_id not in (select customer_id from prev)
),
final as (
    select * from carried union all select * from issued
)
select * from final order by customer_id
