"""The HTML report of a warehouse version (report.py) and its inline SVG charts (charts.py)."""

from flows.report.report import (
    HEADLINES, REPORT_FILE, SERVICE_BY_CHANNEL, SUMMED, definitions_markdown, render_report, report_data, write_report,
)

__all__ = ["HEADLINES", "REPORT_FILE", "SERVICE_BY_CHANNEL", "SUMMED", "definitions_markdown", "render_report",
           "report_data", "write_report"]
