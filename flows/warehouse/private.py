"""The pipeline's private state: directories only their owner can read (0700), and the installation's keyed-hash
key, generated at random on the first run and kept in <state>/pii_hash_key (0600) until rotated."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEMO_HASH_KEY = "silobridge-demo-key"  # public: only for the demo's deterministic figures
KEY_FILE = "pii_hash_key"


class PublicKeyRefused(ValueError):
    """The public demo key was configured for real data."""


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by its owner only (0700); an existing one is tightened to 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def installation_key(state_dir: Path) -> str:
    """The installation's hash key: <state>/pii_hash_key, created with 32 random bytes (hex) on first use, 0600."""
    path = private_dir(state_dir) / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="ascii").strip()


def hash_key(configured: str | None, state_dir: Path, demo: bool) -> str:
    """The key of the keyed hashes: the configured one (SILOBRIDGE_PII_HASH_KEY), else the demo's public key for
    the demo exports, else the installation's (generated on first use). Raises PublicKeyRefused when the public
    demo key is configured for other exports."""
    if configured:
        if configured == DEMO_HASH_KEY and not demo:
            raise PublicKeyRefused(
                f"SILOBRIDGE_PII_HASH_KEY is the public demo key {DEMO_HASH_KEY!r}: anyone could reverse your hashes. "
                f"Unset it (a random key is then generated in {state_dir / KEY_FILE}) or set a secret of your own.")
        return configured
    return DEMO_HASH_KEY if demo else installation_key(state_dir)
