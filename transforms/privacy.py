"""Personal data never leaves in clear: shape masks for messages, keyed hashes for the warehouse."""

from __future__ import annotations

import hashlib
import hmac


def shape(value: str | None) -> str | None:
    """Mask a value to its shape: letters -> x, digits -> 9, other characters kept ('0912-345-678' -> '9999-999-999')."""
    if value is None:
        return None
    out = []
    for ch in value:
        if ch.isdigit():
            out.append("9")
        elif ch.isalpha():
            out.append("x")
        else:
            out.append(ch)
    return "".join(out)


def keyed_hash(value: str | None, key: str) -> str | None:
    """HMAC-SHA256 of a normalised identifier, hex, first 32 characters (stable for one key)."""
    if value is None:
        return None
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]
