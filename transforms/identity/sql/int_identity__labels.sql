-- a data steward's labels (identity_review_labels, by record keys) on tonight's records: one row per record
-- pair, rid_a < rid_b; the latest label of a pair wins (the file keeps one per pair); pairs whose records
-- are gone are left out
with labels as (
    select * from identity_review_labels
),
records as (
    select rid, system, entity, record_id from int_identity__records
),
final as (
    select least(a.rid, b.rid) as rid_a, greatest(a.rid, b.rid) as rid_b, any_value(l.label) as label,
           count(distinct l.label) as labels
    from labels as l
    join records as a on a.system = l.system_a and a.entity = l.entity_a and a.record_id = l.record_id_a
    join records as b on b.system = l.system_b and b.entity = l.entity_b and b.record_id = l.record_id_b
    where a.rid <> b.rid
    group by all
)
select rid_a, rid_b, label from final where labels = 1
