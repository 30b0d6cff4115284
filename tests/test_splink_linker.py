"""The Splink linker (transforms.identity.splink) on small public samples and hand-made edge cases.

Samples: tests/fixtures/linkage (FEBRL 4 and noised pseudopeople W2/1099; see make_fixtures.py there).
Expected counts were read off the first run and checked by hand against the truth columns; the model is
deterministic (seeded u sampling, ordered inputs), so a change in them is a change in behaviour.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest

from transforms.normalize import normalize_street
from transforms.config import HouseholdRule, Identifier, ProbabilisticConfig as SplinkConfig
from flows.db import Database
from transforms.identity.splink import char_set_sql, link_records, reusable, training_fingerprint

FIXTURES = Path(__file__).parent / "fixtures" / "linkage"
UNDATED_REASON = ("household rule: no birth date, and the given or middle name differs within one family "
                  "(shared identifiers do not decide)")
CONFIG = SplinkConfig(identifiers=SplinkConfig().identifiers + [Identifier(name="national_id", column="national_id")])


@pytest.fixture(autouse=True)
def _quiet_splink():
    logging.getLogger("splink").setLevel(logging.ERROR)


def _streets(number: pd.Series, name: pd.Series, unit: pd.Series | None = None) -> list[str | None]:
    parts = number.fillna("").astype(str) + " " + name.fillna("").astype(str)
    if unit is not None:
        parts = parts + " " + unit.fillna("").astype(str)
    return [normalize_street(s.strip()) if s.strip() else None for s in parts]


def febrl_records() -> pd.DataFrame:
    df = pd.read_csv(FIXTURES / "febrl4_sample.csv", dtype=str)
    return pd.DataFrame({
        "rid": range(1, len(df) + 1), "system": df.file, "record_id": df.rec_id,
        "given_name": df.given_name, "family_name": df.surname,
        "birth_date": pd.to_datetime(df.date_of_birth, format="%Y%m%d", errors="coerce").dt.date,
        "street_key": _streets(df.street_number, df.address_1), "city": df.suburb, "postcode": df.postcode,
        "national_id": df.soc_sec_id, "person": df.rec_id.str.extract(r"rec-(\d+)-")[0],
    })


def pp_records() -> pd.DataFrame:
    df = pd.read_csv(FIXTURES / "pp_w2_sample.csv", dtype=str)
    return pd.DataFrame({
        "rid": range(1, len(df) + 1), "system": "w2", "given_name": df.first_name,
        "middle_name": df.middle_initial, "family_name": df.last_name,
        "street_key": _streets(df.mailing_address_street_number, df.mailing_address_street_name,
                               df.mailing_address_unit_number),
        "city": df.mailing_address_city, "postcode": df.mailing_address_zipcode, "national_id": df.ssn,
        "person": df.simulant_id, "household": df.household_id,
    })


def _link(records: pd.DataFrame, config: SplinkConfig = CONFIG):
    con = duckdb.connect()
    con.execute("set threads = 2")
    table = records.drop(columns=[c for c in ("person", "household") if c in records])
    con.register("records_df", table)
    con.execute("create table int_identity__records as select * from records_df")
    con.unregister("records_df")
    result = link_records(Database(con), "int_identity__records", config)
    links = con.execute(f"select * from {result.links_table}").df()
    return con, result, links


def _true_pairs(records: pd.DataFrame, links: pd.DataFrame) -> int:
    person = dict(zip(records.rid, records.person))
    return sum(person[a] == person[b] for a, b in zip(links.rid_l, links.rid_r))


def _rid(records: pd.DataFrame, record_id: str) -> int:
    return int(records.loc[records.record_id == record_id, "rid"].iloc[0])


def _pair(con, table: str, a: int, b: int) -> list[tuple]:
    return con.execute(f"select match_probability >= 0.99, level_given_name, level_id_national_id, "
                       f"held_by_household_rule from {table} where rid_l = ? and rid_r = ?", [a, b]).fetchall()


def test_febrl4_sample_accuracy():
    # 500 records, 200 true pairs (4a/4b duplicates with typos, no clean shared key): all found, none wrong
    records = febrl_records()
    _, result, links = _link(records)
    assert (len(links), _true_pairs(records, links)) == (200, 200)
    assert result.warnings == []
    assert result.comparisons == ["given_name", "family_name", "birth_date", "street", "city", "postcode",
                                  "id_national_id"]


def test_pp_w2_sample_accuracy_and_no_household_member_merged():
    # 448 noised W2/1099 forms of 109 households (no birth dates): 391 true pairs, 364 found, no wrong link,
    # so no two members of one household linked; household pairs held back by the household rule. Plus a
    # hand-made household member who files on the first person's SSN (pseudopeople's borrowed-SSN noise,
    # a family's shared phone or email elsewhere): other given and middle name, same family name, address
    # and SSN. Without a birth date the shared identifier does not decide: held back, not linked.
    records = pp_records()
    first = records.iloc[0]
    member = first.copy()
    member[["rid", "given_name", "middle_name", "person"]] = [len(records) + 1, "Zebulon", "Q", "member"]
    records = pd.concat([records, member.to_frame().T], ignore_index=True).astype({"rid": int})
    con, result, links = _link(records)
    assert (len(links), _true_pairs(records, links)) == (364, 364)
    assert result.held_by_household_rule == 37  # 12 before the no-date branch of the rule
    assert result.warnings == []
    held = con.execute(f"select rid_l, reason from {result.possible_table} where rid_r = ? order by rid_l",
                       [len(records)]).fetchall()
    assert held == [(1, UNDATED_REASON), (2, UNDATED_REASON)]  # the first person's two forms


def _edited_febrl(national_id_30: str) -> pd.DataFrame:
    """The FEBRL sample with hand-made cases: rec-21's duplicate lost its first name; rec-30 moved house
    and its national id carries `national_id_30`; rec-4901 gets a sibling at the same address."""
    records = febrl_records()
    records.loc[records.record_id == "rec-21-dup-0", "given_name"] = None
    records.loc[records.record_id == "rec-30-dup-0", ["street_key", "city", "postcode", "national_id"]] = [
        "14 banks road", "ryde", "2112", national_id_30]
    sibling = records[records.record_id == "rec-4901-org"].copy()
    sibling[["rid", "record_id", "given_name", "birth_date", "national_id", "person"]] = [
        len(records) + 1, "sibling", "thomas", date(1995, 4, 11), None, "sibling"]
    return pd.concat([records, sibling], ignore_index=True)


def test_missing_first_name_is_no_evidence_not_a_veto():
    records = _edited_febrl("9178276")
    con, result, _ = _link(records)
    # rec-21: no first name on one side, everything else agrees: linked, the name weighs nothing
    assert _pair(con, result.links_table, _rid(records, "rec-21-org"), _rid(records, "rec-21-dup-0")) == [
        (True, "given_name is NULL", "Exact match on id_national_id", False)]
    assert con.execute(f"select mw_given_name from {result.links_table} where rid_l = ? and rid_r = ?",
                       [_rid(records, "rec-21-org"), _rid(records, "rec-21-dup-0")]).fetchall() == [(0.0,)]


def test_identifier_one_edit_apart_is_strong_evidence():
    # rec-30 moved (street, suburb, postcode all differ): its national id 9178267 -> 9178276 (two digits
    # transposed, one edit) still links it; a wholly different id leaves the pair below review
    a, b = "rec-30-org", "rec-30-dup-0"
    records = _edited_febrl("9178276")
    con, result, _ = _link(records)
    assert _pair(con, result.links_table, _rid(records, a), _rid(records, b)) == [
        (True, "Exact match on given_name", "Damerau-Levenshtein distance of id_national_id <= 1", False)]
    records = _edited_febrl("5550123")
    con, result, _ = _link(records)
    assert _pair(con, result.links_table, _rid(records, a), _rid(records, b)) == []
    assert _pair(con, result.possible_table, _rid(records, a), _rid(records, b)) == []


def test_identifier_character_sets_never_part_two_texts_within_the_distance():
    # the guard before the identifier's distances (`_GuardedDamerauLevenshteinLevel`): d edits (insert, delete,
    # substitute, transpose) change the character sets on at most 2d bits, so no pair within a level is lost.
    # 3,000 random texts and their 0-3 random edits, checked in one query (one connection: the guard's SQL is
    # long to bind, a query per pair took 30 s)
    rng = random.Random(13)
    alphabet = "ab1.@Zé漢-"
    pairs = []
    for _ in range(3000):
        text = "".join(rng.choice(alphabet[:-1]) for _ in range(rng.randint(0, 8)))
        other = text
        for _ in range(rng.randint(0, 3)):
            op, at, char = rng.choice("idst"), min(rng.randint(0, 8), len(other)), rng.choice(alphabet)
            if op == "i":
                other = other[:at] + char + other[at:]
            elif op == "d":
                other = other[:at] + other[at + 1:]
            elif op == "s":
                other = other[:at] + char + other[at + 1:]
            elif at + 1 < len(other):
                other = other[:at] + other[at + 1] + other[at] + other[at + 2:]
        pairs.append((text, other))
    con = duckdb.connect()
    con.execute("create table p (a varchar, b varchar)")
    con.executemany("insert into p values (?, ?)", pairs)
    broken, edited, max_distance = con.execute(
        f"select count(*) filter (where bit_count(xor({char_set_sql('a')}, {char_set_sql('b')})) > "
        f"2 * damerau_levenshtein(a, b)), count(*) filter (where a <> b), max(damerau_levenshtein(a, b)) "
        f"from p").fetchone()
    assert broken == 0 and edited > 1500 and max_distance >= 6  # (bytes: 漢 is three)


def test_identifier_character_sets():
    con = duckdb.connect()
    sets = con.execute(f"select {char_set_sql('$a')}, {char_set_sql('$b')}, {char_set_sql('null')}",
                       {"a": "Ab1", "b": "bA.漢"}).fetchone()
    assert sets == (1 + 2 + 2 ** 27, 1 + 2 + 2 ** 36, 0)  # a/A and b share their bits, 漢 has none


def test_household_rule_holds_a_sibling_back_and_is_configurable():
    # same family name and street, other first name, birth date 7 years apart, no id: the model alone
    # scores the pair above the threshold (family name, street, suburb and postcode agree)
    records = _edited_febrl("9178276")
    org, sibling = _rid(records, "rec-4901-org"), _rid(records, "sibling")
    con, result, _ = _link(records)
    assert _pair(con, result.links_table, org, sibling) == []
    assert _pair(con, result.possible_table, org, sibling) == [
        (True, "All other comparisons", "id_national_id is NULL", True)]
    assert con.execute(f"select reason from {result.possible_table} where rid_l = ? and rid_r = ?",
                       [org, sibling]).fetchall() == [
        ("household rule: agree on family_name+street, differ on given_name+birth_date, no identifier agrees",)]
    off = CONFIG.model_copy(update={"household": HouseholdRule(enabled=False)})
    con, result, _ = _link(records, off)
    assert _pair(con, result.links_table, org, sibling) == [
        (True, "All other comparisons", "id_national_id is NULL", False)]


def test_same_input_same_links():
    records = febrl_records()
    _, _, first = _link(records)
    _, _, second = _link(records)
    pd.testing.assert_frame_equal(first, second)


def test_warns_when_nothing_can_link():
    # 4a's 300 records without their duplicates: no deterministic pair, no link, and the reason is given
    records = febrl_records()
    records = records[records.system == "dataset4a"]
    _, result, links = _link(records)
    assert len(links) == 0
    assert result.warnings == [
        "cannot train: the deterministic rules found no pairs, so the match rate cannot be estimated; "
        "no links made"]


def test_warns_when_the_records_cannot_train_a_model():
    records = pd.DataFrame({"rid": [1, 2, 3], "name_key": ["ann lee", "ann lee", "bo chen"]})
    _, result, links = _link(records)
    assert len(links) == 0
    assert result.warnings == ["cannot train: the records carry too few attributes to compare (['name'])"]


def test_the_linker_reports_its_expected_matches_and_leaves_judging_them_to_the_customers():
    # candidates only from records equal on every field: the model expects ~138 matching pairs, finds 34
    # (one pair is equal on every compared field, birth date missing on both: scored as identical records);
    # whether that is far too few is judged on the final customers, which strong keys may join without a
    # scored pair (test_identity_matching: probabilistic.short_of_expected)
    records = febrl_records()
    config = CONFIG.model_copy(update={
        "blocking": [["given_name", "family_name", "birth_date", "street", "postcode"]], "identifiers": []})
    _, result, links = _link(records, config)
    assert len(links) == 34
    assert round(result.expected_matching_pairs) == 138
    assert result.warnings == []


def test_identical_records_are_scored_once_and_linked_like_their_original():
    # five FEBRL records exported twice, unchanged: Splink scores one of each (the lowest rid), each copy gets
    # its original's links with the same scores, and each copy is linked to its original
    records = febrl_records()
    copies = records.iloc[:5].assign(rid=records.rid.iloc[:5] + 10_000,
                                     record_id=records.record_id.iloc[:5] + "-copy")
    con, _, links = _link(pd.concat([records, copies], ignore_index=True))
    scores = {(a, b): p for a, b, p in zip(links.rid_l, links.rid_r, links.match_probability)}
    original = {pair: p for pair, p in scores.items() if max(pair) < 10_000}
    assert len(original) == 200
    for rid in records.rid.iloc[:5]:
        assert scores[(rid, rid + 10_000)] > 0.99
        partners = {(b if a == rid else a): p for (a, b), p in original.items() if rid in (a, b)}
        assert {(b if a == rid + 10_000 else a): p for (a, b), p in scores.items()
                if rid + 10_000 in (a, b) and rid not in (a, b)} == partners
    assert len(scores) == 200 + 5 + sum(1 for pair in original if set(pair) & set(records.rid.iloc[:5]))
    # what Splink scored: 505 records less the 5 copies and 14 sample records identical to another one
    assert con.execute("select count(*) from int_identity__splink_input").fetchone()[0] == 486
    # nothing of the collapse is left behind in the connection
    assert not con.execute("select count(*) from duckdb_tables() where table_name like '%input_all%' "
                           "or table_name like '%self_pairs%' or table_name like '%input_tf_%'").fetchone()[0]


def test_source_mapped_identifier_links_across_sources_despite_a_typo():
    # the national id mapped by each source (`identifiers: {national_id: <column>}`) reaches the records as
    # the `identifiers_norm` JSON (int_identity__records normalises it: upper case, no spaces or dashes);
    # `Identifier(name="national_id")` without a column compares it: rec-30 moved house and its id has two
    # digits transposed
    records = _edited_febrl("9178276")
    ids = [None if pd.isna(v) else json.dumps({"national_id": v}) for v in records.national_id]
    records = records.drop(columns=["national_id"]).assign(identifiers_norm=ids)
    config = SplinkConfig(identifiers=SplinkConfig().identifiers + [Identifier(name="national_id")])
    con, result, links = _link(records, config)
    assert result.comparisons[-1] == "id_national_id"
    a, b = _rid(records, "rec-30-org"), _rid(records, "rec-30-dup-0")
    assert _pair(con, result.links_table, a, b) == [
        (True, "Exact match on given_name", "Damerau-Levenshtein distance of id_national_id <= 1", False)]
    assert con.execute(f"select id_national_id from {result.links_table.replace('links', 'input')} "
                       "where unique_id = ?", [b]).fetchall() == [("9178276",)]
    # without the setting, the mapped identifier is not compared: the moved record's pair is not linked
    con, result, _ = _link(records, SplinkConfig())
    assert "id_national_id" not in result.comparisons
    assert con.execute(f"select count(*) from {result.links_table} where rid_l = ? and rid_r = ?",
                       [a, b]).fetchall() == [(0,)]


class _Training:
    """A stand-in for Splink's training API: raises the given errors in turn, then returns a session."""

    def __init__(self, *errors):
        self.errors, self.pairs = list(errors), []

    def estimate_parameters_using_expectation_maximisation(self, rule, estimate_without_term_frequencies, max_pairs):
        self.pairs.append(max_pairs)
        if self.errors:
            raise self.errors.pop(0)
        return "session"


