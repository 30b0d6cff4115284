"""Parity of the engines for identity: every statement of the identity step gives the same rows on DuckDB and
on Spark local[2].

One demo night (the session's demo exports) runs on DuckDB up to the identity step. The identity step then
runs on a `_Tee`: each statement runs on DuckDB, then on Spark (`flows.spark_db.SparkDatabase`, translated by
`transforms.spark_dialect`), and the table it makes (or the rows it returns) is compared as a row multiset:
floats to a relative 1e-9, timestamps in UTC, lists in order. A table that differs is recorded, then copied from
DuckDB to Spark, so that each statement is judged on the same inputs. Splink's own statements run on DuckDB
in the tee (its tables are copied to Spark when a statement of ours reads them). Splink scoring on Spark, with
the model trained on DuckDB as the Spark engine does, is compared end to end in test_spark_night.py.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from sqlglot import exp

from flows.db import Database
from tests.engines import comparable, comparable_row
from tests.conftest import DEMO_END, demo_data_dir

pytestmark = pytest.mark.spark



@dataclass
class Statement:
    name: str
    outcome: str  # "same", "differs", "fails" (on Spark)
    detail: str = ""


class _Tee(Database):
    """A DuckDB `Database` whose every statement also runs on a Spark `Database`, results compared."""

    def __init__(self, duck: Database, spark, step: str):
        super().__init__(duck._con, step)
        self.spark = spark
        self.statements: list[Statement] = []

    # ------------------------------------------------------------------------------------------- helpers
    def _duck_arrow(self, table: str):
        return self._con.sql(f'select * from "{table}"').to_arrow_table()

    def _copy_to_spark(self, table: str) -> None:
        self.spark.register(table, self._duck_arrow(table))

    def _spark_has(self, table: str) -> bool:
        return self.spark.connection().catalog.tableExists(table)

    def _duck_has(self, table: str) -> bool:
        return self._con.execute("select count(*) from (select table_name as n from duckdb_tables() union all "
                                 "select view_name from duckdb_views()) where n = $t", {"t": table}).fetchall()[0][0] > 0

    def _prepare(self, sql: str) -> tuple[exp.Expression | None, str | None]:
        """The parsed statement and the table it writes (None for a query); inputs Spark lacks (tables
        Splink made on DuckDB) copied over first."""
        from transforms.spark_dialect import parse_duckdb

        tree = parse_duckdb(sql)[0]
        target = None
        if isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() in ("TABLE", "VIEW"):
            target = (tree.this.this if isinstance(tree.this, exp.Schema) else tree.this).name
        elif isinstance(tree, (exp.Insert, exp.Delete)):
            target = (tree.this.this if isinstance(tree.this, exp.Schema) else tree.this).name
        ctes = {c.alias for c in tree.find_all(exp.CTE)}
        for table in {t.name for t in tree.find_all(exp.Table)} - ctes - {target, ""}:
            if not self._spark_has(table) and self._duck_has(table):
                self._copy_to_spark(table)
        return tree, target

    def _compare(self, name: str, duck_rows: list, spark_rows: list) -> None:
        d, s = Counter(map(_row, duck_rows)), Counter(map(_row, spark_rows))
        if d == s:
            self.statements.append(Statement(name, "same", f"{len(duck_rows)} rows"))
        else:
            only_d, only_s = d - s, s - d
            self.statements.append(Statement(name, "differs", (
                f"{sum(only_d.values())} of {len(duck_rows)} DuckDB rows not on Spark; e.g. duckdb "
                f"{list(only_d)[:1]} spark {list(only_s)[:1]}")[:2000]))

    # ---------------------------------------------------------------------------------------- statements
    def _execute(self, name, sql, params, fetch, **kwargs):
        result = super()._execute(name, sql, params, fetch, **kwargs)
        if sql.lstrip().lower().startswith(("set ", "copy ")):
            return result  # session settings; writes are compared as the tables they write
        tree, target = self._prepare(sql)
        query = isinstance(tree, exp.Query)
        try:
            if query:
                spark_rows = self.spark.rows(name, sql, params)
            else:
                self.spark.run(name, sql, params)
        except Exception as error:  # noqa: BLE001 - any failure is the finding
            self.statements.append(Statement(name, "fails", str(error).splitlines()[0][:500]))
            if target is not None and self._duck_has(target):
                self._copy_to_spark(target)
            return result
        if target is None and not query:
            return result  # drop, create macro: nothing to compare
        if target is None:
            duck_rows = super()._execute(name, sql, params, lambda r: r.fetchall())
            self._compare(name, [dict(enumerate(r)) for r in duck_rows], [dict(enumerate(r)) for r in spark_rows])
        else:
            duck = self._duck_arrow(target)
            spark = self.spark.arrow(f"{name} rows", f'select * from "{target}"')
            if spark.column_names != duck.column_names:
                self.statements.append(Statement(name, "differs", f"columns {duck.column_names} vs "
                                                                   f"{spark.column_names}"))
            else:
                self._compare(name, duck.to_pylist(), spark.to_pylist())
            if self.statements[-1].outcome != "same":
                self._copy_to_spark(target)
        return result

    def run_many(self, name, sql, rows):
        rows = list(rows)
        super().run_many(name, sql, rows)
        try:
            self.spark.run_many(name, sql, rows)
        except Exception as error:  # noqa: BLE001 - any failure is the finding
            self.statements.append(Statement(name, "fails", str(error).splitlines()[0][:500]))
            tree, target = self._prepare(sql)
            self._copy_to_spark(target)

    def register(self, name, table):
        super().register(name, table)
        self.spark.register(name, table)

    def create_function(self, name, fn, parameters, return_type, **kwargs):
        super().create_function(name, fn, parameters, return_type, **kwargs)
        self.spark.create_function(name, fn, parameters, return_type, **kwargs)

    def view_over_parquet(self, name, paths, union_by_name=False):
        super().view_over_parquet(name, paths, union_by_name)
        self.spark.view_over_parquet(name, paths, union_by_name)

    def write_parquet(self, relation, path):
        return super().write_parquet(relation, path)


def _row(record: dict) -> tuple:
    return comparable_row(record, naive_utc=True)


def _value(v):
    return comparable(v, naive_utc=True)


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def night(tmp_path_factory, demo_exports):
    """(spec, hash key) of a demo night run on DuckDB through the stage step (its run directory kept)."""
    from flows.settings import Settings
    from flows.steps.run import run_night, run_step
    from flows.steps.spec import make_spec

    data = demo_data_dir(tmp_path_factory.mktemp("spark_identity") / "data", demo_exports)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SILOBRIDGE_DATA_DIR", str(data))
        settings = Settings()
        hash_key = settings.hash_key()
        spec = make_spec(settings, DEMO_END, None, False, datetime.now(timezone.utc))
        before_identity = ("extract", "validate", "stage")
        run_night(spec, hash_key, on_step=lambda step, spec, summary, key:
                  run_step(step, spec, summary, key) if step.name in before_identity else {})
    return spec, hash_key


@pytest.fixture(scope="module")
def spark():
    from flows.spark_db import SparkDatabase, stop_spark

    db = SparkDatabase.connect("local[2]", "identity")
    yield db
    db.close()
    stop_spark()


@pytest.fixture(scope="module")
def tee(night, spark):
    """The identity step run on the tee: (its statements, its counts)."""
    from flows.steps import spec as spec_module
    from flows.steps.identity import identity_step

    spec, hash_key = night
    tees = []
    connect = spec_module.RunSpec.connect

    def tee_connect(self, step):
        tees.append(_Tee(connect(self, step), spark, step))
        return tees[-1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(spec_module.RunSpec, "connect", tee_connect)
        counts = identity_step(spec, hash_key)
    return tees[0].statements, counts


# --------------------------------------------------------------------------------------------------- tests
def test_every_identity_statement_gives_the_same_rows_on_both_engines(tee):
    statements, counts = tee
    assert counts["probabilistic_links"] > 0 and counts["deterministic_links"] > 0  # the demo exercises both
    compared = [s for s in statements if s.outcome == "same"]
    assert len(compared) > 60
    differing = [f"{s.name}: {s.outcome}: {s.detail}" for s in statements if s.outcome != "same"]
    assert not differing, "\n".join(differing)


def test_similarity_functions_count_bytes_on_both_engines(spark):
    """One semantics for Jaro-Winkler and (Damerau-)Levenshtein: DuckDB's, over UTF-8 bytes (陳大文 / 陈大文
    differ in one character, in one of its three bytes; the jar over characters gives 0.78). 张贞兴 / 张兴: three
    out-of-order byte matches, which DuckDB halves rounding down (0.8833, a close name at 0.88) and Splink's jar
    does not (0.8639): two contested keys and a customer differed between the engines at 20,000 customers."""
    sql = ("select round(jaro_winkler_similarity('陳大文', '陈大文'), 6), damerau_levenshtein('陳大文', '陈大文'), "
           "levenshtein('陳大文', '陈大文'), round(jaro_winkler_similarity('martha', 'marhta'), 6), "
           "damerau_levenshtein('martha', 'marhta'), jaro_winkler_similarity('张贞兴', '张兴'), "
           "damerau_levenshtein('ca', 'abc')")
    duck = Database.connect(threads=1)
    try:
        expected = duck.one("similarity duckdb", sql)
    finally:
        duck.close()
    assert expected[:3] == (0.940741, 1, 1)  # bytes: the two characters share their first two of three bytes
    assert expected[5:] == (0.8833333333333334, 2)  # transpositions halved rounding down; unrestricted distance
    assert tuple(spark.one("similarity spark", sql)) == expected


def test_similarity_copies_equal_duckdbs_bit_for_bit():
    """transforms.similarity (Spark's functions) against DuckDB's own on 20,000 generated pairs: names of Latin
    and Chinese characters and their typos (deleted, doubled, swapped, replaced characters), and edge cases."""
    import random

    from transforms.similarity import damerau_levenshtein, jaro_winkler

    rng = random.Random(16)
    letters = "abcdeilmnorstu 陳陈张兴贞大文林志郭铭君"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 14))) for _ in range(4000)]

    def typo(word: str) -> str:
        chars, i = list(word), rng.randrange(len(word))
        edit = rng.randrange(4)
        if edit == 0 and len(chars) > 1:
            del chars[i]
        elif edit == 1:
            chars.insert(i, chars[i])
        elif edit == 2 and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            chars[i] = rng.choice(letters)
        return "".join(chars)

    pairs = [(w, typo(w)) for w in words for _ in range(3)] + [tuple(rng.sample(words, 2)) for _ in range(8000)]
    pairs += [("", ""), ("a", ""), ("a", "a"), ("a", "b"), ("张贞兴", "张兴"), ("ca", "abc")]
    duck = Database.connect(threads=1)
    try:
        duck.run("pairs", "create table pairs (i bigint, a varchar, b varchar)")
        duck.run_many("pairs", "insert into pairs values (?, ?, ?)", [(i, a, b) for i, (a, b) in enumerate(pairs)])
        expected = duck.rows("similarity", "select jaro_winkler_similarity(a, b), damerau_levenshtein(a, b) "
                                           "from pairs order by i")
    finally:
        duck.close()
    ours = [(jaro_winkler(a, b), damerau_levenshtein(a, b)) for a, b in pairs]
    differing = [(pairs[i], expected[i], ours[i]) for i in range(len(pairs)) if tuple(expected[i]) != ours[i]]
    assert len(pairs) == 20006 and not differing, differing[:5]
