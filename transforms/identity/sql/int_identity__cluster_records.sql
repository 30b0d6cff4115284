with previous as (
    -- one earlier id per record key: a version published while a source repeated its record ids holds
    -- several rows per key, and joining all of them multiplied the records on every rerun
    select system, entity, record_id, min(customer_id) as customer_id
    from prev_identities
    group by system, entity, record_id
),
final as (
    select c.label, r.rid, r.system || '|' || r.entity || '|' || r.record_id as record_key,
           p.customer_id as prev_id
    from int_identity__clusters as c
    join int_identity__records as r on r.rid = c.node
    left join previous as p using (system, entity, record_id)
)
select * from final
