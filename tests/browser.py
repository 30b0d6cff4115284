"""Headless Chromium for tests: render a page, dump its DOM after layout, take a screenshot, and read
the screenshot's pixels (a small PNG decoder, so no imaging library is needed)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio"]
# The network off: no host name resolves and every request goes to a proxy that is not there, so a page
# that needs a CDN renders as it would on an offline machine (file:// pages are not affected).
OFFLINE_FLAGS = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
                 "--proxy-bypass-list=<-loopback>"]


def chromium() -> str | None:
    """The Chromium binary (Debian's `chromium` package; `make test` installs it), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(args: list[str], timeout: int = 90) -> subprocess.CompletedProcess:
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed: `apt-get install -y chromium` (make test does this as root)")
    with tempfile.TemporaryDirectory(prefix="sb-chromium-") as profile:
        return subprocess.run([binary, *CHROMIUM_FLAGS, *OFFLINE_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=True)


def dump_dom(page: Path, width: int = 1280, height: int = 2000) -> str:
    """The page's DOM after load (and after its scripts ran), as HTML."""
    return _run([f"--window-size={width},{height}", "--virtual-time-budget=5000", "--dump-dom",
                 page.resolve().as_uri()]).stdout


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2000) -> Path:
    """A PNG screenshot of the top `height` pixels of the page."""
    _run([f"--window-size={width},{height}", f"--screenshot={png.resolve()}", page.resolve().as_uri()])
    return png


def png_pixels(png: Path) -> tuple[int, int, list[tuple[int, int, int]]]:
    """(width, height, RGB pixels row by row) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    data = png.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{png} is not a PNG")
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG (depth {depth}, colour type {colour}, interlace {interlace})")
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    pixels = []
    for y in range(height):
        filt = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if filt == 1:
                line[i] = (line[i] + a) & 255
            elif filt == 2:
                line[i] = (line[i] + b) & 255
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        pixels.extend(tuple(line[i:i + 3]) for i in range(0, stride, bpp))
        prev = line
    return width, height, pixels
