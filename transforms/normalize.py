"""Normalisers of identifiers: each turns raw text into a comparable key, or None when unusable."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

# Values that systems use for "unknown": they must never act as identity keys.
PLACEHOLDER_EMAILS = frozenset({
    "test@test.com", "noemail@none.com", "none@none.com", "no@email.com", "na@na.com",
    "noreply@example.com", "test@example.com", "email@example.com", "unknown@unknown.com",
    "x@x.com", "a@a.com", "no-email@none.com",
})
PLACEHOLDER_TEXT = frozenset({"", "n/a", "na", "none", "null", "nil", "-", "unknown", "0", "?"})
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    return None if text.lower() in PLACEHOLDER_TEXT else text


def normalize_email(value: str | None, extra_placeholders: frozenset[str] = frozenset()) -> str | None:
    """Trim, NFKC and lower-case an email; None if empty, malformed or a known placeholder."""
    text = _clean(value)
    if text is None:
        return None
    text = re.sub(r"\s+", "", text).lower()
    if not _EMAIL_RE.match(text) or text in PLACEHOLDER_EMAILS or text in extra_placeholders:
        return None
    return text


@lru_cache(maxsize=200_000)
def normalize_phone(value: str | None, region: str | None = "TW") -> str | None:
    """Phone number in E.164 (full-width digits accepted); None if not a valid number or a placeholder."""
    text = _clean(value)
    if text is None:
        return None
    digits = re.sub(r"\D", "", text)
    if len(digits) < 6 or len(set(digits)) == 1 or digits in {"1234567890", "0123456789"}:
        return None
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


def normalize_name(value: str | None) -> str | None:
    """A person's name for comparison: NFKC, lower-case, single spaces."""
    text = _clean(value)
    return None if text is None else re.sub(r"\s+", " ", text).lower()


def mask_name(value: str | None) -> str | None:
    """A display form that keeps the first character of each word ('王小明' -> '王**', 'Ann Lee' -> 'A** L**')."""
    text = _clean(value)
    if text is None:
        return None
    return " ".join(w[0] + "*" * (len(w) - 1) for w in text.split())
