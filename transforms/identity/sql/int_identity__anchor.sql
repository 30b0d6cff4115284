select label, min(record_key) as anchor, count(*) as records from int_identity__cluster_records group by label
