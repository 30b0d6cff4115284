"""Normalisers of identifiers: each turns raw text into a comparable key, or None when unusable."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc
import phonenumbers

# Values that systems use for "unknown": they must never act as identity keys.
PLACEHOLDER_EMAILS = frozenset({
    "test@test.com", "noemail@none.com", "none@none.com", "no@email.com", "na@na.com",
    "noreply@example.com", "test@example.com", "email@example.com", "unknown@unknown.com",
    "x@x.com", "a@a.com", "no-email@none.com",
})
PLACEHOLDER_TEXT = frozenset({"", "n/a", "na", "none", "null", "nil", "-", "unknown", "0", "?"})
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The Unicode format characters (category Cf) of Python 3.11's Unicode 14.0, as one character class: removed by
# one regex substitution instead of a category lookup per character (a Chinese address: 15.7 -> 12.0 us).
# tests/test_normalize.py checks it against unicodedata, so a Python with a newer Unicode says so.
CF_RANGES = ((0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
             (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
             (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
             (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
             (0xE0020, 0xE007F))
_CF_RE = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in CF_RANGES) + "]")


def _clean(value: str | None) -> str | None:
    """NFKC, without invisible format characters (Unicode Cf: zero-width space and joiners, soft hyphen, BOM,
    bidi marks, which copy-paste leaves in identifiers), trimmed; None if empty or a placeholder."""
    if value is None:
        return None
    # ASCII text is its own NFKC form and has no format character: most emails, phones and ids skip both
    text = value if value.isascii() else unicodedata.normalize("NFKC", value)
    if not text.isascii():
        text = _CF_RE.sub("", text)
    text = text.strip()
    return None if text.lower() in PLACEHOLDER_TEXT else text


# Providers that ignore dots and "+tags" in the local part (optional rule, `identity.email_provider_rules`).
DOTLESS_PROVIDERS = frozenset({"gmail.com", "googlemail.com"})
# Local parts of shared role mailboxes: never a person's identity key (guarded, see identity/keys.py).
ROLE_LOCAL_PARTS = frozenset({
    "info", "service", "services", "sales", "support", "contact", "admin", "office", "hello", "hr",
    "billing", "accounts", "enquiries", "inquiry", "marketing", "team", "help", "cs", "customerservice",
    "noreply", "no-reply", "webmaster", "postmaster", "orders", "shop",
})


def normalize_email(value: str | None, extra_placeholders: frozenset[str] = frozenset(),
                    provider_rules: bool = False) -> str | None:
    """Trim, NFKC and lower-case an email; None if empty, malformed or a known placeholder.

    With `provider_rules`, Gmail addresses lose dots and `+tags` in the local part (Gmail ignores both).
    """
    text = _clean(value)
    if text is None:
        return None
    text = re.sub(r"\s+", "", text).lower()
    if not _EMAIL_RE.match(text) or text in PLACEHOLDER_EMAILS or text in extra_placeholders:
        return None
    if provider_rules:
        local, _, domain = text.rpartition("@")
        if domain in DOTLESS_PROVIDERS:
            local = local.split("+", 1)[0].replace(".", "")
            text = f"{local}@gmail.com" if local else None
    return text


def is_role_email(email: str | None) -> bool:
    """True for a normalised address of a shared role mailbox (info@, service@...)."""
    return email is not None and email.split("@", 1)[0] in ROLE_LOCAL_PARTS


# ASCII digits and the separators phonenumbers drops itself: such a text is its number's digits
_PLAIN_PHONE_RE = re.compile(r"\+?[0-9 ().\-]+")


@lru_cache(maxsize=200_000)
def normalize_phone(value: str | None, region: str | None = "TW") -> str | None:
    """Phone number in E.164 (full-width digits accepted); None if not a valid number or a placeholder."""
    text = _clean(value)
    if text is None:
        return None
    digits = re.sub(r"\D", "", text)
    if len(digits) < 6 or len(set(digits)) == 1 or digits in {"1234567890", "0123456789"}:
        return None
    # one number written several ways ("0912-345-678", "0912 345 678", "(09) 1234 5678") is parsed once:
    # phonenumbers costs ~75 us a value, the rest of this function a few
    if _PLAIN_PHONE_RE.fullmatch(text):
        text = ("+" if text.startswith("+") else "") + digits
    return _e164(text, region)


@lru_cache(maxsize=200_000)
def _e164(text: str, region: str | None) -> str | None:
    """The E.164 form of a phone number's text, by phonenumbers (None if not a valid number)."""
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_id(value: str | None) -> str | None:
    """A system identifier (loyalty card, login id): NFKC, trimmed, upper-case; None if empty/placeholder."""
    text = _clean(value)
    return None if text is None else re.sub(r"\s+", "", text).upper()


# Chinese names compare in simplified characters: traditional -> simplified is many-to-one (傑, 杰 -> 杰),
# so both spellings of a name (or an address) meet in one form.
_T2S = opencc.OpenCC("t2s")
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NAME_PUNCT_RE = re.compile(r"[.,;:'\"()\[\]/\\_\-·•]+")
# Two-character family names (Taiwan); other Chinese family names are one character.
COMPOUND_SURNAMES = frozenset(_T2S.convert(s) for s in (
    "歐陽", "司馬", "諸葛", "上官", "張簡", "范姜", "東方", "皇甫", "司徒", "夏侯", "尉遲", "長孫", "慕容", "令狐",
    "軒轅", "公孫"))