_UNDERFLOW = ValueError("m_probability value 0.0 is below the minimum allowed value of 1e-300. Values this small "
                        "cannot be represented accurately as float64 and will underflow to 0.0.")


def test_em_that_drives_an_m_to_zero_is_rerun_once_on_more_pairs():
    from transforms.identity.splink import EM_RETRY_PAIRS_FACTOR, estimate_m

    training = _Training(_UNDERFLOW)
    assert estimate_m(training, ["name"], 300_000) == "session"
    assert training.pairs == [300_000, EM_RETRY_PAIRS_FACTOR * 300_000] and EM_RETRY_PAIRS_FACTOR == 4
    assert estimate_m(_Training(), ["name"], 300_000) == "session"  # no retry when the sample trains
    with pytest.raises(ValueError, match="below the minimum"):  # a second underflow is the caller's warning
        estimate_m(_Training(_UNDERFLOW, _UNDERFLOW), ["name"], 300_000)
    other = _Training(ValueError("no blocked pairs"))
    with pytest.raises(ValueError, match="no blocked pairs"):  # other errors are not retried
        estimate_m(other, ["name"], 300_000)
    assert other.pairs == [300_000]


def test_a_model_trained_on_one_database_scores_the_same_links_on_another():
    # the Spark engine's path (Database.splink_trainer): train only on one database, score on another with
    # that model; the links, their weights and the model table are those of training and scoring in one place
    records = pp_records()
    con, result, _ = _link(records)
    trainer, scorer = (_link(records, SplinkConfig(enabled=False))[0] for _ in range(2))
    trained = link_records(Database(trainer), "int_identity__records", CONFIG, score=False)
    assert trainer.execute(f"select count(*) from {trained.links_table}").fetchall() == [(0,)]  # not scored
    assert trained.parameters == result.parameters and trained.warnings == result.warnings
    scored = link_records(Database(scorer), "int_identity__records", CONFIG, trained=trained)
    assert (scored.links, scored.possible, scored.held_by_household_rule) == \
           (result.links, result.possible, result.held_by_household_rule)
    assert result.links > 100
    for table in (result.links_table, result.possible_table, result.model_table):
        assert scorer.execute(f"select * from {table} order by all").fetchall() == \
               con.execute(f"select * from {table} order by all").fetchall(), table


