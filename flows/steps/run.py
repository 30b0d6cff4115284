"""The one sequence of a night's steps. The Prefect flow, the tests and the benchmark all run it through
`run_night`; the flow wraps each step in a Prefect task through `on_step`."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from connectors.masking import redact, redact_exception
from flows import warehouse
from flows.steps.extract import extract_step
from flows.warehouse.private import private_dir
from flows.steps.identity import identity_step
from flows.steps.metrics import metrics_step
from flows.steps.model import model_step
from flows.steps.publish import publish_step, run_record
from flows.steps.results import RunSummary
from flows.steps.spec import RunSpec
from flows.steps.stage import stage_step
from flows.steps.summary import describe
from flows.steps.validate import validate_step

log = logging.getLogger("silobridge.pipeline")


@dataclass(frozen=True)
class Step:
    """One step: its name (the summary's key and the log's label), its Prefect task's name, its function and
    what it takes beyond the RunSpec: "validate" (the validate step's result), "summary" (everything so far)
    or "hash_key" (the PII hash key)."""

    name: str
    task_name: str
    fn: Callable[..., dict]
    takes: tuple[str, ...] = ()

    def __call__(self, spec: RunSpec, summary: RunSummary, hash_key: str) -> dict:
        """Run the step's plain function; returns its result."""
        extra = {"validate": lambda: summary["validate"], "summary": lambda: summary, "hash_key": lambda: hash_key}
        return self.fn(spec, *(extra[t]() for t in self.takes))


STEPS = (
    Step("extract", "extract", extract_step),
    Step("validate", "validate", validate_step),
    Step("stage", "stage", stage_step, ("validate",)),
    Step("identity", "resolve-identities", identity_step, ("hash_key",)),
    Step("model", "model", model_step, ("hash_key",)),
    Step("metrics", "metrics", metrics_step, ("hash_key",)),
    Step("publish", "publish", publish_step, ("summary",)),
)

OnStep = Callable[[Step, RunSpec, RunSummary, str], dict]


def run_step(step: Step, spec: RunSpec, summary: RunSummary, hash_key: str) -> dict:
    """Run one step, log its duration and a one-line summary at INFO on the silobridge logger. A failure's
    message (and those it was raised from) is masked before it leaves: Prefect records the messages and
    tracebacks of failed tasks in its database."""
    start = time.perf_counter()
    try:
        result = step(spec, summary, hash_key)
    except Exception as exc:
        redact_exception(exc)
        raise
    log.info("%-9s %s (%.1fs)", step.name, describe(step.name, result), time.perf_counter() - start)
    return result


def run_night(spec: RunSpec, hash_key: str, on_step: OnStep = run_step,
              started_at: datetime | None = None) -> RunSummary:
    """Run every step of STEPS in order through `on_step` (default: `run_step`), holding the warehouse lock,
    after recovering what an interrupted run left; returns the run's summary (run_id, run_date, started_at and
    each step's result under its name). A failed run is recorded in the ledger with its error, then the error
    is raised again; so is a run that cannot take the lock (WarehouseLocked)."""
    started_at = started_at or datetime.now(timezone.utc)
    summary: RunSummary = {"run_id": spec.run_id, "run_date": spec.run_date.isoformat(),
                           "started_at": started_at.isoformat()}
    try:
        with warehouse.warehouse_lock(spec.warehouse_dir, spec.run_id, spec.lock_wait_seconds) as stale:
            recover(spec, stale.get("run_id"))
            for step in STEPS:
                summary[step.name] = on_step(step, spec, summary, hash_key)
    except Exception as exc:
        # the error may quote a value (a database's message): personal-looking values as their shape
        warehouse.write_run_record(spec.warehouse_dir, run_record(spec, summary, "failed", redact(str(exc))))
        raise
    return summary


def recover(spec: RunSpec, stale_run: str | None = None) -> None:
    """What earlier runs left, put right before this one starts (under the lock): a version whose publish was
    interrupted rolled back and its ledger entry marked failed; a run killed earlier (a work directory left, or
    `stale_run`, the dead holder of the lock) recorded as failed; its work directory (personal data in clear)
    removed; the published run's loaded files recorded."""
    # the state and the work directories hold personal data in clear: their owner's only
    private_dir(spec.state_dir)
    private_dir(spec.run_dir.parent)
    rolled_back = warehouse.recover(spec.warehouse_dir, spec.state_dir, spec.keep_versions)
    records = {r["run_id"]: r for r in warehouse.read_run_records(spec.warehouse_dir)}
    work = spec.run_dir.parent
    leftovers = sorted(d.name for d in work.iterdir() if d.is_dir() and warehouse.RUN_ID.match(d.name)
                       and d.name != spec.run_id) if work.exists() else []
    for run_id in sorted(set(rolled_back) | set(leftovers) | ({stale_run} if stale_run else set())):
        record = records.get(run_id) or {"run_id": run_id, "started_at": None, "sources": {}}
        # a 'success' entry not rolled back is a published run killed after its pointer moved: it stands
        if run_id in rolled_back or record.get("status") not in ("success", "failed"):
            log.warning("run %s was interrupted (killed or crashed): recorded as failed, its leftovers removed", run_id)
            warehouse.write_run_record(spec.warehouse_dir, record | {
                "status": "failed", "error": f"interrupted before it published; cleaned up by run {spec.run_id}",
                "warehouse_version": None, "data_docs": None})
        shutil.rmtree(work / run_id, ignore_errors=True)
    current = warehouse.current_version(spec.warehouse_dir)
    if current is not None:
        warehouse.record_pending_files(spec.state_dir, current.name)
