"""Fuzzy links between sources that share no exact key, households kept apart, and the stability of
customer ids from run to run (merges, splits, aliases, the gate)."""

from __future__ import annotations

import random
import re
from datetime import date

import pytest

from transforms.config import IdentityConfig
from tests.helpers import kinds_connection, rows
from transforms.identity import IdentityGateError, check_stability
from transforms.identity import resolve_customers

SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴徐"
GIVEN = "志明俊傑建宏家豪冠宇雅婷怡君淑芬美玲佳穎宗翰承恩柏翰詩涵欣怡"
STREETS = ["忠孝東路四段", "中山北路二段", "文化路一段", "民生西路", "中正路", "復興南路一段", "和平東路三段"]


def crm(rid, **kw):
    return {"_source_system": "crm", "_source_entity": "contacts", "record_id": rid, **kw}


def pos(rid, **kw):
    return {"_source_system": "pos", "_source_entity": "members", "record_id": rid, "loyalty_id": rid, **kw}


def card(rid, **kw):
    return {"_source_system": "service", "_source_entity": "registrations", "record_id": rid, **kw}


def _people(n: int, seed: int = 5):
    rng = random.Random(seed)
    names, people = set(), []
    while len(people) < n:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        if name in names:
            continue
        names.add(name)
        people.append({"name": name, "birth": date(1950 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28)),
                       "street": f"{rng.choice(STREETS)}{rng.randrange(1, 300)}號", "postcode": f"{rng.randrange(100, 999)}",
                       "phone": f"09{rng.randrange(10 ** 8):08d}"})
    return people


@pytest.fixture(scope="module")
def fuzzy():
    """40 people in CRM and POS (linked by phone: the model learns from them); 12 warranty cards with no
    shared key, some with typos; and a partner of person 0 at the same address, same family name."""
    people = _people(40)
    customers = []
    for i, p in enumerate(people):
        customers.append(crm(f"C{i:02d}", last_name=p["name"][0], first_name=p["name"][1:], phone=p["phone"],
                             birth_date=p["birth"], street=f"臺北市大安區{p['street']}", postcode=p["postcode"]))
        customers.append(pos(f"L{i:02d}", full_name=p["name"], phone=p["phone"][:4] + "-" + p["phone"][4:],
                             birth_date=p["birth"] if i % 3 else None, street=p["street"], postcode=p["postcode"]))
    for i in range(12):
        p = people[i]
        name = p["name"]
        if i == 1:
            name = "陈" + name[1:] if name[0] == "陳" else name[0] + name[2] + name[1]  # simplified / swapped
        birth = p["birth"]
        if i == 2:
            birth = date(birth.year, birth.month, birth.day % 28 + 1)  # one day off
        street = p["street"] if i != 3 else p["street"][:-2] + "號"  # a digit left out
        customers.append(card(f"W{i:02d}", full_name=name, birth_date=birth, street=f"台北市{street}",
                              postcode=p["postcode"]))
    partner = people[0]
    customers.append(crm("C99", last_name=partner["name"][0], first_name="美玲" if partner["name"][1:] != "美玲" else "淑芬",
                         phone="0900000001", birth_date=date(1990, 1, 1), street=f"臺北市大安區{partner['street']}",
                         postcode=partner["postcode"]))
    con = kinds_connection({"customers": customers}, regions={"crm": "TW", "pos": "TW", "service": "TW"})
    counts = resolve_customers(con, IdentityConfig(), "r1")
    return con, counts


def test_cards_with_no_shared_key_link_through_name_birth_date_and_address(fuzzy):
    con, counts = fuzzy
    got = rows(con, """
        select w.record_id, c.record_id, w.link_rule, w.match_probability >= 0.99
        from customer_identities as w join customer_identities as c using (customer_id)
        where w.system = 'service' and c.system = 'crm' order by 1""")
    assert got == [(f"W{i:02d}", f"C{i:02d}", "probabilistic", True) for i in range(12)]
    assert counts["probabilistic_links"] == 12


