"""End-to-end: build and render the report on the synthetic example, and the CLI command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cordtrial.analysis.csv_io import write_tables_dir
from cordtrial.analysis.datasets import load_example
from cordtrial.analysis.tables import AnalysisTables
from cordtrial.report import commands
from cordtrial.report.builder import build
from cordtrial.report.render import find_chromium, html_to_pdf, render_html

SECTION_IDS = [
    "patients",
    "trajectories",
    "shift-tables",
    "responders",
    "comparator",
    "self-controlled",
    "walking",
    "safety",
    "power",
    "methods",
    "sources",
]


@pytest.fixture(scope="module")
def html() -> str:
    rep = build(load_example(), data_source="synthetic example", draws=500)
    assert rep.warnings == []
    return render_html(rep)


def test_all_sections_present(html: str) -> None:
    for sid in SECTION_IDS:
        assert f'<section id="{sid}">' in html, sid
    assert "Methods and limitations" in html
    assert "SYNTHETIC DATA" in html


def test_every_figure_names_source_and_assumptions(html: str) -> None:
    figures = re.findall(r"<figure>(.*?)</figure>", html, flags=re.S)
    assert len(figures) >= 12
    for f in figures:
        assert "<svg" in f
        assert re.search(r"<b>Source:</b>\s*\S", f)
        assert re.search(r"<b>Assumptions:</b>\s*\S", f)


def test_self_contained(html: str) -> None:
    # no external scripts, stylesheets or images: one file works offline
    assert not re.search(r"<(script|link|img)\b[^>]*(src|href)=", html)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<metadata>" not in html


def test_rate_analysis_is_labelled_biased(html: str) -> None:
    assert "Biased in acute SCI" in html
    assert "unverified" in html  # van Middendorp side caveat [R]


def test_build_on_empty_store_says_so() -> None:
    rep = build(AnalysisTables.empty())
    assert rep.warnings and "nothing to analyse" in rep.warnings[0]
    assert "Methods and limitations" in render_html(rep)


def _app() -> typer.Typer:
    app = typer.Typer()
    commands.register(app)

    @app.callback()
    def main() -> None:  # keeps 'report' a sub-command, as in the real CLI
        """test app"""

    return app


def test_cli_from_dir(tmp_path: Path) -> None:
    data = tmp_path / "tables"
    write_tables_dir(load_example().subset(["SYN-01", "SYN-07", "SYN-09", "SYN-11"]), data)
    out = tmp_path / "out" / "r.html"
    res = CliRunner().invoke(_app(), ["report", "--from-dir", str(data), "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert "CSV tables in" in text and '<section id="comparator">' in text


def test_cli_bad_table_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "tables"
    write_tables_dir(load_example().subset(["SYN-01"]), data)
    p = data / "patients.csv"
    p.write_text(p.read_text().replace(",M,", ",Q,").replace(",F,", ",Q,"))
    res = CliRunner().invoke(
        _app(), ["report", "--from-dir", str(data), "--out", str(tmp_path / "r.html")]
    )
    assert res.exit_code == 2
    assert "patients.sex" in res.output and "'Q'" in res.output


@pytest.mark.slow
@pytest.mark.browser
def test_pdf(tmp_path: Path, html: str) -> None:
    if find_chromium() is None:
        pytest.skip("chromium not installed")
    src = tmp_path / "r.html"
    src.write_text(html, encoding="utf-8")
    pdf = html_to_pdf(src, tmp_path / "r.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
