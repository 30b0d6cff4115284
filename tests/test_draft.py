"""`sources draft`'s sniffing on tiny inline inputs: value shapes and formats, column names to fields, the
file's format, encoding and delimiter (the end-to-end drafts are in test_vendors.py)."""

from __future__ import annotations

import pytest

from connectors.draft import _name_score, classify, sniff_delimiter, sniff_encoding, sniff_format


@pytest.mark.parametrize(("values", "shape", "fmt"), [
    (["2026-11-18", "2026-01-02"], "date", "iso8601"),
    (["2026-11-18T10:15:00Z", "2026-11-18 10:15:00+08:00"], "timestamp", "iso8601"),
    (["2026-11-18 10:15:00 +0800"], "timestamp", "%Y-%m-%d %H:%M:%S %z"),
    (["11/20/2026", "06/16/1986"], "date", "%m/%d/%Y"),       # 20 cannot be a month
    (["20/11/2026", "16/06/1986"], "date", "%d/%m/%Y"),
    (["20.11.2026 08:30"], "timestamp", "%d.%m.%Y %H:%M"),
    (["075/06/16", "101/03/09"], "roc", "roc"),               # Taiwan (Minguo) years
    (["19560231"] + ["19800101"] * 39, "date", "%Y%m%d"),    # FEBRL: a typo'd date among 40 (95% read)
    (["19560231", "19800101"], "integer", None),              # half: not dates
    (["1795046400"], "epoch_s", None),
    (["1795046400000000", "1795046401234567"], "epoch_us", None),
    (["12.50", "1,290.00"], "decimal", "comma_thousands"),
    (["1.290,00", "801,00"], "decimal", "comma_decimal"),
    (["1,234", "5,678"], "decimal", "ambiguous"),
    (["0912-345-678", "+886 912 345 678", "(02) 2700-0000"], "phone", None),
    (["192.0.2.10", "192.0.2.11"], "id", None),              # IP addresses are not phone numbers
    (["a@example.com", "b@example.org"], "email", None),
    (["yes", "no", "no"], "boolean", None),
    (["C-0001", "C-0002", "C-0003"], "id", None),
    (["https://x.example/p/1", "https://x.example/p/2"], "text", None),
    (['[{"key": "a"}]', "[]"], "json", None),
    ([], "empty", None),
])
def test_value_shapes(values, shape, fmt):
    col = classify("c", values)
    assert (col.shape, col.fmt) == (shape, fmt)


def test_day_month_ambiguity_is_said():
    col = classify("d", ["01/02/2026", "03/04/2026"])
    assert (col.fmt, col.note) == ("%m/%d/%Y", "day and month could be swapped (%d/%m/%Y fits too): check")


@pytest.mark.parametrize(("column", "field", "score"), [
    ("Email", "email", 3), ("E-mail", "email", 3), ("電子郵件", "email", 3), ("手機", "phone", 3),
    ("Billing Phone", "phone", 2), ("Lineitem sku", "sku", 2), ("會員手機號碼", "phone", 1),
    ("customerId", "login_id", 3), ("Mailing Zip/Postal Code", "postcode", 3), ("Subject", "email", 0),
    ("rec_id", "record_id", 3), ("suburb", "city", 3),       # FEBRL's person records
])
def test_column_names_to_fields(column, field, score):
    assert _name_score(column, field) == score


def test_format_encoding_and_delimiter(tmp_path):
    (tmp_path / "a.json").write_text('{"id": 1}\n{"id": 2}\n', encoding="utf-8")
    (tmp_path / "b.json").write_text('{"tickets": [{"id": 1}]}', encoding="utf-8")
    (tmp_path / "c.tsv.gz").write_bytes(b"")
    assert [sniff_format(tmp_path / n) for n in ("a.json", "b.json", "c.tsv.gz")] == ["jsonl", "json", "csv"]
    assert sniff_encoding("會員編號".encode("cp950")) == ("cp950", "not UTF-8; the first sample bytes decode as cp950")
    assert sniff_encoding(b"\xef\xbb\xbfid\n")[0] == "utf-8-sig"
    assert sniff_delimiter("a;b;c\n1;2,5;3\n4;5;6\n", ".csv") == ";"
    assert sniff_delimiter("a,b\n1,2\n", ".tsv") == "\t"


# a POS export of order lines: the receipt number repeats on each of its lines; no line number column
RECEIPTS = ("Receipt No,Member No,Item Code,Qty,Price,Sold At,Store\n"
            "R-1,M-1,SKU-1,1,10.00,2026-11-18 10:00:00,S1\n"
            "R-1,M-1,SKU-1,1,10.00,2026-11-18 10:00:00,S1\n"
            "R-2,M-2,SKU-2,2,5.50,2026-11-18 11:00:00,S1\n"
            "R-3,M-1,SKU-3,1,7.00,2026-11-19 09:30:00,S2\n")


