-- The probabilistic model Splink fitted on this run (no labels): the prior first (the probability that two
-- random records match, and its weight), then for each comparison level its m and u probabilities, Bayes
-- factor m/u and weight log2(m/u). A level with a term-frequency adjustment names its column: its weight
-- in a pair then also depends on how common the shared value is (a rare surname weighs more).
with model as (
    select * from int_identity__splink_model
),
-- EM's parallel sums differ between runs in the 16th-17th digit: the estimates are rounded (probabilities to
-- 12 decimals, weights to 9) so that a rerun on the same exports writes the same table; the Bayes factor is
-- the rounded weight's.
final as (
    select comparison, gamma, level, round(m_probability, 12) as m_probability,
           round(u_probability, 12) as u_probability, power(2, round(match_weight, 9)) as bayes_factor,
           round(match_weight, 9) as weight, tf_adjustment_column, round(tf_adjustment_weight, 9) as tf_adjustment_weight
    from model
)
select * from final order by comparison <> 'prior', comparison, gamma desc