def test_a_partner_at_the_same_address_stays_a_different_customer(fuzzy):
    con, _ = fuzzy
    assert rows(con, "select customer_records from customer_identities where record_id = 'C99'") == [(1,)]
    # the model's weights say why (Splink's levels: 0 is "all other comparisons", the highest is exact):
    # different birth dates and given names count against a match (evidence, not a veto)
    weights = dict(((c, g), w) for c, g, w in rows(con, "select comparison, gamma, weight from identity_model"))
    assert weights[("birth_date", 0)] < -4 and weights[("given_name", 0)] < -4
    assert weights[("street", 3)] > 5 and weights[("given_name", 5)] > 5
    assert rows(con, "select comparison, gamma from identity_model limit 1") == [("prior", None)]


def test_no_two_people_are_chained_through_one_record_that_cannot_tell_them_apart():
    """A father and son of one name at one address (different birth dates and phones) and a warranty card
    with that name and address but no birth date: the card may join one of them, never both. (With phones
    one digit apart, 0933000001 / 0933000002, Splink links father and son: an identifier one edit apart
    is strong evidence by design.)"""
    people = _people(40)
    customers = []
    for i, p in enumerate(people):
        customers.append(crm(f"C{i:02d}", last_name=p["name"][0], first_name=p["name"][1:], phone=p["phone"],
                             birth_date=p["birth"], street=f"臺北市大安區{p['street']}", postcode=p["postcode"]))
        customers.append(pos(f"L{i:02d}", full_name=p["name"], phone=p["phone"], birth_date=p["birth"],
                             street=p["street"], postcode=p["postcode"]))
    home = {"street": "和平東路三段8號", "postcode": "106"}
    customers += [
        crm("F1", last_name="林", first_name="建宏", birth_date=date(1955, 3, 3), phone="0933000001",
            street=f"臺北市大安區{home['street']}", postcode=home["postcode"]),
        crm("F2", last_name="林", first_name="建宏", birth_date=date(1985, 9, 9), phone="0955123456",
            street=f"臺北市大安區{home['street']}", postcode=home["postcode"]),
        card("W1", full_name="林建宏", street=home["street"], postcode=home["postcode"]),
    ]
    con = kinds_connection({"customers": customers}, regions={"crm": "TW", "pos": "TW", "service": "TW"})
    resolve_customers(con, IdentityConfig(), "r1")
    of = dict(rows(con, "select record_id, customer_id from customer_identities where record_id in ('F1', 'F2', 'W1')"))
    assert of["F1"] != of["F2"]  # different birth dates and phones outweigh name and address
    assert of["W1"] in (of["F1"], of["F2"])  # the card joins one of them (the first, on equal evidence)
    # both links were candidates above the threshold; the hub check kept one
    assert rows(con, """
        select count(*) from int_identity__scored as s
        join int_identity__records as w on w.rid in (s.rid_a, s.rid_b) and w.record_id = 'W1'
        where s.match_probability >= 0.99""") == [(2,)]


def test_family_email_is_contested_and_links_only_records_that_agree():
    mail = "chen.family@gmail.com"
    con = kinds_connection({"customers": [
        crm("C1", last_name="陳", first_name="志明", email=mail, birth_date=date(1970, 3, 1), phone="0911111111"),
        crm("C2", last_name="陳", first_name="美玲", email=mail, birth_date=date(1972, 8, 9), phone="0922222222"),
        {"_source_system": "shop", "_source_entity": "customers", "record_id": "U1", "login_id": "U1",
         "full_name": "陈志明", "email": mail},
        {"_source_system": "marketing", "_source_entity": "subscribers", "record_id": "S1", "first_name": "美玲",
         "email": mail},
        {"_source_system": "marketing", "_source_entity": "subscribers", "record_id": "S2", "email": mail},
    ]}, regions={"crm": "TW"})
    resolve_customers(con, IdentityConfig(), "r1")
    groups = rows(con, "select list(record_id order by record_id) from customer_identities group by customer_id order by 1")
    assert groups == [(["C1", "U1"],), (["C2", "S1"],), (["S2"],)]
    (guard,) = rows(con, "select key_type, records, reason from identity_guards")
    assert guard[0] == "email" and guard[1] == 5 and guard[2].startswith("shared by different people")


