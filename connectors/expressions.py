"""Expressions of the sources configuration: a row filter and expression fields, in DuckDB SQL expression
syntax over the export's columns. Checked at config load (sqlglot, dialect duckdb): exactly one expression,
no statement, subquery, table or table function; its column references are the export columns it needs.

sqlglot rather than a regex or DuckDB itself: it parses DuckDB's dialect without a connection (connectors
never talk to DuckDB) and gives the tree, so references can be listed and rewritten exactly. Imported on
first use: a configuration without expressions does not pay its import."""

from __future__ import annotations

from functools import lru_cache

# an export column an expression or the filter references is kept by the extract under this prefix
EXPORT_PREFIX = "_export__"
# functions that read files, tables or the environment: not allowed in an expression over one row
_TABLE_FUNCTIONS = ("read_", "glob", "query", "query_table", "getenv", "current_setting", "sniff_csv",
                    "parquet_", "duckdb_", "pragma_", "iceberg_", "delta_scan", "sqlite_", "postgres_", "mysql_")


def _name(node) -> str:
    """A function's name as written, lower case."""
    from sqlglot import exp

    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower() if isinstance(node, exp.Func) else ""


@lru_cache(maxsize=512)
def parse_expression(text: str):
    """The one expression of `text` (a sqlglot tree); raises ValueError saying why it is not one (or not
    allowed)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        trees = [t for t in sqlglot.parse(text, read="duckdb") if t is not None]
    except SqlglotError as exc:
        raise ValueError(f"{text!r} is not a DuckDB SQL expression: {str(exc).splitlines()[0]}") from None
    if len(trees) != 1:
        raise ValueError(f"{text!r} must be one expression, not {len(trees)} statements")
    tree = trees[0]
    for node in tree.walk():
        if isinstance(node, (exp.Query, exp.Subquery, exp.DDL, exp.DML, exp.Command, exp.Pragma, exp.Set,
                             exp.Table, exp.From, exp.Join)):
            raise ValueError(f"{text!r} must be one expression over the export's columns: "
                             f"no statement, query or subquery ({node.key} found)")
        if isinstance(node, exp.Star):
            raise ValueError(f"{text!r}: name the columns, not *")
        if isinstance(node, exp.Column) and node.table:
            raise ValueError(f"{text!r}: column {node.sql(dialect='duckdb')} is qualified; name the export's "
                             f"column alone (quote names with spaces: \"Order Status\")")
        name = _name(node)
        if name and (name.startswith(_TABLE_FUNCTIONS) or "read" in name and name.endswith(("csv", "parquet", "json"))):
            raise ValueError(f"{text!r}: function {name}() reads outside the row; not allowed in an expression")
    if not tree.find(exp.Column):
        raise ValueError(f"{text!r} references no column of the export (use `constants` for a fixed value)")
    return tree


def referenced_columns(text: str) -> list[str]:
    """The export columns an expression references, in order of first appearance."""
    from sqlglot import exp

    return list(dict.fromkeys(c.name for c in parse_expression(text).find_all(exp.Column)))


def export_sql(text: str) -> str:
    """The expression as DuckDB SQL over the extract's kept columns (each reference `c` -> `"_export__c"`)."""
    from sqlglot import exp

    def rename(node):
        if isinstance(node, exp.Column):
            return exp.column(EXPORT_PREFIX + node.name, quoted=True)
        return node
    return parse_expression(text).copy().transform(rename).sql(dialect="duckdb")
