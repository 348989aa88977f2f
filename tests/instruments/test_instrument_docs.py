"""docs/instruments.md documents every instrument, item and score the code defines."""

from __future__ import annotations

from pathlib import Path

import pytest

from cordtrial.instruments import INSTRUMENTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "instruments.md"


@pytest.mark.parametrize("instrument", INSTRUMENTS.values(), ids=lambda i: i.id)
def test_doc_covers_instrument(instrument):
    text = DOC.read_text(encoding="utf-8")
    assert f"(`{instrument.id}`)" in text
    for item_id in instrument.item_ids:
        assert f"`{item_id}`" in text, item_id
    for score in instrument.scores:
        assert f"`{score.id}`" in text, score.id
    for field in instrument.derived_fields:
        assert f"`{field.id}`" in text, field.id


@pytest.mark.parametrize("instrument", INSTRUMENTS.values(), ids=lambda i: i.id)
def test_doc_states_every_part_with_its_verification_state(instrument):
    text = DOC.read_text(encoding="utf-8")
    assert f"`{instrument.version_tag}`" in text
    for part in instrument.parts:
        assert f"| {part.name} | **{part.evidence.value}** |" in text, part.name


def test_doc_wisci_table_is_in_the_published_order():
    from cordtrial.instruments import WISCI2

    text = DOC.read_text(encoding="utf-8")
    section = text.split("## WISCI II (`wisci2`)")[1].split("\n## ")[0]
    for option in WISCI2.item("maximum").options:
        wording = option.meaning.split(": ", 1)[1]
        assert f"| {option.value} | {wording} |" in section, option.value
