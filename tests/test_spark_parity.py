"""Parity of the engines: every metric SQL file gives the same rows on DuckDB and on Spark local[2] (the model
files are compared as an `engine: spark` night publishes them, rows and types: test_spark_night.py).

One demo night runs on DuckDB up to the metrics step (not published: the run directory keeps its staged,
identity, model and metric tables); then each metric file of transforms/sql runs on DuckDB and on Spark over the
same inputs, and the two results are compared as row multisets: floats to a relative 1e-9, timestamps in UTC,
lists in order. `make test` runs these after the main suite (marker `spark`; `make spark` installs pyspark and Java).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from importlib import resources

import pytest

from tests.engines import comparable_row as _row
from tests.conftest import DEMO_END, demo_data_dir
from transforms.model import MODELS

pytestmark = pytest.mark.spark

# Every file of transforms/sql: all must give identical rows (a file that cannot is a failing test, not a skip).
SQL_FILES = sorted(f.name[:-4] for f in resources.files("transforms").joinpath("sql").iterdir()
                   if f.name.endswith(".sql"))
PARITY = [
    "customer_journeys", "dim_customers", "fct_orders", "fct_support_cases", "fct_touchpoints",
    "int_customers__chosen", "int_touchpoints__sequenced",
    "metric_complaint_promo", "metric_complete_360", "metric_contact_data_disagreement",
    "metric_customers_by_system_count", "metric_freshness", "metric_linked_to_other_system_share",
    "metric_policy_conflicts", "metric_post_sale_feedback", "metric_price_mismatch", "metric_promo_not_honoured",
    "metric_repeat_contact_rate", "metric_service_cases", "metric_system_overlap", "metric_system_records",
    "metric_systems_integrated", "model_rows", "quality_metrics",
]


@pytest.fixture(scope="module")
def night(tmp_path_factory, demo_exports):
    """(spec, hash key) of a demo night run on DuckDB through the metrics step, unpublished (its run directory
    kept). Identity without the probabilistic linker: its tables are the models' input here, not under test."""
    from flows.settings import Settings
    from flows.steps.run import run_night, run_step
    from flows.steps.spec import make_spec

    data = demo_data_dir(tmp_path_factory.mktemp("parity") / "data", demo_exports, probabilistic=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SILOBRIDGE_DATA_DIR", str(data))
        settings = Settings()
        hash_key = settings.hash_key()
        spec = make_spec(settings, DEMO_END, None, False, datetime.now(timezone.utc))
        summary = run_night(spec, hash_key, on_step=lambda step, spec, summary, key:
                            {} if step.name == "publish" else run_step(step, spec, summary, key))
    return spec, hash_key, summary


@pytest.fixture(scope="module")
def engines(night):
    """The two databases, DuckDB and Spark local[2], each set up as the metrics step is (the staged kinds, the
    identity tables, DuckDB's models of the night, the validation counts, the UDFs and configuration tables)."""
    from flows.steps.analysis import open_analysis
    from flows.steps.metrics import attach_metric_inputs

    spec, hash_key, _ = night
    cfg = spec.config()
    dbs = {}
    for engine in ("duckdb", "spark"):
        dbs[engine] = open_analysis(spec, cfg, hash_key, f"parity.{engine}", engine)
        attach_metric_inputs(dbs[engine], spec)
    yield dbs
    for db in dbs.values():
        db.close()  # the Spark session stays for the next module (it takes 10-50 s to start)


def test_every_sql_file_is_in_the_parity_list():
    assert PARITY == SQL_FILES


@pytest.mark.parametrize("name", [n for n in PARITY if n not in MODELS])
def test_sql_file_gives_the_same_rows_on_both_engines(name, engines, night):
    """A metric or quality file: its rows on both databases set up as the metrics step is. The five model files
    are compared as the Parquet files an `engine: spark` night publishes, rows and types (test_spark_night)."""
    from flows.steps.analysis import params
    from transforms.model import load_sql
    from transforms.sqltext import bind

    spec, _, _ = night
    sql = load_sql(name)
    p = params(spec, spec.config())
    results = {engine: db.arrow(f"parity.{name}", sql, bind(sql, p)) for engine, db in engines.items()}
    duck, spark = results["duckdb"], results["spark"]
    assert spark.column_names == duck.column_names
    assert duck.num_rows > 0, f"{name}: no rows on the demo, nothing compared"
    d, s = Counter(map(_row, duck.to_pylist())), Counter(map(_row, spark.to_pylist()))
    only_duck, only_spark = d - s, s - d
    assert not only_duck and not only_spark, (
        f"{name}: {sum(only_duck.values())} of {duck.num_rows} DuckDB rows differ on Spark; e.g. "
        f"duckdb {list(only_duck)[:2]} spark {list(only_spark)[:2]}")


