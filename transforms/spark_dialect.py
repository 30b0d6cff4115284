"""DuckDB SQL -> Spark SQL: sqlglot's transpiler plus the rewrite rules it lacks for our SQL.

The DuckDB-dialect `.sql` files stay the single source of every model, metric and identity statement; a Spark
`Database` (flows.spark_db) runs them through `to_spark`. sqlglot translates most constructs; each function
`_rule_*` below fixes one construct it translates wrongly or not at all for Spark 4 (ANSI mode), and names
what DuckDB means by it. Constructs with no faithful translation were edited in the SQL files themselves
(portable SQL: explicit columns instead of `union all by name`, `date_diff` of seconds and minutes written as
boundaries crossed, deterministic tie-breaks), so that both engines give the same rows.

Pure text in, text out: no Spark here (transforms never import an engine).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlglot
from sqlglot import exp

from transforms import similarity

Rule = Callable[[exp.Expression], exp.Expression]


def parse_duckdb(sql: str) -> list[exp.Expression]:
    """The statements of DuckDB SQL text, parsed (empty statements dropped)."""
    return [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]


def to_spark(sql: str) -> str:
    """One DuckDB statement as Spark SQL (ValueError if the text holds several)."""
    statements = parse_duckdb(sql)
    if len(statements) != 1:
        raise ValueError(f"expected one statement, found {len(statements)}")
    return spark_sql(statements[0])


def spark_sql(tree: exp.Expression) -> str:
    """A parsed DuckDB statement (copied, not changed) as Spark SQL text, after every rewrite rule."""
    tree = tree.copy()
    for rule in RULES:
        tree = tree.transform(rule)
    return tree.sql(dialect="spark", comments=False)


# ------------------------------------------------------------------------------------------------- rules
def _func(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _ascending_keys(order: exp.Order, what: str) -> list[exp.Expression]:
    """The keys of an aggregate's ORDER BY, which must be ascending (Spark compares structs field by field)."""
    keys = []
    for ordered in order.expressions:
        if ordered.args.get("desc"):
            raise ValueError(f"{what}: a descending ORDER BY has no Spark translation here; order ascending")
        keys.append(ordered.this.copy())
    return keys


def _sorted_struct(keys: list[exp.Expression], value: exp.Expression) -> exp.Expression:
    """struct(k0, k1, ..., v): compared field by field, so sorting by it sorts by the keys."""
    fields = [exp.alias_(k, f"k{i}") for i, k in enumerate(keys)] + [exp.alias_(value, "v")]
    return exp.Struct(expressions=fields)


def _rule_regex_classes(node: exp.Expression) -> exp.Expression:
    """Unicode scripts in regular expressions: DuckDB (RE2) writes `\p{Han}`, Java wants `\p{IsHan}`."""
    if isinstance(node, exp.Literal) and node.is_string and "\\p{" in node.this:
        return exp.Literal.string(re.sub(r"\\p\{(?!Is)(\w+)\}", r"\\p{Is\1}", node.this))
    return node


def _rule_ordered_first_last(node: exp.Expression) -> exp.Expression:
    """`first(x order by k...)` / `last(...)`: x of the group's first (last) row in that order. sqlglot keeps
    the ORDER BY, which Spark's first/last do not take: `min_by(x, struct(k...))` / `max_by`. The keys must
    be ascending and not null (ours: timestamps, ids, row numbers), as a struct compares nulls first."""
    if isinstance(node, (exp.First, exp.Last)) and isinstance(node.this, exp.Order):
        order = node.this
        keys = _ascending_keys(order, node.key)
        key = keys[0] if len(keys) == 1 else exp.Struct(expressions=[exp.alias_(k, f"k{i}") for i, k in enumerate(keys)])
        return _func("min_by" if isinstance(node, exp.First) else "max_by", order.this.copy(), key)
    return node


def _rule_ordered_list(node: exp.Expression) -> exp.Expression:
    """`list(x order by k...)`: sqlglot drops the order (`collect_list(x)`, in whatever order rows arrive).
    Sorted here: `transform(array_sort(collect_list(struct(k..., x))), e -> e.v)`; `list(distinct x order by
    x)` is `array_sort(collect_set(x))`. Nulls in x are kept (as DuckDB's list), except with distinct."""
    if not (isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order)):
        return node
    order = node.this
    keys = _ascending_keys(order, "list")
    value = order.this
    if isinstance(value, exp.Distinct):
        inner = value.expressions[0]
        if len(keys) != 1 or keys[0] != inner:
            raise ValueError("list(distinct x order by y): only ordered by x itself translates to Spark")
        return _func("array_sort", _func("collect_set", inner.copy()))
    sorted_structs = _func("array_sort", _func("collect_list", _sorted_struct(keys, value.copy())))
    return _func("transform", sorted_structs,
                 exp.Lambda(this=exp.Dot(this=exp.column("e"), expression=exp.to_identifier("v")),
                            expressions=[exp.to_identifier("e")]))


