from __future__ import annotations

import pandas as pd
import pytest

from cordtrial.report.model import Figure, Section, df_html


def test_df_html_formats_missing_large_small_and_escapes() -> None:
    df = pd.DataFrame(
        {
            "n": pd.array([1, None], dtype="Int64"),
            "x": [1726114.65, float("nan")],
            "p": [0.0001832, 0.5],
            "t": ["<b>", None],
        }
    )
    html = df_html(df)
    assert "<NA>" not in html and "&lt;NA&gt;" not in html
    assert "1.73e+06" in html
    assert "0.000183" in html
    assert "&lt;b&gt;" in html  # cell text is escaped
    assert html.count("<td>-</td>") == 3


def test_empty_table() -> None:
    assert "No rows" in df_html(pd.DataFrame())


def test_figure_requires_source() -> None:
    with pytest.raises(ValueError, match="no source"):
        Figure("t", "<svg/>", " ", "none")
    s = Section("x", "X")
    s.figure("t", "<svg/>", "somewhere", "none")
    assert s.blocks[0].source == "somewhere"
