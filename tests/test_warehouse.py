"""Publishing warehouse versions: atomic switch, catalog of views, pruning, run ledger; the schedule."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from flows import warehouse
from flows.db import Database, StatementError
from flows.schedule import deployment_schedule


def _version(tmp_path: Path, run_id: str, value: int) -> Path:
    out = tmp_path / "work" / run_id / "out"
    with Database.connect() as db:
        db.run("t", "create table t as select $v::int as v", {"v": value})
        db.write_parquet("t", out / "dim_customers.parquet")
    return out


def _read(wh: Path) -> tuple[str, int]:
    con = duckdb.connect(str(wh / warehouse.CATALOG), read_only=True)
    con.execute("set file_search_path = $p", {"p": str(wh)})  # the catalog's paths are relative to it
    try:
        return con.execute("select (select run_id from _silobridge_version), (select v from dim_customers)").fetchall()[0]
    finally:
        con.close()


def test_publish_switches_catalog_and_current_together_and_prunes_old_versions(tmp_path):
    wh = tmp_path / "warehouse"
    assert warehouse.current_version(wh) is None
    for i, run in enumerate(["20261120T020000Z", "20261121T020000Z", "20261122T020000Z"], 1):
        target = warehouse.publish(_version(tmp_path, run, i), wh, run, keep_versions=2)
        assert _read(wh) == (run, i)
        assert warehouse.current_version(wh) == target.resolve()
        assert not (tmp_path / "work" / run / "out").exists()  # moved, not copied
    assert sorted(p.name for p in (wh / "versions").iterdir()) == ["20261121T020000Z", "20261122T020000Z"]
    assert (wh / "current").is_symlink() and not any(p.name.startswith(".") for p in wh.iterdir())


def test_a_failing_publish_leaves_the_previous_version_readable(tmp_path):
    wh = tmp_path / "warehouse"
    warehouse.publish(_version(tmp_path, "20261120T020000Z", 1), wh, "20261120T020000Z")
    before = (wh / warehouse.CATALOG).read_bytes()
    with pytest.raises(FileExistsError):  # a version id can never be published twice
        warehouse.publish(_version(tmp_path, "20261120T020000Z", 2), wh, "20261120T020000Z")
    assert (wh / warehouse.CATALOG).read_bytes() == before
    assert _read(wh) == ("20261120T020000Z", 1)


def test_write_parquet_leaves_no_partial_file_when_the_query_fails(tmp_path):
    db = Database.connect(step="publish")
    target = tmp_path / "x.parquet"
    with pytest.raises(StatementError, match="publish: statement 'write no_such_table' failed"):
        db.write_parquet("no_such_table", target)
    assert list(tmp_path.iterdir()) == []


def test_run_ledger_keeps_one_record_per_run_in_order(tmp_path):
    wh = tmp_path / "warehouse"
    warehouse.write_run_record(wh, {"run_id": "20261121T020000Z", "status": "failed"})
    warehouse.write_run_record(wh, {"run_id": "20261120T020000Z", "status": "success"})
    warehouse.write_run_record(wh, {"run_id": "20261121T020000Z", "status": "success"})  # rewritten, not doubled
    assert warehouse.read_run_records(wh) == [
        {"run_id": "20261120T020000Z", "status": "success"}, {"run_id": "20261121T020000Z", "status": "success"}]


def test_schedule_is_a_cron_in_the_configured_time_zone():
    schedule = deployment_schedule("0 2 * * *", "Asia/Taipei")
    assert (schedule.cron, schedule.timezone) == ("0 2 * * *", "Asia/Taipei")
    with pytest.raises(Exception, match="Mars/Olympus"):
        deployment_schedule("0 2 * * *", "Mars/Olympus")


def test_state_is_kept_beside_each_kept_version_and_pruned_with_it(tmp_path):
    wh, state = tmp_path / "warehouse", tmp_path / "state"
    runs = ["20261120T020000Z", "20261121T020000Z", "20261122T020000Z"]
    for i, run in enumerate(runs, 1):
        staged = tmp_path / "work" / run / "staging"
        staged.mkdir(parents=True)
        (staged / "crm__contacts.parquet").write_bytes(b"rows of run %d" % i)
        warehouse.publish(_version(tmp_path, run, i), wh, run, keep_versions=2, state=(staged, state))
        assert warehouse.state_file(state, run, "crm__contacts").read_bytes() == b"rows of run %d" % i
    assert sorted(p.name for p in state.iterdir()) == runs[1:] == sorted(p.name for p in (wh / "versions").iterdir())
    assert not list(wh.rglob("*crm__contacts*"))


def test_a_copied_warehouse_opens_from_any_working_directory(tmp_path, monkeypatch):
    from flows.warehouse.catalog import Catalog

    wh = tmp_path / "warehouse"
    warehouse.publish(_version(tmp_path, "20261120T020000Z", 7), wh, "20261120T020000Z")
    assert str(tmp_path) not in (wh / "current" / warehouse.CATALOG).read_bytes().decode("latin-1")
    shutil.copytree(wh, tmp_path / "elsewhere" / "copy", symlinks=True)
    shutil.rmtree(wh)
    monkeypatch.chdir(tmp_path / "elsewhere")
    with Catalog.open(Path("copy")) as catalog:
        assert catalog.table_rows() == [("dim_customers", 1)]
        assert catalog.db.scalar("t", "select v from dim_customers") == 7


def test_a_bi_tool_opens_a_copied_warehouse_through_sqlalchemy(tmp_path):
    """The README's BI connection, as Superset makes it: SQLAlchemy + duckdb-engine, read-only, the views' base
    directory given in the URI (file_search_path), on a warehouse copied elsewhere; nothing of ours edited."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    wh = tmp_path / "warehouse"
    warehouse.publish(_version(tmp_path, "20261120T020000Z", 7), wh, "20261120T020000Z")
    moved = tmp_path / "bi" / "warehouse"
    shutil.copytree(wh, moved, symlinks=True)
    shutil.rmtree(wh)
    uri = f"duckdb:///{moved}/warehouse.duckdb?access_mode=read_only&file_search_path={moved}"
    engine = sqlalchemy.create_engine(uri, poolclass=NullPool)  # Superset's default: a connection per query
    with engine.connect() as con:
        assert sqlalchemy.inspect(con).get_view_names() == ["dim_customers"]  # what a BI tool lists as datasets
        assert con.execute(sqlalchemy.text("select v from dim_customers")).scalar() == 7
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="read-only"):
            con.execute(sqlalchemy.text("create table bi_scratch as select 1"))


def test_a_version_being_read_is_not_pruned_until_its_reader_is_done(tmp_path):
    from flows.warehouse.catalog import Catalog

    wh = tmp_path / "warehouse"
    warehouse.publish(_version(tmp_path, "20261120T020000Z", 1), wh, "20261120T020000Z", keep_versions=1)
    with Catalog.open(wh) as catalog:
        warehouse.publish(_version(tmp_path, "20261121T020000Z", 2), wh, "20261121T020000Z", keep_versions=1)
        assert catalog.db.scalar("t", "select v from dim_customers") == 1  # still reading the version it opened
        assert sorted(p.name for p in (wh / "versions").iterdir()) == ["20261120T020000Z", "20261121T020000Z"]
    warehouse.publish(_version(tmp_path, "20261122T020000Z", 3), wh, "20261122T020000Z", keep_versions=1)
    assert sorted(p.name for p in (wh / "versions").iterdir()) == ["20261122T020000Z"]
