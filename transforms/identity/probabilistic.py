"""Fellegi-Sunter links between deterministic clusters, for records that share no strong key.

m-probabilities are estimated from pairs the strong keys linked, u-probabilities from random pairs;
the weight of a comparison level is log2(m/u) (`identity_model`). Candidate pairs come from the blocking
rules; a pair's match weight is the prior's plus its levels' weights. (A later issue replaces this model
with Splink.)

Output: `identity_model`, `int_identity__candidates`, `int_identity__scored`, `int_identity__fs_links`.
"""

from __future__ import annotations

import math

from transforms.config import IdentityConfig, ProbabilisticConfig
from transforms.database import Database
from transforms.identity.levels import levels_sql
from transforms.identity.tables import build
from transforms.sqltext import bind, quote

FS_LINKS_COLUMNS = "rid_a bigint, rid_b bigint, match_weight double, match_probability double, evidence varchar"
MODEL_COLUMNS = "comparison varchar, level varchar, m_probability double, u_probability double, weight double"


def pair_levels_sql(pairs: str, records: str, comparisons, extra: str = "") -> str:
    """The levels of `comparisons` for each pair (rid_a, rid_b) of `pairs`, records joined from `records`."""
    return (f"select {extra}{levels_sql(comparisons)}\n"
            f"from {quote(pairs)} as p\n"
            f"join {quote(records)} as l on l.rid = p.rid_a\n"
            f"join {quote(records)} as r on r.rid = p.rid_b")


def level_counts_sql(comparison: str, pairs: str) -> str:
    """Pairs of `pairs` per level of `comparison` (levels that are null, no evidence, are not counted)."""
    return (f"select {quote(comparison)}, count(*), sum(count(*)) over () from {quote(pairs)} "
            f"where {quote(comparison)} is not null group by 1")


def blocking_rule_sql(rule) -> str:
    """Candidate pairs of one blocking rule: records of different deterministic clusters equal on every field
    of `rule`, skipping blocks larger than `$max_block_size`."""
    cols = ", ".join(quote(c) for c in rule)
    on = " and ".join(f"l.{quote(c)} = r.{quote(c)}" for c in rule)
    not_null = " and ".join(f"{quote(c)} is not null" for c in rule)
    return f"""select l.rid as rid_a, r.rid as rid_b
from (select *, count(*) over (partition by {cols}) as block_size
      from int_identity__fs_records where {not_null}) as l
join int_identity__fs_records as r on {on} and l.rid < r.rid and l.det_label <> r.det_label
where l.block_size <= $max_block_size"""


def candidates_sql(blocking) -> str:
    """The distinct candidate pairs of all blocking rules."""
    return "select distinct * from (" + "\nunion all\n".join(blocking_rule_sql(rule) for rule in blocking) + ")"


def scored_sql(comparisons) -> str:
    """Each candidate pair's levels, match weight ($prior_weight plus the identity_model weight of each level,
    0 for a level without one), match probability and evidence text. Comparison names are bound as
    `$comparison_<i>`."""
    joins = "\n    ".join(
        f"left join identity_model as w{i} on w{i}.comparison = $comparison_{i} and w{i}.level = s.{quote(c)}"
        for i, c in enumerate(comparisons))
    weight = " + ".join(["$prior_weight", *(f"coalesce(w{i}.weight, 0)" for i in range(len(comparisons)))])
    evidence = ", ".join(f"$comparison_{i} || '=' || {quote(c)}" for i, c in enumerate(comparisons))
    return f"""with levels as (
    {pair_levels_sql("int_identity__candidates", "int_identity__fs_records", comparisons,
                     "p.rid_a, p.rid_b, l.det_label as label_a, r.det_label as label_b, ")}
),
scored as (
    select s.*, {weight} as match_weight
    from levels as s
    {joins}
),
final as (
    select *, 1 / (1 + pow(2, -match_weight)) as match_probability, concat_ws(', ', {evidence}) as evidence
    from scored
)
select * from final"""


