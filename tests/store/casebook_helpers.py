"""Building blocks for the casebook and data-management store tests."""

from __future__ import annotations

from datetime import timedelta

from cordtrial.store.demo_records import ExamTarget, worksheet
from cordtrial.store.services import assessments, infusions

from .conftest import PASSWORD, infusion_input, make_lot

INFUSION_DAY = 45  # infusion_input: injury + 45 days


def exam(seed: int = 1, grade: str = "A") -> dict[str, str]:
    """A complete ISNCSCI exam (RHI naming), as the demo builds them."""
    lems = 0 if grade in ("A", "B") else 10
    return worksheet(ExamTarget("c5", "c5", grade, 20 + seed % 3, lems, 30, 26))


def infuse(w, s, code: str | None = None, lot: str = "LOT-A"):
    code = code or w.patient
    make_lot(w, s, lot, code)
    return infusions.record_infusion(
        w.user(s, "investigator"),
        s,
        w.pat(s, code),
        w.lot(s, lot),
        infusion_input(w, code, lot),
        password=PASSWORD,
        second_person=w.user(s, "cell_processing"),
        second_password=PASSWORD,
        second_username="cell_processing",
    )


def day(w, n: int):
    return w.injury_date + timedelta(days=n)


def record_exam(w, s, visit: str, on, *, user="assessor", code=None, **kw):
    return assessments.record_isncsci(
        w.user(s, user),
        s,
        w.pat(s, code),
        visit_code=visit,
        assessed_on=on,
        rhi=kw.pop("rhi", None) or exam(),
        assessor_name="Dr Exam",
        blinded=False,
        **kw,
    )
