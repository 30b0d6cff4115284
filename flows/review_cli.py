"""The clerical review commands of `silobridge`: `review export` writes the published review queue for a data
steward to label, `review import` stores the labels, which every later run applies. Registered on the app of
flows.cli."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from flows.cli import app, console, err
from flows.settings import Settings

review_app = typer.Typer(help="Clerical review: label possible matches; the labels are applied on every run.")
app.add_typer(review_app, name="review")


@review_app.command("export")
def review_export(
    out: Annotated[Optional[Path], typer.Option(
        help="CSV to write (default: <state_dir>/review/identity_review.csv); record keys are private data")] = None,
) -> None:
    """Write the pairs of the "possible match" band (and those the household rule held back) to a CSV.

    Fill in its `label` column (match / non-match / blank), then `silobridge review import FILE`.
    """
    from flows.warehouse.catalog import NoWarehouse
    from flows.warehouse.review import export_review

    settings = Settings()
    out = out or settings.state_path / "review" / "identity_review.csv"
    try:
        n = export_review(settings.warehouse_path, settings.state_path, out)
    except NoWarehouse as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None
    console.print(f"wrote {n:,} pairs to review to {out}; label them (match / non-match / blank), then "
                  f"`silobridge review import {out}`")


@review_app.command("import")
def review_import(file: Annotated[Path, typer.Argument(help="a review export with its label column filled in")]) -> None:
    """Store the labels of FILE (match: must link; non-match: cannot link; blank: withdraw an earlier label).

    Every later run applies them, and estimates the model's precision and recall on the labelled pairs.
    """
    from flows.warehouse.review import ReviewFileError, import_labels

    settings = Settings()
    if not file.is_file():
        err.print(f"{file}: no such file")
        raise typer.Exit(1)
    try:
        counts = import_labels(settings.state_path, file)
    except ReviewFileError as exc:
        err.print(str(exc), soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(f"imported {counts['match']:,} match and {counts['non-match']:,} non-match labels "
                  f"({counts['withdrawn']:,} withdrawn); {counts['stored']:,} labels stored, applied from the next run")
