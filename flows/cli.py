"""The `silobridge` command: run the nightly flow, write demo data, schedule it (serve on one machine; deploy,
worker and trigger in production), look at the quarantine and the report, evaluate, explain."""

from __future__ import annotations

import atexit
import logging
import os
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="silobridge: unify customer data from silos.")
# Not a terminal (a log file, CI): a fixed width wide enough for the summary tables.
console = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

# Quiet, predictable Prefect defaults (see STACK_NOTES); the environment can override each.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_UI_ENABLED": "false",
}


# A failed run is reported once, by `silobridge run`, with the file, row and rule; Prefect's own
# task/flow failure tracebacks are only shown with --verbose.
PREFECT_QUIET_FAILURES = {
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL": "CRITICAL",
}


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"silobridge {version('silobridge')}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    """silobridge: unify customer data from silos."""


def _check_config(settings: Settings, sources: Optional[list[str]]):
    """sources.yaml, validated (and --source names checked) before anything slow starts; exits 1 naming the problem."""
    from connectors.config import ConfigError
    from flows.config import load_config

    try:
        cfg = load_config(settings.sources_path)
        cfg.select(sources)
    except ConfigError as exc:
        err.print(f"[bold red]configuration error:[/bold red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    return cfg


def _source_name(settings: Settings, source: Optional[str]) -> Optional[str]:
    """`source` when it is a configured system__entity (or None); exits 1 listing the valid names otherwise."""
    if source is None:
        return None
    names = sorted(s.name for s in _check_config(settings, None).sources)
    if source not in names:
        err.print(f"unknown source {source!r}; configured: {', '.join(names)}", soft_wrap=True)
        raise typer.Exit(1)
    return source


def _quiet_prefect(hide_failure_tracebacks: bool) -> None:
    for key, value in {**PREFECT_DEFAULTS, **(PREFECT_QUIET_FAILURES if hide_failure_tracebacks else {})}.items():
        os.environ.setdefault(key, value)
    # Prefect's home (its database records runs, their logs and results) is its owner's only
    from flows.warehouse.private import private_dir

    private_dir(Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser())


def _progress_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s  %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("silobridge")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


@app.command("demo-data")
def demo_data(
    customers: Annotated[int, typer.Option(help="number of real persons")] = 2000,
    days: Annotated[int, typer.Option(help="days of activity ending on --end-date")] = 30,
    seed: Annotated[int, typer.Option()] = 7,
    end_date: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"])] = datetime(2026, 11, 20),
    out: Annotated[Optional[Path], typer.Option(help="default: <data_dir>/demo")] = None,
    if_missing: Annotated[bool, typer.Option("--if-missing", help="do nothing when exports exist")] = False,
) -> None:
    """Write the demo silos' exports and their ground truth (deterministic for the same arguments)."""
    from flows.demo.generator import generate

    settings = Settings()
    out = out or settings.exports_path.parent
    if if_missing and (out / "exports").exists() and any((out / "exports").rglob("*.*")):
        console.print(f"demo exports already in {out / 'exports'} (delete them to regenerate)")
        return
    start = time.perf_counter()
    rows = generate(out, customers=customers, days=days, seed=seed, end_date=end_date.date())
    console.print(f"wrote {len(rows)} files, {sum(rows.values()):,} rows to {out} in {time.perf_counter() - start:.1f}s")


