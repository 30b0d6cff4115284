"""The Spark seam: a `Database` (transforms/database.py) over a SparkSession, running our DuckDB-dialect SQL.

The one module that imports pyspark. Each statement is parsed as DuckDB SQL, translated to Spark SQL by
`transforms.spark_dialect`, named, logged at DEBUG with its duration, and on failure raises `flows.db`'s
`StatementError` (the database's message with quoted values masked). DuckDB's statements that Spark's SQL
has no equivalent for on temporary views are carried out here on DataFrames:

- `create [or replace] table t as select ...`: the SELECT's rows, materialised (checkpointed) as view `t`;
- `create table t (col type, ...)`: an empty view of those columns;
- `insert into t select ... | values (...)`: the rows appended by position, view `t` re-materialised;
- `delete from t where c`: view `t` re-materialised without the rows where `c` holds;
- `read_parquet(...)` in a FROM clause: a DataFrame over those files (`union_by_name`: Spark's mergeSchema);
- `set ...`: DuckDB session settings, ignored (the session is set up once, in `connect`).

Tables are temporary views of one SparkSession: nothing is written to a metastore. `write_parquet` writes the
warehouse's layout: one Parquet file per table (zstd), timestamps as INT64 microseconds.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlglot import exp

from flows.db import Database, RowQueries, StatementError
from transforms.similarity import SPARK_FUNCTIONS
from transforms.spark_dialect import expand_macros, macro_definition, parse_duckdb, spark_sql

log = logging.getLogger("silobridge.spark")

# Session settings: deterministic and sized for one machine's small data unless a cluster's defaults apply.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",               # casts that fail raise, as DuckDB's do
    "spark.sql.adaptive.enabled": "true",
    # Catalyst's constraint propagation grows with every aliased CASE of a plan: on Splink's scoring query (a
    # union of blocking rules, each comparison a CASE of levels) the optimiser ran for minutes before any task
    # (jstack: getAllValidConstraints); the filters it would infer are the blocking rules' own
    "spark.sql.constraintPropagation.enabled": "false",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.sql.caseSensitive": "false",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
}
# local[N]: the driver is the only process; bind it to the loopback interface (no network)
# the driver's heap is a local session's whole memory (executors run inside it): Spark's default, 1 GB, filled
# with the identity step's materialised tables and Splink's scored pairs on the demo, and the JVM then spent
# minutes in full garbage collections (jstat: old generation 99.9%, 36 full GCs, 368 s)
LOCAL_CONF = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1", "spark.driver.memory": "4g"}


def _local_conf(master: str) -> dict[str, str]:
    """LOCAL_CONF, and the Python workers of UDFs run by this interpreter with this project importable (a
    cluster's workers need both installed: README "Running on Spark")."""
    import transforms

    root = str(Path(transforms.__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    # pyspark starts its workers with $PYSPARK_PYTHON (not the spark.pyspark.python setting) when it is set
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the JVM's own address lookup, on the loopback too
    # one shuffle partition per core (Spark's default, 200, is sized for a cluster: each is a task)
    cores = master[len("local["):-1] if master.startswith("local[") else "1"
    partitions = str(os.cpu_count() or 2) if cores == "*" else cores
    # Spark's catalog directory: it would create `spark-warehouse/` in the user's working directory (we create
    # no catalog tables; our warehouse is spec.warehouse_dir)
    catalog = str(Path(tempfile.gettempdir()) / "silobridge-spark-catalog")
    return LOCAL_CONF | {"spark.pyspark.python": sys.executable, "spark.executorEnv.PYTHONPATH": path,
                         "spark.sql.shuffle.partitions": partitions, "spark.sql.warehouse.dir": catalog}

_DUCK_TO_SPARK_TYPES = {"VARCHAR": "string", "BOOLEAN": "boolean", "BIGINT": "bigint", "INTEGER": "int",
                        "DOUBLE": "double", "DATE": "date", "TIMESTAMP": "timestamp_ntz",
                        "TIMESTAMPTZ": "timestamp"}


def spark_session(master: str = "local[2]", app_name: str = "silobridge", conf: dict[str, str] | None = None):
    """A SparkSession: `local[N]` (in this process's JVM), a cluster's master URL (`spark://`, `yarn`, `k8s://`)
    or a Spark Connect server (`sc://host:port`, no JVM here); with SESSION_CONF (and `conf` over it)."""
    from pyspark.logger import PySparkLogger
    from pyspark.sql import SparkSession

    # pyspark logs a failed statement's message, values quoted in clear, before raising it: the values may be
    # personal data, and the error reaches our logs anyway, masked (StatementError)
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True
    settings = SESSION_CONF | (_local_conf(master) if master.startswith("local") else {}) | (conf or {})
    if master.startswith("sc://"):
        builder = SparkSession.builder.remote(master)
        settings = {k: v for k, v in settings.items() if not k.startswith(("spark.ui", "spark.driver"))}
    else:
        builder = SparkSession.builder.master(master).appName(app_name)
        # Splink's jar of similarity functions, which its Spark backend registers (ours are DuckDB's copies,
        # `_register_similarity_functions`), from inside the splink package: nothing is downloaded (a Connect
        # server is started with it: README)
        from splink.backends.spark import similarity_jar_location

        settings = {"spark.jars": similarity_jar_location()} | settings
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    _register_similarity_functions(session)
    for key, value in settings.items():  # a session that existed already gets the SQL settings too
        if key.startswith("spark.sql.") and session.conf.isModifiable(key):  # not the static ones (catalog dir)
            session.conf.set(key, value)
    if not master.startswith("sc://"):
        # a failed task's log lines may quote its data; the failure reaches us as a StatementError, masked
        session.sparkContext.setLogLevel("FATAL")
    return session


def _register_similarity_functions(session) -> None:
    """DuckDB's Jaro-Winkler and Damerau-Levenshtein (transforms.similarity) as Arrow UDFs, for the identity SQL
    and Splink's levels (the rewrite rules call them; Splink's jar functions are not the same)."""
    from pyspark.sql import functions as F

    for name, (fn, _parameters, return_type) in SPARK_FUNCTIONS.items():
        session.udf.register(name, F.arrow_udf(_arrow_batch(fn), _DUCK_TO_SPARK_TYPES[return_type]))


class SparkDatabase(RowQueries):
    """One SparkSession: named DuckDB-dialect statements with bound parameters, translated, logged, errors
    named; tables are temporary views."""

    def __init__(self, spark, step: str = "", checkpoint_dir: Path | None = None):
        self._spark = spark
        self.step = step
        self._views: set[str] = set()
        self._parquet_n = 0
        self._macros: dict[str, tuple[list[str], exp.Expression]] = {}  # DuckDB macros, expanded in place
        self._links: Path | None = None

    @classmethod
    def connect(cls, master: str = "local[2]", step: str = "", conf: dict[str, str] | None = None) -> "SparkDatabase":
        """A database over the SparkSession of `master` (see `spark_session`)."""
        return cls(spark_session(master, conf=conf), step)

    # ---------------------------------------------------------------------------------- statements
    def _execute(self, name: str, sql: str, params: dict | Sequence | None, fetch: Callable[[Any], Any]):
        start = time.perf_counter()
        try:
            result = fetch(self._statement(sql, params))
        except StatementError:
            raise
        except Exception as exc:  # pyspark's, py4j's and sqlglot's errors alike: named, values masked
            log.debug("%s %s failed after %.3fs", self.step, name, time.perf_counter() - start)
            raise StatementError(self.step, name, _first_line(exc)) from exc
        log.debug("%s %s %.3fs", self.step, name, time.perf_counter() - start)
        return result

    def _statement(self, sql: str, params: dict | Sequence | None):
        """Run one DuckDB-dialect statement; returns a DataFrame (empty for DDL and DML)."""
        trees = parse_duckdb(sql)
        if len(trees) != 1:
            raise ValueError(f"expected one statement, found {len(trees)}")
        macro = macro_definition(trees[0])
        if macro is not None:
            name, parameters, body = macro
            self._macros[name] = (parameters, body)
            return self._empty()
        tree = _empty_lists_inline(self._read_parquet_calls(expand_macros(trees[0], self._macros)), params)
        if isinstance(tree, exp.Set) or (isinstance(tree, exp.Command) and str(tree.this).upper() == "SET"):
            return self._empty()
        if isinstance(tree, exp.Create):
            return self._create(tree, params)
        if isinstance(tree, exp.Insert):
            return self._insert(tree, params)
        if isinstance(tree, exp.Delete):
            return self._delete(tree, params)
        if isinstance(tree, exp.Drop):
            for table in tree.args.get("tables") or [tree.this]:  # sqlglot 30 keeps the names in `tables`
                self._spark.catalog.dropTempView(table.name)
                self._views.discard(table.name.lower())
            return self._empty()
        return self._query(tree, params)

    def _query(self, tree: exp.Expression, params: dict | Sequence | None):
        return self._spark.sql(spark_sql(tree), args=_args(params))

    def _create(self, tree: exp.Create, params):
        kind = (tree.args.get("kind") or "").upper()
        target = tree.this
        if isinstance(target, exp.Schema):  # create table t (col type, ...)
            name = target.this.name
            cols = ", ".join(f"cast(null as {_spark_type(c.args['kind'])}) as `{c.name}`"
                             for c in target.expressions)
            self._materialise(name, self._spark.sql(f"select {cols} where false"))
            return self._empty()
        name = target.name
        query = tree.expression
        if kind == "VIEW":
            self._spark.sql(spark_sql(query), args=_args(params)).createOrReplaceTempView(name)
            self._views.add(name.lower())
        else:
            self._materialise(name, self._query(query, params))
        return self._empty()

    def _insert(self, tree: exp.Insert, params):
        target = tree.this
        columns = None
        if isinstance(target, exp.Schema):
            columns = [c.name for c in target.expressions]
            target = target.this
        name = target.name
        current = self._spark.table(name)
        source = tree.expression
        if isinstance(source, exp.Values):
            added = self._spark.sql(spark_sql(exp.select("*").from_(source.copy())), args=_args(params))
        else:
            added = self._query(source, params)
        self._append(name, current, _conform(added, current, columns))
        return self._empty()

    def _delete(self, tree: exp.Delete, params):
        name = tree.this.name
        where = tree.args.get("where")
        if where is None:
            kept = self._spark.table(name).limit(0)
        else:
            keep = exp.select("*").from_(exp.to_table(name)).where(
                exp.Not(this=exp.Coalesce(this=exp.Paren(this=where.this.copy()),
                                          expressions=[exp.false()])))
            kept = self._query(keep, params)
        self._materialise(name, kept)
        return self._empty()

    def _read_parquet_calls(self, tree: exp.Expression) -> exp.Expression:
        """`read_parquet(path | [paths], union_by_name = true)` in FROM clauses as temporary views."""
        def rule(node: exp.Expression) -> exp.Expression:
            call = node.this if isinstance(node, exp.Table) else None
            if isinstance(call, exp.ReadParquet) or (isinstance(call, exp.Anonymous)
                                                     and str(call.this).lower() == "read_parquet"):
                args = call.expressions if isinstance(call, exp.ReadParquet) else call.expressions
                paths, merge = [], False
                for arg in args:
                    if isinstance(arg, (exp.EQ, exp.PropertyEQ)) and arg.this.name.lower() == "union_by_name":
                        merge = arg.expression.to_py() in (True, "true")
                    elif isinstance(arg, exp.Array):
                        paths += [e.to_py() for e in arg.expressions]
                    else:
                        paths.append(arg.to_py())
                self._parquet_n += 1
                view = f"__parquet_{self._parquet_n}"
                self._read_parquet(paths, merge).createOrReplaceTempView(view)
                alias = node.args.get("alias")
                table = exp.to_table(view)
                if alias is not None:
                    table.set("alias", alias.copy())
                return table
            return node
        return tree.transform(rule)

    def _read_parquet(self, paths: Sequence[str | Path], merge: bool):
        """A DataFrame over Parquet files. Spark skips files named `_*` or `.*` (its own metadata files) even
        when named explicitly: those are read through a symbolic link named otherwise."""
        readable = []
        for p in map(str, paths):
            name = os.path.basename(p)
            if name.startswith(("_", ".")) and "://" not in p:
                if self._links is None:
                    self._links = Path(tempfile.mkdtemp(prefix="silobridge-spark-"))
                link = self._links / f"{len(list(self._links.iterdir()))}-{name.lstrip('_.')}"
                link.symlink_to(Path(p).resolve())
                p = str(link)
            readable.append(p)
        return self._spark.read.option("mergeSchema", str(merge).lower()).parquet(*readable)

    def _materialise(self, name: str, frame) -> None:
        # a table's rows are computed once (as DuckDB's `create table`), not again by every later read
        frame.localCheckpoint(eager=True).createOrReplaceTempView(name)
        self._views.add(name.lower())

    def _append(self, name: str, current, added) -> None:
        # only the added rows are computed; the table is the union of its materialised parts (appending to a
        # table many times, as the metrics step does, does not compute its earlier rows again)
        current.unionByName(added.localCheckpoint(eager=True)).createOrReplaceTempView(name)
        self._views.add(name.lower())

    def _empty(self):
        return self._spark.createDataFrame([], "_ int")

    def run(self, name: str, sql: str, params: dict | Sequence | None = None) -> None:
        """Execute one statement to completion."""
        self._execute(name, sql, params, lambda df: df.collect() if df.columns != ["_"] else None)

    def rows(self, name: str, sql: str, params: dict | Sequence | None = None) -> list[tuple]:
        """All rows of a query (Python values as DuckDB's rows hold them)."""
        return self._execute(name, sql, params, lambda df: [tuple(r) for r in df.collect()])

    def df(self, name: str, sql: str, params: dict | Sequence | None = None):
        """A query's rows as a pandas DataFrame (through Arrow, as DuckDB's `df()`)."""
        return self.arrow(name, sql, params).to_pandas()

    def arrow(self, name: str, sql: str, params: dict | Sequence | None = None):
        """A query's rows as a pyarrow Table."""
        return self._execute(name, sql, params, lambda df: df.toArrow())

    def run_many(self, name: str, sql: str, rows: Iterable[Sequence]) -> None:
        """Execute an `insert into t values (?, ...)` once per parameter row, as one append."""
        rows = [tuple(r) for r in rows]
        if not rows:
            return
        start = time.perf_counter()
        try:
            tree = parse_duckdb(sql)[0]
            if not isinstance(tree, exp.Insert):
                raise ValueError("run_many runs inserts only on Spark")
            table = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            current = self._spark.table(table.name)
            columns = [c.name for c in tree.this.expressions] if isinstance(tree.this, exp.Schema) else None
            # through Arrow, cast by position as an insert's values are (an int into a double column, a
            # column of nulls: Spark's own row conversion refuses both)
            import pyarrow as pa

            arrow = pa.table({f"_{i}": pa.array(list(c)) for i, c in enumerate(zip(*rows))})
            self._append(table.name, current, _conform(self._spark.createDataFrame(arrow), current, columns))
        except Exception as exc:
            raise StatementError(self.step, name, _first_line(exc)) from exc
        log.debug("%s %s x%d %.3fs", self.step, name, len(rows), time.perf_counter() - start)

    # ------------------------------------------------------------------------------- objects
    def register(self, name: str, table: Any) -> None:
        """Expose an Arrow table or a pandas DataFrame as view `name`."""
        import pyarrow as pa

        arrow = table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)
        if arrow.num_rows == 0:
            frame = self._spark.createDataFrame([], _arrow_schema_ddl(arrow.schema))
        else:
            frame = self._spark.createDataFrame(arrow)
        self._materialise(name, frame)

    def create_function(self, name: str, fn: Callable, parameters: list[str], return_type: str, **kwargs) -> None:
        """Register a Python scalar function; `type="arrow"` (pyarrow arrays in and out) as a vectorised Arrow
        UDF, else a row-at-a-time Python UDF (DuckDB's other keyword arguments have no Spark meaning)."""
        from pyspark.sql import functions as F

        returns = _DUCK_TO_SPARK_TYPES[return_type.upper()]
        if kwargs.get("type") == "arrow":
            udf = F.arrow_udf(_arrow_batch(fn), returns)
        else:
            udf = F.udf(fn, returns)
        self._spark.udf.register(name, udf)

    def view_over_parquet(self, name: str, paths: Path | Sequence[Path], union_by_name: bool = False) -> None:
        """Create (or replace) view `name` over one Parquet file or several."""
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        start = time.perf_counter()
        try:
            self._read_parquet(paths, union_by_name).createOrReplaceTempView(name)
        except Exception as exc:
            raise StatementError(self.step, f"view {name}", _first_line(exc)) from exc
        self._views.add(name.lower())
        log.debug("%s view %s %.3fs", self.step, name, time.perf_counter() - start)

    def splink_api(self):
        """Splink's Spark backend over this session (the identity model's training and scoring run on Spark)."""
        from splink import SparkAPI

        # persist: Splink's default (checkpoint) needs a checkpoint directory, which a local session has not
        return SparkAPI(spark_session=self._spark, break_lineage_method="persist")

    def splink_trainer(self) -> Database:
        """An in-process DuckDB where Splink trains the identity model (`link_records(score=False)`); it then
        scores on Spark with those parameters. Splink's Spark backend trains too, but its EM ran for minutes on
        the demo (a Spark job per iteration and level count; DuckDB: 5 s), and its u sample (Spark's hash of the
        record ids) is not DuckDB's, so its model differs: trained on DuckDB, both engines link the same pairs
        (README "Identity on Spark"). The named identity records are copied to it through Arrow."""
        spill = Path(tempfile.gettempdir()) / "silobridge-splink-training"
        return Database.connect(temp_directory=spill, step=f"{self.step}.splink training")

    def connection(self):
        """The SparkSession, for a library that drives Spark itself (Splink's `SparkAPI`)."""
        return self._spark

    def count(self, relation: str) -> int:
        """Rows of a table or view."""
        start = time.perf_counter()
        try:
            n = self._spark.table(relation).count()
        except Exception as exc:
            raise StatementError(self.step, f"count {relation}", _first_line(exc)) from exc
        log.debug("%s count %s %.3fs", self.step, relation, time.perf_counter() - start)
        return n

    def write_parquet(self, relation: str, path: Path) -> int:
        """Write a table or view to one Parquet file at `path` (the warehouse's layout: a file, not Spark's
        directory of parts; written beside it, then renamed); return its rows. Row order is the relation's."""
        path.parent.mkdir(parents=True, exist_ok=True)
        parts = path.with_name(f".{path.name}.parts")
        shutil.rmtree(parts, ignore_errors=True)
        start = time.perf_counter()
        try:
            frame = self._spark.table(relation)
            # one task writes the one file; coalesce keeps a sorted relation's order
            frame.coalesce(1).write.mode("overwrite").option("compression", "zstd").parquet(str(parts))
            files = sorted(parts.glob("part-*.parquet"))
            if len(files) != 1:
                raise RuntimeError(f"expected one Parquet part, Spark wrote {len(files)}")
            import pyarrow.parquet as pq

            _nullable_elements(files[0])
            written = pq.ParquetFile(files[0]).metadata.num_rows
            os.replace(files[0], path)
        except Exception as exc:
            raise StatementError(self.step, f"write {relation}", _first_line(exc)) from exc
        finally:
            shutil.rmtree(parts, ignore_errors=True)
        log.debug("%s write %s %.3fs", self.step, relation, time.perf_counter() - start)
        return int(written)

    def close(self) -> None:
        """Drop this database's views and functions' uses; the SparkSession stays (it is shared, and slow to
        start): `stop_spark()` ends it."""
        for view in self._views:
            self._spark.catalog.dropTempView(view)
        self._views.clear()
        if self._links is not None:
            shutil.rmtree(self._links, ignore_errors=True)
            self._links = None

    def __enter__(self) -> "SparkDatabase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def stop_spark() -> None:
    """Stop this process's active SparkSession, if any."""
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


# ------------------------------------------------------------------------------------------------ helpers
def _nullable_elements(path: Path) -> None:
    """The Parquet file at `path` rewritten with every list element and struct field nullable, as DuckDB writes
    them, when Spark marked some `not null` (a `collect_list`'s elements: `list<element: string not null>`).
    Done on the file: a cast to the nullable type is removed by Spark's optimiser (SimplifyCasts)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def nullable(kind: pa.DataType) -> pa.DataType:
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            return pa.list_(pa.field(kind.value_field.name, nullable(kind.value_type), True))
        if pa.types.is_struct(kind):
            return pa.struct([pa.field(f.name, nullable(f.type), True) for f in kind])
        if pa.types.is_map(kind):
            return pa.map_(nullable(kind.key_type), pa.field(kind.item_field.name, nullable(kind.item_type), True))
        return kind
    schema = pq.read_schema(path)
    relaxed = pa.schema([pa.field(f.name, nullable(f.type), f.nullable) for f in schema])
    if all(a.type.equals(b.type) for a, b in zip(schema, relaxed)):
        return
    table = pq.read_table(path).cast(relaxed)
    pq.write_table(table, path, compression="zstd")


def _first_line(exc: BaseException) -> str:
    """The first line of an error's message; for a JVM error seen through py4j ("An error occurred while calling
    o788.getResult"), that of the Java exception (the message's values are masked by StatementError)."""
    java = getattr(exc, "java_exception", None)
    if java is not None:
        try:
            text = str(java.toString())
        except Exception:  # the gateway may be gone
            text = str(exc)
    else:
        text = str(exc)
    text = text.strip() or type(exc).__name__
    return text.splitlines()[0]


def _empty_lists_inline(tree: exp.Expression, params: dict | Sequence | None) -> exp.Expression:
    """An empty list parameter written into the statement as an empty string array: Spark binds an array
    parameter only as a constructor call, and `array()` alone has no element type (a cast of it is refused as a
    parameter), e.g. `identity.placeholder_phones` left at its default."""
    if not isinstance(params, dict):
        return tree
    empty = {k for k, v in params.items() if isinstance(v, (list, tuple)) and not v}
    if not empty:
        return tree
    return tree.transform(lambda n: exp.cast(exp.Array(expressions=[]), "array<string>", dialect="spark")
                          if isinstance(n, exp.Placeholder) and n.name in empty else n)


def _args(params: dict | Sequence | None):
    """Bound parameters for `spark.sql(args=...)`: lists as array literals, the rest as literals."""
    if params is None:
        return None
    from pyspark.sql import functions as F

    def value(v):
        if isinstance(v, (list, tuple)):
            return F.array(*[F.lit(x) for x in v]) if v else F.array().cast("array<string>")
        return v if isinstance(v, (str, int, float, bool, date, datetime, Decimal)) or v is None else str(v)
    if isinstance(params, dict):  # empty lists are written into the statement (_empty_lists_inline)
        return {k: value(v) for k, v in params.items() if not (isinstance(v, (list, tuple)) and not v)}
    return [value(v) for v in params]


def _spark_type(kind: exp.DataType) -> str:
    return kind.sql(dialect="spark")


def _conform(added, current, columns: list[str] | None):
    """`added`'s columns renamed and cast to `current`'s, by position (an insert's meaning)."""
    from pyspark.sql import functions as F

    names = columns or current.columns
    if len(added.columns) != len(names):
        raise ValueError(f"insert of {len(added.columns)} columns into {len(names)}")
    types = dict(current.dtypes)
    out = added.select([F.col(f"`{src}`").cast(types[dst]).alias(dst) for src, dst in zip(added.columns, names)])
    for missing in (c for c in current.columns if c not in names):
        out = out.withColumn(missing, F.lit(None).cast(types[missing]))
    return out.select(current.columns)


def _arrow_batch(fn):
    """A DuckDB Arrow UDF (pyarrow arrays in, a pyarrow array out) as Spark's `arrow_udf` function."""
    import pyarrow as pa

    def batch(*arrays):
        out = fn(*arrays)
        return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out
    return batch


def _arrow_schema_ddl(schema) -> str:
    """A Spark DDL schema string for an (empty) Arrow table's schema."""
    import pyarrow as pa

    def t(typ) -> str:
        if pa.types.is_string(typ) or pa.types.is_large_string(typ):
            return "string"
        if pa.types.is_boolean(typ):
            return "boolean"
        if pa.types.is_integer(typ):
            return "bigint" if typ.bit_width > 32 else "int"
        if pa.types.is_floating(typ):
            return "double"
        if pa.types.is_date(typ):
            return "date"
        if pa.types.is_timestamp(typ):
            return "timestamp" if typ.tz else "timestamp_ntz"
        if pa.types.is_decimal(typ):
            return f"decimal({typ.precision},{typ.scale})"
        if pa.types.is_list(typ):
            return f"array<{t(typ.value_type)}>"
        return "string"
    return ", ".join(f"`{f.name}` {t(f.type)}" for f in schema)
