"""Small server-side SVG charts (no JavaScript, no external library, CSP-friendly)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str = ""


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n "nice" tick values (steps 1, 2, 2.5 or 5 times a power of ten) covering lo..hi."""
    if hi - lo < 1e-6:  # a flat or near-flat series: show a unit range
        hi = lo + 1
    raw = (hi - lo) / n
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step)
    count = math.ceil(hi / step - 1e-9) - first  # at most about n + 2 steps
    return [round((first + i) * step, 10) for i in range(count + 1)]


def line_chart(
    points: list[Point],
    *,
    x_label: str,
    y_label: str,
    title: str,
    width: int = 560,
    height: int = 300,
) -> str:
    """An SVG line chart with axes, ticks and labelled points; empty-state text if no points."""
    left, right, top, bottom = 56, 16, 30, 44
    pw, ph = width - left - right, height - top - bottom
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="18" font-size="13" font-weight="600" fill="#1d2330">'
        f"{escape(title)}</text>",
    ]
    if not points:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#5b6475" '
            'font-size="13">no data yet</text></svg>'
        )
        return "".join(parts)
    xs, ys = [p.x for p in points], [p.y for p in points]
    xt, yt = _ticks(min(0.0, min(xs)), max(xs)), _ticks(min(0.0, min(ys)), max(ys))
    x0, x1, y0, y1 = xt[0], xt[-1], yt[0], yt[-1]

    def sx(x: float) -> float:
        return left + (x - x0) / ((x1 - x0) or 1) * pw

    def sy(y: float) -> float:
        return top + ph - (y - y0) / ((y1 - y0) or 1) * ph

    for t in yt:
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" '
            'stroke="#e3e7ee"/>'
            f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#5b6475">{t:g}</text>'
        )
    for t in xt:
        parts.append(
            f'<text x="{sx(t):.1f}" y="{top + ph + 16}" text-anchor="middle" font-size="11" '
            f'fill="#5b6475">{t:g}</text>'
        )
    parts.append(
        f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#5b6475"/>'
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" stroke="#5b6475"/>'
        f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle" font-size="12" '
        f'fill="#1d2330">{escape(x_label)}</text>'
        f'<text x="14" y="{top + ph / 2}" text-anchor="middle" font-size="12" fill="#1d2330" '
        f'transform="rotate(-90 14 {top + ph / 2})">{escape(y_label)}</text>'
    )
    path = " ".join(
        f"{'M' if i == 0 else 'L'}{sx(p.x):.1f},{sy(p.y):.1f}" for i, p in enumerate(points)
    )
    parts.append(f'<path d="{path}" fill="none" stroke="#1f5fa8" stroke-width="2"/>')
    for p in points:
        parts.append(
            f'<circle cx="{sx(p.x):.1f}" cy="{sy(p.y):.1f}" r="4" fill="#1f5fa8">'
            f"<title>{escape(p.label)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