def test_draft_proposes_keys_and_merge(tmp_path):
    """A missing line number becomes a `line_number` key within the order (file order: two identical lines of
    one receipt are lines 1 and 2, never a tie); a repeated customer number, `merge: true` (one customer on
    many rows); a missing id, a `hash` key over the whole row."""
    from connectors.draft import draft, to_yaml

    file = tmp_path / "receipts.csv"
    file.write_text(RECEIPTS, encoding="utf-8")
    lines = {ln.split("#")[0].strip() for ln in to_yaml(draft(file, "order_lines"), "pos", "receipts",
                                                          "pos/receipts*.csv").splitlines()}
    assert {"order_id: Receipt No", "keys:", "line_no: {line_number: [Receipt No]}"} <= lines
    assert "merge: true" not in lines
    customers = to_yaml(draft(file, "customers"), "pos", "members", "pos/receipts*.csv")
    lines = {ln.split("#")[0].strip() for ln in customers.splitlines()}
    assert {"record_id: Member No", "merge: true"} <= lines
    assert "record_id repeats (2 distinct of 4 in the sample)" in customers
    events = {ln.split("#")[0].strip() for ln in to_yaml(draft(file, "web_events"), "pos", "e", "p").splitlines()}
    assert "event_id: {hash: [Receipt No, Member No, Item Code, Qty, Price, Sold At, Store]}" in events


def test_person_file_address_parts_and_identifiers(tmp_path):
    """A FEBRL-shaped person file (public record-linkage data): `state` beside an address is part of it (no
    canonical field: kept in attributes), not the customer's status; the street number in its own column is
    assembled with the street; a social security number becomes an extra identifier. With no address columns
    beside it, `state` still means a status (a ticket's state)."""
    from connectors.draft import draft, to_yaml

    people = tmp_path / "people.csv"
    people.write_text("rec_id, given_name, surname, street_number, address_1, suburb, postcode, state, soc_sec_id\n"
                      "rec-1-org, ann, lee, 1, high st, kingston, 2604, act, 1234567\n"
                      "rec-2-org, bo, tan, 9, low rd, hobart, 7000, tas, 7654321\n", encoding="utf-8")
    entry = to_yaml(draft(people, "customers"), "febrl", "people", "febrl/people*.csv")
    fields = {ln.split("#")[0].strip() for ln in entry.splitlines()}
    assert {"record_id: rec_id", "city: suburb", "postcode: postcode", "national_id: soc_sec_id",
            "street: concat_ws(' ', trim(street_number), trim(address_1))"} <= fields
    assert not any(f.startswith(("status:", "street: address_1")) for f in fields)
    assert "#   state: text, 2 distinct of 2; part of the address (no canonical field)" in entry
    tickets = tmp_path / "tickets.csv"
    tickets.write_text("id,created,channel,state\nT-1,2026-11-18 10:00:00,email,open\n", encoding="utf-8")
    fields = {ln.split("#")[0].strip() for ln in to_yaml(draft(tickets, "tickets"), "desk", "t", "t*.csv").splitlines()}
    assert "status: state" in fields


def test_draft_proposes_footer_lines_for_a_reports_footer(tmp_path):
    from connectors.draft import draft, to_yaml

    from tests.test_readers import SALESFORCE_CLASSIC

    report = tmp_path / "report.csv"
    report.write_text(SALESFORCE_CLASSIC, encoding="utf-8")
    d = draft(report, "customers")
    assert (d.footer_lines, d.rows) == (4, 2)
    assert "footer_lines: 4" in {ln.split("#")[0].strip() for ln in to_yaml(d, "sf", "c", "c*.csv").splitlines()}


def test_a_tax_form_export_maps_the_persons_mailing_address_not_the_employers(tmp_path):
    """pseudopeople's W2/1099 shape (public synthetic data): an SSN is an identifier, not a phone; the employer's
    street, city and state are not the person's (nor `employer_state` a status); the mailing address is assembled
    from its number, street name and unit; `street_name` is not a person's name."""
    from connectors.draft import draft, to_yaml

    forms = tmp_path / "forms.csv"
    forms.write_text(
        "record_id,ssn,employer_name,employer_street_number,employer_street_name,employer_city,employer_state,"
        "first_name,middle_initial,last_name,mailing_address_street_number,mailing_address_street_name,"
        "mailing_address_unit_number,mailing_address_city,mailing_address_state,mailing_address_zipcode\n"
        "f-1,123-45-6789,Acme,1,main st,Anytown,WA,Ann,B,Lee,12,oak ave,,Springfield,WA,98001\n"
        "f-2,987-65-4321,Acme,1,main st,Anytown,WA,Bo,,Tan,7,elm st,# 3,Springfield,WA,98002\n", encoding="utf-8")
    entry = to_yaml(draft(forms, "customers"), "tax", "forms", "tax/forms*.csv")
    fields = {ln.split("#")[0].strip() for ln in entry.splitlines()}
    assert {"record_id: record_id", "first_name: first_name", "middle_name: middle_initial", "last_name: last_name",
            "city: mailing_address_city", "postcode: mailing_address_zipcode", "national_id: ssn",
            "street: concat_ws(' ', trim(mailing_address_street_number), trim(mailing_address_street_name), "
            "trim(mailing_address_unit_number))"} <= fields
    assert not any(f.startswith(("phone:", "status:", "full_name:", "default_region:")) for f in fields)


