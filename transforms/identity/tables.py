"""The identity SQL files (`transforms/identity/sql/<table>.sql`, one SELECT each) and how a table is built."""

from __future__ import annotations

from transforms.database import Database
from transforms.sqltext import bind, create_table, load_sql, quote


def sql(name: str) -> str:
    """The text of transforms/identity/sql/<name>.sql."""
    return load_sql("transforms.identity", name)


def build(db: Database, name: str, params: dict | None = None) -> None:
    """Create (or replace) table `name` from its SQL file, binding the parameters it uses from `params`."""
    select = sql(name)
    db.run(f"identity.{name}", create_table(name, select), bind(select, params or {}))


def columns(db: Database, table: str) -> list[str]:
    """The column names of table `table`, in order (read off an empty result: `describe` is DuckDB's alone)."""
    return list(db.df(f"{table} columns", f"select * from {quote(table)} limit 0").columns)
