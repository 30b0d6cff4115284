"""The scheduling commands of `silobridge`: `serve` (one machine), `deploy`, `worker` and `trigger` (a Prefect
work pool: the production way). Registered on the app of flows.cli."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from typing import Annotated, Optional

import typer

from flows.cli import _check_config, _quiet_prefect, app, console, err
from flows.settings import Settings


@app.command()
def serve(
    cron: Annotated[Optional[str], typer.Option(help="default: SILOBRIDGE_SCHEDULE_CRON (0 2 * * *)")] = None,
    timezone: Annotated[Optional[str], typer.Option(help="default: SILOBRIDGE_SCHEDULE_TIMEZONE (Asia/Taipei)")] = None,
) -> None:
    """Serve the nightly deployment on one machine: this process registers it and runs it on its cron schedule."""
    # Served runs execute in a subprocess: at INFO, each stage's summary line (the tasks' run logger)
    # shows on this console and in the run's logs in the Prefect UI.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    _quiet_prefect(hide_failure_tracebacks=False)
    settings = Settings()
    _check_config(settings, None)
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        server = _start_local_server()
    api_url = os.environ["PREFECT_API_URL"]
    try:
        from flows.nightly import nightly
        from flows.schedule import FLOW_NAME, SERVE_DEPLOYMENT, deployment_schedule, trigger_hint

        schedule = _schedule_or_exit(deployment_schedule, cron or settings.schedule_cron,
                                     timezone or settings.schedule_timezone)
        console.print(f"serving deployment '{FLOW_NAME}/{SERVE_DEPLOYMENT}' on {api_url}; trigger a run now "
                      "(as of today; add --run-date YYYY-MM-DD for another night) with:", soft_wrap=True)
        console.print(f"  {trigger_hint(api_url, SERVE_DEPLOYMENT)}", soft_wrap=True, highlight=False)
        nightly.serve(name=SERVE_DEPLOYMENT, schedules=[schedule])
    finally:
        if server is not None:
            server.terminate()


def _schedule_or_exit(build, cron: str, timezone: str):
    try:
        return build(cron, timezone)
    except (ValueError, KeyError) as exc:
        err.print(f"[red]invalid schedule[/red] cron {cron!r}, time zone {timezone!r}: {exc}")
        raise typer.Exit(1) from None


def _api_url(api_url: Optional[str]) -> str:
    """The Prefect API to talk to (option, else PREFECT_API_URL, else the local default), set for Prefect."""
    from flows.schedule import DEFAULT_API_URL

    url = api_url or os.environ.get("PREFECT_API_URL") or DEFAULT_API_URL
    os.environ["PREFECT_API_URL"] = url  # before Prefect reads its settings
    return url


ApiUrl = Annotated[Optional[str], typer.Option(
    help="the Prefect server's API (default: PREFECT_API_URL, else http://127.0.0.1:4200/api)")]


@app.command()
def deploy(api_url: ApiUrl = None) -> None:
    """Register the production deployment (prefect.yaml) on a Prefect server, creating its process work pool."""
    _quiet_prefect(hide_failure_tracebacks=False)
    settings = Settings()
    _check_config(settings, None)
    url = _api_url(api_url)
    from flows.schedule import (FLOW_NAME, POOL_DEPLOYMENT, ScheduleError, command_hint, deploy_from_yaml,
                                deployment_schedule, ensure_process_pool, require_server, trigger_hint)

    _schedule_or_exit(deployment_schedule, settings.schedule_cron, settings.schedule_timezone)
    try:
        require_server(url)
        created = ensure_process_pool(settings.work_pool)
        deploy_from_yaml(url, settings.work_pool, settings.schedule_cron, settings.schedule_timezone)
    except ScheduleError as exc:
        err.print(f"[red]deploy failed:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"work pool '{settings.work_pool}' (process): {'created' if created else 'exists'}")
    console.print(f"deployment '{FLOW_NAME}/{POOL_DEPLOYMENT}' registered on {url}: "
                  f"'{settings.schedule_cron}' in {settings.schedule_timezone}", soft_wrap=True)
    console.print("start the worker that runs it (keep it running, e.g. as a systemd service):", soft_wrap=True)
    console.print(f"  {command_hint('worker', '--api-url', url)}", soft_wrap=True, highlight=False)
    console.print("trigger a run now:")
    console.print(f"  {trigger_hint(url, POOL_DEPLOYMENT)}", soft_wrap=True, highlight=False)


@app.command()
def worker(
    api_url: ApiUrl = None,
    run_once: Annotated[bool, typer.Option("--run-once", help="pick up the runs due now, then stop")] = False,
) -> None:
    """Start the Prefect worker that runs the production deployment's flow runs (its work pool: SILOBRIDGE_WORK_POOL)."""
    _quiet_prefect(hide_failure_tracebacks=False)
    settings = Settings()
    url = _api_url(api_url)
    from flows.schedule import ScheduleError, require_server

    try:
        require_server(url)
    except ScheduleError as exc:
        err.print(f"[red]worker not started:[/red] {exc}")
        raise typer.Exit(1) from None
    env = dict(os.environ, PREFECT_LOGGING_LEVEL=os.environ.get("PREFECT_LOGGING_LEVEL", "INFO"))
    done = subprocess.run([sys.executable, "-m", "prefect", "worker", "start", "--pool", settings.work_pool,
                           "--type", "process", *(["--run-once"] if run_once else [])], env=env)
    raise typer.Exit(done.returncode)


@app.command()
def trigger(
    api_url: ApiUrl = None,
    deployment: Annotated[str, typer.Option(help="nightly-pool (make deploy) or nightly (silobridge serve)")]
    = "nightly-pool",
    run_date: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], help="as-of date (default: today, UTC)")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="wait for the run to finish; exit 1 unless it completed")] = False,
) -> None:
    """Start a run of a registered deployment now (exits 1 when the server or deployment is missing)."""
    _quiet_prefect(hide_failure_tracebacks=False)
    url = _api_url(api_url)
    from flows.schedule import FLOW_NAME, ScheduleError, require_server
    from flows.schedule import trigger as start_run

    params = {"run_date": run_date.date().isoformat()} if run_date else {}
    try:
        require_server(url)
        name, state, completed = start_run(deployment, params, wait)
    except ScheduleError as exc:
        err.print(f"[red]trigger failed:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"flow run '{name}' of '{FLOW_NAME}/{deployment}': {state}")
    if wait and not completed:
        raise typer.Exit(1)


def _start_local_server(port: int = 4200) -> subprocess.Popen:
    from flows.schedule import server_is_up

    url = f"http://127.0.0.1:{port}/api"
    os.environ["PREFECT_API_URL"] = url
    if server_is_up(url):
        console.print(f"using the Prefect server already running at {url}")
        return None
    console.print(f"starting a local Prefect server at {url} (UI: http://127.0.0.1:{port})")
    env = dict(os.environ, PREFECT_UI_ENABLED="true")
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(90):
        if server_is_up(url):
            return proc
        time.sleep(1)
    proc.terminate()
    err.print("the Prefect server did not become healthy within 90 s")
    raise typer.Exit(1)
