"""Inline SVG charts for the HTML report: pure functions from numbers to SVG text (no scripts, no fonts
or styles fetched from anywhere). Every chart is one <svg class="chart"> element."""

from __future__ import annotations

from html import escape

BLUE = "#2b6cb0"
RED = "#c53030"
GREY = "#a0aec0"
GREEN = "#2f855a"


def format_value(value: float | None, unit: str, precise: bool = True) -> str:
    """A metric value for people: a share as a percentage, other units with their name."""
    if value is None:
        return "n/a"
    if unit == "share":
        return f"{value:.1%}" if precise else f"{value:.0%}"
    if unit == "days":
        return f"{value:,.0f} d"
    if unit == "hours":
        return f"{value:,.1f} h"
    if unit == "minutes":
        return f"{value:,.1f} min"
    return f"{value:,.2f} {unit}"


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def bars(items: list[tuple[str, float | None]], title: str, fmt=lambda v: f"{v:.1%}", color: str = BLUE,
         width: int = 520, label_width: int = 170, max_value: float | None = None) -> str:
    """Horizontal bars, one per (label, value), value printed at the end of each bar."""
    row = 22
    height = row * max(len(items), 1) + 10
    top = max([v for _, v in items if v is not None] + [max_value or 0, 1e-12])
    plot = width - label_width - 95
    body = []
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        body.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" class="lbl">{escape(str(label))}</text>')
        w = 0.0 if value is None else max(plot * value / top, 0.0)
        body.append(f'<rect x="{label_width}" y="{y + 3}" width="{_num(w)}" height="{row - 6}" fill="{color}"/>')
        text = "n/a" if value is None else fmt(value)
        body.append(f'<text x="{label_width + w + 4:.1f}" y="{y + 15}" class="val">{escape(text)}</text>')
    return _svg(width, height, body, title)


def stacked_bars(items: list[tuple[str, list[float]]], parts: list[tuple[str, str]], title: str,
                 width: int = 620, label_width: int = 190) -> str:
    """Horizontal 100% stacked bars: items are (label, [value per part]); parts are (name, colour)."""
    row = 22
    legend = 24
    height = legend + row * max(len(items), 1) + 10
    plot = width - label_width - 20
    body = []
    x = label_width
    for name, colour in parts:
        body.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>'
                    f'<text x="{x + 16}" y="14" class="lbl">{escape(name)}</text>')
        x += 16 + 8 * len(name) + 20
    for i, (label, values) in enumerate(items):
        y = legend + i * row
        total = sum(values) or 1
        body.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" class="lbl">{escape(label)}</text>')
        x = float(label_width)
        for (name, colour), v in zip(parts, values):
            w = plot * v / total
            if w > 0:
                body.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{colour}">'
                            f"<title>{escape(label)}: {v:,.0f} {escape(name)}</title></rect>")
            x += w
    return _svg(width, height, body, title)


def _blend(share: float) -> str:
    """White (0) to dark blue (1)."""
    share = min(max(share, 0.0), 1.0)
    lo, hi = (247, 250, 252), (26, 54, 93)
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(lo, hi))


def heatmap(labels: list[str], cells: dict[tuple[str, str], float], title: str, cell: int = 62,
            label_width: int = 110) -> str:
    """A square matrix: rows and columns are `labels`, cell (row, col) coloured by its share (0..1)."""
    n = len(labels)
    top = 90
    width = label_width + n * cell + 10
    height = top + n * cell + 10
    body = []
    for j, col in enumerate(labels):
        x = label_width + j * cell + cell / 2
        body.append(f'<text x="{x:.0f}" y="{top - 8}" class="lbl" text-anchor="start" '
                    f'transform="rotate(-40 {x:.0f} {top - 8})">{escape(col)}</text>')
    for i, row in enumerate(labels):
        y = top + i * cell
        body.append(f'<text x="{label_width - 6}" y="{y + cell / 2 + 4:.0f}" text-anchor="end" class="lbl">{escape(row)}</text>')
        for j, col in enumerate(labels):
            x = label_width + j * cell
            value = cells.get((row, col))
            fill = GREY if value is None else _blend(value)
            ink = "#fff" if value is not None and value > 0.55 else "#1a202c"
            text = "" if value is None else f"{value:.0%}"
            body.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                        f"<title>{escape(row)} customers also in {escape(col)}: {text}</title></rect>")
            body.append(f'<text x="{x + cell / 2 - 1:.0f}" y="{y + cell / 2 + 4:.0f}" text-anchor="middle" '
                        f'class="val" style="fill:{ink}">{text}</text>')
    return _svg(width, height, body, title)


def trend(points: list[tuple[str, float | None]], title: str, fmt=lambda v: f"{v:.1%}", width: int = 260,
          height: int = 90) -> str:
    """A small line chart over runs: points are (x label, value), oldest first."""
    pad_l, pad_r, pad_t, pad_b = 8, 8, 16, 18
    values = [v for _, v in points if v is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5 * (abs(lo) or 1), hi + 0.5 * (abs(hi) or 1)
    n = len(points)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad_l + (width - pad_l - pad_r) * (i / (n - 1) if n > 1 else 0.5)
        y = pad_t + (height - pad_t - pad_b) * (1 - (v - lo) / (hi - lo))
        return x, y

    body = [f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - pad_r}" y2="{height - pad_b}" stroke="{GREY}"/>']
    coords = [xy(i, v) for i, (_, v) in enumerate(points) if v is not None]
    if len(coords) > 1:
        path = " ".join(f"{'M' if k == 0 else 'L'}{x:.1f},{y:.1f}" for k, (x, y) in enumerate(coords))
        body.append(f'<path d="{path}" fill="none" stroke="{BLUE}" stroke-width="2"/>')
    for i, (label, v) in enumerate(points):
        if v is None:
            continue
        x, y = xy(i, v)
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{BLUE}"><title>{escape(label)}: '
                    f"{escape(fmt(v))}</title></circle>")
    if points:
        body.append(f'<text x="{pad_l}" y="{height - 4}" class="axis">{escape(points[0][0])}</text>')
        if n > 1:
            body.append(f'<text x="{width - pad_r}" y="{height - 4}" text-anchor="end" class="axis">'
                        f"{escape(points[-1][0])}</text>")
    return _svg(width, height, body, title)
