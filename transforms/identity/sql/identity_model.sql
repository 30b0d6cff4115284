-- The probabilistic model Splink fitted on this run (no labels): the prior first (the probability that two
-- random records match, and its weight), then for each comparison level its m and u probabilities, Bayes
-- factor m/u and weight log2(m/u). A level with a term-frequency adjustment names its column: its weight
-- in a pair then also depends on how common the shared value is (a rare surname weighs more).
with model as (
    select * from int_identity__splink_model
),
final as (
    select comparison, gamma, level, m_probability, u_probability, bayes_factor, match_weight as weight,
           tf_adjustment_column, tf_adjustment_weight
    from model
)
select * from final order by comparison <> 'prior', comparison, gamma desc
