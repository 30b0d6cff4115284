-- the records the probabilistic model compares (named ones), with their deterministic cluster; the postcode
-- it compares is the normalised one
select r.* exclude (postcode), r.postcode_norm as postcode, c.label as det_label
from int_identity__records as r
join int_identity__det_clusters as c on c.node = r.rid
where r.name_key is not null or r.given_name is not null or r.family_name is not null
