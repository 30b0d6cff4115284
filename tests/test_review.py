"""Clerical review's files: labels imported into the private state (checked, merged, withdrawn, 0600) and the
review queue exported from the published warehouse (the session's first night)."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.warehouse.review import EXPORT_COLUMNS, ReviewFileError, import_labels, labels_path, read_labels

HEADER = "system_a,entity_a,record_id_a,system_b,entity_b,record_id_b,label\n"


def _write_queue(path: Path, rows: list[dict]) -> None:
    """A review queue file as `review export` writes it, with the rows given (labels edited)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _file(tmp_path: Path, body: str, name: str = "labels.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_labels_are_merged_kept_private_and_withdrawn_by_a_blank(tmp_path):
    state = tmp_path / "state"
    first = _file(tmp_path, "crm,contacts,C2,crm,contacts,C1,match\nshop,customers,U1,crm,contacts,C1,Non-Match\n")
    assert import_labels(state, first) == {"match": 1, "non-match": 1, "withdrawn": 0, "stored": 2}
    # stored with the pair's record keys in a fixed order, readable by the owner only
    assert read_labels(state) == [("crm", "contacts", "C1", "crm", "contacts", "C2", "match"),
                                  ("crm", "contacts", "C1", "shop", "customers", "U1", "non-match")]
    assert stat.S_IMODE(labels_path(state).stat().st_mode) == 0o600
    second = _file(tmp_path, "crm,contacts,C1,crm,contacts,C2,\n", "second.csv")
    assert import_labels(state, second) == {"match": 0, "non-match": 0, "withdrawn": 1, "stored": 1}
    assert read_labels(state) == [("crm", "contacts", "C1", "shop", "customers", "U1", "non-match")]


@pytest.mark.parametrize("body, message", [
    ("crm,contacts,C1,crm,contacts,C2,match\ncrm,contacts,C1,crm,contacts,C3,maybe\n",
     "line 3: label 'maybe' is not one of match, non-match or blank"),
    ("crm,contacts,C1,crm,contacts,C2,ann@example.com\n",
     "line 2: label 'xxx@xxxxxxx.xxx' is not one of match, non-match or blank"),  # never a personal value
    ("crm,contacts,C1,crm,,C2,match\n", "line 2: empty entity_b: a label needs both records' keys"),
    ("crm,contacts,C1,crm,contacts,C1,match\n", "line 2: both sides are the same record"),
    ("crm,contacts,C1,crm,contacts,C2,match\ncrm,contacts,C2,crm,contacts,C1,non-match\n",
     "line 3: this pair was labelled 'match' on an earlier line and 'non-match' here"),
])
def test_a_bad_label_file_is_refused_with_file_line_and_value(tmp_path, body, message):
    state = tmp_path / "state"
    path = _file(tmp_path, body)
    with pytest.raises(ReviewFileError) as refused:
        import_labels(state, path)
    assert str(refused.value) == f"{path}, {message}"
    assert not labels_path(state).exists()  # nothing stored


def test_a_file_without_the_label_column_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("system_a,entity_a,record_id_a\ncrm,contacts,C1\n", encoding="utf-8")
    with pytest.raises(ReviewFileError, match=r"x.csv, line 1: missing column\(s\) system_b, entity_b, record_id_b, label"):
        import_labels(tmp_path / "state", path)


def test_review_export_and_import_through_the_cli(first_night, tmp_path, monkeypatch):
    from flows.cli import app
    from tests.conftest import copy_data_dir

    data = copy_data_dir(first_night[0], tmp_path / "data")
    monkeypatch.setenv("SILOBRIDGE_DATA_DIR", str(data))
    runner = CliRunner()
    out = tmp_path / "review.csv"
    exported = runner.invoke(app, ["review", "export", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    with out.open(newline="", encoding="utf-8") as f:
        queue = list(csv.DictReader(f))
    # the first night's queue: 200 pairs of the band [0.5, 0.99) and of the household rule, strongest first;
    # evidence names levels and weights, never a value
    assert list(queue[0]) == EXPORT_COLUMNS and len(queue) == 200
    assert all(r["reason"] == "review band" or r["reason"].startswith("household rule: ") for r in queue)
    assert all(0.5 <= float(r["match_probability"]) < 0.99 for r in queue if r["reason"] == "review band")
    assert queue[0]["evidence"] == "name: Exact match on name (+6.86), street: Exact match on street (+6.97)"
    queue[0]["label"] = "match"
    _write_queue(out, queue)
    imported = runner.invoke(app, ["review", "import", str(out)])
    assert imported.exit_code == 0, imported.output
    assert "imported 1 match and 0 non-match labels (0 withdrawn); 1 labels stored" in imported.output
    assert len(read_labels(data / "state")) == 1
    queue[1]["label"] = "yes"
    _write_queue(out, queue)
    refused = runner.invoke(app, ["review", "import", str(out)])
    assert refused.exit_code == 1
    assert "line 3: label 'yes' is not one of match, non-match or blank" in refused.output
