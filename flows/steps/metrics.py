"""Step metrics: this run's metrics (models, quality, identity scores) appended to the history of earlier
runs, into out/metrics.parquet; and the run's headline figures."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from flows import warehouse
from flows.db import Database
from flows.steps.analysis import open_analysis, params
from flows.steps.identity import attach_identity
from flows.steps.policy import HEADLINE_DISTRIBUTIONS, HEADLINE_SKIP, headline_lines
from flows.steps.results import HeadlineLine, MetricsResult
from flows.steps.spec import RunSpec
from flows.steps.validate import QUALITY_RULES_SCHEMA, QUALITY_SOURCES_SCHEMA
from transforms.model import MODELS, append_metrics, build_metrics, build_quality_metrics, metric_definitions

IDENTITY_SCORES_SQL = ("select family, metric, null::date as metric_date, dimension, numerator, denominator, detail "
                       "from identity_evaluation")


def metrics_step(spec: RunSpec, hash_key: str) -> MetricsResult:
    """Compute this run's metrics and append them to the history of earlier runs (unless full_refresh), whose
    rows of the same as-of date (a rerun of the night) they replace; returns the new rows, the history's rows and the headline."""
    cfg = spec.config()
    p = params(spec, cfg)
    with open_analysis(spec, cfg, hash_key, "metrics", spec.engine) as db:
        attach_metric_inputs(db, spec)
        new_rows = (build_metrics(db, p)
                    + build_quality_metrics(db, p)
                    + append_metrics(db, IDENTITY_SCORES_SQL, p))
        previous = None if spec.full_refresh else warehouse.current_version(spec.warehouse_dir)
        if previous is not None and (previous / "metrics.parquet").exists():
            db.view_over_parquet("previous_metrics", previous / "metrics.parquet")
            # a rerun of a night replaces that night's rows: one row per metric and as-of date in the history
            db.run("metrics.history", "insert into metrics select * from previous_metrics "
                                      "where run_id <> $r and as_of_date <> $d", {"r": spec.run_id, "d": spec.run_date})
        db.run("metrics_sorted", "create view metrics_sorted as select * from metrics "
                                 "order by run_id, family, metric, metric_date, dimension")
        total = db.write_parquet("metrics_sorted", spec.path("out", "metrics.parquet"))
    # the headline: a small query over the written file, on DuckDB whatever the engine
    with spec.connect("metrics") as db:
        db.view_over_parquet("metrics", spec.path("out", "metrics.parquet"))
        headline = _headline(db, spec.run_id, spec.run_date)
    return {"rows": new_rows, "history_rows": total, "headline": headline}


def attach_metric_inputs(db: Database, spec: RunSpec) -> None:
    """What the metric files read: the identity tables, the models of out/ and the validation counts."""
    attach_identity(db, spec)
    for table in MODELS:
        db.view_over_parquet(table, spec.path("out", f"{table}.parquet"))
    _attach_quality(db, spec)


def _attach_quality(db: Database, spec: RunSpec) -> None:
    """quality_rules and quality_sources: the validate step's tables (empty when no source was validated,
    which cannot happen in a flow run; keeps the step usable alone)."""
    for table, schema in (("rules", QUALITY_RULES_SCHEMA), ("sources", QUALITY_SOURCES_SCHEMA)):
        if spec.path("quality", f"{table}.parquet").exists():
            db.view_over_parquet(f"quality_{table}", spec.path("quality", f"{table}.parquet"))
        else:
            db.register(f"quality_{table}", pa.Table.from_pylist([], schema=schema))


def _headline(db: Database, run_id: str, run_date: date) -> list[HeadlineLine]:
    """The run's headline lines (policy.headline_lines) from its metric rows: the whole-window row of a metric
    when there is one, else the as-of day's; notable dimensions by highest value."""
    rows = db.rows("headline", """
        select family, metric, dimension, numerator, denominator, value, detail,
               metric_date is null and bool_or(metric_date is not null) over (partition by metric) as whole_window,
               list_contains($dist, metric) as distribution
        from metrics
        where run_id = $r and not list_contains($skip, metric)
        qualify metric_date is null or metric_date = $d
        order by family, metric, metric_date nulls first,
                 case when distribution then try_cast(dimension as integer) end, value desc nulls last, dimension
        """, {"r": run_id, "d": run_date, "skip": HEADLINE_SKIP, "dist": HEADLINE_DISTRIBUTIONS})
    return headline_lines(rows, {name: d["unit"] for name, d in metric_definitions().items()})
