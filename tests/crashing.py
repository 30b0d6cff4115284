"""A run killed on purpose, for tests/test_crash.py: run as `python -m tests.crashing ...` in a child process,
which ends with os._exit(KILLED) at the chosen point (no finally blocks, no cleanup: as a kill -9 would).

    night <day> <second> <kill point> [source ...]   run_night, killed before the step named by the point
                                                     ('before:<step>'; 'after:publish'; 'none': not killed)
    publish <spec.json> <summary.json> <point>       publish_step of a prepared run, killed at a publish operation
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import date, datetime, timezone
from pathlib import Path

KILLED = 137
PUBLISH_POINTS = ("move staged rows", "move version", "write catalog", "link catalog", "ledger entry",
                  "move pointer", "prune", "delete old version", "record loaded files")


def _kill(*_args, **_kwargs):
    os._exit(KILLED)


def night(day: int, second: int, point: str, sources: list[str]) -> None:
    from flows.settings import Settings
    from flows.steps.run import run_night, run_step
    from flows.steps.spec import make_spec

    def on_step(step, spec, summary, hash_key):
        if point == f"before:{step.name}":
            _kill()
        result = run_step(step, spec, summary, hash_key)
        if point == f"after:{step.name}":
            _kill()
        return result

    now = datetime(2026, 11, day, 2, 0, second, tzinfo=timezone.utc)
    spec = make_spec(Settings(), date(2026, 11, day), sources or None, False, now)
    run_night(spec, "test-key", on_step=on_step, started_at=now)


def publish(spec_path: Path, summary_path: Path, point: str) -> None:
    from flows import warehouse
    from flows.steps.publish import publish_step
    from flows.steps.spec import RunSpec
    from flows.warehouse import versions

    spec = RunSpec.model_validate_json(spec_path.read_text(encoding="utf-8"))
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    calls = {"move": 0}
    move_dir, replace_symlink, rmtree = versions._move_dir, versions._replace_symlink, shutil.rmtree

    def move(src, target):
        calls["move"] += 1
        if (point, calls["move"]) in (("move staged rows", 1), ("move version", 2)):
            _kill()
        move_dir(src, target)

    def pointer(link, points_to):
        if point == "move pointer" and link.name == "current":
            _kill()
        replace_symlink(link, points_to)

    def delete(path, *args, **kwargs):
        if point == "delete old version" and Path(path).name.startswith(versions.TRASH):
            _kill()
        rmtree(path, *args, **kwargs)

    versions._move_dir, versions._replace_symlink, shutil.rmtree = move, pointer, delete
    if point == "write catalog":
        versions.write_catalog = _kill
    if point == "link catalog":
        versions._link_catalog = _kill
    if point == "ledger entry":
        warehouse.write_run_record = _kill
    if point == "prune":
        versions.prune = _kill
    if point == "record loaded files":
        warehouse.record_loaded_files = _kill
    publish_step(spec, summary)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "night":
        night(int(args[0]), int(args[1]), args[2], args[3:])
    else:
        publish(Path(args[0]), Path(args[1]), args[2])
