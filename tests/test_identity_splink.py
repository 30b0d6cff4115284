"""The identity step on Splink: person-only data with no strong key links (no veto, no strong-key training),
a model that cannot train says so up to the run summary and pipeline_runs, old settings keep loading."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from flows.steps.publish import run_record
from flows.steps.spec import RunSpec
from flows.steps.summary import describe, summary_markdown
from flows.warehouse.ledger import run_tables
from tests.helpers import kinds_connection, rows
from transforms.config import IdentityConfig, ProbabilisticConfig
from transforms.identity import resolve_customers

FAMILY = "陳林黃張李王吳劉蔡楊"
GIVEN = ["志明", "俊傑", "建宏", "家豪", "冠宇", "雅婷", "怡君", "淑芬", "美玲", "佳穎", "宗翰", "承恩"]


def _person(i: int) -> dict:
    return {"name": FAMILY[i % 10] + GIVEN[(i * 7) % 12], "birth": date(1950 + i % 45, 1 + i % 12, 1 + i % 27),
            "street": f"中山北路二段{i + 1}號", "postcode": f"{100 + i % 9}"}


def _two_systems(n: int, typo_everywhere: bool = False) -> list[dict]:
    """n people in a CRM (split names) and in warranty cards (full names): names, dates, addresses only."""
    out = []
    for i in range(n):
        p = _person(i)
        out.append({"_source_system": "crm", "_source_entity": "contacts", "record_id": f"C{i:03d}",
                    "last_name": p["name"][0], "first_name": p["name"][1:], "birth_date": p["birth"],
                    "street": f"臺北市{p['street']}", "postcode": p["postcode"]})
        card_name = p["name"][0] + p["name"][2] + p["name"][1] if typo_everywhere else p["name"]
        card_birth = date(p["birth"].year, p["birth"].month, p["birth"].day + 1) if typo_everywhere else p["birth"]
        out.append({"_source_system": "service", "_source_entity": "registrations", "record_id": f"W{i:03d}",
                    "full_name": card_name, "birth_date": card_birth, "street": p["street"],
                    "postcode": p["postcode"]})
    return out


def test_person_only_data_with_no_strong_key_links_every_pair():
    """The issue's census-like case: the first model learned m only from strong-key pairs and linked
    nothing here; Splink trains on the data itself."""
    con = kinds_connection({"customers": _two_systems(60)}, regions={"crm": "TW", "service": "TW"})
    counts = resolve_customers(con, IdentityConfig(), "r1")
    assert (counts["deterministic_links"], counts["probabilistic_links"], counts["customers"]) == (0, 60, 60)
    assert counts["warnings"] == []
    assert rows(con, """select count(*) from customer_identities as w join customer_identities as c using (customer_id)
                        where w.record_id like 'W%' and c.record_id = 'C' || substr(w.record_id, 2)""") == [(60,)]
    # evidence names each comparison's level and weight, never a value
    (evidence,) = rows(con, "select evidence from int_identity__links limit 1")[0]
    assert evidence.startswith("given_name: Exact match on given_name (+") and "birth_date: " in evidence
    assert not any(ch in evidence for ch in FAMILY)


def test_a_model_that_cannot_train_says_so_up_to_pipeline_runs(tmp_path: Path):
    """No strong key and no pair agreeing exactly on name and birth date: no prior can be estimated, no link
    is made, and the warning reaches the run summary (console line, artifact) and pipeline_runs."""
    con = kinds_connection({"customers": _two_systems(30, typo_everywhere=True)},
                           regions={"crm": "TW", "service": "TW"})
    counts = resolve_customers(con, IdentityConfig(), "r1")
    assert (counts["probabilistic_links"], counts["customers"]) == (0, 60)
    assert len(counts["warnings"]) == 1 and counts["warnings"][0].startswith("cannot train: the deterministic rules")
    line = describe("identity", counts | {"changes": counts["changes"]})
    assert "; WARNING: cannot train: the deterministic rules found no pairs" in line
    summary = {"run_id": "r1", "run_date": "2026-01-31", "started_at": "x", "identity": counts}
    assert "Identity warnings:\n\n- cannot train: the deterministic rules" in summary_markdown(summary)
    spec = RunSpec(run_id="r1", run_date=date(2026, 1, 31), run_dir=tmp_path, exports_dir=tmp_path,
                   warehouse_dir=tmp_path, state_dir=tmp_path, config_path=tmp_path / "sources.yaml")
    runs, _ = run_tables([run_record(spec, summary, "success")])
    assert runs.column("warnings").to_pylist() == [["identity: " + counts["warnings"][0]]]


def test_the_first_models_settings_still_load_and_mean_the_same():
    old = ProbabilisticConfig.model_validate({
        "threshold": 0.99, "max_block_size": 50,
        "blocking": [["name_key", "birth_date"], ["name_key", "postcode_key"], ["birth_date", "postcode_key"],
                     ["street_key"], ["email_local"], ["email_prefix", "email_domain"], ["phone_suffix", "family_key"]],
        "comparisons": ["name", "birth_date", "street", "postcode", "email", "phone"]})
    assert old.blocking == [["name", "birth_date"], ["name", "postcode_key"], ["birth_date", "postcode_key"],
                            ["street"]]
    assert old.comparisons == ["given_name", "middle_name", "family_name", "name", "birth_date", "street",
                               "postcode", "email", "phone"]
    assert [i.name for i in old.identifiers if old.compares_identifier(i)] == ["email", "phone", "loyalty_id",
                                                                               "login_id"]
    no_phone = ProbabilisticConfig(comparisons=["name", "birth_date"])
    assert [i.name for i in no_phone.identifiers if no_phone.compares_identifier(i)] == ["loyalty_id", "login_id"]


def test_placeholder_values_are_missing_not_evidence():
    """Every card has postcode 00000: declared a placeholder, it is no evidence (its comparison drops out)."""
    people = _two_systems(40)
    for r in people:
        r["postcode"] = "00000"
    identity = IdentityConfig(probabilistic=ProbabilisticConfig(placeholders={"postcode": ["00000"]}))
    con = kinds_connection({"customers": people}, identity, regions={"crm": "TW", "service": "TW"})
    counts = resolve_customers(con, identity, "r1")
    assert counts["probabilistic_links"] == 40
    assert rows(con, "select count(*) from identity_model where comparison = 'postcode'") == [(0,)]
    assert rows(con, "select count(postcode) from int_identity__splink_input") == [(0,)]


@pytest.mark.parametrize("enabled", [False])
def test_disabled_model_makes_no_links_and_an_empty_model(enabled):
    con = kinds_connection({"customers": _two_systems(10)}, regions={"crm": "TW", "service": "TW"})
    counts = resolve_customers(con, IdentityConfig(probabilistic=ProbabilisticConfig(enabled=enabled)), "r1")
    assert (counts["probabilistic_links"], counts["customers"], counts["warnings"]) == (0, 20, [])
    assert rows(con, "select count(*) from identity_model") == [(0,)]
