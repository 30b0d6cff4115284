"""The nightly deployment's schedule (cron in a time zone)."""

from __future__ import annotations

from prefect.schedules import Cron


def deployment_schedule(cron: str, timezone: str) -> Cron:
    """A Prefect cron schedule, validated (an unknown time zone raises ValueError)."""
    from zoneinfo import ZoneInfo

    ZoneInfo(timezone)  # fail early with the zone's name rather than inside Prefect
    return Cron(cron, timezone=timezone)