# Common English short forms -> formal given name, so "Bob Chen" and "Robert Chen" compare equal.
NICKNAMES = {
    "bob": "robert", "bobby": "robert", "rob": "robert", "bill": "william", "will": "william",
    "billy": "william", "liz": "elizabeth", "beth": "elizabeth", "lizzie": "elizabeth",
    "jen": "jennifer", "jenny": "jennifer", "mike": "michael", "mick": "michael", "rick": "richard",
    "dick": "richard", "rich": "richard", "jim": "james", "jimmy": "james", "kate": "katherine",
    "katie": "katherine", "kathy": "katherine", "chris": "christopher", "dan": "daniel",
    "danny": "daniel", "tom": "thomas", "tommy": "thomas", "joe": "joseph", "joey": "joseph",
    "maggie": "margaret", "meg": "margaret", "peggy": "margaret", "pat": "patricia",
    "patty": "patricia", "tony": "anthony", "matt": "matthew", "sam": "samantha", "jess": "jessica",
    "becky": "rebecca", "andy": "andrew", "drew": "andrew", "steve": "steven", "nick": "nicholas",
    "ben": "benjamin", "alex": "alexander", "vicky": "victoria", "tim": "timothy", "jon": "jonathan",
    "sue": "susan", "ed": "edward", "eddie": "edward", "dave": "david", "greg": "gregory",
    "larry": "lawrence", "ken": "kenneth", "charlie": "charles", "chuck": "charles", "fred": "frederick",
    "harry": "henry", "hank": "henry", "jack": "john", "johnny": "john", "peggie": "margaret",
    "debbie": "deborah", "deb": "deborah", "cathy": "catherine", "abby": "abigail", "mandy": "amanda",
}


def normalize_name(value: str | None) -> str | None:
    """A person's name for comparison: NFKC, simplified Chinese characters, lower-case, single spaces."""
    text = _clean(value)
    if text is None:
        return None
    text = re.sub(r"\s+", " ", _NAME_PUNCT_RE.sub(" ", text)).strip().lower()
    if _CJK_RE.search(text):
        text = _T2S.convert(text)
    return text or None


# int_identity__norm_name asks for a batch's name keys, then for the same batch's family names (which start
# from the key): the second call finds each key here
@lru_cache(maxsize=16_384)
def name_key(value: str | None) -> str | None:
    """An order-insensitive comparison key for a full name.

    Chinese names lose their spaces ("王 小明" = "王小明"); Latin names become their words in alphabetical
    order with nicknames mapped to the formal name, so "CHEN, Bob", "Robert Chen" and "chen robert"
    share one key.
    """
    text = normalize_name(value)
    if text is None:
        return None
    if _CJK_RE.search(text):
        return text.replace(" ", "")
    words = sorted(NICKNAMES.get(w, w) for w in text.split(" "))
    return " ".join(words)


def family_name(value: str | None) -> str | None:
    """The family name of a Chinese full name (first one or two characters); None for Latin names,
    whose order varies between systems."""
    key = name_key(value)
    if key is None or not _CJK_RE.match(key):
        return None
    return key[:2] if key[:2] in COMPOUND_SURNAMES and len(key) > 2 else key[:1]


_ADDRESS_PREFIX_RE = re.compile(r"^\d{3,6}")  # a postcode written before the address
_CITY_RE = re.compile(r"^.{1,3}?[市县]")  # simplified forms: addresses are compared after t2s
_DISTRICT_RE = re.compile(r"^.{1,3}?[区乡镇市]")


def normalize_street(value: str | None) -> str | None:
    """The street part of an address (Taiwanese order: city, district, street): NFKC, simplified characters
    (so 臺 = 台), no spaces,
    with a leading postcode, city and district removed, so "台北市大安區忠孝東路四段1號" and
    "忠孝東路四段1號" compare equal. Latin addresses are lower-cased with single spaces."""
    text = _clean(value)
    if text is None:
        return None
    if not _CJK_RE.search(text):
        return re.sub(r"[\s,.]+", " ", text).strip().lower() or None
    text = re.sub(r"\s+", "", _T2S.convert(text))  # 臺 and 台 both become 台
    text = _ADDRESS_PREFIX_RE.sub("", text)
    text = _CITY_RE.sub("", text, count=1)
    # a district prefix is only taken when a street follows it (路, 街, 道...)
    district = _DISTRICT_RE.match(text)
    if district and re.search(r"[路街道巷]", text[district.end():]):
        text = text[district.end():]
    return text or None


def normalize_postcode(value: str | None) -> str | None:
    """Digits of a postcode (full-width accepted); None when there are none."""
    text = _clean(value)
    if text is None:
        return None
    digits = re.sub(r"\D", "", text)
    return digits or None


def mask_name(value: str | None) -> str | None:
    """A display form that keeps the first character of each word ('王小明' -> '王**', 'Ann Lee' -> 'A** L**')."""
    text = _clean(value)
    if text is None:
        return None
    return " ".join(w[0] + "*" * (len(w) - 1) for w in text.split())
