select c.label, r.rid, r.system || '|' || r.entity || '|' || r.record_id as record_key,
       p.customer_id as prev_id
from int_identity__clusters as c
join int_identity__records as r on r.rid = c.node
left join prev_identities as p using (system, entity, record_id)
