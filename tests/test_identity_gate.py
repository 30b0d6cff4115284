"""The identity stability gate through the plain pipeline steps (no Prefect): a broken export that would
rewrite the customer base stops the run before publishing, with a clear message; accepting the change
publishes it and records it in customer_id_history and pipeline_runs."""

from __future__ import annotations

import csv
from datetime import date, datetime, timezone

import duckdb
import pytest

from flows.settings import Settings
from flows.steps.policy import PipelineError
from flows.steps.run import run_night
from flows.steps.spec import make_spec

KEY = "test-key"


def _night(data_dir, day: int, accept: bool = False) -> dict:
    now = datetime(2026, 11, day, 2, tzinfo=timezone.utc)
    spec = make_spec(Settings(), date(2026, 11, 20), None, False, now, accept)
    return run_night(spec, KEY, started_at=now)


def test_a_broken_export_is_stopped_by_the_gate_and_an_accepted_change_is_recorded(data_dir):
    first = _night(data_dir, 20)
    # tonight the shop export lost every email and phone: shop accounts no longer join their customers
    path = data_dir / "demo" / "exports" / "shop" / "customers.csv"
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["email"] = r["phone"] = ""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    current = (data_dir / "warehouse" / "current").resolve()
    with pytest.raises(PipelineError, match=r"identity gate: [\d,]+ of [\d,]+ customers .* limit is 10%"):
        _night(data_dir, 21)
    assert (data_dir / "warehouse" / "current").resolve() == current  # nothing published

    accepted = _night(data_dir, 22, accept=True)
    changes = accepted["identity"]["changes"]
    assert changes["split"] > 0 and changes["new"] == 0
    con = duckdb.connect(str(data_dir / "warehouse" / "warehouse.duckdb"), read_only=True)
    run_id = accepted["run_id"]
    assert con.execute("select customers_split, customers_unchanged from pipeline_runs where run_id = $r",
                       {"r": run_id}).fetchall() == [(changes["split"], changes["unchanged"])]
    assert con.execute("select count(*) from customer_id_history where run_id = $r and event = 'split'",
                       {"r": run_id}).fetchall() == [(changes["split"],)]
    # every id the first run issued still resolves to a current customer
    first_ids = first["identity"]["customers"]
    assert con.execute("select count(*) from customer_id_map where issued_run_id = $r and status = 'active'",
                       {"r": first["run_id"]}).fetchall() == [(first_ids,)]
