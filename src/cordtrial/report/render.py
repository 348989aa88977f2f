"""Render a built Report to one self-contained HTML file (inline SVG and CSS, no external
resources) and optionally print it to PDF with a headless Chromium."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import jinja2

from cordtrial import __version__ as version

from .builder import Report

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def render_html(report: Report, generated: dt.datetime | None = None) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cordtrial.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    when = (generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    return env.get_template("report.html").render(report=report, version=version, generated=when)


def find_chromium() -> str | None:
    for c in CHROMIUM_CANDIDATES:
        if Path(c).exists():
            return c
    return shutil.which("chromium")


def _chromium_args(chromium: str) -> list[str]:
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-pdf-header-footer",
    ]


def html_to_pdf(html_path: Path, pdf_path: Path, timeout: float = 120) -> Path:
    """Print the HTML to PDF with headless Chromium; RuntimeError if it is missing or fails."""
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError(
            "PDF needs Chromium (apt install chromium); none found at "
            + ", ".join(CHROMIUM_CANDIDATES)
        )
    cmd = [*_chromium_args(chromium), f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0 or not pdf_path.exists():
        raise RuntimeError(f"chromium failed ({proc.returncode}): {proc.stderr[-500:]}")
    return pdf_path


def html_to_png(
    html_path: Path, png_path: Path, width: int = 1100, height: int = 1400, timeout: float = 120
) -> Path:
    """Screenshot the top of an HTML page (used for the docs' rendered example)."""
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("screenshots need Chromium (apt install chromium)")
    cmd = [
        *_chromium_args(chromium),
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        f"--screenshot={png_path}",
        html_path.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0 or not png_path.exists():
        raise RuntimeError(f"chromium failed ({proc.returncode}): {proc.stderr[-500:]}")
    return png_path