def _params(p: ProbabilisticConfig) -> dict:
    return {"name_close": p.name_close, "street_close": p.street_close, "threshold": p.threshold,
            "seed": p.seed, "u_pairs": p.u_pairs, "max_block_size": p.max_block_size,
            **{f"comparison_{i}": c for i, c in enumerate(p.comparisons)}}


def build_training_pairs(db: Database, p: ProbabilisticConfig) -> None:
    """int_identity__m_pairs (levels of deterministically linked pairs of different systems) and
    int_identity__u_pairs (levels of random pairs from different deterministic clusters)."""
    params = _params(p)
    m_pairs = pair_levels_sql("int_identity__det_links", "int_identity__fs_records", p.comparisons) \
        + "\nwhere l.system <> r.system"
    db.run("identity.int_identity__m_pairs", f"create or replace table int_identity__m_pairs as {m_pairs}",
           bind(m_pairs, params))
    build(db, "int_identity__numbered")
    records = max(db.count("int_identity__fs_records"), 1)
    build(db, "int_identity__u_draws", params | {"records": records})
    build(db, "int_identity__u_pair_ids")
    u_pairs = pair_levels_sql("int_identity__u_pair_ids", "int_identity__fs_records", p.comparisons)
    db.run("identity.int_identity__u_pairs", f"create or replace table int_identity__u_pairs as {u_pairs}",
           bind(u_pairs, params))


def fit_model(db: Database, comparisons) -> None:
    """identity_model: m and u probabilities and weights per comparison level, from the training pairs."""
    rows = [(comparison, side, level, n, total)
            for comparison in comparisons for side in ("m", "u")
            for level, n, total in db.rows(f"identity.level counts {comparison} {side}",
                                           level_counts_sql(comparison, f"int_identity__{side}_pairs"))]
    db.run("identity.int_identity__model_counts", "create or replace table int_identity__model_counts "
           "(comparison varchar, side varchar, level varchar, n bigint, total bigint)")
    db.run_many("identity.int_identity__model_counts rows",
                "insert into int_identity__model_counts values (?, ?, ?, ?, ?)", rows)
    build(db, "identity_model")


def prior(db: Database) -> float:
    """The prior match probability: the share of all record pairs that the strong keys linked (a lower bound
    of the match rate), kept within [1e-9, 0.5]."""
    n_records, det_pairs = db.one("identity.prior", """
        select (select count(*) from int_identity__fs_records),
               (select coalesce(sum(n * (n - 1) / 2), 0) from
                   (select count(*) as n from int_identity__fs_records group by det_label))""")
    all_pairs = max(n_records * (n_records - 1) / 2, 1)
    return min(max(det_pairs / all_pairs, 1e-9), 0.5)


def link_probabilistically(db: Database, identity: IdentityConfig) -> dict:
    """Fit the model, score the candidate pairs and keep the links (int_identity__fs_links).

    Returns candidate_pairs, probabilistic_links and the prior."""
    p = identity.probabilistic
    params = _params(p)
    build(db, "int_identity__fs_records")
    build_training_pairs(db, p)
    fit_model(db, p.comparisons)
    prior_probability = prior(db)
    candidates = candidates_sql(p.blocking)
    db.run("identity.int_identity__candidates", f"create or replace table int_identity__candidates as {candidates}",
           bind(candidates, params))
    scored = scored_sql(p.comparisons)
    prior_weight = math.log2(prior_probability / (1 - prior_probability))
    db.run("identity.int_identity__scored", f"create or replace table int_identity__scored as {scored}",
           bind(scored, params | {"prior_weight": prior_weight}))
    build(db, "int_identity__fs_links", params)
    return {"candidate_pairs": db.count("int_identity__candidates"),
            "probabilistic_links": db.count("int_identity__fs_links"), "prior": prior_probability}


def no_probabilistic_links(db: Database) -> dict:
    """Empty int_identity__fs_links and identity_model, for when the model is disabled."""
    db.run("identity.int_identity__fs_links empty", f"create or replace table int_identity__fs_links ({FS_LINKS_COLUMNS})")
    db.run("identity.identity_model empty", f"create or replace table identity_model ({MODEL_COLUMNS})")
    return {"candidate_pairs": 0, "probabilistic_links": 0, "prior": None}
