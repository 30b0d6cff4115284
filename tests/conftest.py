"""Shared fixtures: settings pointed at tmp_path, a small demo dataset, and a Prefect test harness."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import pickle
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs the suite in two worker processes (pytest-xdist): each gets a Prefect home of its own, so
    # that no two processes share Prefect's SQLite database
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix=f"silobridge-prefect-{os.environ['PYTEST_XDIST_WORKER']}-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], True)

DEMO_END = date(2026, 11, 20)


@pytest.fixture(scope="session")
def demo_exports(tmp_path_factory) -> Path:
    """A small demo dataset (250 persons, 14 days), generated once per session; read-only for tests."""
    from flows.demo.generator import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out, customers=250, days=14, seed=11, end_date=DEMO_END)
    return out


@pytest.fixture
def data_dir(tmp_path, demo_exports, monkeypatch) -> Path:
    """A data directory in tmp_path with the repo's sources.yaml and a copy of the demo exports."""
    data = demo_data_dir(tmp_path / "data", demo_exports)
    monkeypatch.setenv("SILOBRIDGE_DATA_DIR", str(data))
    return data


@pytest.fixture(scope="session")
def prefect_api():
    """A temporary Prefect API for tests that run the flow."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def first_night(tmp_path_factory, demo_exports, prefect_api) -> tuple[Path, dict]:
    """The demo's first night, run once per session through the Prefect flow into a pristine data directory:
    (data dir, the flow's summary). Tests that go on from there copy it with `copy_data_dir` first. Under
    `make test`'s two worker processes it is run once for both: the first worker to need it runs it under a
    file lock in their shared temporary directory, the other reads it from there."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's base directory, shared by the workers
    done = shared / "first_night.pickle"
    with _locked(shared / "first_night.lock"):
        if done.exists():
            return pickle.loads(done.read_bytes())
        from flows.nightly import nightly

        data = demo_data_dir(shared / "first_night" / "data", demo_exports)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SILOBRIDGE_DATA_DIR", str(data))
            summary = nightly(run_date=DEMO_END)
        done.write_bytes(pickle.dumps((data, summary)))
    return data, summary


@contextlib.contextmanager
def _locked(path: Path):
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def demo_data_dir(data: Path, demo_exports: Path, probabilistic: bool = True) -> Path:
    """A new data directory at `data`: the repo's sources.yaml and a copy of the demo exports. Tests about the
    warehouse, not identity (crashes, deployment) turn the probabilistic linker off (`probabilistic=False`):
    its training is most of a small night's time."""
    data.mkdir(parents=True)
    config = (REPO / "data" / "sources.yaml").read_text(encoding="utf-8")
    if not probabilistic:
        assert config.count("\n  probabilistic:\n") == 1
        config = config.replace("\n  probabilistic:\n", "\n  probabilistic:\n    enabled: false\n")
    (data / "sources.yaml").write_text(config, encoding="utf-8")
    shutil.copytree(demo_exports, data / "demo")
    return data


def copy_data_dir(source: Path, target: Path) -> Path:
    """A copy of a data directory (exports, warehouse, private state) to go on from."""
    shutil.copytree(source, target, symlinks=True)
    return target


# `make test` runs the suite in two processes (pytest-xdist, --dist loadfile: each module in one process, its
# module fixtures run once). Modules are handed out in collection order: the longest go first, so that neither
# process is left with a long module at the end.
_LONGEST_FIRST = ["test_e2e", "test_deploy", "test_crash", "test_identity_gate", "test_cli", "test_review",
                  "test_splink_linker", "test_vendors", "test_bad_input"]


def pytest_collection_modifyitems(config, items):
    rank = {m: i for i, m in enumerate(_LONGEST_FIRST)}
    order = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda it: (rank.get(it.module.__name__.rsplit(".", 1)[-1], len(rank)), order[id(it)]))