def test_a_stored_model_scores_the_next_run_without_training_while_it_fits():
    # the nightly path: a run stores its model (LinkResult.model, as JSON), the next run reuses its m and u
    # (no u sampling, no EM) and estimates only the prior; the same records then give the same links, scores
    # and model table
    records = pp_records()
    con, result, _ = _link(records)
    assert not result.reused and result.model["records"] == len(records) == 448
    assert set(result.model) == {"fingerprint", "records", "parameters", "warnings"}
    stored = json.loads(json.dumps(result.model))  # as the run stores it
    scorer = _link(records, SplinkConfig(enabled=False))[0]
    reused = link_records(Database(scorer), "int_identity__records", CONFIG, stored=stored)
    assert reused.reused and "u" not in reused.seconds and not any(k.startswith("EM") for k in reused.seconds)
    assert json.loads(json.dumps(reused.model)) == stored and reused.warnings == result.warnings
    for table in (result.links_table, result.possible_table, result.model_table):
        assert scorer.execute(f"select * from {table} order by all").fetchall() == \
               con.execute(f"select * from {table} order by all").fetchall(), table
    # the Spark engine's path: the trainer (DuckDB) takes the stored model, the scorer its result
    trained = link_records(Database(_link(records, SplinkConfig(enabled=False))[0]), "int_identity__records", CONFIG,
                           score=False, stored=stored)
    assert trained.reused and trained.parameters == reused.parameters
    scored = link_records(Database(scorer), "int_identity__records", CONFIG, trained=trained)
    assert scored.reused and scored.model == trained.model and scored.links == result.links


