"""Scheduling: the nightly deployment's cron schedule, the Prefect server it is registered with, the
process work pool of the production deployment (prefect.yaml), and the commands printed as hints."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prefect.schedules import Cron

# Where `prefect server start --host 127.0.0.1` listens by default; used when PREFECT_API_URL is not set.
DEFAULT_API_URL = "http://127.0.0.1:4200/api"
FLOW_NAME = "silobridge-nightly"
SERVE_DEPLOYMENT = "nightly"       # `silobridge serve`: one process registers and runs
POOL_DEPLOYMENT = "nightly-pool"   # prefect.yaml: a process work pool, runs picked up by `silobridge worker`
PROJECT_DIR = Path(__file__).resolve().parents[1]  # the checkout holding prefect.yaml


class ScheduleError(Exception):
    """A deployment could not be registered, found or triggered; the message says what to do."""


# Prefect is imported inside the functions: it reads PREFECT_API_URL once, at import, and the commands set
# it (from --api-url) after importing this module.
def deployment_schedule(cron: str, timezone: str) -> "Cron":
    """A Prefect cron schedule, validated (an unknown time zone raises ValueError)."""
    from zoneinfo import ZoneInfo

    from prefect.schedules import Cron

    ZoneInfo(timezone)  # fail early with the zone's name rather than inside Prefect
    return Cron(cron, timezone=timezone)


def server_is_up(api_url: str) -> bool:
    """Whether a Prefect server answers its health check at api_url."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=3):
            return True
    except OSError:
        return False


def require_server(api_url: str) -> None:
    """Raise ScheduleError naming the URL and the command to start a server when none answers."""
    if not server_is_up(api_url):
        raise ScheduleError(f"no Prefect server answers at {api_url}: start one with "
                            "`prefect server start --host 127.0.0.1` (or set PREFECT_API_URL to yours)")


def command_hint(*args: str) -> str:
    """A shell command that runs this installation's `silobridge` (its path, not whatever is on PATH)."""
    exe = Path(sys.executable).parent / "silobridge"
    try:
        shown = f"./{exe.relative_to(Path.cwd())}" if exe.is_absolute() else str(exe)
    except ValueError:
        shown = str(exe)
    return shlex.join([shown, *args])


def trigger_hint(api_url: str, deployment: str, run_date: str | None = None) -> str:
    """The command that starts a run of `deployment` now, as printed by serve and deploy."""
    return command_hint("trigger", "--api-url", api_url, "--deployment", deployment,
                        *(["--run-date", run_date] if run_date else []))


def ensure_process_pool(name: str) -> bool:
    """Create the process work pool `name` unless it exists; True when it was created (PREFECT_API_URL set)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=name, type="process", base_job_template=ProcessWorker.get_default_base_job_template()))
            return True
    if pool.type != "process":
        raise ScheduleError(f"work pool {name!r} exists with type {pool.type!r}, not 'process': "
                            "choose another name (SILOBRIDGE_WORK_POOL)")
    return False


def deploy_from_yaml(api_url: str, pool: str, cron: str, timezone: str) -> str:
    """Apply prefect.yaml's deployment with the pool and schedule filled in; Prefect's output.

    Runs `prefect deploy` in the checkout, so the worker runs the flow from this directory."""
    env = dict(os.environ, PREFECT_API_URL=api_url, SILOBRIDGE_WORK_POOL=pool,
               SILOBRIDGE_SCHEDULE_CRON=cron, SILOBRIDGE_SCHEDULE_TIMEZONE=timezone)
    done = subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--name", POOL_DEPLOYMENT],
                          cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise ScheduleError(f"`prefect deploy` failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def trigger(deployment: str, parameters: dict, wait: bool) -> tuple[str, str, bool]:
    """Start a run of FLOW_NAME/deployment; (flow run name, its state's name, whether it completed)."""
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    try:
        run = run_deployment(f"{FLOW_NAME}/{deployment}", parameters=parameters, timeout=None if wait else 0,
                             as_subflow=False)
    except ObjectNotFound:
        raise ScheduleError(f"no deployment '{FLOW_NAME}/{deployment}' on this server: register it with "
                            f"`make deploy` ({POOL_DEPLOYMENT}) or `silobridge serve` ({SERVE_DEPLOYMENT})") from None
    return run.name, run.state.name if run.state else "Unknown", bool(run.state and run.state.is_completed())
