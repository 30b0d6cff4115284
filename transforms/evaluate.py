"""Identity accuracy against a ground truth (the demo data): pairwise and B-cubed scores.

Scopes:
- `all`: every record in the ground truth;
- `identifiable`: records that carry at least one identifying attribute (a strong identifier or a name);
  a chatbot session without an email or a device nobody signed in on cannot be attributed by any method;
- `fuzzy_linkable`: records that share no normalised strong identifier with any other record of the same
  person, but agree with one of them on the name and on the birth date or the address (street or
  postcode), as the warranty cards do with CRM and loyalty records: only the probabilistic model can
  link them, and it has the evidence to. Records whose only evidence is a name, or a name and a
  near-identical email, are not in it: on the demo data those agree with the truth only 7-9 times in 10,
  below any useful threshold, and the model rightly leaves them apart.
Pairwise: precision = true pairs found / pairs predicted, recall = true pairs found / true pairs (pairs
involving at least one record of the scope). B-cubed (Bagga & Baldwin): per record, precision = share of
its predicted cluster that is truly its person, recall = share of its person found in its cluster; averaged.
"""

from __future__ import annotations

import duckdb

SCOPES = ("all", "identifiable", "fuzzy_linkable")

PREPARE_SQL = """
create or replace temp table eval_records as
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
    where sb_name_level(l.name_key, l.name_partial, r.name_key, r.name_partial, 0.88) in ('exact', 'close', 'partial')
      and (sb_birth_level(l.birth_date, r.birth_date) in ('exact', 'close')
           or sb_text_level(l.street_key, r.street_key, 0.9) in ('exact', 'close')
           or sb_exact_level(l.postcode_key, r.postcode_key) = 'exact')
)
select j.*,
       (x.named or k.rid is not null) as identifiable,
       s.rid is null and f.rid is not null as fuzzy_linkable
from joined as j
join attributes as x using (rid)
left join keyed as k using (rid)
left join strong_mates as s using (rid)
left join fuzzy_evidence as f using (rid)
"""

# pairs are counted from per-group sizes; a pair is in scope when at least one of its records is
SCORES_SQL = """
with r as (
    select *, case $scope when 'all' then true when 'identifiable' then identifiable else fuzzy_linkable end as in_scope
    from eval_records
),
predicted as (
    select count(*) as predicted, count(*) filter (where a.person_id = b.person_id) as tp
    from r as a join r as b on a.customer_id = b.customer_id and a.rid < b.rid
    where a.in_scope or b.in_scope
),
actual as (
    select count(*) as actual
    from r as a join r as b on a.person_id = b.person_id and a.rid < b.rid
    where a.in_scope or b.in_scope
),
cluster_sizes as (select customer_id, count(*) as n from r group by 1),
person_sizes as (select person_id, count(*) as n from r group by 1),
cell_sizes as (select customer_id, person_id, count(*) as n from r group by 1, 2),
bcubed as (
    select sum(c.n / k.n) as precision_sum, sum(c.n / p.n) as recall_sum, count(*) as records
    from r join cell_sizes as c using (customer_id, person_id)
    join cluster_sizes as k using (customer_id) join person_sizes as p using (person_id)
    where r.in_scope
)
select (select count(*) from r where in_scope), predicted.tp, predicted.predicted, actual.actual,
       bcubed.precision_sum, bcubed.recall_sum
from predicted, actual, bcubed
"""


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def evaluate_identity(con: duckdb.DuckDBPyConnection) -> dict:
    """Scores of `customer_identities` against `truth(system, entity, record_id, person_id)`, per scope.

    Needs int_identity__records, int_identity__all_keys and the level macros (the identity step's) for the scopes.
    Top-level keys repeat the `all` scope for callers that want one figure.
    """
    con.execute(PREPARE_SQL)
    truth_records = con.execute("select count(*) from truth").fetchall()[0][0]
    out: dict = {"truth_records": truth_records, "scopes": {}}
    for scope in SCOPES:
        records, tp, predicted, actual, bp, br = con.execute(SCORES_SQL, {"scope": scope}).fetchall()[0]
        # parallel float sums differ in the last bits from run to run: round so that reruns agree
        bp, br = round(float(bp or 0), 9), round(float(br or 0), 9)
        precision = tp / predicted if predicted else 1.0
        recall = tp / actual if actual else 1.0
        b_precision = bp / records if records else 1.0
        b_recall = br / records if records else 1.0
        out["scopes"][scope] = {
            "records": records, "true_positive_pairs": int(tp), "predicted_pairs": int(predicted),
            "true_pairs": int(actual), "precision": precision, "recall": recall, "f1": _f1(precision, recall),
            "bcubed_precision": b_precision, "bcubed_recall": b_recall, "bcubed_f1": _f1(b_precision, b_recall),
            "bcubed_precision_sum": float(bp or 0), "bcubed_recall_sum": float(br or 0),
        }
    out |= {k: v for k, v in out["scopes"]["all"].items()}
    return out


def identity_metric_rows(scores: dict) -> list[tuple]:
    """Rows (family, metric, dimension, numerator, denominator, detail) for the metrics table."""
    rows = []
    for scope, s in scores["scopes"].items():
        rows += [
            ("identity", "pairwise_precision", scope, s["true_positive_pairs"], s["predicted_pairs"],
             f"{s['records']} records in scope"),
            ("identity", "pairwise_recall", scope, s["true_positive_pairs"], s["true_pairs"],
             f"{s['records']} records in scope"),
            ("identity", "bcubed_precision", scope, s["bcubed_precision_sum"], s["records"], None),
            ("identity", "bcubed_recall", scope, s["bcubed_recall_sum"], s["records"], None),
        ]
    return rows
