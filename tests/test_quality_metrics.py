"""The quality metric family (transforms/sql/quality_metrics.sql) on hand-written validation counts."""

from __future__ import annotations

import pyarrow as pa

from flows.db import Database
from flows.steps.validate import QUALITY_RULES_SCHEMA, QUALITY_SOURCES_SCHEMA
from tests.helpers import connect
from transforms.model import build_quality_metrics


def test_valid_share_quarantined_rows_by_rule_and_freshness_lag_with_stale_flag():
    con = Database(connect())
    con.run("metrics", """create table metrics (run_id varchar, as_of_date date, metric_date date, family varchar,
                   metric varchar, dimension varchar, numerator double, denominator double, value double,
                   detail varchar)""")
    sources = [
        {"source": "shop__orders", "status": "loaded", "rows_in": 200, "accepted": 190, "quarantined": 10,
         "held_back": 0, "freshness_field": "ordered_at", "lag_days": 0.5, "max_lag_days": 2.0, "stale": False},
        {"source": "pos__transactions", "status": "loaded", "rows_in": 100, "accepted": 100, "quarantined": 0,
         "held_back": 0, "freshness_field": "ordered_at", "lag_days": 3.25, "max_lag_days": 2.0, "stale": True},
        {"source": "erp__prices", "status": "held_back", "rows_in": 50, "accepted": 0, "quarantined": 1,
         "held_back": 49, "freshness_field": None, "lag_days": None, "max_lag_days": None, "stale": None},
    ]
    rules = [{"source": "shop__orders", "rule": "range:quantity", "severity": "reject", "failed": 10, "rows_in": 200},
             {"source": "shop__orders", "rule": "shape:email", "severity": "warn", "failed": 4, "rows_in": 200}]
    con.register("quality_sources", pa.Table.from_pylist(sources, schema=QUALITY_SOURCES_SCHEMA))
    con.register("quality_rules", pa.Table.from_pylist(rules, schema=QUALITY_RULES_SCHEMA))
    added = build_quality_metrics(con, {"run_id": "r1", "as_of_date": "2026-11-20"})
    got = con.rows("quality", "select metric, dimension, numerator, denominator, value, detail from metrics "
                      "where family = 'quality' and metric_date = date '2026-11-20' order by metric, dimension")
    assert added == 8
    assert got == [
        ("freshness_lag_days", "pos__transactions", 3.25, 1.0, 3.25, "stale: more than 2.0 days"),
        ("freshness_lag_days", "shop__orders", 0.5, 1.0, 0.5, None),
        ("quarantined_rows", "shop__orders|range:quantity", 10.0, 200.0, 0.05, "reject"),
        ("quarantined_rows", "shop__orders|shape:email", 4.0, 200.0, 0.02, "warn"),
        ("valid_share", "all", 290.0, 350.0, 290 / 350, None),
        ("valid_share", "erp__prices", 0.0, 50.0, 0.0, "held back"),
        ("valid_share", "pos__transactions", 100.0, 100.0, 1.0, None),
        ("valid_share", "shop__orders", 190.0, 200.0, 0.95, None),
    ]


def test_run_summary_lists_failing_rules_stale_sources_and_the_data_docs():
    from flows.steps.summary import failing_rules, summary_markdown

    validated = {
        "shop__orders": {"status": "loaded", "rows_in": 10, "accepted": 8, "quarantined": 2, "held_back": 0,
                         "rules": {"range:quantity": 2, "shape:email": 3},
                         "rule_severity": {"range:quantity": "reject", "shape:email": "warn"},
                         "freshness": {"field": "ordered_at", "lag_days": 3.5, "stale": True}},
        "erp__prices": {"status": "held_back", "rows_in": 4, "accepted": 0, "quarantined": 1, "held_back": 3,
                        "rules": {"accepted_values:currency": 1},
                        "rule_severity": {"accepted_values:currency": "critical"}, "freshness": None},
    }
    summary = {"run_id": "r1", "run_date": "2026-11-20", "validate": validated,
               "publish": {"version": "wh/versions/r1", "data_docs": "wh/versions/r1/data_docs/index.html"}}
    assert failing_rules(summary) == [("shop__orders", "shape:email", "warn", 3),
                                      ("shop__orders", "range:quantity", "reject", 2),
                                      ("erp__prices", "accepted_values:currency", "critical", 1)]
    md = summary_markdown(summary)
    assert "| erp__prices | held_back | 4 | 0 | 1 | 3 |" in md
    assert "| shop__orders | shape:email | warn | 3 |" in md
    assert "Stale sources: shop__orders (3.5 days)" in md
    assert md.endswith("Data Docs: wh/versions/r1/data_docs/index.html")