def test_an_id_shared_by_names_that_differ_only_in_the_middle_initial_is_contested():
    """pseudopeople's W2 noise copies an SSN between family members: Patricia B. and Patrick C. Oddo (first names
    close enough to pass for a typo) share one; their middle initials tell them apart, so the id is contested
    and links only the records that agree (Patricia's two forms), not Patrick's."""
    ssn = '{"national_id": "170754537"}'
    con = kinds_connection({"customers": [
        crm("F1", first_name="Patricia", middle_name="B", last_name="Oddo", identifiers=ssn),
        crm("F2", first_name="Patahicia", middle_name="B", last_name="Oddo", identifiers=ssn),
        crm("F3", first_name="Patrick", middle_name="C", last_name="Oddo", identifiers=ssn),
    ]})
    identity = IdentityConfig(keys=[*IdentityConfig().keys, "national_id"])
    identity.probabilistic.enabled = False
    resolve_customers(con, identity, "r1")
    groups = rows(con, "select list(record_id order by record_id) from customer_identities group by customer_id order by 1")
    assert groups == [(["F1", "F2"],), (["F3"],)]
    assert rows(con, "select key_type, records from identity_guards") == [("national_id", 3)]


def test_role_mailbox_is_guarded_even_below_the_cap():
    con = kinds_connection({"customers": [crm("C1", email="info@acme.com.tw"), crm("C2", email="INFO@acme.com.tw")]})
    resolve_customers(con, IdentityConfig(), "r1")
    assert rows(con, "select count(distinct customer_id) from customer_identities") == [(2,)]
    assert rows(con, "select key_type, records, reason from identity_guards") == [
        ("email", 2, "role mailbox (info@, service@...), not a person")]


# ----------------------------------------------------------------------------------- stable ids
def _run(records: list[dict], run_id: str, previous: tuple | None = None):
    """One identity run; `previous` = (identities rows, id map rows) of the run before."""
    con = kinds_connection({"customers": records})
    if previous:
        ids, id_map = previous
        con.run("prev_identities", "create table prev_identities (customer_id varchar, system varchar, entity varchar, record_id varchar)")
        con.run_many("prev_identities rows", "insert into prev_identities values (?, ?, ?, ?)", ids)
        con.run("prev_id_map", "create table prev_id_map (customer_id varchar, current_customer_id varchar, status varchar, "
                    "issued_run_id varchar, changed_run_id varchar)")
        con.run_many("prev_id_map rows", "insert into prev_id_map values (?, ?, ?, ?, ?)", id_map)
    counts = resolve_customers(con, IdentityConfig(), run_id, has_previous=previous is not None)
    ids = rows(con, "select customer_id, system, entity, record_id from customer_identities order by record_id")
    id_map = rows(con, "select * from customer_id_map order by customer_id")
    events = rows(con, "select event, customer_id, related_customer_id, records from int_identity__events order by 1, 2")
    return {"counts": counts["changes"], "ids": ids, "map": id_map, "events": events,
            "of": {r[3]: r[0] for r in ids}}


A = [crm("A1", email="a@x.tw"), crm("A2", email="a@x.tw")]
B = [crm("B1", email="b@x.tw", phone="0912000111"), crm("B2", email="b@x.tw")]
BRIDGE = crm("X1", email="a@x.tw", phone="0912000111")


def test_same_inputs_keep_every_id_and_record_no_change():
    first = _run(A + B, "r1")
    again = _run(A + B, "r2", (first["ids"], first["map"]))
    assert again["of"] == first["of"]
    assert again["events"] == []
    assert {k: again["counts"][k] for k in ("new", "merged", "split", "moved", "unchanged")} == {
        "new": 0, "merged": 0, "split": 0, "moved": 0, "unchanged": 2}


def test_merge_keeps_the_older_id_and_the_other_becomes_an_alias():
    first = _run(A, "r1")
    second = _run(A + B, "r2", (first["ids"], first["map"]))  # B is new tonight: issued in r2
    old_a, old_b = second["of"]["A1"], second["of"]["B1"]
    merged = _run(A + B + [BRIDGE], "r3", (second["ids"], second["map"]))
    assert set(merged["of"].values()) == {old_a}  # A's id is older (r1) than B's (r2)
    assert ("merged", old_b, old_a, 2) in merged["events"]
    assert (old_b, old_a, "merged", "r2", "r3") in merged["map"]
    assert merged["counts"]["merged"] == 1 and merged["counts"]["unchanged"] == 0


def test_split_keeps_the_id_on_the_largest_part_and_aliases_still_resolve():
    first = _run(A + B + [BRIDGE, crm("A3", email="a@x.tw")], "r1")
    (joint,) = set(first["of"].values())
    split = _run(A + B + [crm("A3", email="a@x.tw")], "r2", (first["ids"], first["map"]))
    assert split["of"]["A1"] == joint  # A1, A2, A3 (3 records) keep the id; B's 2 records split off
    new_b = split["of"]["B1"]
    assert new_b != joint and ("split", new_b, joint, 2) in split["events"]
    assert split["counts"]["split"] == 1


