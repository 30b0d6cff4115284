"""Tests for the deterministic demo-data generator (flows/demo/generator.py).

Everything is written under pytest's tmp_path; nothing touches the repo's data/ directory.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

try:
    from flows.demo.generator import TRAD_TO_SIMP, generate
except ModuleNotFoundError:  # pytest started without the repo root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from flows.demo.generator import TRAD_TO_SIMP, generate

TPE = timezone(timedelta(hours=8))
END = date(2026, 11, 20)
DAYS = 14
START = END - timedelta(days=DAYS - 1)

HEADERS = {
    "exports/crm/contacts.csv": [
        "Contact ID", "Account Type", "Account Name", "First Name", "Last Name", "Email", "Mobile",
        "Birthdate", "Mailing Street", "Mailing City", "Mailing Zip", "Loyalty Card",
        "Created Date", "Last Modified Date"],
    "exports/shop/customers.csv": [
        "account_id", "email", "phone", "full_name", "created_at", "marketing_opt_in"],
    "exports/shop/orders.csv": [
        "order_id", "line_no", "ordered_at", "channel", "account_id", "sku", "quantity",
        "unit_list_price", "unit_price_paid", "discount_code", "currency"],
    "exports/pos/members.csv": ["會員卡號", "姓名", "手機", "生日", "電子郵件", "地址", "郵遞區號", "入會日期"],
    "exports/pos/transactions.csv": [
        "交易編號", "明細序號", "門市代號", "交易時間", "會員卡號", "商品編號", "數量", "單價", "實收單價",
        "折扣代碼"],
    "exports/marketing/campaigns.csv": [
        "campaign_id", "campaign_name", "promo_code", "sku", "discount_pct", "valid_channels",
        "valid_from", "valid_to"],
    "exports/marketing/subscribers.csv": [
        "subscriber_id", "email_address", "first_name", "status", "opted_in_at"],
    "exports/marketing/activity.csv": ["campaign_id", "subscriber_id", "event_type", "event_time"],
    "exports/service/warranty_registrations.csv": [
        "reg_no", "customer_name", "birthday", "address", "zip", "sku", "registered_on"],
    "exports/erp/products.csv": ["sku", "product_name", "category", "launched_on"],
    "exports/erp/price_list.csv": ["sku", "channel", "price", "currency", "valid_from", "valid_to"],
    "exports/erp/channel_policies.csv": ["policy", "channel", "value", "valid_from"],
    "ground_truth/identity.csv": ["system", "entity", "record_id", "person_id"],
    "ground_truth/price_differences.csv": [
        "sku", "channel", "price", "reference_price", "valid_from", "valid_to"],
    "ground_truth/promo_not_honoured.csv": ["campaign_id", "channel", "order_lines"],
    "ground_truth/policy_conflicts.csv": ["policy", "channels", "values"],
    "ground_truth/repeat_contacts.csv": ["person_id", "sku", "topic", "ticket_ids"],
    "ground_truth/households.csv": ["person_id", "household_id", "shares_email"],
    "ground_truth/invalid_rows.csv": ["file", "row_number", "rule"],
}
ENCODING = {"exports/crm/contacts.csv": "utf-8-sig", "exports/pos/members.csv": "big5",
            "exports/pos/transactions.csv": "big5"}


# ---------------------------------------------------------------------------------------------
# fixtures / helpers
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    counts = generate(out, customers=200, days=DAYS, seed=7, end_date=END)
    return out, counts


def read_csv(out: Path, rel: str, include_invalid: bool = False) -> list[dict[str, str]]:
    """The rows of a generated CSV; by default without the rows injected as invalid (the pipeline
    quarantines those; see test_invalid_rows_are_listed_with_the_rule_they_break)."""
    text = (out / rel).read_bytes().decode(ENCODING.get(rel, "utf-8"))
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if include_invalid or not rel.startswith("exports/"):
        return rows
    bad = {int(r["row_number"]) for r in read_csv(out, "ground_truth/invalid_rows.csv")
           if f"exports/{r['file']}" == rel}
    return [r for n, r in enumerate(rows, 1) if n not in bad]


def read_header(out: Path, rel: str) -> list[str]:
    text = (out / rel).read_bytes().decode(ENCODING.get(rel, "utf-8"))
    return next(csv.reader(io.StringIO(text, newline="")))


def tickets(out: Path) -> list[dict]:
    return json.loads((out / "exports/support/tickets.json").read_text(encoding="utf-8"))


def events(out: Path) -> list[dict]:
    evs = []
    for f in sorted((out / "exports/analytics").glob("events-*.jsonl")):
        evs.extend(json.loads(line) for line in f.read_text(encoding="utf-8").splitlines())
    return evs


def identity(out: Path) -> dict[tuple[str, str], dict[str, str]]:
    ident: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for r in read_csv(out, "ground_truth/identity.csv"):
        ident[(r["system"], r["entity"])][r["record_id"]] = r["person_id"]
    return ident


def d(s: str) -> date:
    return date.fromisoformat(s)


def sales_lines(out: Path) -> list[dict]:
    """Orders and POS lines in one shape, with the Taipei business date and the person."""
    ident = identity(out)
    acc, card = ident[("shop", "customers")], ident[("pos", "members")]
    lines = []
    for r in read_csv(out, "exports/shop/orders.csv"):
        ts = datetime.fromisoformat(r["ordered_at"])
        assert ts.tzinfo is not None
        lines.append({"channel": r["channel"], "day": ts.astimezone(TPE).date(), "sku": r["sku"],
                      "list": r["unit_list_price"], "paid": r["unit_price_paid"],
                      "code": r["discount_code"], "person": acc[r["account_id"]]})
    for r in read_csv(out, "exports/pos/transactions.csv"):
        ts = datetime.strptime(r["交易時間"], "%Y/%m/%d %H:%M:%S")
        lines.append({"channel": "store", "day": ts.date(), "sku": r["商品編號"], "list": r["單價"],
                      "paid": r["實收單價"], "code": r["折扣代碼"],
                      "person": card.get(r["會員卡號"]) if r["會員卡號"] else None})
    return lines


def cents(s: str) -> int:
    whole, frac = s.split(".")
    assert len(frac) == 2
    return int(whole) * 100 + int(frac)


# ---------------------------------------------------------------------------------------------
# layout, formats, determinism
# ---------------------------------------------------------------------------------------------


def test_layout_headers_and_counts(demo):
    out, counts = demo
    day_files = [f"exports/analytics/events-{START + timedelta(days=k)}.jsonl" for k in range(DAYS)]
    expected = set(HEADERS) | {"exports/support/tickets.json"} | set(day_files)
    assert set(counts) == expected
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == expected
    for rel, header in HEADERS.items():
        assert read_header(out, rel) == header, rel
        assert counts[rel] == len(read_csv(out, rel, include_invalid=True)), rel
    assert counts["exports/support/tickets.json"] == len(tickets(out))
    for rel in day_files:
        assert counts[rel] == len((out / rel).read_text(encoding="utf-8").splitlines()) > 0
    assert counts["exports/erp/products.csv"] == 40
    assert counts["exports/erp/channel_policies.csv"] == 6 * 4
    assert counts["ground_truth/households.csv"] == 12  # 3% of 200 persons -> 6 pairs
    assert counts["ground_truth/price_differences.csv"] == 3
    assert counts["ground_truth/promo_not_honoured.csv"] == 2
    assert counts["ground_truth/policy_conflicts.csv"] == 2


def test_deterministic_and_seed_sensitive(demo, tmp_path):
    out, counts = demo
    again = tmp_path / "again"
    assert generate(again, customers=200, days=DAYS, seed=7, end_date=END) == counts
    for rel in counts:
        assert (out / rel).read_bytes() == (again / rel).read_bytes(), rel
    other = tmp_path / "other"
    generate(other, customers=200, days=DAYS, seed=8, end_date=END)
    assert (other / "exports/crm/contacts.csv").read_bytes() != (
        out / "exports/crm/contacts.csv").read_bytes()


def test_rerun_overwrites_and_drops_stale_event_files(tmp_path):
    generate(tmp_path, customers=60, days=10, seed=1, end_date=END)
    counts = generate(tmp_path, customers=60, days=7, seed=1, end_date=END)
    files = sorted(p.name for p in (tmp_path / "exports/analytics").iterdir())
    assert files == [f"events-{END - timedelta(days=k)}.jsonl" for k in range(6, -1, -1)]
    assert counts["exports/shop/customers.csv"] == len(read_csv(tmp_path, "exports/shop/customers.csv"))


def test_rejects_tiny_worlds(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path, customers=10)
    with pytest.raises(ValueError):
        generate(tmp_path, days=3)


def test_encodings(demo):
    out, _ = demo
    assert (out / "exports/crm/contacts.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    for rel in ("exports/shop/customers.csv", "exports/shop/orders.csv",
                "exports/marketing/subscribers.csv", "exports/support/tickets.json"):
        raw = (out / rel).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        raw.decode("utf-8")
    simplified = set(TRAD_TO_SIMP.values())
    for rel in ("exports/pos/members.csv", "exports/pos/transactions.csv"):
        raw = (out / rel).read_bytes()
        text = raw.decode("big5")  # strict
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        assert text.startswith(",".join(HEADERS[rel]) + "\r\n")
        assert not simplified & set(text)
    members = (out / "exports/pos/members.csv").read_bytes().decode("big5")
    assert "臺北市" in members or "台北市" in members
    # simplified variants do show up in the UTF-8 systems
    utf8 = "".join((out / rel).read_text(encoding="utf-8-sig") for rel in (
        "exports/crm/contacts.csv", "exports/shop/customers.csv", "exports/support/tickets.json"))
    assert simplified & set(utf8)


def test_field_formats(demo):
    out, _ = demo
    for r in read_csv(out, "exports/crm/contacts.csv"):
        assert r["Contact ID"].startswith("003") and len(r["Contact ID"]) == 15
        assert r["Account Type"] in ("B2C", "B2B")
        assert (r["Account Name"] == "Individual") == (r["Account Type"] == "B2C")
        datetime.strptime(r["Created Date"], "%m/%d/%Y")
        assert datetime.strptime(r["Last Modified Date"], "%m/%d/%Y") >= datetime.strptime(
            r["Created Date"], "%m/%d/%Y")
    for r in read_csv(out, "exports/shop/customers.csv"):
        assert r["account_id"][0] == "U" and len(r["account_id"]) == 8
        assert datetime.fromisoformat(r["created_at"]).utcoffset() == timedelta(hours=8)
    offsets = Counter()
    for r in read_csv(out, "exports/shop/orders.csv"):
        offsets[r["ordered_at"][19:]] += 1
        assert r["channel"] in ("web", "ios", "android") and r["currency"] == "TWD"
        assert START <= datetime.fromisoformat(r["ordered_at"]).astimezone(TPE).date() <= END
    assert set(offsets) == {"+08:00", "Z", "+09:00"}
    assert offsets["+08:00"] > offsets["Z"] > offsets["+09:00"]
    for r in read_csv(out, "exports/pos/transactions.csv"):
        assert r["門市代號"] in ("S01", "S02", "S03", "S04", "S05")
        assert r["交易編號"].startswith(r["門市代號"] + r["交易時間"][:10].replace("/", ""))
        assert START <= datetime.strptime(r["交易時間"], "%Y/%m/%d %H:%M:%S").date() <= END
    for r in read_csv(out, "exports/pos/members.csv"):
        assert r["會員卡號"][0] == "L" and len(r["會員卡號"]) == 9
        datetime.strptime(r["入會日期"], "%Y/%m/%d")
    skus = {f"SKU-{i:04d}" for i in range(1, 41)}
    for t in tickets(out):
        assert t["created_at"].endswith("Z")
        assert t["channel"] in ("phone", "chat", "email", "chatbot")
        assert t["topic"] in ("delivery", "return", "defect", "billing", "account", "product_question")
        assert 0 <= t["wait_seconds"] <= 1800 and len(t["transfers"]) <= 3
        assert t["csat"] is None or 1 <= t["csat"] <= 5
        assert t["sku"] in skus and t["agent_id"].startswith("A")
        assert (t["resolved_at"] is None) == (t["status"] in ("open", "pending"))
        if t["channel"] == "chatbot":
            assert set(t["customer"]) <= {"email"}
        if t["channel"] == "phone":
            assert "email" not in t["customer"]
    lo = (datetime.combine(START, datetime.min.time(), TPE).timestamp()) * 1000
    hi = (datetime.combine(END + timedelta(days=1), datetime.min.time(), TPE).timestamp()) * 1000
    for e in events(out):
        assert lo <= e["ts"] < hi
        assert e["platform"] in ("web", "ios", "android")
        assert (e["sku"] is None) == (e["event"] in ("page_view", "search", "login"))


def test_dirt_is_present(demo):
    out, _ = demo
    crm = read_csv(out, "exports/crm/contacts.csv")
    shop = read_csv(out, "exports/shop/customers.csv")
    members = read_csv(out, "exports/pos/members.csv")
    phones = [r["Mobile"] for r in crm] + [r["phone"] for r in shop] + [r["手機"] for r in members]
    assert any(p.startswith("+886 ") for p in phones)
    assert any(p.startswith("+886") and " " not in p for p in phones)
    assert any("-" in p for p in phones)
    assert any(p.startswith("０９") for p in [r["手機"] for r in members] + phones)
    assert "" in phones
    emails = [r["Email"] for r in crm] + [r["email"] for r in shop]
    assert any(e != e.strip() for e in emails)
    assert any(e.strip() != e.strip().lower() for e in emails)
    assert 0.05 < sum(r["Email"] == "" for r in crm) / len(crm) < 0.2
    assert 0.45 < sum(r["電子郵件"] == "" for r in members) / len(members) < 0.75
    # a shared company inbox is used by several different persons
    ident = identity(out)[("crm", "contacts")]
    inbox = defaultdict(set)
    for r in crm:
        if r["Email"].startswith("info@"):
            inbox[r["Email"]].add(ident[r["Contact ID"]])
    assert all(e.endswith(".com.tw") for e in inbox)
    assert any(r["Account Type"] == "B2B" for r in crm)
    # chatbot tickets without any identifier
    assert any(t["channel"] == "chatbot" and not t["customer"] for t in tickets(out))


# ---------------------------------------------------------------------------------------------
# ground truth
# ---------------------------------------------------------------------------------------------


def test_identity_covers_exactly_the_identity_records(demo):
    out, counts = demo
    ident = identity(out)
    assert set(ident) == {("crm", "contacts"), ("shop", "customers"), ("pos", "members"),
                          ("support", "tickets"), ("marketing", "subscribers"),
                          ("analytics", "devices"), ("service", "registrations")}
    assert sum(len(v) for v in ident.values()) == counts["ground_truth/identity.csv"]
    exports = {
        ("crm", "contacts"): [r["Contact ID"] for r in read_csv(out, "exports/crm/contacts.csv")],
        ("shop", "customers"): [r["account_id"] for r in read_csv(out, "exports/shop/customers.csv")],
        ("pos", "members"): [r["會員卡號"] for r in read_csv(out, "exports/pos/members.csv")],
        ("support", "tickets"): [t["ticket_id"] for t in tickets(out)],
        ("marketing", "subscribers"): [
            r["subscriber_id"] for r in read_csv(out, "exports/marketing/subscribers.csv")],
    }
    for key, ids in exports.items():
        assert len(ids) == len(set(ids)), key
        assert set(ids) == set(ident[key]), key
    # analytics: exactly the devices that logged in at least once, owned by the account's person
    evs = events(out)
    logged_in = {e["anonymous_id"] for e in evs if e["event"] == "login"}
    assert set(ident[("analytics", "devices")]) == logged_in
    acc = ident[("shop", "customers")]
    dev = ident[("analytics", "devices")]
    for e in evs:
        if e["user_id"] is not None:
            assert acc[e["user_id"]] == dev[e["anonymous_id"]]
    assert {e["anonymous_id"] for e in evs} - logged_in  # never-logged-in devices exist
    # persons: ids look right; CRM duplicates and 2-card members exist
    persons = {p for v in ident.values() for p in v.values()}
    assert all(p.startswith("P") and len(p) == 7 for p in persons)
    assert max(Counter(ident[("crm", "contacts")].values()).values()) == 2
    # loyalty references point at the right person
    card = ident[("pos", "members")]
    for r in read_csv(out, "exports/crm/contacts.csv"):
        if r["Loyalty Card"]:
            assert card[r["Loyalty Card"]] == ident[("crm", "contacts")][r["Contact ID"]]
    for t in tickets(out):
        if t["customer"].get("member_no"):
            assert card[t["customer"]["member_no"]] == ident[("support", "tickets")][t["ticket_id"]]


def test_households(demo):
    out, _ = demo
    rows = read_csv(out, "ground_truth/households.csv")
    by_hh = defaultdict(list)
    for r in rows:
        by_hh[r["household_id"]].append(r)
    assert all(len(v) == 2 and v[0]["shares_email"] == v[1]["shares_email"]
               for v in by_hh.values())
    assert {r["shares_email"] for r in rows} <= {"true", "false"}


def test_prices_follow_erp_and_injected_differences(demo):
    out, _ = demo
    plist = read_csv(out, "exports/erp/price_list.csv")
    assert {r["channel"] for r in plist} == {"web", "ios", "android", "store"}

    def price(sku: str, ch: str, day: date) -> str:
        hits = [r["price"] for r in plist if r["sku"] == sku and r["channel"] == ch
                and d(r["valid_from"]) <= day and (not r["valid_to"] or day <= d(r["valid_to"]))]
        assert len(hits) == 1, (sku, ch, day)
        return hits[0]

    skus = [f"SKU-{i:04d}" for i in range(1, 41)]
    assert [r["sku"] for r in read_csv(out, "exports/erp/products.csv")] == skus
    diffs = read_csv(out, "ground_truth/price_differences.csv")
    assert [(r["sku"], r["channel"]) for r in diffs] == [
        ("SKU-0012", "ios"), ("SKU-0024", "store"), ("SKU-0036", "store")]
    assert all((r["valid_from"], r["valid_to"]) == ("2026-11-10", "2026-11-17") for r in diffs)
    diff_keys = {(r["sku"], r["channel"]): r for r in diffs}
    for sku in skus:
        for k in range(DAYS):
            day = START + timedelta(days=k)
            by_ch = {ch: price(sku, ch, day) for ch in ("web", "ios", "android", "store")}
            expected = {}
            for ch in by_ch:
                r = diff_keys.get((sku, ch))
                inside = r is not None and d(r["valid_from"]) <= day <= d(r["valid_to"])
                expected[ch] = r["price"] if inside else by_ch["web"]
                if r is not None:
                    assert r["reference_price"] == by_ch["web"]
            assert by_ch == expected, (sku, day)
    lines = sales_lines(out)
    for ln in lines:
        assert ln["list"] == price(ln["sku"], ln["channel"], ln["day"])
        assert cents(ln["paid"]) <= cents(ln["list"])
    for (sku, ch), r in diff_keys.items():
        inside = [ln for ln in lines if ln["sku"] == sku and ln["channel"] == ch
                  and d(r["valid_from"]) <= ln["day"] <= d(r["valid_to"])]
        assert len(inside) >= 3 and all(ln["list"] == r["price"] for ln in inside)
        ref = [ln for ln in lines if ln["sku"] == sku and ln["channel"] == "web"
               and d(r["valid_from"]) <= ln["day"] <= d(r["valid_to"])]
        assert ref and all(ln["list"] == r["reference_price"] for ln in ref)


def test_promotions_and_not_honoured_pairs(demo):
    out, _ = demo
    ident = identity(out)
    sub_person = ident[("marketing", "subscribers")]
    campaigns = read_csv(out, "exports/marketing/campaigns.csv")
    assert 4 <= len(campaigns) <= 6
    recipients: dict[str, set[str]] = defaultdict(set)
    for a in read_csv(out, "exports/marketing/activity.csv"):
        assert a["event_type"] in ("sent", "open", "click", "unsubscribe")
        if a["event_type"] == "sent":
            recipients[a["campaign_id"]].add(sub_person[a["subscriber_id"]])
    nh = {(r["campaign_id"], r["channel"]): int(r["order_lines"])
          for r in read_csv(out, "ground_truth/promo_not_honoured.csv")}
    assert set(nh) == {("CMP001", "store"), ("CMP002", "android")}
    lines = sales_lines(out)
    for c in campaigns:
        cid, sku, pct = c["campaign_id"], c["sku"], int(c["discount_pct"])
        chans = c["valid_channels"].split(";")
        lo, hi = d(c["valid_from"]), d(c["valid_to"])
        assert START <= lo <= hi <= END
        assert len(recipients[cid]) > 0
        in_window = [ln for ln in lines if ln["sku"] == sku and ln["channel"] in chans
                     and lo <= ln["day"] <= hi]
        by_recipient = [ln for ln in in_window if ln["person"] in recipients[cid]]
        assert len({ln["channel"] for ln in by_recipient}) == len(chans)  # several channels
        not_given = 0
        for ln in by_recipient:
            if (cid, ln["channel"]) in nh:
                assert ln["paid"] == ln["list"] and ln["code"] == ""
                not_given += 1
            else:
                assert ln["code"] == c["promo_code"]
                assert cents(ln["paid"]) == cents(ln["list"]) * (100 - pct) // 100
        for ch in chans:
            if (cid, ch) in nh:
                assert ch in chans
                assert nh[(cid, ch)] == sum(ln["channel"] == ch for ln in by_recipient) > 0
                assert all(ln["code"] == "" and ln["paid"] == ln["list"]
                           for ln in in_window if ln["channel"] == ch)
        assert not_given == sum(v for (k, _), v in nh.items() if k == cid)
    # generic, non-campaign codes take 10% off
    generic = [ln for ln in lines if ln["code"] in ("WELCOME10", "APP10", "MEMBER10")]
    assert generic
    assert all(cents(ln["paid"]) == cents(ln["list"]) * 90 // 100 for ln in generic)


def test_policy_conflicts(demo):
    out, _ = demo
    values = defaultdict(dict)
    for r in read_csv(out, "exports/erp/channel_policies.csv"):
        values[r["policy"]][r["channel"]] = r["value"]
    conflicts = {r["policy"]: r for r in read_csv(out, "ground_truth/policy_conflicts.csv")}
    assert set(conflicts) == {p for p, v in values.items() if len(set(v.values())) > 1}
    assert set(conflicts) == {"online_order_return_in_store", "warranty_months"}
    for p, r in conflicts.items():
        chans, vals = r["channels"].split(";"), r["values"].split(";")
        assert dict(zip(chans, vals)) == values[p]
    assert values["online_order_return_in_store"]["store"] == "not_allowed"
    assert values["warranty_months"] == {"web": "12", "ios": "12", "android": "12", "store": "24"}


def test_repeat_contacts(demo):
    out, _ = demo
    by_id = {t["ticket_id"]: t for t in tickets(out)}
    owner = identity(out)[("support", "tickets")]
    groups = read_csv(out, "ground_truth/repeat_contacts.csv")
    assert groups
    grouped = set()
    for g in groups:
        ids = g["ticket_ids"].split(";")
        assert 2 <= len(ids) <= 4 and ids == sorted(ids)
        ts = [datetime.fromisoformat(by_id[i]["created_at"]) for i in ids]
        assert max(ts) - min(ts) <= timedelta(days=7)
        assert {owner[i] for i in ids} == {g["person_id"]}
        assert {(by_id[i]["sku"], by_id[i]["topic"]) for i in ids} == {(g["sku"], g["topic"])}
        assert len({by_id[i]["channel"] for i in ids}) == len(ids)
        grouped |= {frozenset((a, b)) for a in ids for b in ids if a < b}
    # no other pair of a person's tickets is about the same sku+topic within 7 days
    per_person = defaultdict(list)
    for tid, t in by_id.items():
        per_person[owner[tid]].append(t)
    for ts in per_person.values():
        for a in ts:
            for b in ts:
                if a["ticket_id"] < b["ticket_id"] and (a["sku"], a["topic"]) == (b["sku"], b["topic"]):
                    gap = abs(datetime.fromisoformat(a["created_at"])
                              - datetime.fromisoformat(b["created_at"]))
                    if gap <= timedelta(days=7):
                        assert frozenset((a["ticket_id"], b["ticket_id"])) in grouped


def test_invalid_rows_are_listed_with_the_rule_they_break(demo):
    out, _ = demo
    listed = read_csv(out, "ground_truth/invalid_rows.csv")
    orders = read_csv(out, "exports/shop/orders.csv", include_invalid=True)
    tx = read_csv(out, "exports/pos/transactions.csv", include_invalid=True)
    by_rule = {}
    for r in listed:
        by_rule.setdefault(r["rule"], []).append(r)
    n_orders = len(orders) - len(by_rule["unique:order_id,line_no"]) - len(by_rule["range:quantity"])
    assert len(by_rule["unique:order_id,line_no"]) == len(by_rule["range:quantity"]) == max(1, n_orders // 1000)
    assert len(by_rule["required:ordered_at"]) == max(1, (len(tx) - len(by_rule["required:ordered_at"])) // 1000)
    for r in by_rule["unique:order_id,line_no"]:
        n = int(r["row_number"])
        assert orders[n - 1] == orders[n - 2]  # exported twice, back to back
    for r in by_rule["range:quantity"]:
        line = orders[int(r["row_number"]) - 1]
        assert line["quantity"] == "-1"
        assert [o["line_no"] for o in orders if o["order_id"] == line["order_id"]][-1] == line["line_no"]
    for r in by_rule["required:ordered_at"]:
        assert list(tx[int(r["row_number"]) - 1].values())[3].endswith(" 25:61:00")


def test_warranty_cards_share_no_exact_key_and_belong_to_crm_or_loyalty_people(demo):
    out, _ = demo
    ident = identity(out)
    cards = read_csv(out, "exports/service/warranty_registrations.csv")
    assert len(cards) > 0 and set(cards[0]) == {"reg_no", "customer_name", "birthday", "address", "zip", "sku",
                                                 "registered_on"}  # no email, phone or card number
    owners = {ident[("service", "registrations")][c["reg_no"]] for c in cards}
    known = set(ident[("crm", "contacts")].values()) | set(ident[("pos", "members")].values())
    assert owners <= known