@app.command()
def run(
    run_date: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], help="as-of date (default: today, UTC)")] = None,
    source: Annotated[Optional[list[str]], typer.Option(help="only these systems or system__entity (repeatable)")] = None,
    full_refresh: Annotated[bool, typer.Option(help="start history afresh; do not reuse earlier loads")] = False,
    accept_identity_changes: Annotated[bool, typer.Option(
        help="publish even if more customers change than identity.stability.max_changed_share allows")] = False,
    retrain_identity_model: Annotated[bool, typer.Option(
        help="train the probabilistic identity model tonight (else an earlier run's is reused for "
             "identity.probabilistic.retrain_after_days)")] = False,
    engine: Annotated[Optional[str], typer.Option(
        help="where the model and metrics steps run: duckdb or spark (default: SILOBRIDGE_ENGINE, else duckdb)")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the nightly flow once, in Prefect's embedded mode unless PREFECT_API_URL is set."""
    if engine not in (None, "duckdb", "spark"):
        raise typer.BadParameter(f"engine {engine!r}: duckdb or spark", param_hint="--engine")
    _quiet_prefect(hide_failure_tracebacks=not verbose)
    _progress_logging(verbose)
    from connectors.config import ConfigError
    from flows.steps.policy import PipelineError
    from flows.warehouse import WarehouseLocked
    from flows.warehouse.private import PublicKeyRefused
    from transforms.privacy import redact

    settings = Settings()
    _check_config(settings, source)
    err.print("[dim]starting Prefect (embedded unless PREFECT_API_URL is set)...[/dim]")
    from flows.nightly import nightly

    start = time.perf_counter()
    try:
        summary = nightly(run_date=run_date.date() if run_date else None, sources=source, full_refresh=full_refresh,
                          accept_identity_changes=accept_identity_changes, engine=engine,
                          retrain_identity_model=retrain_identity_model)
    except (PipelineError, ConfigError, WarehouseLocked, PublicKeyRefused) as exc:
        # drop the frames' locals (DuckDB objects) now, or nanobind reports them as leaks at exit
        traceback.clear_frames(exc.__traceback__)
        err.print("[bold red]run failed:[/bold red] " + escape(redact(str(exc))))
        err.print(f"The previous warehouse in {settings.warehouse_path} is unchanged.")
        raise typer.Exit(1) from None
    _print_summary(summary, settings, time.perf_counter() - start)


def _print_summary(summary: dict, settings: Settings, seconds: float) -> None:
    from flows.warehouse import CATALOG
    from flows.warehouse.catalog import Catalog

    wh = settings.warehouse_path
    console.print(f"\n[bold]silobridge run {summary['run_id']}[/bold] as of {summary['run_date']}: "
                  f"published in {seconds:.1f}s")
    console.print(f"warehouse: {wh.resolve()}  (DuckDB catalog: {(wh / CATALOG).resolve()})")
    console.print(f"report:    {wh.resolve() / 'current' / 'report.html'}  (open it in a browser)")
    with Catalog.open(wh) as catalog:
        t = Table("table", "rows", title="rows per table")
        for name, n in catalog.table_rows():
            t.add_row(name, f"{n:,}")
        console.print(t)
        q = catalog.quarantine_by_rule()
    if q:
        qt = Table("source", "rule", "rows", title="quarantined rows")
        for s, r, n in q:
            qt.add_row(s, r, f"{n:,}")
        console.print(qt)
    _print_run_notes(summary)
    console.print(f"quarantine: {sum(v['quarantined'] for v in summary['validate'].values()):,} rows this run "
                  "(`silobridge quarantine` to list, `silobridge quarantine export` to fix and replay)", soft_wrap=True)
    console.print(f"Data Docs (Great Expectations): {Path(summary['publish']['data_docs']).resolve()}", soft_wrap=True)
    scores = summary.get("identity", {}).get("evaluation")
    if scores:
        t = Table("scope", "records", "pairwise precision", "pairwise recall", "F1", "B-cubed P", "B-cubed R",
                  title="identity resolution vs the ground truth sample")
        for scope, sc in scores["scopes"].items():
            t.add_row(scope, f"{sc['records']:,}", f"{sc['precision']:.4f}", f"{sc['recall']:.4f}", f"{sc['f1']:.4f}",
                      f"{sc['bcubed_precision']:.4f}", f"{sc['bcubed_recall']:.4f}")
        console.print(t)


def _print_run_notes(summary: dict) -> None:
    """Failing rules, files set aside, held back and stale sources, and the headline metrics of a run."""
    from flows.steps.summary import failing_rules, headline_text

    failing = failing_rules(summary)
    if failing:
        ft = Table("source", "rule", "severity", "rows", title="failing rules (warn: counted, reject: quarantined)")
        for src, rule, severity, n in failing:
            ft.add_row(src, rule, severity, f"{n:,}")
        console.print(ft)
    for name, v in sorted(summary["validate"].items()):
        for p in v["files_set_aside"]:
            console.print(f"[yellow]file set aside[/yellow] {p['file']}"
                          + (f", line {p['line']}" if p["line"] else "") + f": {p['problem']}")
        if v["status"] == "held_back":
            console.print(f"[yellow]held back (stale)[/yellow] {name}: kept its last published rows"
                          + (f" ({v['note']})" if v.get("note") else ""))
        elif v.get("note"):
            console.print(f"[yellow]flagged[/yellow] {name}: {v['note']}")
        if v.get("merged"):
            differing = ", ".join(f"{f} {n:,}" for f, n in v.get("merge_conflicts", {}).items())
            console.print(f"merged {name}: {v['merged']:,} row(s) repeat an earlier row's key, kept once "
                          f"(table merged_rows)" + (f"; differing values: {differing}" if differing else ""))
        ex = summary.get("extract", {}).get(name, {})
        if ex.get("unmapped"):
            console.print(f"unmapped columns of {name} (kept in attributes, values masked): {', '.join(ex['unmapped'])}",
                          soft_wrap=True)
        if ex.get("not_kept"):
            console.print(f"unmapped columns of {name} not kept (its `attributes:` lists others): "
                          f"{', '.join(ex['not_kept'])}", soft_wrap=True)
        if (v.get("freshness") or {}).get("stale"):
            f = v["freshness"]
            console.print(f"[yellow]stale[/yellow] {name}: " + ("no accepted rows" if f["newest"] is None else
                          f"newest {f['field']} {f['newest']} ({f['lag_days']} days before the end of the "
                          f"run date; max {f['max_lag_days']:g})"))
    m = Table("family", "metric", "overall", "notable (highest first)", title="headline metrics")
    for line in summary["metrics"]["headline"]:
        m.add_row(line["family"], line["metric"], *headline_text(line))
    console.print(m)


def evaluate_warehouse(warehouse_dir: Path) -> list[tuple]:
    """The identity scores of the published run (metrics family 'identity'): (metric, scope, value, detail)."""
    from flows.warehouse.catalog import Catalog, NoWarehouse

    try:
        with Catalog.open(warehouse_dir) as catalog:
            return catalog.identity_scores()
    except NoWarehouse as exc:
        raise typer.BadParameter(str(exc)) from None


from flows.sources_cli import sources_app  # noqa: E402  (a sub-app in its own module)

app.add_typer(sources_app, name="sources")

quarantine_app = typer.Typer(help="List, summarise and export quarantined rows (for fixing and replay).")
app.add_typer(quarantine_app, name="quarantine")


def _catalog(settings: Settings):
    from flows.warehouse.catalog import Catalog, NoWarehouse

    try:
        return Catalog.open(settings.warehouse_path)
    except NoWarehouse as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None


@quarantine_app.callback(invoke_without_command=True)
def quarantine_summary(ctx: typer.Context) -> None:
    """Summarise the published quarantine: rows per source and rule, with one example reason (masked)."""
    if ctx.invoked_subcommand is not None:
        return
    with _catalog(Settings()) as catalog:
        rows = catalog.quarantine_summary()
    if not rows:
        console.print("the quarantine is empty")
        return
    t = Table("source", "rule", "severity", "rows", "files", "example reason", title="quarantine")
    for source, rule, severity, n, files, reason in rows:
        t.add_row(source, rule, severity, f"{n:,}", str(files), reason)
    console.print(t)
    console.print(f"{sum(r[3] for r in rows):,} rows; `silobridge quarantine list --source <source>` for the rows")


@quarantine_app.command("list")
def quarantine_list(
    source: Annotated[Optional[str], typer.Option(help="system__entity")] = None,
    rule: Annotated[Optional[str], typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, help="rows per page")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="rows to skip (the next page: --offset <offset + limit>)")] = 0,
) -> None:
    """List quarantined rows: file, row number, rule, reason and the record (personal values masked)."""
    settings = Settings()
    source = _source_name(settings, source)
    with _catalog(settings) as catalog:
        rows = catalog.quarantine_rows(source, rule, limit, offset)
        total = catalog.quarantine_count(source, rule)
    t = Table("source", "file", "row", "rule", "reason", "record (masked)")
    for src, file, row, r, reason, record in rows:
        t.add_row(src, file, "" if row is None else str(row), r, reason, record or "")
    console.print(t)
    shown = f"rows {offset + 1:,}-{offset + len(rows):,}" if rows else "no rows"
    more = offset + len(rows) < total
    console.print(f"{shown} of {total:,}" + (f"; next page: --offset {offset + len(rows)}" if more else ""))


