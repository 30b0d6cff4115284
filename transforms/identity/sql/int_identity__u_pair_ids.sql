-- the drawn pairs whose records are in different deterministic clusters
select l.rid as rid_a, r.rid as rid_b, l.det_label as label_a, r.det_label as label_b
from int_identity__u_draws as d
join int_identity__numbered as l on l.idx = d.ia
join int_identity__numbered as r on r.idx = d.ib
where l.det_label <> r.det_label
