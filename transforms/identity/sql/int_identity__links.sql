-- every accepted link between two records: strong keys, then the probabilistic model's
with deterministic as (
    select * from int_identity__det_links
),
probabilistic as (
    select * from int_identity__fs_links
),
final as (
    select rid_a, rid_b, 'deterministic' as link_rule, key_type, key_types, null::double as match_probability,
           'same ' || array_to_string(key_types, ', ') as evidence, null::double as match_weight,
           null::struct(comparison varchar, level varchar, weight double, tf_weight double)[] as evidence_levels
    from deterministic
    union all
    select rid_a, rid_b, 'probabilistic', null, []::varchar[], match_probability,
           evidence || ' (weight ' || round(match_weight, 1) || ')', match_weight, evidence_levels
    from probabilistic
)
select * from final
