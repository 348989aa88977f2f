"""Supplemental qualifiers (SUPP--): values with no standard variable in their parent domain."""

from __future__ import annotations

from dataclasses import dataclass

from .tables import Dataset, Variable


@dataclass(frozen=True)
class Qualifier:
    qnam: str  # <= 8 characters
    qlabel: str  # <= 40 characters
    source: str
    origin: str = "Collected"


def supp_dataset(
    parent: Dataset, quals: list[Qualifier], values: list[dict], idvar: str | None
) -> Dataset:
    """SUPP<parent>: one row per parent record and qualifier with a value.

    ``values[i]`` holds the qualifier values of ``parent.rows[i]`` by QNAM."""
    domain = parent.name
    rows = []
    for prow, qvals in zip(parent.rows, values, strict=True):
        for q in quals:
            value = qvals.get(q.qnam)
            if value is None or value == "":
                continue
            rows.append(
                {
                    "STUDYID": prow["STUDYID"],
                    "RDOMAIN": domain,
                    "USUBJID": prow["USUBJID"],
                    "IDVAR": idvar or "",
                    "IDVARVAL": str(prow[idvar]) if idvar else "",
                    "QNAM": q.qnam,
                    "QLABEL": q.qlabel,
                    "QVAL": str(value),
                    "QORIG": q.origin.upper(),
                    "QEVAL": "",
                }
            )
    qnam_note = "; ".join(f"{q.qnam}: {q.source}" for q in quals)
    return Dataset(
        name=f"SUPP{domain}",
        label=f"Supplemental Qualifiers for {domain}",
        cls="RELATIONSHIP",
        structure="One record per IDVAR, IDVARVAL, and QNAM value per subject",
        keys=("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        variables=[
            Variable(
                "STUDYID", "Study Identifier", origin="Assigned", source="protocol id", core="Req"
            ),
            Variable(
                "RDOMAIN",
                "Related Domain Abbreviation",
                origin="Assigned",
                source=f'"{domain}"',
                core="Req",
            ),
            Variable(
                "USUBJID",
                "Unique Subject Identifier",
                origin="Derived",
                source=f"{domain}.USUBJID",
                core="Req",
            ),
            Variable(
                "IDVAR",
                "Identifying Variable",
                origin="Assigned",
                source=idvar or "(subject level)",
                core="Exp",
            ),
            Variable(
                "IDVARVAL",
                "Identifying Variable Value",
                origin="Derived",
                source=f"{domain}.{idvar}" if idvar else "",
                core="Exp",
            ),
            Variable(
                "QNAM", "Qualifier Variable Name", origin="Assigned", source=qnam_note, core="Req"
            ),
            Variable(
                "QLABEL",
                "Qualifier Variable Label",
                origin="Assigned",
                source="label of QNAM",
                core="Req",
            ),
            Variable("QVAL", "Data Value", origin="Collected", source=qnam_note, core="Req"),
            Variable("QORIG", "Origin", origin="Assigned", source="origin of QNAM", core="Req"),
            Variable("QEVAL", "Evaluator", origin="Assigned", source="(none)", core="Exp"),
        ],
        rows=rows,
    )
