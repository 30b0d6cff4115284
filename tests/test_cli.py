"""The `silobridge` command as a user sees it: demo data, a run's summary, a failed run's message."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO

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
    assert "price_mismatch_sku_share" in out and "identity resolution vs the ground truth sample" in out and "fuzzy_linkable" in out
    report = (data_dir / "warehouse" / "current" / "report.html").resolve()
    assert "(open it in a browser)" in " ".join(out.split()) and report.exists()  # rich wraps long lines
    # `silobridge report` renders the published version again, here into a file of our choosing
    again = cli.invoke(app, ["report", "--out", str(data_dir / "again.html")])
    assert again.exit_code == 0, again.output
    assert (data_dir / "again.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    # by default beside the data, never into the published version (which stays as published)
    published = report.read_bytes()
    version = report.parent.name
    default = cli.invoke(app, ["report"])
    assert default.exit_code == 0, default.output
    assert (data_dir / "reports" / f"report-{version}.html").is_file() and report.read_bytes() == published
    inside = cli.invoke(app, ["report", "--out", str(data_dir / "warehouse" / "current" / "report.html")])
    assert inside.exit_code == 1 and "published versions are never rewritten" in inside.output
    assert "quarantine: 3 rows this run" in out
    docs = out.split("Data Docs (Great Expectations): ")[1].split()[0]
    assert docs.endswith("/data_docs/index.html") and Path(docs).is_file()

    summary = cli.invoke(app, ["quarantine"])
    assert summary.exit_code == 0, summary.output
    assert "range:quantity" in summary.output and "3 rows" in summary.output
    # paging stated; unknown source names refused with the configured ones
    page = cli.invoke(app, ["quarantine", "list", "--limit", "2"])
    assert page.exit_code == 0 and "rows 1-2 of 3; next page: --offset 2" in page.output
    last = cli.invoke(app, ["quarantine", "list", "--limit", "2", "--offset", "2"])
    assert last.exit_code == 0 and last.output.rstrip().endswith("rows 3-3 of 3")
    unknown = cli.invoke(app, ["quarantine", "list", "--source", "shop__order"])
    assert unknown.exit_code == 1
    assert "unknown source 'shop__order'; configured: analytics__events, crm__contacts" in " ".join(unknown.output.split())
    # the export holds original values: by default under the private state directory
    result = cli.invoke(app, ["quarantine", "export", "--source", "shop__orders"])
    assert result.exit_code == 0, result.output
    exported = data_dir / "state" / "fix" / "shop__orders.csv"
    with open(exported, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["_rule"] for r in rows) == ["range:quantity", "unique:order_id,line_no"]
    assert [r["quantity"] for r in rows if r["_rule"] == "range:quantity"] == ["-1"]


def test_version_and_a_bad_configuration_refused_before_prefect_starts(tmp_path, monkeypatch):
    from importlib.metadata import version

    runner = CliRunner()
    assert runner.invoke(app, ["--version"]).output == f"silobridge {version('silobridge')}\n"
    config = (REPO / "data" / "sources.yaml").read_text(encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(config.replace("entity: contacts", "entity: contacts\n    bogus: 1", 1),
                                           encoding="utf-8")
    monkeypatch.setenv("SILOBRIDGE_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["run", "--run-date", "2026-11-20"])
    assert result.exit_code == 1
    assert (f"configuration error: {tmp_path / 'sources.yaml'}: sources.crm__contacts.bogus: Extra inputs are "
            "not permitted") in " ".join(result.output.split())
    assert "starting Prefect" not in result.output
    (tmp_path / "sources.yaml").write_text(config, encoding="utf-8")
    unknown = runner.invoke(app, ["run", "--source", "shopp"])
    assert unknown.exit_code == 1 and "unknown sources ['shopp']; configured: ['analytics'," in unknown.output


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
