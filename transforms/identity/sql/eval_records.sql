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
strong_mates as (
    select distinct a.rid
    from int_identity__all_keys as a
    join int_identity__all_keys as b on a.key_type = b.key_type and a.key_value = b.key_value and a.rid <> b.rid
    join joined as ja on ja.rid = a.rid
    join joined as jb on jb.rid = b.rid
    where ja.person_id = jb.person_id
),
fuzzy_evidence as (
    select distinct a.rid
    from joined as a join joined as b on a.person_id = b.person_id and a.rid <> b.rid
    join int_identity__records as l on l.rid = a.rid
    join int_identity__records as r on r.rid = b.rid
    where sb_name_level(l.name_key, l.name_partial, r.name_key, r.name_partial, $name_close) in ('exact', 'close', 'partial')
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