def test_the_gate_stops_a_run_that_changes_too_many_customers():
    counts = {"previous_customers": 1000, "changed": 150, "merged": 100, "split": 20, "moved": 30, "removed": 0}
    with pytest.raises(IdentityGateError, match=r"150 of 1,000 customers \(15.0%\).*limit is 10%"):
        check_stability(counts, 0.10, 100)
    check_stability(counts | {"changed": 100}, 0.10, 100)  # exactly at the limit passes
    check_stability(counts | {"previous_customers": 50, "changed": 50}, 0.10, 100)  # too small a base to judge


def test_golden_record_takes_each_attribute_from_the_most_trusted_system_then_the_newest():
    from datetime import datetime, timezone

    from transforms.model import build_models

    def at(day):
        return datetime(2026, 1, day, tzinfo=timezone.utc)

    identity = IdentityConfig(survivorship={"name": ["crm", "shop"], "email": ["shop", "crm"]})
    con = kinds_connection({"customers": [
        crm("C1", last_name="Lee", first_name="Ann", email="ann.old@x.tw", phone="0912000111", updated_at=at(1)),
        crm("C2", last_name="Lee", first_name="Anne", email="ann.old@x.tw", updated_at=at(5)),
        {"_source_system": "shop", "_source_entity": "customers", "record_id": "U1", "login_id": "U1",
         "full_name": "Annie Lee", "email": "ann@x.tw", "phone": "0912000111", "created_at": at(9)},
        {"_source_system": "pos", "_source_entity": "members", "record_id": "L1", "loyalty_id": "L1",
         "full_name": "A. Lee", "phone": "0912000111", "birth_date": date(1990, 2, 3), "postcode": "106",
         "created_at": at(3)},
    ]}, identity=identity, regions={"crm": "TW", "shop": "TW", "pos": "TW"})
    resolve_customers(con, identity, "r1")
    build_models(con, {"run_id": "r1", "as_of_date": "2026-01-31", "business_tz": "Asia/Taipei",
                       "case_window_days": 7, "repeat_contact_days": 7, "lookback_days": 30, "feedback_days": 30,
                       "complaint_topics": [], "complete_360_systems": [], "integrated_min_share": 0.2})
    (row,) = rows(con, "select source_records, display_name, name_source, name_as_of, email_source, email_as_of, "
                       "phone_source, birth_year, birth_date_source, postcode, address_source from dim_customers")
    # name: crm outranks shop (newer), and within crm the newer C2 wins; email: shop outranks crm;
    # phone, birth date and address: no rule, so the newest record that has one
    assert row == (4, "A*** L**", "crm", date(2026, 1, 5), "shop", date(2026, 1, 9), "shop", 1990, "pos", "106", "pos")


def test_sql_built_from_configuration_quotes_identifiers_and_carries_no_values():
    from transforms.identity.levels import levels_sql
    from transforms.identity.probabilistic import evidence_sql, scored_sql

    scored = scored_sql("int_identity__splink_links", ["given_name", "birth_date"])
    assert 'from "int_identity__splink_links"' in scored and 's."level_given_name"' in scored
    assert 's."mw_birth_date"' in scored and "a.det_label <> b.det_label" in scored
    assert evidence_sql([]) == "''"
    # thresholds are parameters of the level macros, never numbers in the text
    assert not re.search(r"\d\.\d", levels_sql(["name", "street"]))


def test_golden_record_ties_go_to_the_same_record_every_run():
    # two CRM records of one customer updated at the same instant: same rank, same date; the email is
    # the smallest value whatever order the engine reads the records in (was any of the tied rows)
    from datetime import datetime, timezone

    from transforms.model import build_models

    same_instant = datetime(2026, 1, 5, tzinfo=timezone.utc)
    picked = set()
    for order in (1, -1):
        records = [crm("C1", last_name="Lee", first_name="Ann", email="zed@x.tw", phone="0912000111",
                       updated_at=same_instant),
                   crm("C2", last_name="Lee", first_name="Ann", email="amy@x.tw", phone="0912000111",
                       updated_at=same_instant)][::order]
        con = kinds_connection({"customers": records}, regions={"crm": "TW"})
        resolve_customers(con, IdentityConfig(), "r1")
        build_models(con, {"run_id": "r1", "as_of_date": "2026-01-31", "business_tz": "Asia/Taipei",
                           "case_window_days": 7, "repeat_contact_days": 7, "lookback_days": 30,
                           "feedback_days": 30, "complaint_topics": [], "complete_360_systems": [],
                           "integrated_min_share": 0.2})
        (row,) = rows(con, "select email_hash = sb_hash('amy@x.tw'), email_source, email_as_of from dim_customers")
        picked.add(row)
    assert picked == {(True, "crm", date(2026, 1, 5))}


