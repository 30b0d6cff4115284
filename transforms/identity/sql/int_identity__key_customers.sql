select distinct k.key_type, k.key_value, c.customer_id
from int_identity__keys as k join customer_identities as c using (rid)
