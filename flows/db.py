"""The one seam to DuckDB: every statement the pipeline runs goes through a `Database`.

A `Database` wraps one DuckDB connection. Each statement has a name (`"identity.keys"`), runs with bound
parameters, is logged at DEBUG with its duration, and on failure raises `StatementError` naming the step
and the statement instead of a bare DuckDB traceback. Identifiers and paths that must appear in SQL text
(views over files, COPY targets) are quoted by `quote` and `sql_string`, here and nowhere else.

Transforms receive a `Database` and never import duckdb; only this module does (tests aside).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from connectors.masking import redact_quoted
from flows.settings import DUCKDB_MEMORY_LIMIT, DUCKDB_THREADS
from transforms.sqltext import quote  # noqa: F401  (re-exported: one quoting rule for transforms and the seam)

log = logging.getLogger("silobridge.db")


class StatementError(RuntimeError):
    """A statement failed; the message names the step and the statement, and gives the database's message with
    the values it quotes masked (they are data)."""

    def __init__(self, step: str, statement: str, message: str):
        self.step, self.statement = step, statement
        super().__init__(f"{step or 'database'}: statement {statement!r} failed: {redact_quoted(message)}")



def sql_string(value: str | Path) -> str:
    """A string literal for SQL text, e.g. a file path in a view (views cannot hold bound parameters)."""
    return "'" + str(value).replace("'", "''") + "'"


def parquet_source(paths: Path | Sequence[Path], union_by_name: bool = False) -> str:
    """`read_parquet(...)` over one file or a list of files, for SQL text."""
    if isinstance(paths, (str, Path)):
        arg = sql_string(paths)
    else:
        arg = "[" + ", ".join(sql_string(p) for p in paths) + "]"
    return f"read_parquet({arg}{', union_by_name = true' if union_by_name else ''})"


class RowQueries:
    """`one` and `scalar`, from a database's `rows`: the same on every engine (DuckDB's `Database`, Spark's)."""

    def rows(self, name: str, sql: str, params: dict | Sequence | None = None) -> list[tuple]:
        raise NotImplementedError

    def one(self, name: str, sql: str, params: dict | Sequence | None = None) -> tuple | None:
        """The first row of a query (None when it has none); the rest is discarded."""
        rows = self.rows(name, sql, params)
        return rows[0] if rows else None

    def scalar(self, name: str, sql: str, params: dict | Sequence | None = None) -> Any:
        """The first column of the first row."""
        row = self.one(name, sql, params)
        return None if row is None else row[0]


