"""End to end on Spark: a demo night with `engine: spark` (identity, models and metrics on Spark local[2]) publishes
the warehouse the same night publishes on DuckDB: the same files, the same Parquet column types, the same rows.

Both nights run over the session's demo exports (the `first_night` fixture's inputs), each in a data directory of
its own, through `run_night` (the sequence the Prefect flow runs). Rows are compared as multisets: floats to a
relative 1e-9, timestamps in UTC, lists in order; only what names or times the run itself (run ids, the ledger's
timings and settings) is left out.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest

from tests.engines import comparable as _value, comparable_row as _row
from tests.conftest import DEMO_END, demo_data_dir

pytestmark = pytest.mark.spark

# the run's own record: its id, its times, its settings (the engine among them)
LEDGER = ("pipeline_runs", "pipeline_run_files", "pipeline_run_sources")
RUN_COLUMNS = ("run_id", "issued_run_id", "changed_run_id")


@pytest.fixture(scope="module")
def nights(tmp_path_factory, demo_exports):
    """{engine: (the published version's directory, the night's summary)} for engine duckdb and spark."""
    from flows.settings import Settings
    from flows.spark_db import stop_spark
    from flows.steps.run import run_night
    from flows.steps.spec import make_spec

    published = {}
    for engine in ("duckdb", "spark"):
        data = demo_data_dir(tmp_path_factory.mktemp(f"night_{engine}") / "data", demo_exports)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SILOBRIDGE_DATA_DIR", str(data))
            mp.setenv("SILOBRIDGE_ENGINE", engine)
            settings = Settings()
            spec = make_spec(settings, DEMO_END, None, False, datetime.now(timezone.utc))
            summary = run_night(spec, settings.hash_key())
        published[engine] = ((spec.warehouse_dir / "current").resolve(), summary)
    yield published
    stop_spark()


def test_a_spark_night_publishes_the_duckdb_nights_files_with_their_types(nights):
    import pyarrow.parquet as pq

    duck, spark = (sorted(p.name for p in nights[e][0].glob("*.parquet")) for e in ("duckdb", "spark"))
    assert spark == duck
    assert {"customer_identities.parquet", "identity_links.parquet", "identity_model.parquet", "dim_customers.parquet",
            "fct_orders.parquet", "metrics.parquet"} <= set(duck)
    for name in duck:
        types = {e: [(f.name, str(f.type)) for f in pq.read_schema(nights[e][0] / name)] for e in nights}
        assert types["spark"] == types["duckdb"], name


def test_a_spark_night_publishes_the_duckdb_nights_rows(nights):
    import pyarrow.parquet as pq

    differing = []
    for path in sorted(nights["duckdb"][0].glob("*.parquet")):
        tables = {e: pq.read_table(nights[e][0] / path.name) for e in nights}
        if tables["spark"].num_rows != tables["duckdb"].num_rows:
            differing.append(f"{path.stem}: {tables['duckdb'].num_rows} rows on DuckDB, {tables['spark'].num_rows} "
                             "on Spark")
            continue
        if path.stem in LEDGER:
            continue
        keep = [c for c in tables["duckdb"].column_names if c not in RUN_COLUMNS]
        d, s = (Counter(map(_row, tables[e].select(keep).to_pylist())) for e in ("duckdb", "spark"))
        if d != s:
            differing.append(f"{path.stem}: {sum((d - s).values())} of {tables['duckdb'].num_rows} DuckDB rows not "
                             f"on Spark; e.g. duckdb {list(d - s)[:1]} spark {list(s - d)[:1]}")
    assert not differing, "\n".join(differing)


def test_a_spark_night_reports_the_duckdb_nights_counts(nights):
    duck, spark = nights["duckdb"][1], nights["spark"][1]
    assert duck["identity"]["probabilistic_links"] > 0  # the demo exercises the probabilistic linker
    identity = {e: {k: v for k, v in nights[e][1]["identity"].items() if k not in ("seconds", "model")} for e in nights}
    # the model each trained: the same records, not reused; the runs (their ids) differ
    assert [{k: v for k, v in nights[e][1]["identity"]["model"].items() if k != "trained_run_id"} for e in nights] == \
        [{"trained_run_date": "2026-11-20", "trained_records": 614, "reused": False}] * 2
    assert _value(identity["spark"]) == _value(identity["duckdb"])
    assert spark["model"] == duck["model"]
    assert _value(spark["metrics"]["headline"]) == _value(duck["metrics"]["headline"])