# ----------------------------------------------------------------------------------- clerical review
def _labelled_run(records: list[dict], labels: list[tuple[str, str, str]]):
    """One identity run with clerical labels (record id a, record id b, label), all CRM contacts."""
    from transforms.identity.clerical import LABEL_COLUMNS

    con = kinds_connection({"customers": records})
    con.run("labels", f"create table identity_review_labels ({LABEL_COLUMNS})")
    con.run_many("labels rows", "insert into identity_review_labels values (?, ?, ?, ?, ?, ?, ?)",
                 [("crm", "contacts", a, "crm", "contacts", b, label) for a, b, label in labels])
    counts = resolve_customers(con, IdentityConfig(), "r1")
    groups = rows(con, "select list(record_id order by record_id) from customer_identities group by customer_id order by 1")
    return con, counts, groups


def test_a_non_match_label_splits_what_strong_keys_joined_and_a_match_label_joins():
    # X1 shares an email with X2 and a phone with X3: one customer by strong keys. A steward says X2 and
    # X3 are two people: the links are taken strongest first (here equal: strong keys, then record ids),
    # X1-X2 is kept, X1-X3 would join X3 to X2, so it is cut. Y1 and Y2 share nothing: labelled a match.
    records = [crm("X1", email="x@x.tw", phone="0912000111"), crm("X2", email="x@x.tw"),
               crm("X3", phone="0912000111"), crm("Y1", email="y1@x.tw"), crm("Y2", email="y2@x.tw")]
    unlabelled = _labelled_run(records, [])[2]
    assert unlabelled == [(["X1", "X2", "X3"],), (["Y1"],), (["Y2"],)]
    con, counts, groups = _labelled_run(records, [("X3", "X2", "non-match"), ("Y1", "Y2", "match"),
                                                  ("X1", "X2", "match")])
    assert groups == [(["X1", "X2"],), (["X3"],), (["Y1", "Y2"],)]
    # the model's own decisions on the labelled pairs: X1-X2 right (tp), X2-X3 wrong (fp), Y1-Y2 missed (fn)
    assert counts["clerical"] == {"labelled_pairs": 3, "must_links": 2, "cannot_links": 1, "links_cut": 1,
                                  "true_positives": 1, "false_positives": 1, "false_negatives": 1}
    assert rows(con, "select a.record_id, b.record_id, c.link_rule from int_identity__cut_links as c "
                     "join int_identity__records as a on a.rid = c.rid_a "
                     "join int_identity__records as b on b.rid = c.rid_b") == [("X1", "X3", "deterministic")]
    assert rows(con, "select record_id, link_rule from customer_identities where record_id like 'Y%' order by 1") == [
        ("Y1", "clerical"), ("Y2", "clerical")]
    from transforms.identity.clerical import clerical_metric_rows
    assert [r[:5] for r in clerical_metric_rows(counts["clerical"])] == [
        ("identity", "pairwise_precision", "clerical", 1, 2), ("identity", "pairwise_recall", "clerical", 1, 2)]


def test_constrained_cut_keeps_the_strongest_links():
    from transforms.identity.clerical import constrained_forest_cut

    # a chain 1-2-3-4 with 1 and 4 labelled apart: the weakest link of the chain (2-3) is cut
    edges = [(1, 2, "probabilistic", 0.999), (2, 3, "probabilistic", 0.991), (3, 4, "deterministic", 1.0)]
    assert constrained_forest_cut(edges, [(1, 4)]) == [(2, 3, "probabilistic")]
    # a triangle with 1 and 3 apart: their own link goes, and 2 (held to 1 by a strong key) keeps 1's side
    edges = [(1, 2, "deterministic", 1.0), (2, 3, "probabilistic", 0.995), (1, 3, "probabilistic", 0.999)]
    assert constrained_forest_cut(edges, [(1, 3)]) == [(1, 3, "probabilistic"), (2, 3, "probabilistic")]
    # a clerical must-link outranks everything: 1-2 labelled a match, 2 and 3 apart, 1-3 a strong key
    edges = [(1, 3, "deterministic", 1.0), (1, 2, "clerical", 1.0)]
    assert constrained_forest_cut(edges, [(2, 3)]) == [(1, 3, "deterministic")]


