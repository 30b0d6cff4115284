"""Views over a run's staged Parquet files, one `kind_<kind>` view per canonical kind, for the analysis steps."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from connectors.schemas import ATTRIBUTES, KINDS
from flows.db import Database, parquet_source, quote
from transforms.stage import DUCK_TYPES


def empty_kind_sql(kind: str) -> str:
    """A typed, empty SELECT with the columns of a staged table of `kind`."""
    cols = [f"CAST(NULL AS {DUCK_TYPES[spec.type]}) AS {quote(name)}" for name, spec in KINDS[kind].items()]
    cols += ["NULL::VARCHAR AS attributes", "NULL::VARCHAR AS _source_system", "NULL::VARCHAR AS _source_entity",
             "NULL::VARCHAR AS _source_file", "NULL::BIGINT AS _row_number"]
    return f"select {', '.join(cols)} where false"


def attach_kinds(db: Database, staged: dict[str, tuple[str, Path]]) -> None:
    """Create one view `kind_<kind>` per kind: the union of that kind's staged files (empty if none).

    `staged` maps source name -> (kind, parquet path).
    """
    for kind in KINDS:
        paths = sorted(p for k, p in staged.values() if k == kind)
        # rows staged before `attributes` existed (reused from an earlier version) have none
        extra = "" if not paths or any(ATTRIBUTES in pq.read_schema(p).names for p in paths) else \
            f", NULL::VARCHAR AS {ATTRIBUTES}"
        sql = f"select *{extra} from {parquet_source(paths, union_by_name=True)}" if paths else empty_kind_sql(kind)
        db.run(f"view kind_{kind}", f"create or replace view {quote('kind_' + kind)} as {sql}")