@quarantine_app.command("export")
def quarantine_export(
    source: Annotated[str, typer.Option(help="system__entity")],
    out: Annotated[Optional[Path], typer.Option(
        help="CSV to write; it holds the original values: keep it private "
             "(default: <state_dir>/fix/<source>.csv, beside the pipeline's private state)")] = None,
) -> None:
    """Write a source's quarantined rows with their original values to a CSV to fix and replay.

    Fix the values, then move the file to <replay_dir>/<source>/ (default data/replay/<source>/): every
    later run reads it as an extra file of that source and validates its rows again.
    """
    from flows.warehouse.catalog import NoWarehouse, export_rejected

    settings = Settings()
    source = _source_name(settings, source)
    out = out or settings.state_path / "fix" / f"{source}.csv"
    try:
        n = export_rejected(settings.warehouse_path, settings.state_path, source, out)
    except (NoWarehouse, FileNotFoundError) as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None
    console.print(f"wrote {n:,} quarantined rows of {source} to {out}; fix them, then move the file to "
                  f"{settings.replay_path / source}/ for the next run")


@app.command()
def report(
    out: Annotated[Optional[Path], typer.Option(
        help="default: <data_dir>/reports/report-<version>.html (published versions are never rewritten)")] = None,
) -> None:
    """Write the HTML report of the published warehouse (self-contained: opens from disk, offline)."""
    from flows.report import write_report
    from flows.warehouse import current_version

    settings = Settings()
    version = current_version(settings.warehouse_path)
    if version is None:
        err.print(f"no published warehouse in {settings.warehouse_path}: run `silobridge run` first")
        raise typer.Exit(1)
    out = out or settings.data_dir / "reports" / f"report-{version.name}.html"
    if out.resolve().is_relative_to(settings.warehouse_path.resolve()):
        err.print(f"{out}: inside the warehouse, whose published versions are never rewritten; "
                  "write the report elsewhere (--out)", soft_wrap=True)
        raise typer.Exit(1)
    path = write_report(version, out)
    console.print(f"report: {path.resolve()}")


