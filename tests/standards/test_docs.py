"""docs/exports.md lists every SDTM variable and form field the exports write."""

from __future__ import annotations

from pathlib import Path

from cordtrial.standards.docs import BEGIN, END, generated

DOC = Path(__file__).resolve().parents[2] / "docs" / "exports.md"


def test_generated_mapping_tables_are_current():
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert section == generated(), "run: python -m cordtrial.standards.docs docs/exports.md"