def test_a_stored_model_is_retrained_when_settings_or_records_change():
    # training settings and comparisons make the fingerprint; scoring-only settings (threshold) do not
    linker = SimpleNamespace(_settings_obj=SimpleNamespace(comparisons=[]))
    fingerprint = training_fingerprint(linker, CONFIG)
    assert training_fingerprint(linker, CONFIG.model_copy(update={"threshold": 0.95})) == fingerprint
    assert training_fingerprint(linker, CONFIG.model_copy(update={"name_close": 0.9})) != fingerprint
    stored = {"fingerprint": fingerprint, "records": 1000, "parameters": {"prior": 0.001, "comparisons": {}},
              "warnings": []}
    assert reusable(stored, fingerprint, 1250, CONFIG) is None  # 25% more: still the same population
    assert reusable(stored, fingerprint, 1251, CONFIG) == "records changed from 1,000 to 1,251"
    assert reusable(stored, fingerprint, 749, CONFIG) == "records changed from 1,000 to 749"
    assert reusable(stored, "0" * 16, 1000, CONFIG) == "the comparisons or the training settings changed"
    assert reusable(stored | {"parameters": None}, fingerprint, 1000, CONFIG) == \
        "the stored model could not be trained"
    assert reusable(None, fingerprint, 1000, CONFIG) == "no stored model"