class Database(RowQueries):
    """One DuckDB connection: named statements with bound parameters, logged, errors named."""

    def __init__(self, con: duckdb.DuckDBPyConnection, step: str = ""):
        self._con = con
        self.step = step

    @classmethod
    def connect(cls, threads: int = DUCKDB_THREADS, memory_limit: str = DUCKDB_MEMORY_LIMIT,
                temp_directory: Path | None = None,
                database: str | Path = ":memory:", read_only: bool = False, step: str = "") -> "Database":
        """A connection set up for pipeline work (UTC session time zone); it spills to `temp_directory`
        when over the memory limit (DuckDB's default is `.tmp` in the working directory)."""
        db = cls(duckdb.connect(str(database), read_only=read_only), step)
        db.run("db.threads", f"set threads = {int(threads)}")
        db.run("db.memory_limit", "set memory_limit = $m", {"m": memory_limit})
        if temp_directory is not None:
            db.run("db.temp_directory", "set temp_directory = $t", {"t": str(temp_directory)})
        db.run("db.timezone", "set TimeZone = 'UTC'")
        return db

    @classmethod
    def open_catalog(cls, path: Path, warehouse_dir: Path, step: str = "catalog") -> "Database":
        """A read-only connection to a warehouse catalog file; its views' relative paths resolve against
        `warehouse_dir` (so a copied or moved warehouse opens from any working directory)."""
        db = cls(duckdb.connect(str(path), read_only=True), step)
        db.run("db.timezone", "set TimeZone = 'UTC'")
        db.run("db.file_search_path", "set file_search_path = $p", {"p": str(Path(warehouse_dir).resolve())})
        return db

    # ---------------------------------------------------------------------------------- statements
    def _execute(self, name: str, sql: str, params: dict | Sequence | None, fetch: Callable[[Any], Any],
                 relation: bool = False):
        start = time.perf_counter()
        try:
            if relation:
                result = fetch(self._con.sql(sql, params=params))
            else:
                result = fetch(self._con.execute(sql, params) if params is not None else self._con.execute(sql))
        except duckdb.Error as exc:
            log.debug("%s %s failed after %.3fs", self.step, name, time.perf_counter() - start)
            raise StatementError(self.step, name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
        log.debug("%s %s %.3fs", self.step, name, time.perf_counter() - start)
        return result

    def run(self, name: str, sql: str, params: dict | Sequence | None = None) -> None:
        """Execute one statement to completion."""
        self._execute(name, sql, params, lambda r: r.fetchall())

    def rows(self, name: str, sql: str, params: dict | Sequence | None = None) -> list[tuple]:
        """All rows of a query."""
        return self._execute(name, sql, params, lambda r: r.fetchall())

    def df(self, name: str, sql: str, params: dict | Sequence | None = None):
        """A query's rows as a pandas DataFrame."""
        return self._execute(name, sql, params, lambda r: r.df())

    def arrow(self, name: str, sql: str, params: dict | Sequence | None = None):
        """A query's rows as a pyarrow Table (from a relation: DuckDB 2.0 warns that Arrow output of a DB-API
        result makes an extra copy of the rows)."""
        return self._execute(name, sql, params, lambda r: r.to_arrow_table(), relation=True)

    def run_many(self, name: str, sql: str, rows: Iterable[Sequence]) -> None:
        """Execute one statement once per parameter row (small inserts of configuration values)."""
        rows = list(rows)
        if not rows:
            return
        start = time.perf_counter()
        try:
            self._con.executemany(sql, rows)
        except duckdb.Error as exc:
            raise StatementError(self.step, name, str(exc).splitlines()[0]) from exc
        log.debug("%s %s x%d %.3fs", self.step, name, len(rows), time.perf_counter() - start)

    # ------------------------------------------------------------------------------- objects
    def register(self, name: str, table: Any) -> None:
        """Expose an Arrow table or a DataFrame as view `name`."""
        self._con.register(name, table)

    def create_function(self, name: str, fn: Callable, parameters: list[str], return_type: str, **kwargs) -> None:
        """Register a Python scalar function (type names as SQL strings: 'VARCHAR', 'BOOLEAN', ...)."""
        self._con.create_function(name, fn, parameters, return_type, **kwargs)

    def view_over_parquet(self, name: str, paths: Path | Sequence[Path], union_by_name: bool = False) -> None:
        """Create (or replace) view `name` over one Parquet file or several."""
        self.run(f"view {name}", f"create or replace view {quote(name)} as select * from "
                                 f"{parquet_source(paths, union_by_name)}")

    def splink_api(self) -> Any:
        """Splink's database API over this connection (`DuckDBAPI`: Splink drives DuckDB itself, in this
        process and connection, for the identity model); the Spark engine gives Splink's `SparkAPI`."""
        from splink import DuckDBAPI  # imported on use: Splink is the identity step's alone

        return DuckDBAPI(connection=self._con)

    def splink_trainer(self) -> None:
        """Splink trains its model where it scores, on this connection (the Spark engine's differs)."""
        return None

    def count(self, relation: str) -> int:
        """Rows of a table or view."""
        return self.scalar(f"count {relation}", f"select count(*) from {quote(relation)}")

    def write_parquet(self, relation: str, path: Path) -> int:
        """COPY a table or view to a Parquet file (written beside it, then renamed); return its rows (COPY's
        own count: counting the relation again would run a view's query twice)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        # zstd level 1: at 20k customers 38% less CPU to write than DuckDB's default level 3, files 1% smaller
        # (dictionary encoding does most of the work), analysts' scans no slower; the default row groups
        # (122,880 rows) read faster on 2 threads than 1M-row groups (0.26 vs 0.47 CPU s for 4 typical queries)
        written = self.scalar(f"write {relation}", f"copy (select * from {quote(relation)}) to {sql_string(tmp)} "
                                                   "(format parquet, compression zstd, compression_level 1)")
        os.replace(tmp, path)
        return int(written)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
