"""Identity accuracy against a ground truth (demo data): pairwise precision, recall and F1."""

from __future__ import annotations

import duckdb

EVALUATE_SQL = """
with joined as (
    select i.customer_id, t.person_id
    from customer_identities as i
    join truth as t using (system, entity, record_id)
),
predicted as (select count(*) as n from joined group by customer_id),
actual as (select count(*) as n from joined group by person_id),
agreed as (select count(*) as n from joined group by customer_id, person_id)
select
    (select count(*) from joined) as records,
    (select count(*) from truth) as truth_records,
    (select coalesce(sum(n * (n - 1) / 2), 0) from agreed) as true_positive_pairs,
    (select coalesce(sum(n * (n - 1) / 2), 0) from predicted) as predicted_pairs,
    (select coalesce(sum(n * (n - 1) / 2), 0) from actual) as true_pairs
"""


def evaluate_identity(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Pairwise scores of `customer_identities` against `truth(system, entity, record_id, person_id)`."""
    records, truth_records, tp, predicted, actual = con.execute(EVALUATE_SQL).fetchall()[0]
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"records": records, "truth_records": truth_records, "true_positive_pairs": int(tp),
            "predicted_pairs": int(predicted), "true_pairs": int(actual),
            "precision": precision, "recall": recall, "f1": f1}