def test_a_labelled_sample_of_your_own_is_scored_where_the_readme_says(tmp_path, monkeypatch):
    # README "Scoring your own truth": <data_dir>/<SILOBRIDGE_GROUND_TRUTH_DIR>/identity.csv naming a sample
    from flows.settings import Settings
    from flows.steps.identity import _evaluate

    monkeypatch.setenv("SILOBRIDGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SILOBRIDGE_GROUND_TRUTH_DIR", "truth")
    truth_dir = Settings().ground_truth_path
    assert truth_dir == tmp_path / "truth"
    truth_dir.mkdir()
    # A1 and A2 share an email (linked); B1 is the same person by the steward's word but shares nothing;
    # C1 is another person; Z1 is not in the sample (left out of the scores)
    (truth_dir / "identity.csv").write_text("system,entity,record_id,person_id\ncrm,contacts,A1,p1\n"
                                            "crm,contacts,A2,p1\ncrm,contacts,B1,p1\ncrm,contacts,C1,p2\n",
                                            encoding="utf-8")
    con = kinds_connection({"customers": [crm("A1", email="a@x.tw"), crm("A2", email="a@x.tw"),
                                          crm("B1", email="b@x.tw"), crm("C1", email="c@x.tw"),
                                          crm("Z1", email="a@x.tw")]})
    resolve_customers(con, IdentityConfig(), "r1")
    scores = _evaluate(con, truth_dir, IdentityConfig())
    # 3 true pairs (A1-A2, A1-B1, A2-B1), 1 predicted inside the sample (A1-A2), right
    assert {k: scores[k] for k in ("records", "true_positive_pairs", "predicted_pairs", "true_pairs")} == {
        "records": 4, "true_positive_pairs": 1, "predicted_pairs": 1, "true_pairs": 3}
    assert rows(con, "select metric, numerator, denominator from identity_evaluation "
                     "where dimension = 'all' and metric like 'pairwise%' order by metric") == [
        ("pairwise_precision", 1.0, 1.0), ("pairwise_recall", 1.0, 3.0)]


def _febrl3_sample() -> tuple[list[dict], list[dict]]:
    """tests/fixtures/linkage/febrl3_sample.csv (150 persons of FEBRL 3 and their up to 5 duplicates each): its
    rows, and each as a CRM record with the national id among its identifiers."""
    import csv
    import json
    from pathlib import Path

    with open(Path(__file__).parent / "fixtures" / "linkage" / "febrl3_sample.csv", newline="", encoding="utf-8") as fh:
        sample = list(csv.DictReader(fh))
    birth = lambda v: date(int(v[:4]), int(v[4:6]), int(v[6:])) if v and v.isdigit() and len(v) == 8 and \
        1 <= int(v[4:6]) <= 12 and 1 <= int(v[6:]) <= 28 else None  # noqa: E731 (days past 28: left out)
    return sample, [crm(r["rec_id"], first_name=r["given_name"] or None, last_name=r["surname"] or None,
                        birth_date=birth(r["date_of_birth"]),
                        street=" ".join(p for p in (r["street_number"], r["address_1"]) if p) or None,
                        city=r["suburb"] or None, postcode=r["postcode"] or None,
                        identifiers=json.dumps({"national_id": r["soc_sec_id"] or None}))
                    for r in sample]


