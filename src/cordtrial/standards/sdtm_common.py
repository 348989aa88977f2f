"""Pieces every SDTM domain shares: identifier variables, visits and study days."""

from __future__ import annotations

from datetime import date
from typing import Any

from . import cde
from .tables import Variable, study_day, text
from .terms import UNSCHEDULED_BASE, VISITNUM, visit_label
from .trial import Row, Trial

SDTM_VERSION = "2.0"  # SDTM model version the domains follow [R]
SDTMIG_VERSION = "3.4"  # SDTM implementation guide [R]


def id_vars(domain: str, seq: bool = True) -> list[Variable]:
    out = [
        Variable(
            "STUDYID", "Study Identifier", origin="Assigned", source="protocol id", core="Req"
        ),
        Variable(
            "DOMAIN", "Domain Abbreviation", origin="Assigned", source=f'"{domain}"', core="Req"
        ),
        Variable(
            "USUBJID",
            "Unique Subject Identifier",
            origin="Derived",
            source="STUDYID-patients.study_code",
            core="Req",
            cde=cde.SUBJECT_ID,
        ),
    ]
    if seq:
        out.append(
            Variable(
                f"{domain}SEQ",
                "Sequence Number",
                "integer",
                origin="Derived",
                source="order within subject",
                core="Req",
            )
        )
    return out


def visit_vars(domain: str, source: str) -> list[Variable]:
    return [
        Variable("VISITNUM", "Visit Number", "float", origin="Derived", source=source),
        Variable("VISIT", "Visit Name", origin="Derived", source=source, core="Perm"),
    ]


def dtc_var(name: str, label: str, source: str, core: str = "Exp") -> Variable:
    return Variable(
        name,
        label,
        "date",
        origin="Collected",
        source=source,
        core=core,
        cde=cde.COLLECTION_DATETIME,
    )


def dy_var(domain_var: str, label: str) -> Variable:
    return Variable(
        domain_var,
        label,
        "integer",
        origin="Derived",
        source="date - DM.RFSTDTC (+1 on/after)",
        core="Perm",
    )


class Subjects:
    """Per-subject facts the domains need: USUBJID, reference start date, unscheduled visits."""

    def __init__(self, trial: Trial):
        self.trial = trial
        self._unscheduled: dict[tuple[int, date], int] = {}
        for p in trial.patients:
            dates = sorted(
                {
                    a["assessed_on"]
                    for a in trial.rows("assessments", p)
                    if a["visit_code"] == "unscheduled"
                }
            )
            for k, d in enumerate(dates, start=1):
                self._unscheduled[(p["id"], d)] = UNSCHEDULED_BASE + k

    def usubjid(self, patient: Row) -> str:
        return f"{self.trial.study_id}-{patient['study_code']}"

    def reference(self, patient: Row) -> date | None:
        """RFSTDTC: the first infusion day (first exposure), None when not infused."""
        days = [i["infused_on"] for i in self.trial.rows("infusions", patient)]
        return min(days) if days else None

    def base(self, domain: str, patient: Row) -> dict[str, Any]:
        return {"STUDYID": self.trial.study_id, "DOMAIN": domain, "USUBJID": self.usubjid(patient)}

    def visit(self, patient: Row, code: str, on: date) -> dict[str, Any]:
        if code == "unscheduled":
            num = self._unscheduled[(patient["id"], on)]
            return {"VISITNUM": float(num), "VISIT": f"UNSCHEDULED {num - UNSCHEDULED_BASE}"}
        return {"VISITNUM": float(VISITNUM[code]), "VISIT": visit_label(code)}

    def assessment_base(self, domain: str, patient: Row, a: Row) -> dict[str, Any]:
        """Identifiers, visit, date and study day of a record made at assessment ``a``."""
        on = a["assessed_on"]
        return {
            **self.base(domain, patient),
            **self.visit(patient, a["visit_code"], on),
            f"{domain}DTC": text(on),
            f"{domain}DY": self.day(patient, on),
        }

    def day(self, patient: Row, on: date | None) -> int | None:
        return study_day(on, self.reference(patient))
