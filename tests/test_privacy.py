"""Personal data planted in bad input never comes out in clear: a headerless export (its first row read as the
header), an email and a phone in non-personal columns, a name in a rejected row. After a run through the CLI,
every output is searched for them: the warehouse's tables, Data Docs, report and ledger, stdout/stderr, the
Prefect database; the work directory is gone; private state is the owner's only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app

pytestmark = pytest.mark.e2e

PLANTED = ["planted.victim@example.org", "0987-654-321", "0987654321", "+886987654321", "Planted Victim",
           "planted.second@example.org", "0911-222-333", "0911222333", "Zyxwvu"]


def _texts(root: Path) -> dict[str, str]:
    """Every file under `root` as text; Parquet files as the text of all their rows (their pages are compressed)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name.endswith(".duckdb"):
            continue
        if p.suffix == ".parquet":
            out[str(p)] = repr(duckdb.sql(f"select * from read_parquet('{p}')").fetchall())
        else:
            out[str(p)] = p.read_bytes().decode("utf-8", "replace")
    return out


def _prefect_database() -> Path:
    from prefect.settings import get_current_settings

    url = str(get_current_settings().server.database.connection_url.get_secret_value()
              if hasattr(get_current_settings().server.database.connection_url, "get_secret_value")
              else get_current_settings().server.database.connection_url)
    return Path(url.split(":///", 1)[1])


def test_planted_personal_values_appear_in_no_output(data_dir, prefect_api):
    shop = data_dir / "demo" / "exports" / "shop"
    (shop / "customers_headerless.csv").write_text(
        "U9999001,planted.victim@example.org,0987-654-321,Planted Victim,2026-11-19T10:00:00+08:00,false\n"
        "U9999003,other@example.org,0912-345-678,Other Person,2026-11-19T11:00:00+08:00,true\n", encoding="utf-8")
    with open(shop / "customers.csv", "a", encoding="utf-8") as f:
        f.write("U9999002,,,Zyxwvu Person,planted.second@example.org,0911-222-333\n")
    result = CliRunner().invoke(app, ["run", "--run-date", "2026-11-20", "--source", "shop"])
    assert result.exit_code == 0, result.output
    # the problems are reported, by shape
    text = " ".join(result.output.split())
    # a file whose first line holds none of the mapped columns has no header row: its values are not shown
    assert ("file set aside shop/customers_headerless.csv, line 1: has no header row: none of the 6 mapped columns "
            "is in its first line (6 fields, not shown: they may be personal data)") in text
    wh = data_dir / "warehouse"
    outputs = {"stdout/stderr": result.output, **_texts(wh)}
    db = _prefect_database()
    outputs.update({str(p): p.read_bytes().decode("utf-8", "replace") for p in db.parent.glob(db.name + "*")})
    found = {(name, value) for name, text in outputs.items() for value in PLANTED if value in text}
    assert found == set()
    assert len(outputs) > 10  # the search did read the warehouse (tables, Data Docs, report, ledger)
    assert not list((data_dir / "work").iterdir())
    for private in (data_dir / "state", data_dir / "work"):
        assert stat.S_IMODE(os.stat(private).st_mode) == 0o700


def test_a_failing_steps_message_and_its_cause_are_masked_before_prefect_records_them():
    """A failure we did not foresee (a database's or a bug's message quoting a value) leaves the step masked:
    the message and the exception it was raised from; our own messages keep the names they quote."""
    from flows.db import StatementError
    from flows.steps.policy import PipelineError
    from flows.steps.run import Step, run_step

    def broken(spec):
        try:
            raise ValueError("Could not convert string 'Planted Victim' to INT32 (planted.victim@example.org)")
        except ValueError as exc:
            raise StatementError("model", "fct_orders", str(exc)) from exc

    with pytest.raises(StatementError) as got:
        run_step(Step("model", "model", broken), None, {}, "")
    assert str(got.value) == ("model: statement 'fct_orders' failed: Could not convert string 'xxxxxxx xxxxxx' to "
                              "INT32 (xxxxxxx.xxxxxx@xxxxxxx.xxx)")
    assert str(got.value.__cause__) == "Could not convert string 'xxxxxxx xxxxxx' to INT32 (xxxxxxx.xxxxxx@xxxxxxx.xxx)"

    def ours(spec):
        raise PipelineError("critical source crm__contacts: 'crm/contacts.csv' failed rule 'shape:email' (0911-222-333)")

    with pytest.raises(PipelineError) as got:
        run_step(Step("validate", "validate", ours), None, {}, "")
    assert str(got.value) == ("critical source crm__contacts: 'crm/contacts.csv' failed rule 'shape:email' "
                              "(9999-999-999)")
