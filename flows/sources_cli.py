"""`silobridge sources`: check the sources configuration and preview a source from its real files, in
seconds and without Prefect."""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from flows.settings import Settings

sources_app = typer.Typer(no_args_is_help=True,
                          help="Check the sources configuration and preview a source, without running.")
console = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)


def _config(settings: Settings):
    from flows.config import ConfigError, load_config

    try:
        return load_config(settings.sources_path)
    except ConfigError as exc:
        # one problem per line: each names the source (`sources.<system>__<entity>.<field>`)
        path, _, problems = str(exc).partition(": ")
        err.print(f"[bold red]{path}[/bold red] is not valid:")
        for problem in problems.split("; sources."):
            err.print(f"  - {problem if problem.startswith('sources') else 'sources.' + problem}")
        raise typer.Exit(1) from None


@sources_app.command()
def check() -> None:
    """Validate the whole sources file; list each source with its kind, mapped fields and matching files;
    check that the columns each source uses are in the header of its first file."""
    from connectors.config import source_files

    settings = Settings()
    cfg = _config(settings)
    t = Table("source", "kind", "format", "fields mapped", "files matched", title=f"{settings.sources_path}: valid")
    problems = []
    for s in cfg.sources:
        files = source_files(s, settings.exports_path) if settings.exports_path.is_dir() else []
        t.add_row(s.name, s.kind, s.format, str(len(s.mapped_fields)),
                  str(len(files)) if files else f"[yellow]0 under {settings.exports_path}[/yellow]")
        if files:
            problems += _missing_columns(s, files[0], files[0].relative_to(settings.exports_path).as_posix())
    if problems:
        err.print(f"[bold red]{settings.sources_path}[/bold red] does not fit its exports:")
        for p in problems:
            err.print(f"  - {p}")
        raise typer.Exit(1)
    console.print(t)


def _missing_columns(src, path, display: str) -> list[str]:
    """Problems of `src` against the header of its file `path`: the export columns its `columns`, `keys`,
    `expressions` or `filter` name that the file does not have (closest present names as hints)."""
    import difflib

    from connectors.readers import ExportError, export_header

    try:
        header = export_header(path, src, display)
    except ExportError as exc:
        return [f"sources.{src.name}: {exc}"]
    uses = {"columns": list(src.columns.values()),
            "keys": [c for k in src.keys.values() for c in k.export_columns],
            "attributes": list(src.attributes or []),
            "expressions or filter": [c for c in src.export_columns
                                      if c not in {c for k in src.keys.values() for c in k.export_columns}]}
    out = []
    for where, cols in uses.items():
        missing = [c for c in dict.fromkeys(cols) if c not in header]
        if missing:
            hints = [f"{c!r}" + (f" (closest: {close[0]!r})" if (close := difflib.get_close_matches(c, header, n=1))
                                 else "") for c in missing]
            out.append(f"sources.{src.name}: {where} name column(s) {', '.join(hints)} that {display} does not "
                       f"have")
    return out


