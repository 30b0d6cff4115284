"""Normalisers: examples from the demo silos' dirt, and properties (hypothesis)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.normalize import mask_name, normalize_email, normalize_id, normalize_name, normalize_phone
from transforms.privacy import keyed_hash, shape


@pytest.mark.parametrize("raw", ["0912345678", "0912-345-678", "+886 912 345 678", "+886912345678",
                                 "０９１２３４５６７８", " 0912 345 678 ", "886-912-345-678"[0:0] + "+886-912-345-678"])
def test_taiwan_mobile_formats_normalise_to_one_e164(raw):
    assert normalize_phone(raw, "TW") == "+886912345678"


@pytest.mark.parametrize("raw", [None, "", "N/A", "0000000000", "1234567890", "12345", "abc"])
def test_unusable_phones_are_none(raw):
    assert normalize_phone(raw, "TW") is None


def test_phone_region_decides_numbers_without_country_code():
    assert normalize_phone("(02) 2345-6789", "TW") == "+886223456789"
    assert normalize_phone("020 7946 0018", "GB") == "+442079460018"


@pytest.mark.parametrize("raw,expected", [
    ("  Mei.Lin@Gmail.COM ", "mei.lin@gmail.com"),
    ("ｍｅｉ@ｙａｈｏｏ.com.tw", "mei@yahoo.com.tw"),
    ("TEST@test.com", None),
    ("noemail@none.com", None),
    ("N/A", None),
    ("not-an-email", None),
    ("a @b.tw", "a@b.tw"),
])
def test_emails(raw, expected):
    assert normalize_email(raw) == expected


def test_extra_placeholder_emails_from_configuration():
    assert normalize_email("info@lumen.com.tw", frozenset({"info@lumen.com.tw"})) is None


def test_ids_names_and_masks():
    assert normalize_id(" l1234 5678 ") == "L12345678"
    assert normalize_id("n/a") is None
    assert normalize_name("  Chen   Mei-Ling ") == "chen mei ling"  # hyphens and commas are spaces
    assert mask_name("王小明") == "王**"
    assert mask_name("Ann Lee") == "A** L**"
    assert shape("0912-345-678") == "9999-999-999"
    assert shape("Mei@x.tw") == "xxx@x.xx"
    assert keyed_hash("a@b.tw", "k1") != keyed_hash("a@b.tw", "k2")
    assert len(keyed_hash("a@b.tw", "k1")) == 32


def test_keyed_hash_is_hmac_sha256_for_any_key_length():
    # the HMAC is set up once per key and copied per value (privacy._keyed): the digest must stay hmac.new's, for
    # keys shorter than, as long as and longer than SHA-256's 64-byte block, and for non-ASCII keys and values
    for key in ("k1", "k" * 64, "k" * 65, "密鑰" * 40):
        for value in ("a@b.tw", "", "王小明", "+886912345678"):
            expected = hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]
            assert keyed_hash(value, key) == expected
    assert keyed_hash("a@b.tw", "k1") == "f4a86941296f23d4b5e7df7f81d39d47"
    assert keyed_hash(None, "k1") is None


emails = st.from_regex(r"[A-Za-z0-9._%+-]{1,12}@[A-Za-z0-9-]{1,10}\.[A-Za-z]{2,4}", fullmatch=True)


@given(emails, st.sampled_from(["", " ", "  ", "\t"]), st.booleans())
def test_email_normalisation_ignores_case_and_padding(email, pad, upper):
    variant = pad + (email.upper() if upper else email) + pad
    assert normalize_email(variant) == normalize_email(email)


@given(st.text(max_size=40))
def test_email_normalisation_is_idempotent(text):
    once = normalize_email(text)
    assert once is None or normalize_email(once) == once


# no deadline: phonenumbers (and opencc) load their metadata lazily, and a busy 2-core machine exceeds 200 ms
@given(st.integers(min_value=0, max_value=99_999_999))
@settings(deadline=None)
def test_every_tw_mobile_format_agrees(n):
    digits = f"09{n:08d}"
    plain = normalize_phone(digits, "TW")
    dashed = normalize_phone(f"{digits[:4]}-{digits[4:7]}-{digits[7:]}", "TW")
    intl = normalize_phone(f"+886 {digits[1:4]} {digits[4:7]} {digits[7:]}", "TW")
    fullwidth = normalize_phone("".join(chr(ord(c) + 0xFEE0) for c in digits), "TW")
    assert plain == dashed == intl == fullwidth
    assert plain is None or plain == "+886" + digits[1:]


def _phonenumbers_e164(text: str, region: str) -> str | None:
    """phonenumbers on the text as written (what normalize_phone did for every value before parsing each
    number once per digit string)."""
    import phonenumbers

    try:
        number = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) \
        if phonenumbers.is_valid_number(number) else None


@given(st.booleans(), st.lists(st.tuples(st.sampled_from("0123456789"), st.sampled_from(["", "", " ", "-", ".", "(", ")", ") ", "  "])),
                               min_size=6, max_size=16),
       st.sampled_from(["TW", "GB", "US", None]))
@settings(deadline=None, max_examples=300)
def test_a_number_parsed_once_per_digits_reads_as_phonenumbers_reads_its_text(plus, parts, region):
    text = ("+" if plus else "") + "".join(d + sep for d, sep in parts)
    digits = "".join(d for d, _ in parts)
    if len(set(digits)) == 1 or digits in {"1234567890", "0123456789"}:
        return  # placeholders: refused before phonenumbers
    assert normalize_phone(text, region) == _phonenumbers_e164(text, region)


@given(st.text(max_size=30))
@settings(deadline=None)
def test_phone_result_is_none_or_e164(text):
    out = normalize_phone(text, "TW")
    assert out is None or (out.startswith("+") and out[1:].isdigit())


# ---------------------------------------------------------------------------------- identity keys
from transforms.normalize import family_name, is_role_email, name_key, normalize_postcode, normalize_street  # noqa: E402

LATIN_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8)


@given(st.lists(LATIN_WORD, min_size=1, max_size=4), st.randoms(use_true_random=False), st.booleans())
@settings(deadline=None)
def test_latin_name_key_ignores_word_order_case_and_spacing(words, rnd, upper):
    shuffled = list(words)
    rnd.shuffle(shuffled)
    text = "  ".join(w.upper() if upper else w.capitalize() for w in shuffled)
    assert name_key(text) == name_key(" ".join(words))
    assert name_key(name_key(text)) == name_key(text)  # a key is its own key


@pytest.mark.parametrize("a,b", [
    ("陳傑榮", "陈杰荣"), ("王 小明", "王小明"), ("CHEN, Bob", "Robert Chen"), ("Lee Ann-Marie", "ann marie lee"),
    ("ＷＡＮＧ Ｍｅｉ", "mei wang"),
])
def test_name_keys_meet_across_scripts_orders_and_nicknames(a, b):
    assert name_key(a) == name_key(b)


def test_family_name_of_chinese_names_only():
    assert (family_name("歐陽小明"), family_name("陳志明"), family_name("Robert Chen")) == ("欧阳", "陈", None)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=2, max_size=12),
       st.lists(st.integers(min_value=1, max_value=11), max_size=3), st.text(alphabet="abc", max_size=5))
def test_gmail_dots_and_tags_do_not_matter_with_provider_rules(local, dots, tag):
    dotted = list(local)
    for i in sorted({d for d in dots if d < len(local)}, reverse=True):
        dotted.insert(i, ".")
    variant = "".join(dotted).strip(".") + (f"+{tag}" if tag else "") + "@GMail.com"
    assert normalize_email(variant, provider_rules=True) == f"{local}@gmail.com"
    # without the rule (the default), dots stay: other providers treat them as part of the address
    assert normalize_email(f"{local[0]}.{local[1:]}@yahoo.com.tw", provider_rules=True) == f"{local[0]}.{local[1:]}@yahoo.com.tw"


def test_role_mailboxes():
    assert is_role_email("info@acme.com.tw") and is_role_email("service@shop.tw")
    assert not is_role_email("mei.lin@gmail.com") and not is_role_email(None)


def test_role_mailboxes_in_arrow_as_in_python():
    import pyarrow as pa
    from transforms.identity.udfs import role_emails

    emails = ["info@acme.com.tw", "infox@acme.com", None, "", "info", "sales@a@b", "cs@", "@info", "x@info"]
    assert role_emails(pa.array(emails)).to_pylist() == [is_role_email(e) for e in emails] == [
        True, False, False, False, True, True, True, False, False]


@pytest.mark.parametrize("street", ["忠孝東路四段1號", "中山北路二段45巷3號5樓", "文化路一段100號"])
@pytest.mark.parametrize("prefix", ["", "臺北市大安區", "台北市大安區", "大安區", "106臺北市大安區", "臺北市 大安區 "])
def test_street_key_drops_postcode_city_and_district(street, prefix):
    assert normalize_street(prefix + street) == normalize_street(street)


def test_postcode_digits():
    assert (normalize_postcode("106"), normalize_postcode("１０６-03"), normalize_postcode("N/A")) == ("106", "10603", None)


FORMAT_CHARS = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u202a"]


def test_invisible_format_characters_do_not_split_an_identifier():
    assert normalize_email("mei\u200b.lin@gmail.com") == "mei.lin@gmail.com"
    assert normalize_phone("0912\u200b345\u00ad678") == "+886912345678"
    assert normalize_id("\ufeffLC-\u2060001") == "LC-001"
    assert normalize_name("\u200e林美\u200b玲") == normalize_name("林美玲") == "林美玲"


def test_format_character_class_is_unicodes_cf_category():
    """The hard-written Cf ranges are exactly this Python's Unicode category Cf (a newer Unicode fails here)."""
    import unicodedata

    from transforms.normalize import CF_RANGES
    listed = {c for a, b in CF_RANGES for c in range(a, b + 1)}
    assert listed == {c for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"}
    assert len(listed) == 163


@given(emails, st.lists(st.sampled_from(FORMAT_CHARS), max_size=4), st.randoms(use_true_random=False))
def test_email_with_format_characters_anywhere_normalises_as_without(email, chars, rnd):
    text = list(email)
    for ch in chars:
        text.insert(rnd.randint(0, len(text)), ch)
    assert normalize_email("".join(text)) == normalize_email(email)


def test_sql_fast_path_for_taiwan_mobiles_agrees_with_phonenumbers():
    """int_identity__norm_phone computes Taiwanese mobile numbers in SQL and parses the rest with phonenumbers:
    the two must give the same E.164 form (or none) for every shape, separator, digit width and region."""
    import random

    from tests.helpers import kinds_connection, rows
    from transforms.config import IdentityConfig
    from transforms.identity.tables import build

    rng = random.Random(11)
    phones = []
    for _ in range(400):
        second, rest = rng.choice("0123456789"), "".join(rng.choice("0123456789") for _ in range(7))
        for n in (f"09{second}{rest}", f"9{second}{rest}", f"0{second}{rest}", f"8869{second}{rest}"):
            phones += [n, f"+{n}", f"{n[:4]}-{n[4:7]}-{n[7:]}", f" {n[:4]} {n[4:7]} {n[7:]} ",
                       f"({n[:2]}) {n[2:]}", f"{n}.", f"+{n[:3]} {n[3:6]} {n[6:]}", f"{n}1", n[:-1],
                       n.translate(str.maketrans("0123456789", "０１２３４５６７８９"))]
    phones += ["0999999999", "0900000000", "+886 900 000 000", "  +886912345678", "0912345678\t", "0912 345 678 x",
               "09-1234-5678", "+886-0912-345-678", "886912345678", "＋886912345678", "0912‐345‐678"]
    placeholder = "+886911111111"
    phones += ["0911111111", "+886 911 111 111"]
    config = IdentityConfig(placeholder_phones=[placeholder])
    db = kinds_connection({}, config)
    regions = ["TW", "GB", None]
    db.run("located", "create table int_identity__located (phone varchar, region varchar)")
    pairs = [(p, r) for p in phones for r in regions]
    db.run("located rows", "insert into int_identity__located select unnest($phones), unnest($regions)",
           {"phones": [p for p, _ in pairs], "regions": [r for _, r in pairs]})
    build(db, "int_identity__norm_phone", {"placeholder_phones": [placeholder]})
    got = {(p, r): e for p, r, e in rows(db, "select phone, region, phone_norm from int_identity__norm_phone")}
    expected = {(p, r): (None if normalize_phone(p, r) == placeholder else normalize_phone(p, r))
                for p in phones for r in regions}
    assert got == expected
    assert got[("09-1234-5678", "TW")] == "+886912345678" and got[("0911111111", "TW")] is None
    assert sum(e is not None for e in got.values()) > 2000  # most of them are numbers