def test_febrl3_sample_deduplication_through_the_whole_resolution():
    """Public data, the whole resolution (strong keys and guards, Splink, the chaining rules, clusters): 150
    persons of FEBRL 3 and their up to 5 duplicates each (tests/fixtures/linkage/febrl3_sample.csv), the national
    id a strong key and a fuzzy comparison as the README shows. One person's records link in chains, so a record
    that links to a chain through its best partner must not be dropped for disagreeing with another member the
    model itself links to it (a replaced surname beside the same id and birth date)."""
    from transforms.config import Identifier, ProbabilisticConfig

    sample, customers = _febrl3_sample()
    identity = IdentityConfig(keys=[*IdentityConfig().keys, "national_id"], probabilistic=ProbabilisticConfig(
        identifiers=[*ProbabilisticConfig().identifiers, Identifier(name="national_id")]))
    con = kinds_connection({"customers": customers}, identity)
    resolve_customers(con, identity, "r1")
    person = lambda rec: rec.split("-")[1]  # noqa: E731
    got = rows(con, "select a.record_id, b.record_id from customer_identities as a join customer_identities as b "
                    "on a.customer_id = b.customer_id and a.record_id < b.record_id")
    true_pairs = sum(n * (n - 1) // 2 for n in
                     __import__("collections").Counter(person(r["rec_id"]) for r in sample).values())
    tp = sum(person(a) == person(b) for a, b in got)
    assert (len(sample), true_pairs, len(got) - tp) == (395, 556, 0)  # no wrong pair
    assert tp == 548  # recall 0.986 (480, 0.863, before)


def test_far_fewer_matches_than_the_model_expects_is_judged_on_the_customers_not_on_the_scored_links():
    """Candidates only from records equal on every compared field: Splink scores few pairs of the FEBRL 3 sample.
    With the national id a strong key the customers join the rest, and nothing is said (as at 1M customers,
    where the block-size cap skips large blocks whose records the strong keys join anyway: the scored links
    alone raised a false alarm every night). Without it, the customers fall far short, and the run says so."""
    from transforms.config import ProbabilisticConfig

    _, customers = _febrl3_sample()
    model = ProbabilisticConfig(blocking=[["given_name", "family_name", "birth_date", "street", "postcode"]])
    said = {}
    for strong in ([], ["national_id"]):
        identity = IdentityConfig(keys=[*IdentityConfig().keys, *strong], probabilistic=model)
        con = kinds_connection({"customers": customers}, identity)
        counts = resolve_customers(con, identity, "r1")
        said[tuple(strong)] = (counts["probabilistic_links"], counts["customers"], counts["warnings"])
    # 395 records of 150 persons (556 true pairs); the model expects 293 matching pairs
    assert said == {
        (): (39, 362, ["the customers join 41 pairs of the records the model compares, far fewer than the model's "
                       "own expected matching pairs (293): check the blocking rules, the strong keys and the input "
                       "columns"]),
        ("national_id",): (10, 214, []),
    }


def test_phones_of_another_country_read_with_the_wrong_region_are_counted_and_said():
    """US numbers without a country code in a system whose sources set no default_region are read as Taiwan's:
    none is valid there, so none is an identity key. phone_validity counts them per system and region, and the
    identity step says so (counts, not values); a system whose phones mostly parse is not named."""
    from flows.steps.identity import phone_warnings
    from transforms.identity.records import phone_validity

    us = [crm(f"C{i}", last_name="Smith", first_name=f"Ann{i}", phone=f"(415) 555-{1000 + i:04d}") for i in range(24)]
    tw = [pos(f"P{i}", last_name="陳", first_name="志明", phone=f"0912-{100000 + i:06d}"[:12]) for i in range(20)]
    tw[0]["phone"] = "n/a"  # a placeholder: no key either, but one of twenty
    con = kinds_connection({"customers": us + tw}, regions={"crm": "TW", "pos": "TW"})
    resolve_customers(con, IdentityConfig(), "r1")
    validity = phone_validity(con)
    assert validity == [("crm", "TW", 24, 24), ("pos", "TW", 20, 1)]
    assert phone_warnings(validity, configured={"pos"}) == [
        "crm: 24 of 24 records' phones (100%) are not valid numbers for region TW (no source of the system sets "
        "default_region: the default) or are placeholders: they link no records. If the numbers are "
        "another country's, set default_region on the system's sources (`silobridge sources draft` proposes one "
        "from the values)"]
    # a region the configuration chose is named as such; under twenty records or half the phones: no warning
    assert phone_warnings([("crm", "US", 40, 21)], configured={"crm"})[0].startswith(
        "crm: 21 of 40 records' phones (52%) are not valid numbers for region US (the region its sources' "
        "default_region sets)")
    assert phone_warnings([("crm", "TW", 19, 19), ("pos", "TW", 40, 20)], configured=set()) == []
