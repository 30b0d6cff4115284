"""Rows compared across engines (DuckDB and Spark) by the parity tests: floats to a relative REL_TOL, timestamps
in UTC, lists in order, objects by key."""

from __future__ import annotations

import math
from datetime import date, datetime, timezone
from decimal import Decimal

REL_TOL = 1e-9


def comparable(v, naive_utc: bool = False):
    """A value comparable across engines (`naive_utc`: timestamps as naive UTC, as the identity tables hold)."""
    if isinstance(v, float):
        if math.isnan(v) or v == 0:
            return v
        return float(f"{v:.{-int(math.log10(REL_TOL))}g}")
    if isinstance(v, Decimal):
        return comparable(float(v))
    if isinstance(v, datetime):
        if not v.tzinfo:
            return v
        return v.astimezone(timezone.utc).replace(tzinfo=None) if naive_utc else v.astimezone(timezone.utc)
    if isinstance(v, (list, tuple)):
        return tuple(comparable(x, naive_utc) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, comparable(x, naive_utc)) for k, x in v.items()))
    if isinstance(v, (date, str, int, bool)) or v is None:
        return v
    return repr(v)


def comparable_row(record: dict, naive_utc: bool = False) -> tuple:
    return tuple(comparable(v, naive_utc) for v in record.values())