def _rule_any_value(node: exp.Expression) -> exp.Expression:
    """`any_value(x)` skips nulls in DuckDB; sqlglot writes `any_value(x) ignore nulls`, which Spark does not
    parse: `any_value(x, true)`."""
    if isinstance(node, exp.IgnoreNulls) and isinstance(node.this, exp.AnyValue):
        return _func("any_value", node.this.this.copy(), exp.true())
    return node


def _rule_timezone(node: exp.Expression) -> exp.Expression:
    """`timezone(zone, ts)`: the wall-clock time in `zone` of an instant, as a timestamp without time zone;
    Spark: `cast(from_utc_timestamp(ts, zone) as timestamp_ntz)` (the session time zone is UTC)."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "timezone" and len(node.expressions) == 2:
        zone, ts = (e.copy() for e in node.expressions)
        return exp.cast(_func("from_utc_timestamp", ts, zone), exp.DataType.build("timestamp_ntz", dialect="spark"))
    return node


def _rule_to_days(node: exp.Expression) -> exp.Expression:
    """`to_days(n)`: an interval of n days; Spark: `make_dt_interval(n)` (days, comparable with the difference
    of two timestamps)."""
    if isinstance(node, exp.ToDays):
        return _func("make_dt_interval", node.this.copy())
    return node


def _rule_list_index(node: exp.Expression) -> exp.Expression:
    """`x[i]`: DuckDB gives null past a list's end (an empty list's `[1]` too); Spark's `x[i]` fails in ANSI
    mode: `try_element_at(x, i)` (1-based, as DuckDB's). Map lookups likewise."""
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        index = node.expressions[0]
        if isinstance(index, exp.Literal) and index.is_string:
            return _func("try_element_at", node.this.copy(), index.copy())
        if isinstance(index, exp.Literal) and index.is_int:
            return _func("try_element_at", node.this.copy(), exp.Literal.number(int(index.this) + 1))
        # sqlglot shifts only literal indexes to 0-based: an expression is still DuckDB's 1-based index
        return _func("try_element_at", node.this.copy(), index.copy())
    return node


def _rule_count_distinct_window(node: exp.Expression) -> exp.Expression:
    """`count(distinct x) over (...)`: Spark has no distinct window aggregates: `size(collect_set(x) over
    (...))` (both skip nulls)."""
    if (isinstance(node, exp.Window) and isinstance(node.this, exp.Count)
            and isinstance(node.this.this, exp.Distinct) and len(node.this.this.expressions) == 1):
        window = node.copy()
        window.set("this", _func("collect_set", node.this.this.expressions[0].copy()))
        return _func("size", window)
    return node


def _rule_distinct_string_agg(node: exp.Expression) -> exp.Expression:
    """`string_agg(distinct x, sep order by x) [filter (where c)]`: sqlglot writes Spark's `listagg(distinct ...)
    within group`, which Spark 4.3 fails to plan beside other distinct aggregates or under a FILTER (a
    ClassCastException in RewriteDistinctAggregates). Written as the sorted set instead: `array_join(array_sort(
    collect_set(x) [filter (where c)]), sep)`, null when there is no value (as DuckDB's string_agg)."""
    agg, where = (node.this, node.expression) if isinstance(node, exp.Filter) else (node, None)
    if not (isinstance(agg, exp.GroupConcat) and isinstance(agg.this, exp.Order)
            and isinstance(agg.this.this, exp.Distinct)):
        return node
    order = agg.this
    (value,) = order.this.expressions
    if len(order.expressions) != 1 or order.expressions[0].this != value or order.expressions[0].args.get("desc"):
        raise ValueError("string_agg(distinct x order by y): only ordered by x itself translates to Spark")
    values = _func("collect_set", value.copy())
    if where is not None:
        values = exp.Filter(this=values, expression=where.copy())
    values = _func("array_sort", values)
    separator = agg.args.get("separator") or exp.Literal.string(",")
    return exp.Case(ifs=[exp.If(this=exp.EQ(this=_func("size", values.copy()), expression=exp.Literal.number(0)),
                                true=exp.null())],
                    default=_func("array_join", values, separator.copy()))


def _rule_division(node: exp.Expression) -> exp.Expression:
    """`a / b` is a DOUBLE in DuckDB whatever the numeric operands (`x / 3600.0` too); Spark divides decimals as
    decimals (rounded to 6 places): the dividend cast to double."""
    if isinstance(node, exp.Div):
        for div in [node, *node.find_all(exp.Div)]:  # transform() does not descend into a replaced node
            if not (isinstance(div.this, exp.Cast) and div.this.to.this == exp.DataType.Type.DOUBLE):
                div.set("this", exp.cast(div.this, exp.DataType.build("double")))
    return node


_BIGINT_FUNCTIONS = (exp.Year, exp.Quarter, exp.Month, exp.Week, exp.Day, exp.DayOfWeek, exp.DayOfMonth,
                     exp.DayOfYear, exp.Extract, exp.Length, exp.ArraySize, exp.DateDiff)
_BIGINT_WINDOWS = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile)


