"""The warehouse models and metrics: SQL files under transforms/sql, run in order on one connection."""

from __future__ import annotations

import logging
import re
from importlib import resources
from pathlib import Path

from transforms.database import Database
from transforms.sqltext import bind, create_table, create_view, load_sql as _load, quote

log = logging.getLogger(__name__)

MODELS = ("dim_customers", "fct_orders", "fct_support_cases", "fct_touchpoints", "customer_journeys")
# Tables the models select from, built before the model that first reads them (not published).
INTERMEDIATE = {"dim_customers": ("int_customers__chosen",), "fct_touchpoints": ("int_touchpoints__sequenced",)}
# The intermediate tables each model reads (its own INTERMEDIATE and those built for an earlier model).
READS = {**INTERMEDIATE, "customer_journeys": ("int_touchpoints__sequenced",)}
# Models that only select columns or rows of an intermediate table, in its order: views, not copies (each is read
# once, by the Parquet writer; DuckDB keeps a table's insertion order through a projection and a filter, unless
# preserve_insertion_order is turned off). Written from a view, a never-null column is an optional Parquet column
# (from a table, DuckDB marks it required); its values are the same.
VIEWS = ("fct_touchpoints", "customer_journeys")
METRICS_COLUMNS = ("run_id", "as_of_date", "metric_date", "family", "metric", "dimension",
                   "numerator", "denominator", "value", "detail")
# A metric's definition in its SQL file's header: "-- metric: <family>/<name> [(<unit>)]" then one
# paragraph. The unit says what the value is; without one it is a share (numerator / denominator).
_DEFINITION = re.compile(r"^metric:\s*([a-z]+)/([a-z0-9_]+)(?:\s+\(([a-z ,]+)\))?\s*$")
# how a metric's change reads: a rise is good ("higher is better"), bad ("lower is better"), or neither
DIRECTIONS = {"higher is better": "higher", "lower is better": "lower"}
UNITS = ("share", "per case", "hours", "minutes", "days")


# Attributes of the golden record (dim_customers) and the survivorship rule each follows.
SURVIVING_ATTRIBUTES = ("name", "email", "phone", "birth_date", "address", "account_type", "loyalty_id", "login_id")


def register_survivorship(db: Database, rules: dict[str, list[str]]) -> None:
    """Table `survivorship(system, <attribute>_rank...)`: a system's rank for each attribute (1 = most
    trusted). Systems not listed for an attribute rank after every listed one; within a rank the newest
    record wins (int_customers__chosen.sql, read by dim_customers.sql)."""
    unknown = set(rules) - set(SURVIVING_ATTRIBUTES)
    if unknown:
        raise ValueError(f"survivorship rules for unknown attributes {sorted(unknown)}; known: {SURVIVING_ATTRIBUTES}")
    systems = sorted({s for ranked in rules.values() for s in ranked})
    cols = ", ".join(f"{quote(a + '_rank')} integer" for a in SURVIVING_ATTRIBUTES)
    db.run("model.survivorship", f"create or replace table survivorship (system varchar, {cols})")
    rows = [[system, *(rules[a].index(system) + 1 if system in rules.get(a, []) else None for a in SURVIVING_ATTRIBUTES)]
            for system in systems]
    db.run_many("model.survivorship rows",
                f"insert into survivorship values ({', '.join('?' * (len(SURVIVING_ATTRIBUTES) + 1))})", rows)


def load_sql(name: str) -> str:
    """The text of transforms/sql/<name>.sql."""
    return _load("transforms", name)


def metric_names() -> list[str]:
    """Every metric SQL file (metric_*.sql), sorted."""
    files = resources.files("transforms").joinpath("sql").iterdir()
    return sorted(f.name[:-4] for f in files if f.name.startswith("metric_") and f.name.endswith(".sql"))


def metric_definitions() -> dict[str, dict]:
    """Every metric's definition from the header comments of the metric SQL files.

    Returns {metric: {"family", "unit", "direction", "file", "definition"}} in file order; the header of a
    metric file is its leading `--` lines, where each "-- metric: <family>/<name> [(<unit>, <direction>)]"
    line starts that metric's paragraph (unit default share; direction "higher is better" or "lower is
    better", none for metrics whose change is neither good nor bad).
    """
    out: dict[str, dict] = {}
    for name in metric_names():
        current = None
        for line in load_sql(name).splitlines():
            if not line.startswith("--"):
                break
            text = line[2:].strip()
            m = _DEFINITION.match(text)
            if m:
                unit, direction = "share", None
                for part in filter(None, (p.strip() for p in (m.group(3) or "").split(","))):
                    if part in DIRECTIONS:
                        direction = DIRECTIONS[part]
                    elif part in UNITS:
                        unit = part
                    else:
                        raise ValueError(f"{name}.sql: metric {m.group(2)}: {part!r} is neither a unit {UNITS} "
                                         f"nor a direction {tuple(DIRECTIONS)}")
                current = {"family": m.group(1), "unit": unit, "direction": direction, "file": f"{name}.sql",
                           "definition": ""}
                if m.group(2) in out:
                    raise ValueError(f"metric {m.group(2)} is defined twice ({out[m.group(2)]['file']}, {name}.sql)")
                out[m.group(2)] = current
            elif current is not None and text:
                current["definition"] = f"{current['definition']} {text}".strip()
    return out


