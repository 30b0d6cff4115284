-- each labelled pair against the model's own decision before any label was applied (same cluster or not):
-- the counts of a precision/recall estimate on the reviewed pairs
with labels as (
    select * from int_identity__labels
),
clusters as (
    select * from int_identity__clusters
),
final as (
    select l.rid_a, l.rid_b, l.label, a.label = b.label as linked_by_model
    from labels as l
    join clusters as a on a.node = l.rid_a
    join clusters as b on b.node = l.rid_b
)
select * from final
