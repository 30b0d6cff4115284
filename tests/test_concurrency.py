"""Two runs at once: the warehouse lock lets one publish at a time; a second run waits, or stops with a
message naming the holder (run id, pid, host) and is recorded as failed; a lock left by a dead process is
taken over and reported."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from datetime import date, datetime, timezone

import pytest

from flows import warehouse
from flows.settings import Settings
from flows.steps.run import run_night
from flows.steps.spec import make_spec
from flows.warehouse.lock import LOCK
from tests.conftest import REPO

HOLD = """
import sys, time
from pathlib import Path
from flows.warehouse import warehouse_lock
with warehouse_lock(Path(sys.argv[1]), "20261121T020000000000Z", 0):
    print("locked", flush=True)
    sys.stdin.readline()  # hold the lock until the test says so
"""


@pytest.fixture
def holder(tmp_path):
    """A child process holding the warehouse lock of tmp_path/data/warehouse until the test releases it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "data" / "warehouse")], cwd=REPO, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout.readline() == "locked\n"
    yield proc
    proc.stdin.close()
    proc.wait(timeout=60)


def test_a_second_run_stops_with_the_holder_named_and_is_recorded(tmp_path, holder):
    wh = tmp_path / "data" / "warehouse"
    with pytest.raises(warehouse.WarehouseLocked) as locked:
        with warehouse.warehouse_lock(wh, "20261121T030000000000Z", 0):
            pass
    assert str(locked.value).startswith(
        f"warehouse {wh} is locked by run 20261121T020000000000Z (pid {holder.pid} on {socket.gethostname()}, since ")
    assert str(locked.value).endswith("; waited 0s (setting SILOBRIDGE_LOCK_WAIT_SECONDS). Run again when it has "
                                      "finished.")


def test_a_run_that_cannot_take_the_lock_publishes_nothing_and_is_recorded_failed(data_dir, holder, monkeypatch):
    monkeypatch.setenv("SILOBRIDGE_LOCK_WAIT_SECONDS", "0")
    now = datetime(2026, 11, 21, 3, tzinfo=timezone.utc)
    spec = make_spec(Settings(), date(2026, 11, 21), None, False, now)
    with pytest.raises(warehouse.WarehouseLocked, match="is locked by run 20261121T020000000000Z"):
        run_night(spec, "test-key", started_at=now)
    wh = data_dir / "warehouse"
    assert sorted(p.name for p in wh.iterdir()) == [".lock", "runs"]  # nothing published, nothing staged
    (record,) = warehouse.read_run_records(wh)
    assert (record["run_id"], record["status"]) == ("20261121T030000000000Z", "failed")
    assert not (data_dir / "work" / spec.run_id).exists()


def test_a_second_run_waits_for_the_first_to_finish(tmp_path, holder):
    wh = tmp_path / "data" / "warehouse"
    holder.stdin.write("release\n")
    holder.stdin.flush()  # the holder releases while this run waits (up to 60 s)
    with warehouse.warehouse_lock(wh, "20261121T030000000000Z", 60):
        assert json.loads((wh / LOCK).read_text(encoding="utf-8"))["run_id"] == "20261121T030000000000Z"
    assert (wh / LOCK).read_text(encoding="utf-8") == ""  # released


def test_a_lock_left_by_a_dead_process_is_taken_over_and_reported(tmp_path, caplog):
    wh = tmp_path / "warehouse"
    wh.mkdir()
    (wh / LOCK).write_text(json.dumps({"run_id": "20261120T020000000000Z", "pid": 999999, "host": "nightly-1",
                                       "since": "2026-11-20T02:00:00+00:00"}), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="silobridge.pipeline"):
        with warehouse.warehouse_lock(wh, "20261121T030000000000Z", 0):
            holder = json.loads((wh / LOCK).read_text(encoding="utf-8"))
    assert (holder["run_id"], holder["pid"]) == ("20261121T030000000000Z", os.getpid())
    assert caplog.messages == ["stale warehouse lock of run 20261120T020000000000Z (pid 999999 on nightly-1, "
                               "since 2026-11-20T02:00:00+00:00) taken over (its process is gone)"]
