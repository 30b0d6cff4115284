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
from tests.conftest import copy_data_dir

def _night(accept: bool = False) -> dict:
    now = datetime.now(timezone.utc)  # run ids sort after the first night's (a flow run started earlier)
    spec = make_spec(Settings(), date(2026, 11, 20), None, False, now, accept)
    return run_night(spec, Settings().hash_key(), started_at=now)  # the flow's key


def test_a_broken_export_is_stopped_by_the_gate_and_an_accepted_change_is_recorded(first_night, tmp_path,
                                                                                    monkeypatch):
    # the session's first night (the demo, published), then two nights of this test in a copy of it
    data_dir = copy_data_dir(first_night[0], tmp_path / "data")
    monkeypatch.setenv("SILOBRIDGE_DATA_DIR", str(data_dir))
    first = first_night[1]
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
        _night()
    assert (data_dir / "warehouse" / "current").resolve() == current  # nothing published

    accepted = _night(accept=True)
    changes = accepted["identity"]["changes"]
    assert changes["split"] > 0 and changes["new"] == 0
    con = duckdb.connect(str(data_dir / "warehouse" / "warehouse.duckdb"), read_only=True)
    con.execute("set file_search_path = $p", {"p": str(data_dir / "warehouse")})  # views' paths are relative
    run_id = accepted["run_id"]
    assert con.execute("select customers_split, customers_unchanged from pipeline_runs where run_id = $r",
                       {"r": run_id}).fetchall() == [(changes["split"], changes["unchanged"])]
    assert con.execute("select count(*) from customer_id_history where run_id = $r and event = 'split'",
                       {"r": run_id}).fetchall() == [(changes["split"],)]
    # the three runs are one night (2026-11-20): the history keeps that night's metrics once, from the last run
    assert con.execute("select distinct run_id from metrics where as_of_date = '2026-11-20'").fetchall() == [
        (run_id,)]
    # every id the first run issued still resolves to a current customer
    first_ids = first["identity"]["customers"]
    assert con.execute("select count(*) from customer_id_map where issued_run_id = $r and status = 'active'",
                       {"r": first["run_id"]}).fetchall() == [(first_ids,)]