@sources_app.command()
def preview(
    name: Annotated[str, typer.Argument(help="the source, system__entity")],
    rows: Annotated[int, typer.Option("--rows", "-n", min=1, help="mapped rows to show")] = 10,
    show_personal: Annotated[bool, typer.Option(help="show personal values in clear (default: their shape)")] = False,
) -> None:
    """Read the source's real files: its mapped and typed rows, the rules they fail, the unmapped columns."""
    import pyarrow as pa

    from connectors.extract import extract_source
    from connectors.schemas import KINDS
    from flows.db import Database, StatementError, quote
    from flows.steps.validate import merge_rows
    from transforms.privacy import masked
    from transforms.stage import create_typed, prepared_sql
    from transforms.validate import validate_table

    settings = Settings()
    cfg = _config(settings)
    by_name = {s.name: s for s in cfg.sources}
    if name not in by_name:
        err.print(f"[bold red]unknown source {name!r}[/bold red]; configured: {sorted(by_name)}")
        raise typer.Exit(1)
    src = by_name[name]
    got = extract_source(src, settings.exports_path)
    # the files are read as their tables are consumed (and only then are errors known)
    table = pa.concat_tables([*got.tables, got.schema.empty_table()])
    for e in got.file_errors:
        err.print(f"[yellow]set aside:[/yellow] {e}")
    for note in got.notes:
        err.print(f"[yellow]note:[/yellow] {note}")
    with Database.connect() as db:
        db.register("extracted", table)
        try:
            db.run("prepared", f"create table prepared as {prepared_sql(src, 'extracted')}")
        except StatementError as exc:
            err.print(f"[bold red]{name}: its expressions or filter cannot be evaluated on the export's values:"
                      f"[/bold red] {str(exc.__cause__).split(':')[0]} (use try_cast / try_strptime)")
            raise typer.Exit(1) from None
        db.run("raw", "create view raw as select * exclude (_kept) from prepared where _kept")
        filtered = db.scalar("filtered", "select count(*) from prepared where not _kept")
        typed_rows, _ = create_typed(db, src)
        fields = [f for f in KINDS[src.kind] if f in src.mapped_fields]
        shown = db.rows("shown rows", "select _source_file || ':' || _row_number, "
                        + ", ".join(f"cast({quote(f)} as varchar)" for f in fields)
                        + " from typed order by _row_id limit $n", {"n": rows})
        outcome = validate_table(db, src, date.today())
        db.register("rejected", outcome.rejected)
        merged, differing = merge_rows(db, src, src.merge)  # as the validate step folds them
    if src.filter:
        console.print(f"filtered by {src.filter!r}: {filtered:,} row(s) (counted as filtered, not loaded)")
    console.print(f"[bold]{name}[/bold] ({src.kind}): {len(got.files)} file(s), {typed_rows + filtered:,} rows read, "
                  f"{len(outcome.rejected):,} would be quarantined, warnings {outcome.warnings or 'none'}")
    failed = {r.rule: r.failed for r in outcome.rules if r.failed}
    if failed:
        t = Table("rule", "rows", "first reason", title="rules failed")
        first = outcome.rejected.groupby("rule")["reason"].first().to_dict() if len(outcome.rejected) else {}
        for rule, n in sorted(failed.items(), key=lambda kv: -kv[1]):
            t.add_row(rule, f"{n:,}", first.get(rule, "(warning)" if outcome.warnings.get(rule) else
                                                "(these rows fail an earlier rule too)"))
        console.print(t)
    t = Table("row", *fields, title=f"first {len(shown)} typed rows")
    for where, *values in shown:
        # a value is shown by its shape when its field is personal or it looks personal (an email as login id)
        t.add_row(where, *("" if v is None else v if show_personal else masked(v, KINDS[src.kind][f].personal)
                           for f, v in zip(fields, values)))
    console.print(t)
    if src.merge:
        console.print(f"merged: {merged:,} row(s) repeat an earlier row's {', '.join(src.unique_keys)} and would be "
                      f"kept once; differing values: {differing or 'none'}")
    console.print(f"unmapped columns (kept in attributes, values masked): {list(got.unmapped) or 'none'}")
    if got.not_kept:
        console.print(f"unmapped columns not kept (`attributes:` lists others): {list(got.not_kept)}")


@sources_app.command()
def draft(
    file: Annotated[Path, typer.Argument(help="an export file (csv, tsv, json, jsonl, xlsx, parquet, sqlite)")],
    kind: Annotated[Optional[str], typer.Option(help="the kind it feeds (default: proposed from its columns)")] = None,
    system: Annotated[Optional[str], typer.Option(help="the silo's name (default: the file's folder)")] = None,
    entity: Annotated[Optional[str], typer.Option(help="what the export holds (default: from the file name)")] = None,
) -> None:
    """Sniff an export and print a sources.yaml entry for it (shapes only, never values), to check and edit."""
    from connectors.draft import customers_companion, draft as draft_entry, to_yaml

    settings = Settings()
    if not file.is_file():
        err.print(f"[bold red]{file}: no such file[/bold red]")
        raise typer.Exit(1)
    try:
        d = draft_entry(file, kind)
        companion = customers_companion(file, d)
    except ValueError as exc:
        err.print(f"[bold red]cannot draft {file.name}:[/bold red] {exc}")
        raise typer.Exit(1) from None
    exports = settings.exports_path.resolve()
    try:
        rel = file.resolve().relative_to(exports)
        inside = True
    except ValueError:
        rel, inside = None, False
    system = _name(system or (rel.parts[0] if rel is not None and len(rel.parts) > 1 else file.stem.split("_")[0]))
    entity = _name(entity or re.sub(r"[\d_-]+$", "", file.name.split(".")[0]).removeprefix(system) or "records")
    # a glob for the next deliveries too: a trailing number, date or hex id in the name becomes `*`
    stem, dot, suffixes = file.name.partition(".")
    stem = re.sub(r"(?<=[_\-.\s])(\d+|[0-9a-f]*\d[0-9a-f]*)$", "*", stem)
    glob_name = stem + dot + suffixes
    glob = (rel.parent / glob_name).as_posix() if inside else f"{system}/{glob_name}"
    typer.echo(f"# drafted from {file.name}: {d.rows:,} rows, {len(d.columns)} columns; append under `sources:` in "
               f"{settings.sources_path}, then `silobridge sources check` and `sources preview {system}__{entity}`")
    if not inside:
        typer.echo(f"# the file is outside the exports directory: copy it to {exports}/{system}/")
    typer.echo(to_yaml(d, system, entity, glob), nl=False)
    if companion is not None:
        typer.echo("  # the same file's customers (their details repeat on every order line): one record each, so "
                   "that the orders join the customer and the customer joins the other silos")
        typer.echo(to_yaml(companion, system, f"{entity}_customers", glob), nl=False)


def _name(text: str) -> str:
    """A system or entity name as the configuration takes it: lower case letters, digits and underscores."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return name if re.match(r"^[a-z]", name) else f"s_{name}" if name else "source"
