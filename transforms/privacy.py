"""Personal data never leaves in clear: shape masks for messages, keyed hashes for the warehouse."""

from __future__ import annotations

import hashlib
import hmac

from connectors.masking import looks_personal, masked, redact, shape

__all__ = ["keyed_hash", "looks_personal", "mask_email", "mask_tail", "masked", "redact", "shape"]


def keyed_hash(value: str | None, key: str) -> str | None:
    """HMAC-SHA256 of a normalised identifier, hex, first 32 characters (stable for one key)."""
    if value is None:
        return None
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def mask_email(value: str | None) -> str | None:
    """First character of the local part and the domain's top level: 'mei.lin@gmail.com' -> 'm******@*****.com'."""
    if value is None or "@" not in value:
        return shape(value)
    local, _, domain = value.rpartition("@")
    top = domain.rsplit(".", 1)
    return f"{local[:1]}{'*' * (len(local) - 1)}@{'*' * len(top[0])}" + (f".{top[1]}" if len(top) > 1 else "")


def mask_tail(value: str | None, keep: int = 2) -> str | None:
    """Every character but the last `keep` masked: '+886912345678' -> '***********78'."""
    if value is None:
        return None
    return "*" * max(len(value) - keep, 0) + value[-keep:] if len(value) > keep else "*" * len(value)