@app.command()
def evaluate() -> None:
    """Print the identity scores the last run computed against the ground truth sample (SILOBRIDGE_GROUND_TRUTH_DIR)."""
    rows = evaluate_warehouse(Settings().warehouse_path)
    if not rows:
        err.print("the published run has no identity scores (scores need ground truth: the demo data has it)")
        raise typer.Exit(1)
    t = Table("scope", "metric", "value", "detail", title="identity resolution vs ground truth")
    for metric, scope, value, detail in rows:
        t.add_row(scope, metric, f"{value:.4f}", detail or "")
    console.print(t)


@app.command()
def explain(
    customer_id: Annotated[str, typer.Argument(help="a customer id, current or an alias from an earlier run")],
    show_personal: Annotated[bool, typer.Option("--show-personal", help="print names, emails, phones in clear")] = False,
) -> None:
    """Show a customer's records, how they were linked, and the history of its id (personal data masked)."""
    from flows.explain import ExplainError, explain_customer

    settings = Settings()
    try:
        got = explain_customer(settings.warehouse_path, settings.state_path, customer_id, show_personal)
    except ExplainError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    if got["asked"] != got["customer_id"]:
        console.print(f"{got['asked']} was merged into {got['customer_id']}")
    console.print(f"customer {got['customer_id']}: {len(got['records'])} records"
                  + (f"; aliases: {', '.join(got['aliases'])}" if got["aliases"] else ""))
    t = Table("record", "linked by", "best match probability", title="records")
    for r in got["records"]:
        how = r["link_rule"] if r["link_rule"] != "deterministic" else f"deterministic: {', '.join(r['link_keys'])}"
        t.add_row(f"{r['system']}/{r['entity']}/{r['record_id']}", how,
                  f"{r['match_probability']:.4f}" if r["match_probability"] is not None else "")
    console.print(t)
    if got["attributes_available"]:
        at = Table("record", "name", "email", "phone", "birth date", "street", "postcode",
                   title="what each record says" + (" (masked; --show-personal to see it)" if got["masked"] else ""))
        for r in got["records"]:
            at.add_row(f"{r['system']}/{r['record_id']}",
                       *(str(v) if v is not None else "" for v in r.get("attributes", {}).values()))
        console.print(at)
    if got["links"]:
        lt = Table("record", "record", "rule", "evidence", "match probability", title="links")
        for a, b, rule, _key, prob, evidence in got["links"]:
            lt.add_row(a, b, rule, evidence or "", f"{prob:.4f}" if prob is not None else "")
        console.print(lt)
    for w in got["waterfalls"]:
        wt = Table("comparison", "level", "match weight", title=f"waterfall: {w['record_a']} - {w['record_b']}")
        for step in w["steps"]:
            weight = "" if step["weight"] is None else f"{step['weight']:+.2f}"
            if step["tf_weight"]:
                weight += f" (term frequency {step['tf_weight']:+.2f})"
            wt.add_row(step["comparison"], step["level"], weight)
        total = "" if w["match_weight"] is None else f"{w['match_weight']:+.2f}"
        wt.add_row("total", f"match probability {w['match_probability']:.4f}", total)
        console.print(wt)
    et = Table("run", "date", "event", "customer", "related", "records", "detail", title="id history")
    for run_id, day, event, cid, related, n, detail in got["events"]:
        et.add_row(run_id, str(day), event, cid, related or "", str(n), detail or "")
    console.print(et)


# the scheduling commands (serve, deploy, worker, trigger) register themselves on `app`
from flows import review_cli, schedule_cli  # noqa: E402,F401


def entry() -> None:
    """The `silobridge` console script: the typer app, then exit without tearing the interpreter down.

    Output is flushed first. Skipping teardown keeps DuckDB's bindings (nanobind) from printing dozens of
    'leaked instance' lines at exit for objects that imported libraries (Splink) still reference.
    """
    try:
        app()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            err.print(str(exc.code))
    atexit._run_exitfuncs()  # Prefect stops its embedded server here; only the interpreter's teardown is skipped
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
