"""Step stage: the run's staged sources are tonight's, plus the last published ones of sources not run
(or held back) tonight, unless full_refresh."""

from __future__ import annotations

import logging
import shutil

import pyarrow.parquet as pq

from flows import warehouse
from flows.steps.policy import PipelineError
from flows.steps.quarantine import keep_published_merged, keep_published_quarantine
from flows.steps.results import SourceValidation
from flows.steps.spec import RunSpec

log = logging.getLogger("silobridge.pipeline")


def stage_step(spec: RunSpec, validated: dict[str, SourceValidation]) -> dict[str, int]:
    """Assemble the run's staged sources: this run's, plus the last published ones of sources not run
    (or held back) tonight, unless full_refresh. Returns rows per staged source."""
    cfg = spec.config()
    previous = None if spec.full_refresh else warehouse.current_version(spec.warehouse_dir)
    staged = {}
    for src in cfg.sources:
        path = spec.path("staging", f"{src.name}.parquet")
        result = validated.get(src.name)
        if result is None or result["status"] == "held_back":
            old = warehouse.state_file(spec.state_dir, previous.name, src.name) if previous else None
            if old is None or not old.exists():
                log.warning("%s: %s and no earlier load to reuse: not in this version", src.name,
                            "not run tonight" if result is None else "held back")
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(old, path)
            if result is None:
                keep_published_quarantine(spec, previous, src.name,
                                          warehouse.rejected_file(spec.state_dir, previous.name, src.name))
            else:  # held back: tonight's quarantine says why; the kept rows' merged rows are the last version's
                keep_published_merged(spec, previous, src.name)
            log.info("%s: reusing the rows staged by run %s", src.name, previous.name)
        if path.exists():
            staged[src.name] = pq.read_metadata(path).num_rows
    if not staged:
        raise PipelineError("no source has any staged rows: nothing to publish")
    return staged
