"""SQL text helpers of the transforms: identifier quoting and the `.sql` files shipped with a package.

Values never go into SQL text (they are bound parameters); identifiers built from configuration go through
`quote`. This is the transforms' copy of `flows.db.quote`, which transforms cannot import (layers).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


def quote(identifier: str) -> str:
    """A DuckDB identifier in double quotes (embedded quotes doubled)."""
    return '"' + str(identifier).replace('"', '""') + '"'


@cache
def load_sql(package: str, name: str) -> str:
    """The text of `<package>/sql/<name>.sql`."""
    return resources.files(package).joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def create_table(name: str, select: str) -> str:
    """`create or replace table <name> as <select>` (the SQL files hold only the SELECT, dbt style)."""
    return f"create or replace table {quote(name)} as\n{select}"


def create_view(name: str, select: str) -> str:
    """`create or replace view <name> as <select>`."""
    return f"create or replace view {quote(name)} as\n{select}"


def bind(sql: str, params: dict) -> dict:
    """The subset of `params` that `sql` uses (DuckDB rejects unused named parameters); KeyError if one is missing."""
    used = set(_PARAM.findall(re.sub(r"--[^\n]*", "", sql)))
    missing = used - set(params)
    if missing:
        raise KeyError(f"SQL needs parameters {sorted(missing)}")
    return {k: params[k] for k in used}
