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
