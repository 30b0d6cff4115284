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
    return tree.sql(dialect="spark")


# ------------------------------------------------------------------------------------------------- rules
def _rule_regex_classes(node: exp.Expression) -> exp.Expression:
    """Unicode scripts in regular expressions: DuckDB (RE2) writes `\\p{Han}`, Java wants `\\p{IsHan}`."""
    if isinstance(node, exp.Literal) and node.is_string and "\\p{" in node.this:
        return exp.Literal.string(re.sub(r"\\p\{(?!Is)(\w+)\}", r"\\p{Is\1}", node.this))
    return node


RULES: tuple[Rule, ...] = (
    _rule_regex_classes,
)
