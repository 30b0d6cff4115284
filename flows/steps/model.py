"""Step model: dim_customers, fct_orders, fct_support_cases and fct_touchpoints into out/."""

from __future__ import annotations

from flows.steps.analysis import open_analysis, params
from flows.steps.identity import attach_identity
from flows.steps.policy import check_models_reconcile
from flows.steps.spec import RunSpec
from transforms.model import build_models, model_rows


def model_step(spec: RunSpec, hash_key: str) -> dict[str, int]:
    """Build the models into out/ (on the spec's engine); returns rows per model. Raises PipelineError when a staged source's rows
    are not all in its model table (or merged with a reason): nothing is lost past staging."""
    cfg = spec.config()
    with open_analysis(spec, cfg, hash_key, "model", spec.engine) as db:
        attach_identity(db, spec)
        # each model written to out/ as it is built (then read from its file); a run whose models do not
        # reconcile fails below and publishes none of them
        rows = build_models(db, params(spec, cfg), spec.path("out"))
        check_models_reconcile(model_rows(db))
    return rows