@pytest.mark.parametrize(("values", "region"), [
    (["(206) 555-0142", "415-555-0199", "2065550100"], ("US", 3, 3)),
    (["0912-345-678", "02 2700 0000"], ("TW", 2, 2)),
    (["020 7123 4567", "07911 123456"], ("GB", 2, 2)),
    (["+886912345678"], ("TW", 0, 0)),                       # a country code: any default does
])
def test_the_default_phone_region_is_guessed_from_the_numbers(values, region):
    """A US export's numbers read in Taiwan are invalid (their phone evidence lost): the draft proposes the
    country where most numbers written without a country code are valid."""
    from connectors.draft import phone_region

    assert phone_region(values) == region


def test_a_woocommerce_order_export(tmp_path):
    """WooCommerce's order export (its column names qualify with parentheses and `#`): quantity, line number,
    price paid, payment and shipping methods found; `refunded` mapped to `returned`, an unknown status said."""
    from connectors.draft import draft, to_yaml

    orders = tmp_path / "orders.csv"
    orders.write_text(
        "Order ID,Order Status,Order Date,Email (Billing),Payment Method Title,Shipping Method Title,SKU,Item #,"
        "Item Name,Quantity (- Refund),Item Cost,Coupon Code,Order Currency\n"
        "1001,completed,2026-11-01 10:22:00,a@example.com,Credit Card,Flat rate,TS-01,1,T-shirt,2,19.95,,USD\n"
        "1001,completed,2026-11-01 10:22:00,a@example.com,Credit Card,Flat rate,MUG-2,2,Mug,1,20.00,,USD\n"
        "1002,Refunded,2026-11-02 14:05:00,b@example.org,PayPal,Free shipping,MUG-2,1,Mug,1,12.00,,USD\n"
        "1003,wc-on-layaway,2026-11-02 15:05:00,b@example.org,PayPal,Free shipping,MUG-2,1,Mug,1,12.00,,USD\n",
        encoding="utf-8")
    d = draft(orders, "order_lines")
    fields = {ln.split("#", 1)[0].strip() for ln in to_yaml(d, "woo", "orders", "woo/*.csv").splitlines()}
    assert {"quantity: Quantity (- Refund)", "unit_price_paid: Item Cost", "payment_method: Payment Method Title",
            "shipping_method: Shipping Method Title", "order_status: Order Status",
            "order_status: {Refunded: returned}"} <= fields
    assert d.mapping["line_no"][0] == "Item #"
    assert any("1 sampled value(s) mean none of" in n for n in d.notes)


def test_an_order_export_carrying_its_customers_gets_a_customers_entry(tmp_path):
    """A guest-checkout order export (billing email, name, phone on every line, no customer id): the orders entry
    takes the email as its customer key (`login_id`), and a second entry over the same file makes one customers
    record per email (`merge: true`, no other columns), which identity joins to the other silos."""
    from connectors.draft import customers_companion, draft, to_yaml

    orders = tmp_path / "orders.csv"
    orders.write_text("Order ID,Order Date,Email (Billing),First Name (Billing),Phone (Billing),SKU,Quantity,Item Cost,"
                      "Order Currency\n"
                      "1001,2026-11-01 10:22:00,a@example.com,Avery,(206) 555-0142,TS-01,2,19.95,USD\n"
                      "1001,2026-11-01 10:22:00,a@example.com,Avery,(206) 555-0142,MUG-2,1,20.00,USD\n", encoding="utf-8")
    d = draft(orders, "order_lines")
    c = customers_companion(orders, d)
    assert d.mapping["login_id"][0] == "Email (Billing)"
    entry = to_yaml(c, "woo", "orders_customers", "woo/*.csv")
    fields = {ln.split("#", 1)[0].strip() for ln in entry.splitlines()}
    assert {"kind: customers", "record_id: Email (Billing)", "login_id: Email (Billing)", "email: Email (Billing)",
            "first_name: First Name (Billing)", "phone: Phone (Billing)", "merge: true", "attributes: []",
            "default_region: US"} <= fields
    assert not any(f.startswith(("created_at:", "status:")) for f in fields)
    assert customers_companion(orders, draft(orders, "customers")) is None
