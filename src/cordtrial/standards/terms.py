"""Vocabularies shared by the mappings: visits, codelists, ISNCSCI test codes.

CDISC controlled terminology values used here (SEX, NY, OUT, ROUTE, AGEU, EPOCH, NCOMPLT)
are the submission values of CDISC CT for SDTM as we know them [R: not checked against a
dated CT package]; codelists we define ourselves say "sponsor-defined".
"""

from __future__ import annotations

import re

from cordtrial.isncsci import CELL_KEYS, RESULT_KEYS
from cordtrial.store.models import AE_OUTCOMES, RELATEDNESS, VISIT_CODES

from .tables import Codelist

CDISC_CT = "CDISC CT (SDTM), subset [R: CT package version not checked]"
SPONSOR = "sponsor-defined (cordtrial)"

VISIT_LABELS = {
    "screening": "SCREENING",
    "pre_infusion": "PRE-INFUSION",
    "infusion_day": "INFUSION DAY",
    "day1": "DAY 1",
    "week1": "WEEK 1",
    "month1": "MONTH 1",
    "month3": "MONTH 3",
    "month6": "MONTH 6",
    "month12": "MONTH 12",
    "unscheduled": "UNSCHEDULED",
}
VISITNUM = {code: n for n, code in enumerate(VISIT_CODES[:-1], start=1)}
UNSCHEDULED_BASE = 100  # unscheduled visits are numbered 101, 102, ... per subject


def visit_label(code: str) -> str:
    return VISIT_LABELS.get(code, code.upper())


SEX = Codelist("CL.SEX", "Sex", (("F", "Female"), ("M", "Male"), ("U", "Unknown")), CDISC_CT)
NY = Codelist("CL.NY", "No Yes Response", (("N", "No"), ("Y", "Yes")), CDISC_CT)
AGEU = Codelist("CL.AGEU", "Age Unit", (("YEARS", "Years"),), CDISC_CT)
ROUTE = Codelist("CL.ROUTE", "Route of Administration", (("INTRAVENOUS", "Intravenous"),), CDISC_CT)

AEOUT = dict(zip(AE_OUTCOMES, (
    "RECOVERED/RESOLVED", "RECOVERING/RESOLVING", "NOT RECOVERED/NOT RESOLVED",
    "RECOVERED/RESOLVED WITH SEQUELAE", "FATAL", "UNKNOWN",
), strict=True))  # fmt: skip
OUT = Codelist(
    "CL.OUT", "Outcome of Event", tuple((v, v.title()) for v in AEOUT.values()), CDISC_CT
)

# Relatedness on the store's five-point scale; AEREL has no CDISC codelist (sponsor-defined).
AEREL = dict(zip(RELATEDNESS, (
    "NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "RELATED",
), strict=True))  # fmt: skip
REL = Codelist(
    "CL.REL", "Relationship to Treatment", tuple((v, v.title()) for v in AEREL.values()), SPONSOR
)

AIS = Codelist(
    "CL.AIS",
    "ASIA Impairment Scale grade",
    (("A", "Complete"), ("B", "Sensory incomplete"), ("C", "Motor incomplete, < half >= 3"),
     ("D", "Motor incomplete, >= half >= 3"), ("E", "Normal")),
    "ISNCSCI 2019 (ASIA/ISCoS)",
)  # fmt: skip


def visit_codelist() -> Codelist:
    items = tuple((VISITNUM.get(c, UNSCHEDULED_BASE), visit_label(c)) for c in VISIT_CODES)
    return Codelist("CL.VISIT", "Protocol visits", items, SPONSOR)


# -- ISNCSCI -----------------------------------------------------------------------------------

_CELL = re.compile(r"^([a-z]\d+(?:_\d+)?)(Right|Left)(Touch|Prick|Motor)$")
NV_TESTS = {
    "Motor": ("MOTOR", "Key Muscle Motor Grade"),
    "Touch": ("LTOUCH", "Light Touch Sensation"),
    "Prick": ("PINPRICK", "Pin Prick Sensation"),
    "analContraction": ("VAC", "Voluntary Anal Contraction"),
    "analSensation": ("DAP", "Deep Anal Pressure"),
    "LowestNonKey": ("LNKMUSC", "Lowest Non-Key Muscle With Motor Function"),
}


def parse_cell(key: str) -> tuple[str, str, str] | None:
    """ "c5RightMotor" -> ("C5", "RIGHT", "Motor"); "s4_5LeftTouch" -> ("S4-5", "LEFT", "Touch")."""
    m = _CELL.match(key)
    if not m:
        return None
    level = m.group(1).upper().replace("_", "-")
    return level, m.group(2).upper(), m.group(3)


assert all(parse_cell(k) for k in CELL_KEYS)

# RHI result key -> (RSTESTCD, RSTEST, RSLAT)
RS_TESTS: dict[str, tuple[str, str, str | None]] = {
    "rightUpperMotorTotal": ("UEMSR", "Upper Extremity Motor Score, Right", "RIGHT"),
    "leftUpperMotorTotal": ("UEMSL", "Upper Extremity Motor Score, Left", "LEFT"),
    "rightLowerMotorTotal": ("LEMSR", "Lower Extremity Motor Score, Right", "RIGHT"),
    "leftLowerMotorTotal": ("LEMSL", "Lower Extremity Motor Score, Left", "LEFT"),
    "rightMotorTotal": ("MOTTOTR", "Motor Total, Right", "RIGHT"),
    "leftMotorTotal": ("MOTTOTL", "Motor Total, Left", "LEFT"),
    "upperMotorTotal": ("UEMS", "Upper Extremity Motor Score", None),
    "lowerMotorTotal": ("LEMS", "Lower Extremity Motor Score", None),
    "rightTouchTotal": ("LTTOTR", "Light Touch Total, Right", "RIGHT"),
    "leftTouchTotal": ("LTTOTL", "Light Touch Total, Left", "LEFT"),
    "touchTotal": ("LTTOT", "Light Touch Total", None),
    "rightPrickTotal": ("PPTOTR", "Pin Prick Total, Right", "RIGHT"),
    "leftPrickTotal": ("PPTOTL", "Pin Prick Total, Left", "LEFT"),
    "prickTotal": ("PPTOT", "Pin Prick Total", None),
    "rightSensory": ("SNSLVLR", "Sensory Level, Right", "RIGHT"),
    "leftSensory": ("SNSLVLL", "Sensory Level, Left", "LEFT"),
    "rightMotor": ("MOTLVLR", "Motor Level, Right", "RIGHT"),
    "leftMotor": ("MOTLVLL", "Motor Level, Left", "LEFT"),
    "neurologicalLevelOfInjury": ("NLI", "Neurological Level of Injury", None),
    "injuryComplete": ("COMPLETE", "Complete or Incomplete Injury", None),
    "asiaImpairmentScale": ("AIS", "ASIA Impairment Scale Grade", None),
    "rightSensoryZpp": ("SZPPR", "Sensory Zone of Partial Preservation, R", "RIGHT"),
    "leftSensoryZpp": ("SZPPL", "Sensory Zone of Partial Preservation, L", "LEFT"),
    "rightMotorZpp": ("MZPPR", "Motor Zone of Partial Preservation, R", "RIGHT"),
    "leftMotorZpp": ("MZPPL", "Motor Zone of Partial Preservation, L", "LEFT"),
}
assert set(RS_TESTS) == set(RESULT_KEYS)


def testcd_codelist(oid: str, name: str, tests: dict[str, str]) -> Codelist:
    return Codelist(oid, name, tuple(sorted(tests.items())), SPONSOR)
