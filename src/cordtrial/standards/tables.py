"""Tables with their metadata: what every writer (Dataset-JSON, XPT, Define-XML, SPSS, Stata,
REDCap) needs to know about a column besides its values."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

DataType = Literal["text", "integer", "float", "date", "datetime"]


@dataclass(frozen=True)
class Codelist:
    """Allowed values of a variable, each with its meaning (``decode``)."""

    oid: str
    name: str
    items: tuple[tuple[Any, str], ...]  # (coded value, decode)
    source: str = ""  # e.g. "CDISC CT (SDTM), subset" or "sponsor-defined"
    aliases: tuple[tuple[Any, str, str], ...] = ()  # (coded value, context, name), e.g. a CDE

    @property
    def data_type(self) -> str:
        return "integer" if all(isinstance(v, int) for v, _ in self.items) else "text"


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    type: DataType = "text"
    codelist: Codelist | None = None
    origin: str = "Collected"  # Define-XML origin type: Collected, Derived, Assigned, Protocol
    source: str = ""  # the store field (or rule) the value comes from
    core: str = "Exp"  # SDTM core: Req, Exp, Perm
    cde: tuple[str, str] | None = None  # NINDS common data element (id, name)
    note: str = ""

    @property
    def numeric(self) -> bool:
        return self.type in ("integer", "float")


@dataclass
class Dataset:
    name: str
    label: str
    variables: list[Variable]
    rows: list[dict[str, Any]] = field(default_factory=list)
    structure: str = ""
    cls: str = ""  # SDTM observation class, e.g. "FINDINGS"
    keys: tuple[str, ...] = ()
    note: str = ""

    def column(self, name: str) -> list[Any]:
        return [r.get(name) for r in self.rows]

    def length(self, var: Variable) -> int:
        """Longest value in bytes (UTF-8) for text, 8 for numbers; at least 1."""
        if var.numeric:
            return 8
        longest = max((len(text(v).encode("utf-8")) for v in self.column(var.name)), default=1)
        return max(1, longest)


def text(value: Any) -> str:
    """A value as SDTM character data: ISO 8601 for dates, '' for missing."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:g}"
    return str(value)


def iso_datetime(value: datetime) -> str:
    """ISO 8601 to the minute, in UTC (every stored time is UTC)."""
    return value.strftime("%Y-%m-%dT%H:%M")


def yn(value: bool | None) -> str | None:
    return None if value is None else ("Y" if value else "N")


def study_day(on: date | None, reference: date | None) -> int | None:
    """SDTM study day: day 1 is the reference date, the day before it is day -1 (no day 0)."""
    if on is None or reference is None:
        return None
    delta = (on - reference).days
    return delta + 1 if delta >= 0 else delta


def number(value: Any) -> float | None:
    """The numeric reading of a result ("43" -> 43.0, "3*" -> 3.0, "NT" -> None)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    digits = ""
    for ch in str(value):
        if ch.isdigit() or (ch == "." and digits):
            digits += ch
        else:
            break
    try:
        return float(digits) if digits and digits == str(value).rstrip("*") else None
    except ValueError:
        return None


def sequence(rows: Iterable[dict], seq_name: str, key: str = "USUBJID") -> None:
    """Number the rows 1, 2, ... within each subject (--SEQ)."""
    counters: dict[Any, int] = {}
    for r in rows:
        counters[r[key]] = counters.get(r[key], 0) + 1
        r[seq_name] = counters[r[key]]
