-- the records the probabilistic model compares (named ones), with their deterministic cluster
select r.*, c.label as det_label
from int_identity__records as r
join int_identity__det_clusters as c on c.node = r.rid
where r.name_key is not null
