"""Render PNG screenshots of report sections (for docs/analysis.md), with headless Chromium.

Usage: ``python -m cordtrial.report.screenshots report.html docs/img``
Each shot shows the top of one section: a copy of the report with the other parts hidden.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from .render import html_to_png

SHOTS: dict[str, str | None] = {
    "summary": None,  # the top of the report as it is
    "trajectories": "trajectories",
    "comparator": "comparator",
    "self-controlled": "self-controlled",
    "walking": "walking",
    "power": "power",
    "methods": "methods",
}


HEIGHTS = {"methods": 1000, "power": 1150}


def only_section(html: str, section_id: str) -> str:
    """The report with everything but one section hidden (CSS only; content unchanged)."""
    style = (
        f"<style>header, nav, #summary, section:not(#{section_id}) {{ display: none; }}"
        "</style></head>"
    )
    return html.replace("</head>", style, 1)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    report, outdir = Path(argv[0]), Path(argv[1])
    outdir.mkdir(parents=True, exist_ok=True)
    html = report.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        for name, sid in SHOTS.items():
            page = Path(tmp) / f"{name}.html"
            page.write_text(html if sid is None else only_section(html, sid), encoding="utf-8")
            height = HEIGHTS.get(name, 1500)
            html_to_png(page, outdir / f"report-{name}.png", width=1100, height=height)
            print(outdir / f"report-{name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
