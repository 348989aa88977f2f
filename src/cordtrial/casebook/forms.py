"""The casebook's forms: the assessments a protocol schedules at its visits, and the steps of
the patient's path from injury to infusion (the cell chain). Each names the table its records
live in. A new form is one more entry here (and, on the web, its page in the URL map of
``cordtrial.web.casebook_view``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class CasebookForm:
    id: str
    label: str
    table: str
    section: Literal["enrolment", "visit"]
    signable: bool = False  # its records are signed off (an exam, an infusion)


VISIT_FORMS: tuple[CasebookForm, ...] = (
    CasebookForm("isncsci", "ISNCSCI", "assessments", "visit", signable=True),
    CasebookForm("scim3", "SCIM III", "assessments", "visit", signable=True),
    CasebookForm("wisci2", "WISCI II", "assessments", "visit", signable=True),
    CasebookForm("nbd", "Bowel (NBD)", "assessments", "visit", signable=True),
    CasebookForm("lutf", "Bladder (LUTF)", "assessments", "visit", signable=True),
)
# In the order they happen (study.md, cell-product.md).
ENROLMENT_STEPS: tuple[CasebookForm, ...] = (
    CasebookForm("injury", "Injury", "injuries", "enrolment"),
    CasebookForm("eligibility", "Eligibility", "eligibility", "enrolment"),
    CasebookForm("consent", "Consent", "consents", "enrolment"),
    CasebookForm("blood_draw", "Serum blood draws", "blood_draws", "enrolment"),
    CasebookForm("harvest", "Bone-marrow harvest", "marrow_harvests", "enrolment"),
    CasebookForm("lot", "Cell product lot (release)", "lots", "enrolment", signable=True),
    CasebookForm("infusion", "Infusion", "infusions", "enrolment", signable=True),
)
FORMS: dict[str, CasebookForm] = {f.id: f for f in VISIT_FORMS + ENROLMENT_STEPS}
