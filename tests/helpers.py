"""Test helpers: tiny kind tables in a DuckDB connection."""

from __future__ import annotations

import pyarrow as pa

from transforms.config import IdentityConfig
from flows.db import Database
from flows.warehouse.staged import empty_kind_sql
from transforms.identity import register_udfs
from transforms.model import register_survivorship
from connectors.schemas import KINDS


def connect():
    """A raw DuckDB connection set up like the pipeline's (flows.db.Database.connect)."""
    return Database.connect()._con  # TODO(merge): transforms take db


def kinds_connection(tables: dict[str, list[dict]], identity: IdentityConfig | None = None, regions=None):
    """A connection with one `kind_<kind>` table per kind (typed, empty unless rows are given)."""
    con = connect()
    register_udfs(con, "test-key", identity or IdentityConfig())
    for kind in KINDS:
        con.execute(f"create table kind_{kind} as {empty_kind_sql(kind)}")
        rows = tables.get(kind)
        if rows:
            cols = sorted({k for r in rows for k in r})
            arrow = pa.table({c: [r.get(c) for r in rows] for c in cols})
            con.register("incoming", arrow)
            con.execute(f"insert into kind_{kind} by name select * from incoming")
            con.unregister("incoming")
    con.execute("create table source_regions (system varchar, region varchar)")
    for system, region in (regions or {}).items():
        con.execute("insert into source_regions values ($s, $r)", {"s": system, "r": region})
    con.execute("create table journey_stages (touchpoint_type varchar, journey_stage varchar)")
    con.execute("create table policy_topics (policy varchar, topic varchar)")
    register_survivorship(con, (identity or IdentityConfig()).survivorship)
    return con


def rows(con, sql: str, params: dict | None = None) -> list[tuple]:
    return con.execute(sql, params or {}).fetchall()
