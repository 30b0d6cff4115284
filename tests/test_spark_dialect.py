"""The DuckDB -> Spark SQL rewrite rules (transforms.spark_dialect): DuckDB SQL in, Spark SQL out; and, marked
`spark`, each rule's tiny case executed on both engines with the same result."""

from __future__ import annotations

import pytest

from transforms.spark_dialect import RULES, to_spark


@pytest.mark.parametrize(("duckdb", "spark"), [
    # ordered aggregates: sqlglot drops list's order, and Spark's first/last take none
    ("select list(x order by y, z) from t",
     "SELECT TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT(y AS k0, z AS k1, x AS v))), e -> e.v) FROM t"),
    ("select list(distinct c order by c) from t", "SELECT ARRAY_SORT(COLLECT_SET(c)) FROM t"),
    ("select first(x order by y, z) from t", "SELECT MIN_BY(x, STRUCT(y AS k0, z AS k1)) FROM t"),
    ("select last(s order by y) from t", "SELECT MAX_BY(s, y) FROM t"),
    ("select any_value(x) from t", "SELECT ANY_VALUE(x, TRUE) FROM t"),
    # time: wall-clock time in a zone, day intervals
    ("select cast(timezone($tz, ts) as date) from t",
     "SELECT CAST(CAST(FROM_UTC_TIMESTAMP(ts, :tz) AS TIMESTAMP_NTZ) AS DATE) FROM t"),
    ("select a - b > to_days(cast($n as integer)) from t", "SELECT a - b > MAKE_DT_INTERVAL(CAST(:n AS INT)) FROM t"),
    # lists: indexing past the end is null, as in DuckDB; distinct counts over windows
    ("select x[1], m['k'], x[i] from t", "SELECT TRY_ELEMENT_AT(x, 1), TRY_ELEMENT_AT(m, 'k'), TRY_ELEMENT_AT(x, i) FROM t"),
    ("select count(distinct x) over (partition by y) from t", "SELECT SIZE(COLLECT_SET(x) OVER (PARTITION BY y)) FROM t"),
    ("select array_length(l) from t", "SELECT CAST(SIZE(l) AS BIGINT) FROM t"),
    # DuckDB's date parts, lengths and row numbers are BIGINT, Spark's INT: the written columns' types agree
    ("select year(d), row_number() over (partition by year(d) order by a), length(s) from t",
     "SELECT CAST(YEAR(d) AS BIGINT), CAST(ROW_NUMBER() OVER (PARTITION BY CAST(YEAR(d) AS BIGINT) ORDER BY a NULLS LAST) "
     "AS BIGINT), CAST(LENGTH(s) AS BIGINT) FROM t"),
    # Spark 4.3's listagg(distinct) fails beside other distinct aggregates or under a FILTER: a sorted set
    ("select string_agg(distinct s, ', ' order by s) filter (where h > l) from t",
     "SELECT CASE WHEN SIZE(ARRAY_SORT(COLLECT_SET(s) FILTER(WHERE h > l))) = 0 THEN NULL "
     "ELSE ARRAY_JOIN(ARRAY_SORT(COLLECT_SET(s) FILTER(WHERE h > l)), ', ') END FROM t"),
    # Java's regular expressions name Unicode scripts with Is
    ("select regexp_matches(x, '\\p{Han}') from t", "SELECT x RLIKE '\\\\p{IsHan}' FROM t"),
    # DuckDB divides to a double
    ("select a / 3600.0 from t", "SELECT CAST(a AS DOUBLE) / 3600.0 FROM t"),
    ("select (x / 2) / y from t", "SELECT CAST((CAST(x AS DOUBLE) / 2) AS DOUBLE) / y FROM t"),
    # identity (part 2): similarity over bytes as DuckDB's (DuckDB's copies in transforms.similarity; Spark's
    # Levenshtein over a byte per character); list_position is null when absent
    ("select jaro_winkler_similarity(a, b), damerau_levenshtein(a, b), levenshtein(a, b) from t",
     "SELECT SB_JARO_WINKLER(a, b), SB_DAMERAU_LEVENSHTEIN(a, b), "
     "LEVENSHTEIN(DECODE(ENCODE(a, 'UTF-8'), 'ISO-8859-1'), DECODE(ENCODE(b, 'UTF-8'), 'ISO-8859-1')) FROM t"),
    ("select list_position($k, x) from t", "SELECT NULLIF(ARRAY_POSITION(:k, x), 0) FROM t"),
    # list_sum of integers (nulls skipped, as DuckDB's)
    ("select list_sum(l) from t", "SELECT AGGREGATE(l, CAST(0 AS BIGINT), (_acc, _x) -> _acc + COALESCE(_x, 0)) FROM t"),
])
def test_rule_translates(duckdb, spark):
    assert to_spark(duckdb) == spark


