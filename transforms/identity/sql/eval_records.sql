with joined as (
    select i.rid, i.customer_id, t.person_id
    from customer_identities as i
    join truth as t using (system, entity, record_id)
),
attributes as (
    select rid, name_key is not null as named from int_identity__records
),
keyed as (
    select distinct rid from int_identity__all_keys
),
-- a record with another record of its person under one of its key values: the (key, person) groups of more
-- than one record, not the pairs of each key's records (quadratic in a key shared by many)
key_persons as (
    select k.rid, k.key_type, k.key_value, j.person_id
    from int_identity__all_keys as k
    join joined as j using (rid)
    where j.person_id is not null
),
strong_mates as (
    select distinct p.rid
    from key_persons as p
    join (select key_type, key_value, person_id from key_persons
          group by key_type, key_value, person_id having count(distinct rid) > 1) as g
      on g.key_type = p.key_type and g.key_value = p.key_value and g.person_id = p.person_id
),
fuzzy_evidence as (
    select distinct a.rid
    -- only records without a strong mate can be fuzzy_linkable (below)
    from joined as a join joined as b on a.person_id = b.person_id and a.rid <> b.rid
    left join strong_mates as s on s.rid = a.rid
    join int_identity__records as l on l.rid = a.rid
    join int_identity__records as r on r.rid = b.rid
    where s.rid is null
      and sb_name_level(l.name_key, l.name_partial, r.name_key, r.name_partial, $name_close) in ('exact', 'close', 'partial')
      and (sb_birth_level(l.birth_date, r.birth_date) in ('exact', 'close')
           or sb_text_level(l.street_key, r.street_key, $street_close) in ('exact', 'close')
           or sb_exact_level(l.postcode_key, r.postcode_key) = 'exact')
),
final as (
    select j.*,
           (x.named or k.rid is not null) as identifiable,
           s.rid is null and f.rid is not null as fuzzy_linkable
    from joined as j
    join attributes as x using (rid)
    left join keyed as k using (rid)
    left join strong_mates as s using (rid)
    left join fuzzy_evidence as f using (rid)
)
select * from final
