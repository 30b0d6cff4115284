select label, customer_id, true as carried from int_identity__survivors
union all
select label, customer_id, false from int_identity__new_ids