def build_models(db: Database, params: dict, out_dir: Path | None = None) -> dict[str, int]:
    """Create every model (a table, or a view in VIEWS) from its SQL file, after the intermediate tables it
    reads; return rows per model.

    With `out_dir`, each model is written to `<out_dir>/<model>.parquet` as soon as it is built and then read
    from that file (a view), and each intermediate table is dropped after its last reader: the database keeps
    no model in memory while it builds the next (at a million customers the touchpoints' sort spilled to disk
    beside the tables already built)."""
    rows = {}
    last_reader = {table: name for name in MODELS for table in READS.get(name, ())}
    for name in MODELS:
        for table in INTERMEDIATE.get(name, ()):
            sql = load_sql(table)
            db.run(f"model.{table}", create_table(table, sql), bind(sql, params))
        sql = load_sql(name)
        db.run(f"model.{name}", create_view(name, sql) if name in VIEWS else create_table(name, sql),
               bind(sql, params))
        if out_dir is None:
            rows[name] = db.count(name)
        else:
            path = out_dir / f"{name}.parquet"
            rows[name] = db.write_parquet(name, path)
            db.run(f"model.{name} drop", f"drop {'view' if name in VIEWS else 'table'} {quote(name)}")
            db.view_over_parquet(name, path)
            for table in sorted(t for t, reader in last_reader.items() if reader == name):
                db.run(f"model.{table} drop", f"drop table {quote(table)}")
        log.debug("model %s: %d rows", name, rows[name])
    return rows


def model_rows(db: Database) -> list[dict]:
    """Per staged source (kind, system, entity): rows staged, rows in its model table, rows merged with
    their reasons (model_rows.sql); returns one dict per source for the reconciliation past staging."""
    return db.df("model.model_rows", load_sql("model_rows")).to_dict("records")


def build_metrics(db: Database, params: dict) -> int:
    """Create table `metrics` (long format) from every metric SQL file; return its row count.

    Each file selects family, metric, metric_date, dimension, numerator, denominator and detail; the
    value is numerator / denominator for every metric (null when the denominator is 0), computed here.
    `params` must hold run_id and as_of_date plus whatever the metric files use.
    """
    db.run("metrics.create", """
        create or replace table metrics (
            run_id varchar, as_of_date date, metric_date date, family varchar, metric varchar,
            dimension varchar, numerator double, denominator double, value double, detail varchar)
    """)
    for name in metric_names():
        insert_metric(db, name, params)
    return db.count("metrics")


def insert_metric(db: Database, name: str, params: dict) -> None:
    """Append the rows of one metric file (`metric_<...>`) to table `metrics`."""
    _insert_metrics(db, name, load_sql(name), params)


def build_quality_metrics(db: Database, params: dict) -> int:
    """Append the quality family (quality_metrics.sql over tables quality_sources and quality_rules, the
    run's validation counts) to table `metrics`; return the rows added."""
    return append_metrics(db, load_sql("quality_metrics"), params, name="quality_metrics")


def append_metrics(db: Database, sql: str, params: dict, name: str = "appended") -> int:
    """Append the rows of `sql` (family, metric, metric_date, dimension, numerator, denominator, detail) to
    table `metrics`, with value = numerator / denominator; return the rows added. `name` names the
    statement in logs and errors."""
    before = db.count("metrics")
    _insert_metrics(db, name, sql, params)
    return db.count("metrics") - before


def _insert_metrics(db: Database, name: str, sql: str, params: dict) -> None:
    db.run(
        f"metrics.{name}",
        f"insert into metrics select cast($run_id as varchar), cast($as_of_date as date), "
        f"metric_date, family, metric, dimension, cast(numerator as double), cast(denominator as double), "
        f"cast(numerator as double) / nullif(cast(denominator as double), 0), detail from ({sql})",
        bind(sql, params) | {"run_id": params["run_id"], "as_of_date": params["as_of_date"]},
    )


