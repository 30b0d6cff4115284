"""The nightly Prefect flow: it only sequences thin tasks over the plain steps in flows.pipeline."""

# No `from __future__ import annotations` here: Prefect builds its parameter model from the flow's
# signature at run time, and string annotations fail for deployment runs ("NightlyModel is not fully defined").
import shutil
from datetime import date, datetime, timezone

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows import pipeline, warehouse
from flows.pipeline import RunSpec
from flows.settings import Settings

# Steps pass a RunSpec (paths) and return counts; nothing is cached or persisted between runs.
_task = task(cache_policy=NO_CACHE, persist_result=False)


def _step(stage: str, fn, *args) -> dict:
    """Run one step; its one-line summary goes to the console (silobridge logger) and the run's logs."""
    result = pipeline.timed(stage, fn, *args)
    get_run_logger().info("%s: %s", stage, pipeline.describe(stage, result))
    return result


@_task(name="extract")
def extract_task(spec: RunSpec) -> dict:
    return _step("extract", pipeline.extract_step, spec)


@_task(name="validate")
def validate_task(spec: RunSpec) -> dict:
    return _step("validate", pipeline.validate_step, spec)


@_task(name="stage")
def stage_task(spec: RunSpec, validated: dict) -> dict:
    return _step("stage", pipeline.stage_step, spec, validated)


@_task(name="resolve-identities")
def identity_task(spec: RunSpec) -> dict:
    return _step("identity", pipeline.identity_step, spec, Settings().pii_hash_key.get_secret_value())


@_task(name="model")
def model_task(spec: RunSpec) -> dict:
    return _step("model", pipeline.model_step, spec, Settings().pii_hash_key.get_secret_value())


@_task(name="metrics")
def metrics_task(spec: RunSpec) -> dict:
    return _step("metrics", pipeline.metrics_step, spec, Settings().pii_hash_key.get_secret_value())


@_task(name="publish")
def publish_task(spec: RunSpec, summary: dict) -> dict:
    return _step("publish", pipeline.publish_step, spec, summary)


@flow(name="silobridge-nightly", log_prints=False, validate_parameters=True)
def nightly(run_date: date | None = None, sources: list[str] | None = None, full_refresh: bool = False,
            accept_identity_changes: bool = False) -> dict:
    """Extract, validate, stage, resolve identities, model, measure and publish one night's exports."""
    now = datetime.now(timezone.utc)
    spec = pipeline.make_spec(Settings(), run_date, sources, full_refresh, now, accept_identity_changes)
    summary: dict = {"run_id": spec.run_id, "run_date": spec.run_date.isoformat(), "started_at": now.isoformat()}
    try:
        summary["extract"] = extract_task(spec)
        summary["validate"] = validate_task(spec)
        summary["stage"] = stage_task(spec, summary["validate"])
        summary["identity"] = identity_task(spec)
        summary["model"] = model_task(spec)
        summary["metrics"] = metrics_task(spec)
        summary["publish"] = publish_task(spec, summary)
    except Exception as exc:
        warehouse.write_run_record(spec.warehouse_dir, pipeline.run_record(spec, summary, "failed", str(exc)))
        raise
    finally:
        shutil.rmtree(spec.run_dir, ignore_errors=True)
    create_markdown_artifact(key="silobridge-run", markdown=pipeline.summary_markdown(summary),
                             description=f"silobridge run {spec.run_id}")
    return summary
