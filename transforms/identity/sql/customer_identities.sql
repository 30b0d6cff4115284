with sizes as (
    select customer_id, count(*) as customer_records from int_identity__assigned group by customer_id
),
members as (
    select r.rid, r.system, r.entity, r.record_id, r.seen_at, a.customer_id, s.customer_records
    from int_identity__records as r
    join int_identity__assigned as a using (rid)
    join sizes as s using (customer_id)
),
-- a record's key types as a bit set: bit i is the i-th type of identity.keys (its priority), so the lists
-- below come out in priority order without a list aggregate per record (8x cheaper at a million records)
ends as (
    select rid_a as rid, link_rule, key_types, match_probability from int_identity__links
    union all
    select rid_b, link_rule, key_types, match_probability from int_identity__links
),
linked as (
    -- how the record is tied to the others: by strong keys (their types, highest priority first) or
    -- only by the probabilistic model (its best match probability), or by a data steward's label only
    select e.rid,
           bool_or(e.link_rule = 'deterministic') as deterministic,
           bool_or(e.link_rule = 'probabilistic') as probabilistic,
           bit_or(coalesce(list_sum(list_transform(list_distinct(e.key_types),
                                                   lambda k: 1::bigint << list_position($key_types, k))), 0)) as link_mask,
           max(e.match_probability) as match_probability
    from ends as e group by e.rid
),
carried as (
    select rid, bit_or(1::bigint << key_priority) as key_mask
    from int_identity__usable_keys group by rid
),
described as (
    select m.customer_id, m.system, m.entity, m.record_id,
           case when l.deterministic then 'deterministic'
                when l.probabilistic then 'probabilistic'
                when l.rid is not null then 'clerical'
                else 'unlinked' end as link_rule,
           -- a type's bit is its 1-based position (no lambda index: DuckDB's counts from 1, Spark's from 0)
           list_filter(cast($key_types as varchar[]),
                       lambda k: ((coalesce(c.key_mask, 0) & coalesce(l.link_mask, 0))
                                  >> list_position(cast($key_types as varchar[]), k)) % 2 = 1) as link_keys,
           list_filter(cast($key_types as varchar[]),
                       lambda k: (coalesce(c.key_mask, 0) >> list_position(cast($key_types as varchar[]), k)) % 2 = 1)
               as identifier_types,
           l.match_probability,
           m.customer_records,
           m.seen_at as record_seen_at,
           m.rid
    from members as m
    left join linked as l using (rid)
    left join carried as c using (rid)
),
source_attributes as (
    -- the export's unmapped columns of each customer record and ticket (JSON, values masked): one row per
    -- (system, entity, record_id), the grain every customers and tickets source keeps
    select _source_system as system, _source_entity as entity, record_id, attributes
    from kind_customers where attributes is not null
    union all
    select _source_system, _source_entity, record_id, attributes from kind_tickets where attributes is not null
),
final as (
    select d.*, d.link_keys[1] as identifier_type, a.attributes
    from described as d
    -- `on`, not `using`: Spark would put the join columns first in `d.*`
    left join source_attributes as a on a.system = d.system and a.entity = d.entity and a.record_id = d.record_id
)
select * from final order by customer_id, system, entity, record_id
