-- No chaining of two customers through one weak link: each deterministic cluster keeps only its best
-- fuzzy partner (a link survives when it is the best of at least one of its two clusters), and a cluster
-- left with several partners (a hub) drops those whose linked record disagrees with its best partner's
-- on name or birth date, so that two different people are not joined through a record that lacks the
-- attribute telling them apart.
with accepted as (
    -- Splink's links (the household rule already held its pairs back); no veto: a disagreeing name or birth
    -- date is evidence with a learned weight
    select * from int_identity__scored
    where match_probability >= $threshold
),
cluster_pairs as (
    -- one representative record pair per pair of clusters: the best-weighted one, ties broken by record
    -- ids so that every run (and every engine) picks the same pair, and all its columns come from that row
    select least(label_a, label_b) as c1, greatest(label_a, label_b) as c2, rid_a, rid_b,
           case when label_a < label_b then rid_a else rid_b end as rid_1,
           case when label_a < label_b then rid_b else rid_a end as rid_2,
           evidence, evidence_levels, match_weight, match_probability
    from accepted
    qualify row_number() over (partition by least(label_a, label_b), greatest(label_a, label_b)
                               order by match_weight desc, least(rid_a, rid_b), greatest(rid_a, rid_b)) = 1
),
ranked as (
    select *, row_number() over (partition by c1 order by match_weight desc, c2) as rank_1,
              row_number() over (partition by c2 order by match_weight desc, c1) as rank_2
    from cluster_pairs
),
kept as (
    select * from ranked where rank_1 = 1 or rank_2 = 1
),
ends as (
    select c1 as hub, c2 as partner, rid_2 as partner_rid, match_weight from kept
    union all
    select c2, c1, rid_1, match_weight from kept
),
best as (
    select hub, arg_max(partner, [match_weight, -partner]) as best_partner,
           arg_max(partner_rid, [match_weight, -partner]) as best_rid, count(*) as partners
    from ends group by hub
),
conflicting as (
    select e.hub, e.partner
    from ends as e
    join best as b using (hub)
    join int_identity__records as l on l.rid = e.partner_rid
    join int_identity__records as r on r.rid = b.best_rid
    where b.partners > 1 and e.partner <> b.best_partner
      and (sb_name_level(l.name_key, l.name_partial, r.name_key, r.name_partial, $name_close) = 'different'
           or sb_birth_level(l.birth_date, r.birth_date) = 'different')
      -- unless the model itself links the partner's cluster and the best partner's (their disagreement is then
      -- outweighed: a typo'd or replaced surname beside an agreeing id and birth date)
      and not exists (select 1 from cluster_pairs as p
                      where p.c1 = least(e.partner, b.best_partner) and p.c2 = greatest(e.partner, b.best_partner))
),
final as (
    select k.rid_a, k.rid_b, k.match_weight, k.match_probability, k.evidence, k.evidence_levels
    from kept as k
    where not exists (select 1 from conflicting as x
                      where (x.hub = k.c1 and x.partner = k.c2) or (x.hub = k.c2 and x.partner = k.c1))
)
select * from final
