"""Double data entry: the cell-by-cell comparison of two independent entries of an exam, and the
reconciled exam a third person makes from them (REDCap's double data entry with a reviewer who
merges, standards.md). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

# Fields of the exam's heading compared like its cells (entered on the same form).
META_FIELDS: tuple[str, ...] = ("assessed_on", "assessor_name", "blinded")


def entry_defaults(visit: str, *, double_entry: bool, user_name: str, today: date) -> dict:
    """What a new exam's heading starts with. Entered once: the visit, today and the user as
    the assessor (usually the one who examined). Under double data entry the heading is
    compared like the cells, so each typist reads every field from the source document: only
    the visit (how the entry was opened) is given, never a name or date that would make both
    entries agree, or differ, for a reason that is not the source."""
    if double_entry:
        return {"visit_code": visit, "assessed_on": "", "assessor_name": "", "blinded": ""}
    return {
        "visit_code": visit,
        "assessed_on": today.isoformat(),
        "assessor_name": user_name,
        "blinded": "",
    }


@dataclass(frozen=True)
class Discrepancy:
    field: str
    first: Any
    second: Any


def _norm(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    return str(value).strip()


def discrepancies(
    first: Mapping[str, Any], second: Mapping[str, Any], order: tuple[str, ...] = ()
) -> list[Discrepancy]:
    """Every field whose value differs between the entries (a blank against a value counts),
    in ``order`` first (e.g. the worksheet's entry order), then the others by name."""
    keys = set(first) | set(second)
    ordered = [k for k in order if k in keys] + sorted(keys - set(order))
    return [
        Discrepancy(k, first.get(k), second.get(k))
        for k in ordered
        if _norm(first.get(k)) != _norm(second.get(k))
    ]


def reconciled(
    first: Mapping[str, Any], second: Mapping[str, Any], chosen: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """(the reconciled values, the discrepant fields left without a chosen value). Agreed
    fields keep their value; each discrepant field takes the value chosen for it (a blank
    chosen value leaves the field blank, e.g. no non-key muscle)."""
    out = {k: v for k, v in first.items() if _norm(v) == _norm(second.get(k))}
    unresolved = []
    for d in discrepancies(first, second):
        if d.field in chosen:
            out[d.field] = chosen[d.field]
        else:
            unresolved.append(d.field)
    return {k: v for k, v in out.items() if _norm(v) != ""}, unresolved
