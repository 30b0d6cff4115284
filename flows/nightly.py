"""The nightly Prefect flow: one thin task per step of flows.steps.run.STEPS, sequenced by run_night."""

# No `from __future__ import annotations` here: Prefect builds its parameter model from the flow's
# signature at run time, and string annotations fail for deployment runs ("NightlyModel is not fully defined").
import shutil
from datetime import date, datetime, timezone
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.settings import Settings
from flows.steps.run import STEPS, Step, run_night, run_step
from flows.steps.spec import RunSpec, make_spec
from flows.steps.summary import describe, summary_markdown

# Steps pass a RunSpec (paths) and return counts; nothing is cached or persisted between runs.
_task = task(cache_policy=NO_CACHE, persist_result=False)


def _task_of(step: Step):
    """The Prefect task of one step. The PII hash key is read inside the task, never passed to it (task
    parameters are recorded by Prefect)."""

    def run(spec: RunSpec, inputs: dict) -> dict:
        hash_key = Settings().hash_key() if "hash_key" in step.takes else ""
        result = run_step(step, spec, inputs, hash_key)
        # the one-line summary also goes to the run's logs (Prefect UI)
        get_run_logger().info("%s: %s", step.name, describe(step.name, result))
        return result

    # the task key is built from the function's qualified name: one per step, as the names of the former
    # hand-written tasks (extract_task, ...), so that task runs are named and counted per step
    run.__name__ = run.__qualname__ = f"{step.name}_task"
    return _task(name=step.task_name)(run)


TASKS = {step.name: _task_of(step) for step in STEPS}


def _as_task(step: Step, spec: RunSpec, summary: dict, hash_key: str) -> dict:
    return TASKS[step.name](spec, step.inputs(summary))


@flow(name="silobridge-nightly", log_prints=False, validate_parameters=True)
def nightly(run_date: date | None = None, sources: list[str] | None = None, full_refresh: bool = False,
            accept_identity_changes: bool = False,
            engine: Literal["duckdb", "spark"] | None = None, retrain_identity_model: bool = False) -> dict:
    """Extract, validate, stage, resolve identities, model, measure and publish one night's exports; `engine`
    (duckdb, spark; default: the SILOBRIDGE_ENGINE setting) is where the model and metrics steps run;
    `retrain_identity_model` trains the probabilistic identity model even when a stored one could be reused."""
    now = datetime.now(timezone.utc)
    settings = Settings()
    spec = make_spec(settings, run_date, sources, full_refresh, now, accept_identity_changes, engine,
                     retrain_identity_model)
    settings.hash_key()  # refused (public demo key on real data) or generated before anything runs
    try:
        # the hash key is read by each task that needs it (see _task_of), not passed through the flow
        summary = run_night(spec, hash_key="", on_step=_as_task, started_at=now)
    finally:
        shutil.rmtree(spec.run_dir, ignore_errors=True)
    create_markdown_artifact(key="silobridge-run", markdown=summary_markdown(summary),
                             description=f"silobridge run {spec.run_id}")
    return summary
