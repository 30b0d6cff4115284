-- random record positions for u-pairs, deterministic for a given seed (in one statement with the
-- joins of int_identity__u_pair_ids, DuckDB 2.0 plans a cross product of the records: keep them apart)
select cast(1 + hash(i, $seed) % $records as bigint) as ia, cast(1 + hash(i, $seed + 1) % $records as bigint) as ib
from range($u_pairs) as t(i)
