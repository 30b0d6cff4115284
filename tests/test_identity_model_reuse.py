"""When a run reuses the probabilistic identity model an earlier run stored (flows.steps.identity): the policy
on the stored file (age, full refresh, the retrain flag, an unreadable file). Whether the model fits tonight's
records is tested with the linker (tests/test_splink_linker.py); a night that reuses one, in test_e2e.py."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pytest

from flows import warehouse
from flows.steps.identity import _stored_model
from flows.steps.spec import RunSpec

PREVIOUS = "20261120T010000000000Z"


def _spec(tmp_path: Path, run_date: date, **kw) -> RunSpec:
    return RunSpec(run_id="20261127T010000000000Z", run_date=run_date, run_dir=tmp_path / "work",
                   exports_dir=tmp_path / "exports", warehouse_dir=tmp_path / "warehouse",
                   state_dir=tmp_path / "state", config_path=tmp_path / "sources.yaml", **kw)


def _store(tmp_path: Path, text: str) -> Path:
    path = warehouse.identity_model_file(tmp_path / "state", PREVIOUS)
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return tmp_path / "warehouse" / "versions" / PREVIOUS


MODEL = {"fingerprint": "f" * 16, "records": 10, "parameters": {"prior": 0.01, "comparisons": {}}, "warnings": [],
         "trained_run_id": PREVIOUS, "trained_run_date": "2026-11-20"}


@pytest.mark.parametrize("run_date, kw, reused", [
    (date(2026, 11, 20), {}, True),                     # a rerun of the night that trained it
    (date(2026, 11, 26), {}, True),                     # 6 days old, retrain_after_days 7
    (date(2026, 11, 27), {}, False),                    # 7 days old
    (date(2026, 11, 19), {}, False),                    # trained for a later date (a backfill)
    (date(2026, 11, 21), {"full_refresh": True}, False),
    (date(2026, 11, 21), {"retrain_identity_model": True}, False),
])
def test_a_stored_model_is_offered_while_young_unless_asked_to_retrain(tmp_path, run_date, kw, reused):
    previous = _store(tmp_path, json.dumps(MODEL))
    assert _stored_model(_spec(tmp_path, run_date, **kw), previous, 7) == (MODEL if reused else None)


def test_no_stored_model_when_retraining_every_run_or_none_was_stored(tmp_path):
    previous = _store(tmp_path, json.dumps(MODEL))
    assert _stored_model(_spec(tmp_path, date(2026, 11, 20)), previous, 0) is None
    assert _stored_model(_spec(tmp_path, date(2026, 11, 20)), None, 7) is None
    other = tmp_path / "warehouse" / "versions" / "20261119T010000000000Z"  # a version that stored none
    assert _stored_model(_spec(tmp_path, date(2026, 11, 20)), other, 7) is None


def test_an_unreadable_stored_model_is_retrained_and_said_so(tmp_path, caplog):
    previous = _store(tmp_path, '{"trained_run_date": "20 Nov"')
    with caplog.at_level(logging.WARNING, logger="silobridge.pipeline"):
        assert _stored_model(_spec(tmp_path, date(2026, 11, 21)), previous, 7) is None
    assert caplog.messages == [f"identity model stored by run {PREVIOUS} not reused (JSONDecodeError: Expecting "
                               "',' delimiter: line 1 column 30 (char 29)); training a new one"]
