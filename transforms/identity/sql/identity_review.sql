-- The clerical review queue: every pair the model put in its "possible match" band
-- [probabilistic.review_threshold, probabilistic.threshold) (default [0.5, 0.99)) and every pair the
-- household rule held back, by record keys, with both customers, the match probability, the evidence per
-- comparison (levels and weights, never values) and the label a data steward gave it (match / non-match),
-- if any. `silobridge review export` writes it for labelling; `review import` feeds the labels back.
with pairs as (
    select * from int_identity__review_pairs
),
records as (
    select rid, system, entity, record_id from int_identity__records
),
customers as (
    select rid, customer_id from customer_identities
),
labels as (
    select * from int_identity__labels
),
final as (
    select a.system as system_a, a.entity as entity_a, a.record_id as record_id_a,
           b.system as system_b, b.entity as entity_b, b.record_id as record_id_b,
           ca.customer_id as customer_id_a, cb.customer_id as customer_id_b,
           ca.customer_id = cb.customer_id as same_customer,
           p.match_probability, p.match_weight, p.reason, p.evidence, l.label
    from pairs as p
    join records as a on a.rid = p.rid_a
    join records as b on b.rid = p.rid_b
    join customers as ca on ca.rid = p.rid_a
    join customers as cb on cb.rid = p.rid_b
    left join labels as l on l.rid_a = least(p.rid_a, p.rid_b) and l.rid_b = greatest(p.rid_a, p.rid_b)
)
select * from final
-- the decisions still open first: pairs of two customers, then pairs other links already joined
order by same_customer, match_probability desc, system_a, entity_a, record_id_a, system_b, entity_b, record_id_b
