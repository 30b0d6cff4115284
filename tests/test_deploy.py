"""The production schedule against a real local Prefect server on 127.0.0.1: `silobridge deploy` registers
prefect.yaml's deployment on a process work pool, the hints it and `serve` print work as printed, and a
worker runs a triggered night to a published warehouse. Marked `server` (a server and a worker take
minutes on a busy machine): deselected by default, run by `make test`."""

from __future__ import annotations

from contextlib import contextmanager

import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.schedule import FLOW_NAME, POOL_DEPLOYMENT, PROJECT_DIR, SERVE_DEPLOYMENT, server_is_up
from tests.conftest import demo_data_dir

pytestmark = pytest.mark.server

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def data_dir(tmp_path, demo_exports) -> Path:
    """The demo's data directory without the probabilistic linker (the point here is the schedule)."""
    return demo_data_dir(tmp_path / "data", demo_exports, probabilistic=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Prefect server on 127.0.0.1 with its own PREFECT_HOME; (api url, environment for commands)."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SILOBRIDGE_"))}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING", PYTHONUNBUFFERED="1",
               # this checkout's code, also when the venv's editable install points at another checkout
               PYTHONPATH=str(PROJECT_DIR))
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(180):  # bounded: three minutes on a loaded machine
            if server_is_up(url) or proc.poll() is not None:
                break
            time.sleep(1)
        assert server_is_up(url), f"the Prefect server did not start on {url}"
        yield url, env
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _silobridge(args: list[str], env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=timeout)


def _hint(output: str, command: str) -> list[str]:
    """The printed command line `silobridge <command> ...`, split as a shell would."""
    line = next(ln.strip() for ln in output.splitlines() if f"silobridge {command} " in ln)
    return shlex.split(line)


@contextmanager
def _client(url: str):
    """A Prefect client of the test's own server: a setting, not the environment, since the session's test
    harness (other tests' flow runs) holds PREFECT_API_URL in Prefect's settings context."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:
        yield client


def _flow_runs(url: str, deployment: str) -> list:
    with _client(url) as client:
        dep = client.read_deployment_by_name(f"{FLOW_NAME}/{deployment}")
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

        return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id])))


def test_deploy_registers_the_pool_deployment_and_a_worker_runs_it(server, data_dir, tmp_path, monkeypatch):
    url, env = server
    env = dict(env, SILOBRIDGE_DATA_DIR=str(data_dir), SILOBRIDGE_SCHEDULE_TIMEZONE="Europe/Berlin",
               SILOBRIDGE_WORK_POOL="sb-test")
    first = _silobridge([str(BIN / "silobridge"), "deploy", "--api-url", url], env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "work pool 'sb-test' (process): created" in first.stdout
    again = _silobridge([str(BIN / "silobridge"), "deploy", "--api-url", url], env)
    assert again.returncode == 0 and "work pool 'sb-test' (process): exists" in again.stdout

    with _client(url) as client:
        dep = client.read_deployment_by_name(f"{FLOW_NAME}/{POOL_DEPLOYMENT}")
        assert client.read_work_pool("sb-test").type == "process"
    assert dep.work_pool_name == "sb-test" and dep.entrypoint == "flows/nightly.py:nightly"
    assert [(s.schedule.cron, s.schedule.timezone, s.active) for s in dep.schedules] == [
        ("0 2 * * *", "Europe/Berlin", True)]
    assert dep.pull_steps == [{"prefect.deployments.steps.set_working_directory": {"directory": str(PROJECT_DIR)}}]

    # the trigger hint, as printed, starts a run (no worker yet: it waits as Scheduled)
    hint = _hint(first.stdout, "trigger")
    assert hint[1:] == ["trigger", "--api-url", url, "--deployment", POOL_DEPLOYMENT]
    printed = _silobridge(hint, env, timeout=120)
    assert printed.returncode == 0, printed.stdout + printed.stderr
    assert f"of '{FLOW_NAME}/{POOL_DEPLOYMENT}': Scheduled" in printed.stdout
    hinted = printed.stdout.split("flow run '")[1].split("'")[0]
    from prefect.states import Cancelled

    with _client(url) as client:  # as of today, not the demo's night: not to be run
        (run,) = [r for r in _flow_runs(url, POOL_DEPLOYMENT) if r.name == hinted]
        client.set_flow_run_state(run.id, Cancelled(), force=True)

    dated = _silobridge([*hint, "--run-date", "2026-11-20"], env, timeout=120)
    assert dated.returncode == 0, dated.stdout + dated.stderr
    night = dated.stdout.split("flow run '")[1].split("'")[0]
    worker = _silobridge([*_hint(first.stdout, "worker"), "--run-once"], env, timeout=900)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    runs = {r.name: r for r in _flow_runs(url, POOL_DEPLOYMENT)}
    assert (runs[night].parameters, runs[night].state.name) == ({"run_date": "2026-11-20"}, "Completed"), (
        worker.stdout + worker.stderr)
    assert runs[hinted].state.name == "Cancelled"
    # the rest are the schedule's upcoming nights: 02:00 in Europe/Berlin, waiting for the worker
    from zoneinfo import ZoneInfo

    upcoming = [r for name, r in runs.items() if name not in (night, hinted)]
    assert upcoming and {(r.state.name, r.expected_start_time.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M"))
                         for r in upcoming} == {("Scheduled", "02:00")}
    assert (data_dir / "warehouse" / "current" / "dim_customers.parquet").exists()


def test_failures_exit_non_zero_with_what_to_do(server, data_dir):
    url, env = server
    env = dict(env, SILOBRIDGE_DATA_DIR=str(data_dir))
    missing = _silobridge([str(BIN / "silobridge"), "trigger", "--api-url", url, "--deployment", "nope"], env)
    assert missing.returncode == 1
    assert f"no deployment '{FLOW_NAME}/nope' on this server" in " ".join(missing.stderr.split())
    down = f"http://127.0.0.1:{_free_port()}/api"
    for command in (["deploy"], ["worker"], ["trigger"]):
        result = _silobridge([str(BIN / "silobridge"), *command, "--api-url", down], env)
        assert result.returncode == 1, command
        assert f"no Prefect server answers at {down}" in " ".join(result.stderr.split())
        assert "Traceback" not in result.stderr


def test_serve_prints_a_trigger_hint_that_works_as_printed(server, data_dir):
    url, env = server
    env = dict(env, SILOBRIDGE_DATA_DIR=str(data_dir), PREFECT_API_URL=url)
    serve = subprocess.Popen([str(BIN / "silobridge"), "serve"], env=env, cwd=PROJECT_DIR, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        lines = []
        for line in serve.stdout:  # the hint is printed before serving starts
            lines.append(line)
            if "silobridge trigger " in line:
                break
        hint = _hint("".join(lines), "trigger")
        assert hint[1:] == ["trigger", "--api-url", url, "--deployment", SERVE_DEPLOYMENT]
        for _ in range(120):  # the deployment is registered a moment after the hint
            printed = _silobridge(hint, env, timeout=120)
            if printed.returncode == 0 or "no deployment" not in printed.stderr:
                break
            time.sleep(1)
        assert printed.returncode == 0, printed.stdout + printed.stderr
        assert f"of '{FLOW_NAME}/{SERVE_DEPLOYMENT}': Scheduled" in printed.stdout
    finally:
        serve.terminate()
        serve.wait(timeout=60)