def test_a_descending_order_in_an_ordered_aggregate_is_refused_by_name():
    with pytest.raises(ValueError, match="first: a descending ORDER BY"):
        to_spark("select first(x order by y desc) from t")


def test_one_statement_only():
    with pytest.raises(ValueError, match="expected one statement, found 2"):
        to_spark("select 1; select 2")


def test_macros_are_expanded_in_place():
    """Spark's SQL functions need typed parameters: a DuckDB macro's calls are replaced by its body."""
    from transforms.spark_dialect import expand_macros, macro_definition, parse_duckdb, spark_sql

    name, params, body = macro_definition(parse_duckdb("create or replace macro m(a, b) as a + b * 2")[0])
    assert (name, params) == ("m", ["a", "b"])
    assert spark_sql(expand_macros(parse_duckdb("select m(x, m(y, 1)) from t")[0], {name: (params, body)})) == \
        "SELECT ((x) + (((y) + (1) * 2)) * 2) FROM t"


def test_every_rule_is_tested_here():
    source = open(__file__, encoding="utf-8").read()
    words = {"_rule_regex_classes": "IsHan", "_rule_ordered_first_last": "MIN_BY", "_rule_ordered_list": "COLLECT_LIST",
             "_rule_any_value": "ANY_VALUE(x, TRUE)", "_rule_timezone": "FROM_UTC_TIMESTAMP",
             "_rule_to_days": "MAKE_DT_INTERVAL", "_rule_list_index": "TRY_ELEMENT_AT",
             "_rule_count_distinct_window": "COLLECT_SET(x) OVER", "_rule_division": "AS DOUBLE) /",
             "_rule_distinct_string_agg": "ARRAY_JOIN(ARRAY_SORT(COLLECT_SET",
             "_rule_byte_similarity": "'ISO-8859-1'), DECODE", "_rule_list_position": "NULLIF(ARRAY_POSITION",
             "_rule_bigint_results": "CAST(ROW_NUMBER() OVER", "_rule_list_sum": "AGGREGATE(l, CAST(0 AS BIGINT)"}
    assert sorted(r.__name__ for r in RULES) == sorted(words)
    assert all(w in source for w in words.values())


# ------------------------------------------------------------------------------ executed on both engines
CASES = [
    ("list_sum", "select list_sum([1, null, 2]) as v, list_sum([y, 3]) as w from t"),
    ("ordered list", "select list(x order by y, x) as v from t"),
    ("first/last by order", "select first(x order by y) as f, last(x order by y) as l from t"),
    ("distinct list", "select list(distinct x order by x) as v from t"),
    ("empty list index", "select (list(x) filter (where y > 9))[1] is null as a, list(x order by y)[2] as b from t"),
    ("count distinct over", "select y, count(distinct x) over (partition by y > 1) as n from t"),
    ("timezone", "select cast(timezone('Asia/Taipei', timestamptz '2026-11-19 20:30:00+00') as date) as d"),
    ("to_days", "select timestamptz '2026-11-20 00:00:00+00' - timestamptz '2026-11-18 12:00:00+00' "
                "> to_days(1) as more, timestamptz '2026-11-20 00:00:00+00' - timestamptz '2026-11-18 12:00:00+00' "
                "> to_days(2) as less"),
    ("han", "select regexp_matches('陳大文', '^\\p{Han}+$') as h, regexp_matches('Chan', '\\p{Han}') as l"),
    ("division", "select 7 / 2 as a, cast(1 as decimal(18, 2)) / 3 as b, 3700 / 3600.0 as c"),
    ("any_value", "select any_value(z) as v from t"),
    ("bigint results", "select year(date '2026-11-20') as y, row_number() over (order by x, y) as n, length(x) as l "
                       "from t"),
    ("distinct string_agg", "select string_agg(distinct x, ', ' order by x) filter (where y > 1) as s, "
                            "string_agg(distinct x, ', ' order by x) filter (where y > 9) as e, "
                            "count(distinct x) as n, string_agg(x, '|' order by y) as o from t"),
]


