"""The `silobridge` command as a user sees it: demo data, a run's summary, a failed run's message."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

pytestmark = pytest.mark.e2e


@pytest.fixture
def cli(data_dir, prefect_api):
    return CliRunner()


def test_demo_data_is_written_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("SILOBRIDGE_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    first = runner.invoke(app, ["demo-data", "--customers", "60", "--days", "7", "--seed", "3"])
    assert first.exit_code == 0, first.output
    # 13 exports + 7 days of analytics + 7 ground truth, written under the data directory
    assert "wrote 27 files" in first.output and str(tmp_path / "demo") in first.output
    with open(tmp_path / "demo" / "ground_truth" / "identity.csv", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) > 60
    again = runner.invoke(app, ["demo-data", "--if-missing"])
    assert again.exit_code == 0 and "demo exports already in" in again.output


def test_run_prints_the_warehouse_tables_quarantine_and_headline(cli, data_dir):
    result = cli.invoke(app, ["run", "--run-date", "2026-11-20"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"warehouse: {(data_dir / 'warehouse').resolve()}" in out
    for table in ("dim_customers", "customer_identities", "fct_touchpoints", "quarantine", "pipeline_runs"):
        assert table in out
    assert "range:quantity" in out and "unique:order_id,line_no" in out and "required:ordered_at" in out
    assert "price_mismatch_sku_share" in out and "identity resolution vs demo ground truth" in out and "fuzzy_linkable" in out
    report = (data_dir / "warehouse" / "current" / "report.html").resolve()
    assert "(open it in a browser)" in " ".join(out.split()) and report.exists()  # rich wraps long lines
    # `silobridge report` renders the published version again, here into a file of our choosing
    again = cli.invoke(app, ["report", "--out", str(data_dir / "again.html")])
    assert again.exit_code == 0, again.output
    assert (data_dir / "again.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "quarantine: 3 rows this run" in out
    docs = out.split("Data Docs (Great Expectations): ")[1].split()[0]
    assert docs.endswith("/data_docs/index.html") and Path(docs).is_file()

    summary = cli.invoke(app, ["quarantine"])
    assert summary.exit_code == 0, summary.output
    assert "range:quantity" in summary.output and "3 rows" in summary.output
    exported = data_dir / "fix" / "orders.csv"
    result = cli.invoke(app, ["quarantine", "export", "--source", "shop__orders", "--out", str(exported)])
    assert result.exit_code == 0, result.output
    with open(exported, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["_rule"] for r in rows) == ["range:quantity", "unique:order_id,line_no"]
    assert [r["quantity"] for r in rows if r["_rule"] == "range:quantity"] == ["-1"]


def test_a_failed_run_says_what_is_wrong_without_a_traceback(cli, data_dir):
    prices = data_dir / "demo" / "exports" / "erp" / "price_list.csv"
    prices.write_text(prices.read_text(encoding="utf-8").replace("price,", "amount,", 1), encoding="utf-8")
    result = cli.invoke(app, ["run", "--run-date", "2026-11-20"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())  # rich wraps long lines
    assert ("run failed: critical source erp__prices: file erp/price_list.csv, line 1 was set aside: "
            "schema drift: expected column(s) 'price' are missing") in text
    assert f"The previous warehouse in {data_dir / 'warehouse'} is unchanged." in text
    assert "Traceback" not in result.output
    assert not (data_dir / "warehouse" / "warehouse.duckdb").exists()
