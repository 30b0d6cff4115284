"""Personal data never echoed in clear: a value's shape, whether a value looks like personal data, and free
text (an error message, a reason) with such values replaced by their shape.

Here, at the bottom layer, because the readers' and the extract's messages need it as much as validation.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[^\s@'\"`,;:<>()\[\]{}]+@[^\s@'\"`,;:<>()\[\]{}]+")
# a run of 9 or more digits, possibly split by spaces, dots, dashes, slashes or brackets: phone numbers, national
# and card numbers (Unicode digits too: full-width numbers are common in Taiwanese exports)
NUMBER = re.compile(r"(?<!\w)\+?\(?\d[\d\s().\-/]{7,}\d(?!\w)")
DATE = re.compile(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})")  # an ISO-like date (and time) is not a phone number
NATIONAL_ID = re.compile(r"(?<![A-Za-z0-9])[A-Z][12489]\d{8}(?!\d)")  # Taiwan national / resident id


def shape(value: str | None) -> str | None:
    """Mask a value to its shape: letters -> x, digits -> 9, other characters kept ('0912-345-678' -> '9999-999-999')."""
    if value is None:
        return None
    return "".join("9" if ch.isdigit() else "x" if ch.isalpha() else ch for ch in value)


def _personal_numbers(text: str) -> list[re.Match]:
    return [m for m in NUMBER.finditer(text)
            if sum(ch.isdigit() for ch in m.group()) >= 9 and not DATE.match(m.group())]


def looks_personal(value: str | None) -> bool:
    """Whether a value holds something shaped like personal data: an email, a phone-like number of 9 or more
    digits (dates aside), a national id."""
    if not value:
        return False
    return bool(EMAIL.search(value) or NATIONAL_ID.search(value) or _personal_numbers(value))


def masked(value: str | None, personal: bool = False) -> str | None:
    """The value in clear only when it is not a personal field and does not look like personal data; else its shape."""
    return shape(value) if personal or looks_personal(value) else value


def redact(text: str) -> str:
    """`text` with every email, phone-like number and national id replaced by its shape."""
    text = EMAIL.sub(lambda m: shape(m.group()), text)
    text = NATIONAL_ID.sub(lambda m: shape(m.group()), text)
    for m in reversed(_personal_numbers(text)):
        text = text[:m.start()] + shape(m.group()) + text[m.end():]
    return text


_QUOTED = re.compile(r"'([^'\n]*)'")
_OURS = ("connectors.", "transforms.", "flows.")


def redact_quoted(text: str) -> str:
    """A message we did not write (a database's, a library's): every single-quoted literal as its shape (they
    quote data: "Could not convert string '...'"), and personal-looking values elsewhere too."""
    return redact(_QUOTED.sub(lambda m: "'" + shape(m.group(1)) + "'", text))


def redact_exception(exc: BaseException) -> None:
    """Mask, in place, the messages of `exc` and of the exceptions it was raised from or during: personal-looking
    values as their shape (`redact`), and in messages we did not write (a database's, a library's, a bug's
    KeyError), every single-quoted literal too, since they quote data ("Could not convert string '...'").
    Our own messages are composed masked already and quote names worth keeping (files, rules)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc)
        masked = redact(text) if type(exc).__module__.startswith(_OURS) else redact_quoted(text)
        if masked != text:
            exc.args = (masked,)
        exc = exc.__cause__ or exc.__context__
