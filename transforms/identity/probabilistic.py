"""Probabilistic links between deterministic clusters, for records that share no strong key: Splink
(`transforms/identity/splink.py`) trains its model on this run's records without labels and scores the
candidate pairs; this module turns its output into the identity path's tables.

Output: `identity_model` (Splink's prior, m, u and weights per level), `int_identity__scored` (Splink's links
between records of different deterministic clusters, with their evidence), `int_identity__fs_links` (those
kept after the no-chaining-through-a-hub protection), and Splink's own `int_identity__splink_*` tables
(`possible`: the review band and the pairs the household rule held back), and `int_identity__review_pairs`
(those, with their evidence, for clerical review).
"""

from __future__ import annotations

import logging

from transforms.config import IdentityConfig, ProbabilisticConfig
from transforms.database import Database
from transforms.identity.splink import link_records
from transforms.identity.tables import build, columns
from transforms.sqltext import quote

log = logging.getLogger(__name__)

FS_LINKS_COLUMNS = ("rid_a bigint, rid_b bigint, match_weight double, match_probability double, evidence varchar, "
                    "evidence_levels struct(comparison varchar, level varchar, weight double, tf_weight double)[]")
REVIEW_COLUMNS = ("rid_a bigint, rid_b bigint, match_weight double, match_probability double, reason varchar, "
                  "evidence varchar")
MODEL_COLUMNS = ("comparison varchar, gamma integer, level varchar, m_probability double, u_probability double, "
                 "bayes_factor double, weight double, tf_adjustment_column varchar, tf_adjustment_weight double")


def _signed_2dp(weight: str) -> str:
    """`weight` as text with a sign and two decimals ("+7.12", "-0.50", "-0.00"), rounded half away from zero
    as a decimal: the same text on every engine (a float formatter rounds the binary value, Java's the
    shortest decimal, so x.xx5 could print differently)."""
    return (f"case when {weight} >= 0 then '+' when {weight} > -0.005 then '-' else '' end || "
            f"cast(round(cast({weight} as decimal(18, 6)), 2) as varchar)")


def evidence_sql(comparisons: list[str]) -> str:
    """One text per link: each comparison's level and weight (term frequency included), e.g.
    "family_name: Exact match on family_name (+7.12)"; comparisons with no evidence (null level) are left out."""
    parts = [f"case when s.{quote('level_' + c)} is not null and s.{quote('gamma_' + c)} >= 0 then "
             f"'{c}: ' || s.{quote('level_' + c)} || ' (' || "
             f"{_signed_2dp('s.' + quote('mw_' + c))} || ')' end"
             for c in comparisons]
    return "concat_ws(', ', " + ", ".join(parts) + ")" if parts else "''"


EVIDENCE_LEVEL = "struct(comparison varchar, level varchar, weight double, tf_weight double)"


def evidence_levels_sql(comparisons: list[str], tf_columns: set[str] = frozenset()) -> str:
    """One list per link: each comparison with evidence (not null level) as {comparison, level, weight,
    tf_weight} (the weight includes the term-frequency adjustment `tf_weight`, null where the level has
    none): the rows of explain's waterfall, after the prior."""
    if not comparisons:
        return f"[]::{EVIDENCE_LEVEL}[]"
    items = [f"case when s.{quote('gamma_' + c)} >= 0 then {{'comparison': '{c}', 'level': s.{quote('level_' + c)}, "
             f"'weight': s.{quote('mw_' + c)}, "
             f"'tf_weight': {('s.' + quote('tf_' + c)) if c in tf_columns else 'null::double'}}} end"
             for c in comparisons]
    return f"list_filter([{', '.join(items)}]::{EVIDENCE_LEVEL}[], lambda x: x is not null)"


def scored_sql(links: str, comparisons: list[str], tf_columns: set[str] = frozenset()) -> str:
    """Splink's links between records of different deterministic clusters, with their labels and evidence."""
    return f"""with links as (
    select * from {quote(links)}
),
final as (
    select s.rid_l as rid_a, s.rid_r as rid_b, a.det_label as label_a, b.det_label as label_b,
           s.match_weight, s.match_probability, {evidence_sql(comparisons)} as evidence,
           {evidence_levels_sql(comparisons, tf_columns)} as evidence_levels
    from links as s
    join int_identity__fs_records as a on a.rid = s.rid_l
    join int_identity__fs_records as b on b.rid = s.rid_r
    where a.det_label <> b.det_label
)
select * from final order by rid_a, rid_b"""


def review_pairs_sql(possible: str, comparisons: list[str]) -> str:
    """Splink's possible matches (the review band and the pairs the household rule held back), with their
    evidence: the pairs a data steward reviews (identity_review)."""
    return f"""with possible as (
    select * from {quote(possible)}
),
final as (
    select s.rid_l as rid_a, s.rid_r as rid_b, s.match_weight, s.match_probability, s.reason,
           {evidence_sql(comparisons)} as evidence
    from possible as s
)
select * from final order by rid_a, rid_b"""


