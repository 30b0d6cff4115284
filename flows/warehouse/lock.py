"""The warehouse lock: one run at a time publishes into a warehouse directory.

`<warehouse>/.lock` is locked with flock (released by the kernel when its holder exits, however it exits)
and holds its holder's run id, pid, host and start time, for the message a second run gets. A lock file
left by a holder that is gone is stale: the next run takes it over and says so.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger("silobridge.pipeline")

LOCK = ".lock"
POLL_SECONDS = 0.5


class WarehouseLocked(RuntimeError):
    """Another run holds the warehouse lock; the message names it."""


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def describe_holder(holder: dict) -> str:
    """'run <id> (pid <pid> on <host>, since <time>)' of a lock file's content."""
    return (f"run {holder.get('run_id', '?')} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
            f"since {holder.get('since', '?')})")


@contextmanager
def warehouse_lock(warehouse_dir: Path, run_id: str, wait_seconds: float) -> Iterator[dict]:
    """Hold the exclusive lock of `warehouse_dir` for run `run_id`, waiting up to `wait_seconds` for another
    run to finish; raises WarehouseLocked naming the holder when it does not. Yields the stale holder found
    in the lock file (a run that died holding it), or {}."""
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    path = warehouse_dir / LOCK
    f = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (closed below: that releases the lock)
    try:
        deadline = time.monotonic() + wait_seconds
        waited = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseLocked(
                        f"warehouse {warehouse_dir} is locked by {describe_holder(_holder(path))}; waited "
                        f"{wait_seconds:g}s (setting SILOBRIDGE_LOCK_WAIT_SECONDS). Run again when it has "
                        "finished.") from None
                if not waited:
                    log.info("waiting up to %gs for %s to release the warehouse", wait_seconds,
                             describe_holder(_holder(path)))
                    waited = True
                time.sleep(POLL_SECONDS)
        stale = _holder(path)
        if stale:
            log.warning("stale warehouse lock of %s taken over (its process is gone)", describe_holder(stale))
        f.seek(0)
        f.truncate()
        f.write(json.dumps({"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
                            "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        f.flush()
        try:
            yield stale
        finally:
            f.seek(0)
            f.truncate()
            f.flush()
    finally:
        f.close()
