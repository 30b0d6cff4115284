"""The warehouse models and metrics: SQL files under transforms/sql, run in order on one connection."""

from __future__ import annotations

import logging
import re
from datetime import date
from importlib import resources

import duckdb

log = logging.getLogger(__name__)

MODELS = ("dim_customers", "fct_orders", "fct_support_cases", "fct_touchpoints")
METRICS_COLUMNS = ("run_id", "as_of_date", "metric_date", "family", "metric", "dimension",
                   "numerator", "denominator", "value", "detail")
_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


def load_sql(name: str) -> str:
    """The text of transforms/sql/<name>.sql."""
    return resources.files("transforms").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def metric_names() -> list[str]:
    """Every metric SQL file (metric_*.sql), sorted."""
    files = resources.files("transforms").joinpath("sql").iterdir()
    return sorted(f.name[:-4] for f in files if f.name.startswith("metric_") and f.name.endswith(".sql"))


def bind(sql: str, params: dict) -> dict:
    """The subset of `params` that `sql` uses (DuckDB rejects unused named parameters)."""
    used = set(_PARAM.findall(re.sub(r"--[^\n]*", "", sql)))
    missing = used - set(params)
    if missing:
        raise KeyError(f"SQL needs parameters {sorted(missing)}")
    return {k: params[k] for k in used}


def build_models(con: duckdb.DuckDBPyConnection, params: dict) -> dict[str, int]:
    """Create every model table from its SQL file; return rows per table."""
    rows = {}
    for name in MODELS:
        sql = load_sql(name)
        con.execute(f"create or replace table {name} as {sql}", bind(sql, params))
        rows[name] = con.execute(f"select count(*) from {name}").fetchall()[0][0]
        log.debug("model %s: %d rows", name, rows[name])
    return rows


def build_metrics(con: duckdb.DuckDBPyConnection, params: dict) -> int:
    """Create table `metrics` (long format) from every metric SQL file; return its row count.

    Each file selects family, metric, metric_date, dimension, numerator, denominator and detail; the
    value is numerator / denominator for every metric (null when the denominator is 0), computed here.
    `params` must hold run_id and as_of_date plus whatever the metric files use.
    """
    con.execute("""
        create or replace table metrics (
            run_id varchar, as_of_date date, metric_date date, family varchar, metric varchar,
            dimension varchar, numerator double, denominator double, value double, detail varchar)
    """)
    for name in metric_names():
        _insert_metrics(con, load_sql(name), params)
    return con.execute("select count(*) from metrics").fetchall()[0][0]


def build_quality_metrics(con: duckdb.DuckDBPyConnection, params: dict) -> int:
    """Append the quality family (quality_metrics.sql over tables quality_sources and quality_rules, the
    run's validation counts) to table `metrics`; return the rows added."""
    before = con.execute("select count(*) from metrics").fetchall()[0][0]
    _insert_metrics(con, load_sql("quality_metrics"), params)
    return con.execute("select count(*) from metrics").fetchall()[0][0] - before


def _insert_metrics(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> None:
    con.execute(
        f"insert into metrics select cast($run_id as varchar), cast($as_of_date as date), "
        f"metric_date, family, metric, dimension, cast(numerator as double), cast(denominator as double), "
        f"cast(numerator as double) / nullif(cast(denominator as double), 0), detail from ({sql})",
        bind(sql, params) | {"run_id": params["run_id"], "as_of_date": params["as_of_date"]},
    )


