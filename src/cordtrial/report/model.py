"""The report's building blocks: sections made of figures, tables and notes.

Every figure and table carries ``source`` and ``assumptions`` so the template can print them under
it; the builder refuses to add a figure without a source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class Figure:
    title: str
    svg: str
    source: str
    assumptions: str

    def __post_init__(self) -> None:
        if not self.source.strip():
            raise ValueError(f"figure {self.title!r} has no source")


@dataclass
class Table:
    title: str
    html: str
    source: str = ""
    assumptions: str = ""


@dataclass
class Note:
    html: str
    kind: str = "info"  # info | warning | caveat


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""
    blocks: list[Figure | Table | Note] = field(default_factory=list)

    def figure(self, title: str, svg: str, source: str, assumptions: str) -> None:
        self.blocks.append(Figure(title, svg, source, assumptions))

    def table(
        self,
        title: str,
        df: pd.DataFrame,
        source: str = "",
        assumptions: str = "",
        index: bool = False,
        digits: int = 2,
    ) -> None:
        self.blocks.append(
            Table(title, df_html(df, index=index, digits=digits), source, assumptions)
        )

    def note(self, html: str, kind: str = "info") -> None:
        self.blocks.append(Note(html, kind))


def df_html(df: pd.DataFrame, index: bool = False, digits: int = 2) -> str:
    """A DataFrame as an escaped HTML table; floats shown with ``digits`` decimals."""
    if df.empty:
        return '<p class="empty">No rows.</p>'

    def fmt(v: object) -> object:
        if v is pd.NA or v is None:
            return "-"
        if isinstance(v, float):
            if v != v:  # NaN
                return "-"
            if v != 0 and (abs(v) < 10**-digits or abs(v) >= 1e5):
                return f"{v:.3g}"
            return f"{v:.{digits}f}"
        return v

    shown = df.copy()
    for c in shown.columns:
        shown[c] = [fmt(v) for v in shown[c].astype(object)]
    return shown.to_html(index=index, na_rep="-", border=0, classes="data", escape=True)