@pytest.fixture(scope="module")
def both():
    from flows.db import Database
    from flows.spark_db import SparkDatabase

    dbs = {"duckdb": Database.connect(), "spark": SparkDatabase.connect("local[2]", step="dialect")}
    for db in dbs.values():
        db.run("t", "create table t (x varchar, y integer, z varchar)")
        db.run_many("t rows", "insert into t values (?, ?, ?)",
                    [("b", 2, None), ("a", 3, None), ("c", 1, "z1"), ("c", 4, None)])
    yield dbs
    for db in dbs.values():
        db.close()


@pytest.mark.spark
@pytest.mark.parametrize(("case", "sql"), CASES, ids=[c for c, _ in CASES])
def test_rule_gives_duckdbs_rows_on_spark(case, sql, both):
    duck = both["duckdb"].rows(case, sql)
    spark = both["spark"].rows(case, sql)
    assert sorted(map(repr, spark)) == sorted(map(repr, duck))


@pytest.mark.spark
def test_date_parts_and_row_numbers_have_duckdbs_types_on_spark(both):
    sql = dict(CASES)["bigint results"]
    types = {engine: [str(f.type) for f in db.arrow("types", sql).schema] for engine, db in both.items()}
    assert types["duckdb"] == ["int64", "int64", "int64"]
    assert types["spark"] == types["duckdb"]


@pytest.mark.spark
def test_spark_errors_are_masked_and_named(both):
    from flows.db import StatementError

    with pytest.raises(StatementError) as err:
        both["spark"].run("bad cast", "select cast('ann@example.com' as integer)")
    assert "dialect: statement 'bad cast' failed" in str(err.value)
    assert "ann@example.com" not in str(err.value)


@pytest.mark.spark
def test_tables_insert_delete_and_parquet_round_trip(both, tmp_path):
    db = both["spark"]
    db.run("u", "create or replace table u as select x, y from t where y > 1")
    db.run("u insert", "insert into u select 'd', 9")
    db.run("u delete", "delete from u where y = 3")
    assert db.rows("u rows", "select x, y from u order by x") == [("b", 2), ("c", 4), ("d", 9)]
    assert db.write_parquet("u", tmp_path / "u.parquet") == 3
    db.view_over_parquet("u2", tmp_path / "u.parquet")
    assert db.scalar("u2 sum", "select sum(y) from u2") == 15
    assert both["duckdb"].scalar("read", f"select sum(y) from read_parquet('{tmp_path / 'u.parquet'}')") == 15


@pytest.mark.spark
def test_written_lists_have_duckdbs_parquet_types(both, tmp_path):
    import pyarrow.parquet as pq

    types = {}
    for engine, db in both.items():
        db.run("l", "create or replace table l as select y, list(x) as xs from t group by y")
        db.write_parquet("l", tmp_path / f"{engine}.parquet")
        types[engine] = [str(f.type) for f in pq.read_schema(tmp_path / f"{engine}.parquet")]
    assert types["duckdb"] == ["int32", "list<element: string>"]
    assert types["spark"] == types["duckdb"]  # Spark's collect_list elements are `not null` until written


def test_engine_spark_without_pyspark_says_what_to_install(monkeypatch, tmp_path):
    """`engine: spark` on a machine without the optional Spark dependencies: a PipelineError naming them and
    `make spark`, not an ImportError traceback."""
    import importlib.util

    from flows.steps.policy import PipelineError
    from flows.steps.spec import RunSpec

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else find_spec(name, *a))
    spec = RunSpec.model_construct(engine="spark", spark_master="local[2]")
    with pytest.raises(PipelineError, match=r"pyspark is not installed\): `make spark` installs them"):
        spec.connect_engine("model", "spark")
