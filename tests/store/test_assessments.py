"""Assessments: exams stored as entered with classification and engine version; instruments
with scores; invalid input refused with every field error; sign-off and corrections."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from cordtrial.isncsci import ENGINE_VERSION
from cordtrial.store import db, lockout, signatures
from cordtrial.store.models import Assessment, RefusalLog
from cordtrial.store.services import assessments, users

from .conftest import PASSWORD
from .helpers import assert_refused

CASES = Path(__file__).parents[2] / ".." / "shared" / "isncsci" / "reference-cases.json"


@pytest.fixture(scope="module")
def case():
    if not CASES.exists():
        pytest.skip(f"{CASES} not present (shared reference data is read, never committed)")
    return json.loads(CASES.read_text())[0]


def _record(w, s, rhi, **kw):
    return assessments.record_isncsci(
        w.user(s, "assessor"),
        s,
        w.pat(s),
        visit_code=kw.pop("visit_code", "screening"),
        assessed_on=date(2026, 1, 12),
        rhi=rhi,
        assessor_name="Dr Blind",
        blinded=kw.pop("blinded", True),
        assessor=w.user(s, "assessor"),
        **kw,
    )


def test_exam_stored_as_entered_with_classification(world, case):
    rhi = {k: v for k, v in case.items() if k not in ("id", "group", "comments", "totals")}
    with db.session_scope(world.url) as s:
        a = _record(world, s, rhi)
        aid = a.id
    with db.session_scope(world.url) as s:
        a = s.get(Assessment, aid)
        assert a.engine_version == ENGINE_VERSION
        assert {k: a.data[k] for k in rhi} == {k: str(v) for k, v in rhi.items()}
        assert a.result == case["totals"]  # the engine reproduces the reference case
        assert a.blinded is True and a.assessor_name == "Dr Blind"


def test_invalid_exam_refused_with_field_errors(world, case):
    rhi = {k: v for k, v in case.items() if k not in ("id", "group", "comments", "totals")}
    rhi["c5RightMotor"] = "6"
    del rhi["analSensation"]
    r = assert_refused(world.url, "invalid_exam", lambda s: _record(world, s, rhi))
    fields = {e["field"] for e in r.context["errors"]}
    assert fields == {"c5RightMotor", "analSensation"}
    assert "c5RightMotor" in r.message
    with db.session_scope(world.url) as s:
        logged = s.scalars(select(RefusalLog)).all()[-1]
        assert {e["field"] for e in logged.context["errors"]} == fields


def test_instrument_record_and_score(world):
    with db.session_scope(world.url) as s:
        a = assessments.record_instrument(
            world.user(s, "assessor"),
            s,
            world.pat(s),
            kind="wisci2",
            visit_code="unscheduled",
            assessed_on=date(2026, 3, 1),
            data={"self_selected": 3, "maximum": 5},
            assessor_name="Dr W",
            blinded=False,
        )
        assert a.result["scores"] == {"self_selected": 3, "maximum": 5}
        assert a.engine_version == "wisci2@2"

    def bad(s):
        assessments.record_instrument(
            world.user(s, "assessor"),
            s,
            world.pat(s),
            kind="wisci2",
            visit_code="unscheduled",
            assessed_on=date(2026, 3, 1),
            data={"self_selected": 3, "maximum": 25},
            assessor_name="Dr W",
            blinded=False,
        )

    r = assert_refused(world.url, "invalid_instrument", bad)
    assert r.context["errors"][0]["item"] == "maximum"


def test_exam_before_injury_refused(world, case):
    rhi = {k: v for k, v in case.items() if k not in ("id", "group", "comments", "totals")}

    def early(s):
        assessments.record_isncsci(
            world.user(s, "assessor"),
            s,
            world.pat(s),
            visit_code="screening",
            assessed_on=date(2025, 12, 1),
            rhi=rhi,
            assessor_name="X",
            blinded=False,
        )

    r = assert_refused(world.url, "invalid_input", early)
    assert r.message.startswith("assessed_on: got '2025-12-01'")


def test_sign_off_then_correction_needs_reason_and_invalidates(world, case):
    rhi = {k: v for k, v in case.items() if k not in ("id", "group", "comments", "totals")}
    with db.session_scope(world.url) as s:
        a = _record(world, s, rhi)
        assessments.sign_off(world.user(s, "investigator"), s, a, PASSWORD)
        aid = a.id
    fixed = dict(rhi, c5LeftMotor="5")

    def no_reason(s):
        assessments.correct(
            world.user(s, "assessor"), s, s.get(Assessment, aid), reason=" ", data=fixed
        )

    assert_refused(world.url, "reason_required", no_reason)
    with db.session_scope(world.url) as s:
        a = s.get(Assessment, aid)
        assessments.correct(
            world.user(s, "assessor"), s, a, reason="transcription error", data=fixed
        )
        assert a.data["c5LeftMotor"] == "5"
        (st,) = signatures.status(s, a)
        assert not st.valid and "INVALID" in st.describe()


def test_wrong_password_at_sign_off(world, case):
    rhi = {k: v for k, v in case.items() if k not in ("id", "group", "comments", "totals")}
    with db.session_scope(world.url) as s:
        aid = _record(world, s, rhi).id
    assert_refused(
        world.url,
        "authentication_failed",
        lambda s: assessments.sign_off(
            world.user(s, "investigator"), s, s.get(Assessment, aid), "not-the-password"
        ),
    )


def test_login_lockout(world):
    for _ in range(lockout.MAX_FAILED_LOGINS):
        with db.session_scope(world.url) as s:
            assert users.authenticate(s, "monitor", "wrong-password") is None
    with db.session_scope(world.url) as s:  # locked: even the right password fails now
        assert users.authenticate(s, "monitor", PASSWORD) is None
        assert world.user(s, "monitor").locked_until is not None
    with db.session_scope(world.url) as s:
        assert users.authenticate(s, "qa", PASSWORD).username == "qa"


def _flagged_rhi(case) -> dict:
    rhi = {k: v for k, v in case.items() if k not in ("id", "group", "comments", "totals")}
    rhi["c5RightMotor"] = "2*"  # a non-SCI condition (the reference case's grade is kept)
    return rhi


def test_exam_keeps_comments_and_flag_reasons(world, case):
    rhi = _flagged_rhi(case)
    with db.session_scope(world.url) as s:
        a = _record(
            world,
            s,
            rhi,
            comments="Right shoulder pain limits testing.",
            flag_reasons={"c5RightMotor": "biceps tendon rupture"},
        )
        aid = a.id
    with db.session_scope(world.url) as s:
        a = s.get(Assessment, aid)
        assert a.comments == "Right shoulder pain limits testing."
        assert a.flag_reasons == {"c5RightMotor": "biceps tendon rupture"}
        assert a.data["c5RightMotor"] == "2*"


def test_a_reason_for_an_unflagged_cell_is_refused_and_nothing_stored(world, case):
    rhi = _flagged_rhi(case)
    before = None
    with db.session_scope(world.url) as s:
        before = len(s.scalars(select(Assessment)).all())

    def record(s):
        return _record(world, s, rhi, flag_reasons={"c6RightMotor": "no flag there"})

    r = assert_refused(world.url, "invalid_exam", record)
    assert [e["field"] for e in r.context["errors"]] == ["c6RightMotorReason"]
    with db.session_scope(world.url) as s:
        assert len(s.scalars(select(Assessment)).all()) == before


def test_correcting_an_exam_rechecks_its_flag_reasons(world, case):
    rhi = _flagged_rhi(case)
    with db.session_scope(world.url) as s:
        a = _record(world, s, rhi, flag_reasons={"c5RightMotor": "biceps tendon rupture"})
        aid = a.id
    unflagged = dict(rhi, c5RightMotor="2")
    r = assert_refused(
        world.url,
        "invalid_exam",
        lambda s: assessments.correct(
            world.user(s, "assessor"), s, s.get(Assessment, aid), reason=None, data=unflagged
        ),
    )
    assert [e["field"] for e in r.context["errors"]] == ["c5RightMotorReason"]
    with db.session_scope(world.url) as s:
        a = assessments.correct(
            world.user(s, "assessor"), s, s.get(Assessment, aid), reason=None, data=unflagged,
            flag_reasons={}, comments="flag removed after re-test",
        )  # fmt: skip
        assert (a.flag_reasons, a.comments) == (None, "flag removed after re-test")