def _rule_bigint_results(node: exp.Expression) -> exp.Expression:
    """Date parts, lengths, date differences and row numbers are BIGINT in DuckDB, INT in Spark: cast to
    bigint, so that the columns Spark writes have DuckDB's types (a published `birth_year` or journey `step`
    is int64 on both engines)."""
    ranking = isinstance(node, exp.Window) and isinstance(node.this, _BIGINT_WINDOWS)
    if not (ranking or isinstance(node, _BIGINT_FUNCTIONS) or
            (isinstance(node, exp.Anonymous) and node.name.lower() in ("date_part", "datepart"))):
        return node
    if isinstance(node.parent, exp.Cast):
        return node
    inner = node.copy()
    for child in list(inner.iter_expressions()):  # transform() does not descend into a replaced node
        child.replace(child.transform(_rule_bigint_results))
    return exp.cast(inner, exp.DataType.build("bigint"))


RULES: tuple[Rule, ...] = (
    _rule_regex_classes,
    _rule_ordered_first_last,
    _rule_ordered_list,
    _rule_any_value,
    _rule_timezone,
    _rule_to_days,
    _rule_list_index,
    _rule_count_distinct_window,
    _rule_distinct_string_agg,
    _rule_division,
)


# ------------------------------------------------------------------------------- identity (issue 16 part 2)
def _latin1(e: exp.Expression) -> exp.Expression:
    """`e` with one character per UTF-8 byte: Spark's `levenshtein` counts characters, DuckDB's bytes; over
    this string Spark's gives DuckDB's values."""
    return exp.func("decode", exp.func("encode", e, exp.Literal.string("UTF-8")), exp.Literal.string("ISO-8859-1"))


def _rule_byte_similarity(node: exp.Expression) -> exp.Expression:
    """`jaro_winkler_similarity`, `damerau_levenshtein`, `levenshtein`: DuckDB's count bytes (a Chinese
    character is three). Spark's built-in Levenshtein is the same function over characters, so it compares a
    byte-per-character string (`_latin1`); Splink's jar Jaro-Winkler and Damerau-Levenshtein are not DuckDB's
    (the jar halves transpositions without rounding down), so the other two call transforms.similarity's
    functions (DuckDB's, registered by flows.spark_db)."""
    if isinstance(node, exp.JarowinklerSimilarity):
        return exp.Anonymous(this=similarity.JARO_WINKLER, expressions=[node.this, node.expression])
    if isinstance(node, exp.Anonymous) and node.name.lower() == "damerau_levenshtein":
        return exp.Anonymous(this=similarity.DAMERAU_LEVENSHTEIN, expressions=list(node.expressions))
    if isinstance(node, exp.Levenshtein) and not node.args.get("ins_cost"):
        return exp.Levenshtein(this=_latin1(node.this), expression=_latin1(node.expression))
    return node


def _rule_list_position(node: exp.Expression) -> exp.Expression:
    """`list_position(list, x)`: DuckDB gives null when x is absent, Spark's `array_position` 0."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_position":
        return exp.func("nullif", exp.Anonymous(this="array_position", expressions=list(node.expressions)),
                        exp.Literal.number(0))
    return node


def _rule_list_sum(node: exp.Expression) -> exp.Expression:
    """`list_sum(list)` of integers (Spark has no such function): `aggregate(list, 0L, (a, x) -> a + x)`; an empty
    list sums to 0 there, to null in DuckDB, so callers `coalesce(..., 0)` (customer_identities' key bits); nulls
    are skipped, as DuckDB's are."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_sum":
        acc, x = exp.to_identifier("_acc"), exp.to_identifier("_x")
        return exp.Anonymous(this="aggregate", expressions=[
            node.expressions[0].copy(), exp.cast(exp.Literal.number(0), "bigint"),
            exp.Lambda(this=exp.Add(this=exp.column(acc), expression=exp.func("coalesce", exp.column(x),
                                                                                exp.Literal.number(0))),
                       expressions=[acc, x])])
    return node


RULES = RULES + (_rule_byte_similarity, _rule_list_position, _rule_list_sum, _rule_bigint_results)


def macro_definition(tree: exp.Expression) -> tuple[str, list[str], exp.Expression] | None:
    """(name, parameters, body) of a `create macro` statement, None for any other statement. Spark's SQL
    functions need typed parameters, DuckDB's macros have none: the Spark engine expands each call in place
    (`expand_macros`) instead of creating a function."""
    if isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() == "MACRO":
        udf = tree.this
        return udf.this.name.lower(), [p.name for p in udf.expressions], tree.expression
    return None


def expand_macros(tree: exp.Expression, macros: dict[str, tuple[list[str], exp.Expression]]) -> exp.Expression:
    """Every call of a macro replaced by its body, its parameters by the call's arguments (macros that call
    macros expanded too)."""
    if not macros:
        return tree

    def rule(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() in macros:
            params, body = macros[node.name.lower()]
            args = dict(zip(params, node.expressions))

            def bind(n: exp.Expression) -> exp.Expression:
                if isinstance(n, exp.Column) and not n.table and n.name in args:
                    return exp.Paren(this=args[n.name].copy())
                return n
            return expand_macros(exp.Paren(this=body.copy().transform(bind)), macros)
        return node
    return tree.copy().transform(rule)
