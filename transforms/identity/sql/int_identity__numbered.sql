select *, row_number() over (order by rid) as idx from int_identity__fs_records
