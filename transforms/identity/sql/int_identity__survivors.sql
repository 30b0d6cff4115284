-- the oldest claimed id survives
select c.label, arg_min(c.prev_id, [coalesce(m.issued_run_id, ''), c.prev_id]) as customer_id,
       list(c.prev_id order by c.prev_id) as claimed
from int_identity__claims as c
left join prev_id_map as m on m.customer_id = c.prev_id
group by c.label