def _scored_comparisons(db: Database, links: str) -> list[str]:
    """Comparisons Splink scored (a comparison whose m it could not estimate is left out of its scores)."""
    return [c[len("level_"):] for c in columns(db, links) if c.startswith("level_")]


def _tf_comparisons(db: Database, links: str) -> set[str]:
    """Comparisons whose weights carry a term-frequency part (a `tf_<comparison>` column)."""
    return {c[len("tf_"):] for c in columns(db, links) if c.startswith("tf_")}


def link_probabilistically(db: Database, identity: IdentityConfig, stored_model: dict | None = None) -> dict:
    """Train Splink on the named records (or reuse the m and u of `stored_model`, an earlier run's `model`, when
    it fits: `splink.reusable`), keep its links between deterministic clusters (int_identity__fs_links).

    Returns candidate pairs scored at or above the review band, probabilistic links, the prior, pairs
    held for review, the model's warnings (never silent: no training; far fewer matches than it expects is
    judged on the final customers, `short_of_expected`), its expected matching pairs, and
    `model`: the model to store for the next runs (None when none was trained) and `model_reused`."""
    p: ProbabilisticConfig = identity.probabilistic
    build(db, "int_identity__fs_records")
    trainer = db.splink_trainer()
    trained = None
    if trainer is not None:  # the Spark engine: Splink trains on DuckDB, scores here with that model
        with trainer:
            trainer.register("int_identity__fs_records", db.arrow(
                "identity.fs records for training", "select * from int_identity__fs_records order by rid"))
            trained = link_records(trainer, "int_identity__fs_records", p, score=False, stored=stored_model)
    result = link_records(db, "int_identity__fs_records", p, trained=trained, stored=stored_model)
    build(db, "identity_model")
    scored = scored_sql(result.links_table, _scored_comparisons(db, result.links_table),
                        _tf_comparisons(db, result.links_table))
    db.run("identity.int_identity__scored", f"create or replace table int_identity__scored as {scored}")
    build(db, "int_identity__fs_links", {"threshold": p.threshold, "name_close": p.name_close})
    db.run("identity.int_identity__review_pairs", "create or replace table int_identity__review_pairs as "
           + review_pairs_sql(result.possible_table, _scored_comparisons(db, result.possible_table)))
    return {"candidate_pairs": result.links + result.possible,
            "probabilistic_links": db.count("int_identity__fs_links"),
            "prior": result.probability_two_random_records_match,
            "possible_matches": result.possible, "held_by_household_rule": result.held_by_household_rule,
            "expected_matching_pairs": result.expected_matching_pairs,
            "warnings": list(result.warnings), "seconds": dict(result.seconds),
            "model": result.model, "model_reused": result.reused}


def short_of_expected(db: Database, expected: float | None, share: float) -> list[str]:
    """The warning (never silent) when the final customers (`int_identity__clusters`) join far fewer pairs of
    the model's records (`int_identity__fs_records`) than the model itself expects to match (`expected`: the
    prior times all pairs): fewer than `share` of them. Counted on the customers, not on the scored links:
    records a strong key joins need no scored pair, and the blocking rules' block-size cap skips more of them
    as a night grows (at 1M customers 1.8M scored links against 9.7M expected, with precision and recall
    those of 100k)."""
    if not expected or expected < 1:
        return []
    linked = db.scalar("identity.linked pairs", "select coalesce(sum(n * (n - 1) / 2), 0) from (select count(*) as n "
                       "from int_identity__clusters as c join int_identity__fs_records as r on r.rid = c.node "
                       "group by c.label)")
    if linked >= share * expected:
        return []
    warning = (f"the customers join {int(linked)} pairs of the records the model compares, far fewer than the "
               f"model's own expected matching pairs ({expected:.0f}): check the blocking rules, the strong keys and "
               "the input columns")
    log.warning("identity: %s", warning)  # judged on the customers, not by the linker
    return [warning]


def no_probabilistic_links(db: Database) -> dict:
    """Empty int_identity__fs_links and identity_model, for when the model is disabled."""
    db.run("identity.int_identity__fs_links empty", f"create or replace table int_identity__fs_links ({FS_LINKS_COLUMNS})")
    db.run("identity.identity_model empty", f"create or replace table identity_model ({MODEL_COLUMNS})")
    db.run("identity.int_identity__review_pairs empty", f"create or replace table int_identity__review_pairs ({REVIEW_COLUMNS})")
    return {"candidate_pairs": 0, "probabilistic_links": 0, "prior": None, "possible_matches": 0,
            "held_by_household_rule": 0, "expected_matching_pairs": None, "warnings": [], "seconds": {}, "model": None,
            "model_reused": False}
