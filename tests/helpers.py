"""Test helpers: tiny kind tables in a DuckDB database (the `flows.db.Database` the transforms take)."""

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
    return Database.connect()._con  # tests may use DuckDB directly; the pipeline never does


def kinds_connection(tables: dict[str, list[dict]], identity: IdentityConfig | None = None, regions=None,
                     postcode_keys=None):
    """A Database with one `kind_<kind>` table per kind (typed, empty unless rows are given)."""
    db = Database(connect(), step="test")
    register_udfs(db, "test-key", identity or IdentityConfig())
    for kind in KINDS:
        db.run(f"kind_{kind}", f"create table kind_{kind} as {empty_kind_sql(kind)}")
        rows = tables.get(kind)
        if rows:
            cols = sorted({k for r in rows for k in r})
            db.register("incoming", pa.table({c: [r.get(c) for r in rows] for c in cols}))
            db.run(f"kind_{kind} rows", f"insert into kind_{kind} by name select * from incoming")
            db._con.unregister("incoming")
    db.run("source_regions", "create table source_regions (system varchar, region varchar)")
    db.run_many("source_regions rows", "insert into source_regions values (?, ?)", list((regions or {}).items()))
    db.run("source_postcode_keys", "create table source_postcode_keys "
           "(system varchar, entity varchar, postcode_key_length integer)")
    db.run_many("source_postcode_keys rows", "insert into source_postcode_keys values (?, ?, ?)",
                [(system, entity, n) for (system, entity), n in (postcode_keys or {}).items()])
    db.run("journey_stages", "create table journey_stages (touchpoint_type varchar, journey_stage varchar)")
    db.run("policy_topics", "create table policy_topics (policy varchar, topic varchar)")
    register_survivorship(db, (identity or IdentityConfig()).survivorship)
    return db


def rows(db: Database, sql: str, params: dict | None = None) -> list[tuple]:
    """All rows of a query."""
    return db.rows("test query", sql, params or {})
