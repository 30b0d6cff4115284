select value, sb_id(value) as id_norm
from (select loyalty_id as value from int_identity__located where loyalty_id is not null
      union select login_id from int_identity__located where login_id is not null)
