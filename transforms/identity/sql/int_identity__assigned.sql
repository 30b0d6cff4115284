select r.rid, l.customer_id
from int_identity__cluster_records as r join int_identity__label_ids as l using (label)
