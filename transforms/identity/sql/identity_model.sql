-- m/u probabilities and weight log2(m/u) of each comparison level; Laplace smoothing over the levels of
-- each comparison keeps unseen levels finite
with counts as (
    select * from int_identity__model_counts
),
levels as (
    select distinct comparison, level from counts
),
totals as (
    select l.comparison, s.side, count(distinct l.level) as levels,
           coalesce((select sum(n) from counts as c
                     where c.comparison = l.comparison and c.side = s.side), 0) as total
    from levels as l cross join (values ('m'), ('u')) as s(side) group by l.comparison, s.side
),
probs as (
    select l.comparison, l.level,
           (coalesce(m.n, 0) + 1.0) / (tm.total + tm.levels) as m_probability,
           (coalesce(u.n, 0) + 1.0) / (tu.total + tu.levels) as u_probability
    from levels as l
    join totals as tm on tm.comparison = l.comparison and tm.side = 'm'
    join totals as tu on tu.comparison = l.comparison and tu.side = 'u'
    left join counts as m on m.side = 'm' and m.comparison = l.comparison and m.level = l.level
    left join counts as u on u.side = 'u' and u.comparison = l.comparison and u.level = l.level
),
final as (
    select comparison, level, m_probability, u_probability, log2(m_probability / u_probability) as weight
    from probs
)
select * from final order by comparison, level
