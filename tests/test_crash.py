"""Crashes: a run killed (os._exit in a child process, as kill -9: no cleanup) at each step boundary and at each
publish operation. After every kill the warehouse opens on one whole version, its catalog and `current` agree,
and the next start rolls back or finishes what was left: no half version, no work directory (personal data in
clear), the killed run in the ledger as failed, or as published when its pointer had moved.

The runs load the crm source only (the others have no rows), without the probabilistic linker: the point is the
warehouse, not the data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from flows import warehouse
from flows.settings import Settings
from flows.steps.run import STEPS, recover, run_night, run_step
from flows.steps.spec import make_spec
from flows.warehouse.catalog import Catalog
from tests.conftest import REPO, demo_data_dir
from tests.crashing import KILLED, PUBLISH_POINTS

pytestmark = pytest.mark.e2e
SOURCES = ["crm"]


def _spec(day: int, second: int = 0, **update):
    now = datetime(2026, 11, day, 2, 0, second, tzinfo=timezone.utc)
    return make_spec(Settings(), date(2026, 11, day), SOURCES, False, now).model_copy(update=update)


def _child(data: Path, *args: str) -> int:
    env = {**os.environ, "SILOBRIDGE_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "tests.crashing", *args], cwd=REPO, env=env,
                          capture_output=True, timeout=900).returncode


def _published(wh: Path) -> tuple[str, str, int]:
    """(current's name, the catalog's version, customers) as a reader sees them."""
    with Catalog.open(wh) as catalog:
        version = catalog.db.scalar("t", "select run_id from _silobridge_version")
        customers = catalog.db.count("dim_customers")
    return warehouse.current_version(wh).name, version, customers


def _ledger(wh: Path) -> dict[str, tuple[str, str | None]]:
    return {r["run_id"]: (r["status"], r["error"]) for r in warehouse.read_run_records(wh)}


def _leftovers(data: Path) -> list[str]:
    """Anything a finished run should not leave: work directories, hidden files (the lock aside), state of
    versions not kept."""
    wh = data / "warehouse"
    out = [f"work/{p.name}" for p in (data / "work").glob("*")]
    out += [p.name for p in wh.iterdir() if p.name.startswith(".") and p.name != ".lock"]
    out += [f"versions/{p.name}" for p in (wh / "versions").iterdir() if p.name.startswith(".")]
    kept = {p.name for p in (wh / "versions").iterdir()}
    out += [f"state/{p.name}" for p in (data / "state").iterdir() if p.is_dir() and p.name not in kept]
    return out


@pytest.fixture(scope="module")
def crm_night(tmp_path_factory, demo_exports) -> Path:
    """A data directory whose warehouse holds one published night (crm only)."""
    data = demo_data_dir(tmp_path_factory.mktemp("crash") / "data", demo_exports, probabilistic=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SILOBRIDGE_DATA_DIR", str(data))
        run_night(_spec(20), "test-key")
    return data


def _copy(src: Path, dst: Path, monkeypatch) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    monkeypatch.setenv("SILOBRIDGE_DATA_DIR", str(dst))
    return dst


def test_a_run_killed_at_each_step_boundary_leaves_the_last_version_and_is_cleaned_up_next_start(
        crm_night, tmp_path, monkeypatch):
    data = _copy(crm_night, tmp_path / "data", monkeypatch)
    wh = data / "warehouse"
    v1 = _published(wh)
    assert v1[0] == v1[1] == "20261120T020000000000Z"
    killed = []
    for second, step in enumerate(STEPS, 1):
        assert _child(data, "night", "21", str(second), f"before:{step.name}", *SOURCES) == KILLED
        killed.append(f"20261121T0200{second:02d}000000Z")
        assert _published(wh) == v1, step.name  # readers still see the first night, whole
    # killed once its pointer had moved: published
    assert _child(data, "night", "21", "30", "after:publish", *SOURCES) == KILLED
    v2 = _published(wh)
    assert v2[:2] == ("20261121T020030000000Z",) * 2 and v2[2] == v1[2]
    # the next start records the killed runs and removes their leftovers, then runs the night
    last = _spec(22)
    run_night(last, "test-key")
    shutil.rmtree(last.run_dir)  # as the flow does when its run ends
    ledger = _ledger(wh)
    # each killed run is put right by the next run to start
    cleaned_by = [*killed[1:], "20261121T020030000000Z"]
    assert {r: ledger[r] for r in killed} == {
        r: ("failed", f"interrupted before it published; cleaned up by run {by}") for r, by in zip(killed, cleaned_by)}
    assert ledger["20261121T020030000000Z"] == ("success", None)
    assert _published(wh)[:2] == ("20261122T020000000000Z",) * 2
    with Catalog.open(wh) as catalog:
        assert catalog.db.rows("t", "select status, count(*) from pipeline_runs group by all order by 1") == [
            ("failed", len(killed)), ("success", 3)]
    assert sorted(p.name for p in (wh / "versions").iterdir()) == [
        "20261120T020000000000Z", "20261121T020030000000Z", "20261122T020000000000Z"]
    assert _leftovers(data) == []


@pytest.fixture(scope="module")
def prepared_publish(crm_night, tmp_path_factory) -> Path:
    """A copy of the first night with a second night run up to (not including) its publish step, keeping one
    version (so that publishing prunes the first); crm delivered one more file tonight."""
    data = tmp_path_factory.mktemp("prepared") / "data"
    shutil.copytree(crm_night, data, symlinks=True)
    contacts = (data / "demo" / "exports" / "crm" / "contacts.csv").read_text(encoding="utf-8-sig").splitlines()
    (data / "demo" / "exports" / "crm" / "contacts_extra.csv").write_text(
        "\n".join([contacts[0], "CRASH-1" + contacts[1][contacts[1].index(","):]]) + "\n", encoding="utf-8-sig")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SILOBRIDGE_DATA_DIR", str(data))
        spec = _spec(21, keep_versions=1)
        summary = {"run_id": spec.run_id, "run_date": "2026-11-21", "started_at": "2026-11-21T02:00:00+00:00"}
        with warehouse.warehouse_lock(spec.warehouse_dir, spec.run_id, 0):
            for step in STEPS[:-1]:
                summary[step.name] = run_step(step, spec, summary, "test-key")
    (data / "prepared.json").write_text(json.dumps(summary, default=str), encoding="utf-8")
    return data


@pytest.mark.parametrize("point", PUBLISH_POINTS)
def test_a_run_killed_at_each_publish_operation_is_rolled_back_or_finished_at_the_next_start(
        prepared_publish, point, tmp_path, monkeypatch):
    data = _copy(prepared_publish, tmp_path / "data", monkeypatch)
    wh = data / "warehouse"
    v1, v2 = "20261120T020000000000Z", "20261121T020000000000Z"
    spec = _spec(21, keep_versions=1)
    (data / "spec.json").write_text(spec.model_dump_json(), encoding="utf-8")
    assert _child(data, "publish", str(data / "spec.json"), str(data / "prepared.json"), point) == KILLED
    moved = PUBLISH_POINTS.index(point) > PUBLISH_POINTS.index("move pointer")
    current = v2 if moved else v1
    # a reader sees one whole version: the catalog and `current` agree
    assert _published(wh)[:2] == (current, current)
    with Catalog.open(wh) as catalog:
        assert catalog.db.scalar("t", "select max(run_id) from pipeline_runs where status = 'success'") == current

    after = _spec(22, keep_versions=1)
    with warehouse.warehouse_lock(after.warehouse_dir, after.run_id, 0):
        recover(after)
    assert _published(wh)[:2] == (current, current)
    assert sorted(p.name for p in (wh / "versions").iterdir()) == [current]
    assert _ledger(wh)[v2] == (("success", None) if moved else (
        "failed", "interrupted before it published; cleaned up by run 20261122T020000000000Z"))
    assert _leftovers(data) == []
    files = {e["file"]: e["run_id"] for e in warehouse.read_file_ledger(data / "state").values()}
    assert files.get("crm/contacts_extra.csv") == (v2 if moved else None)
