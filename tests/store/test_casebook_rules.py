"""Plausibility rules where records are made (refusals, warnings confirmed and stored with a
protocol deviation), the flush guard's date rules, ISNCSCI double data entry, forms not done,
the casebook grid and the worklists, read from the store."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cordtrial.isncsci import Exam, classify
from cordtrial.store import db
from cordtrial.store.models import (
    AdverseEvent,
    Assessment,
    AuditEntry,
    Confirmation,
    Deviation,
    DoubleEntry,
    Injury,
    Site,
)
from cordtrial.store.protocol import default_protocol
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import (
    adverse_events,
    assessments,
    casebook,
    double_entry,
    patients,
    records,
    worklists,
)
from cordtrial.store.services import manufacturing as mf
from cordtrial.store.types import utcnow

from .casebook_helpers import INFUSION_DAY, day, exam, infuse, record_exam
from .helpers import assert_refused

DDE = default_protocol().model_copy(update={"double_data_entry": ("isncsci",)})


def _ae(w, onset, **kw):
    def action(s):
        adverse_events.record_adverse_event(
            w.user(s, "investigator"),
            s,
            w.pat(s),
            term="fever",
            grade=1,
            serious=False,
            onset_date=onset,
            **kw,
        )

    return action


# -- the flush guard: dates of every form ---------------------------------------------------


def test_dates_to_come_are_refused_for_every_form(world):
    """The services refuse a day that has not come (services.timing, the site's today); the
    flush guard refuses one after tomorrow on any path that bypasses them."""
    future = utcnow().date() + timedelta(days=2)
    r = assert_refused(world.url, "invalid_input", _ae(world, future))
    assert r.context["field"] == "onset_date"

    def draw(s):
        mf.record_blood_draw(
            world.user(s, "investigator"),
            s,
            world.pat(s),
            drawn_on=future,
            volume_ml=200,
            operator="Nurse",
        )

    assert_refused(world.url, "invalid_input", draw)

    def amend_injury(s):
        inj = s.scalar(select(Injury))
        records.amend(world.user(s, "investigator"), s, inj, {"injury_date": future}, "typo")

    assert_refused(world.url, "invalid_input", amend_injury)

    def bypass(s):  # no service: only the flush guard stands between this and the store
        s.scalar(select(Injury)).injury_date = future
        s.flush()

    r = assert_refused(world.url, "invalid_date", bypass)
    assert r.context["rule"] == "date_in_future" and "after today" in r.message


def test_an_adverse_event_before_the_injury_is_refused(world):
    r = assert_refused(world.url, "invalid_input", _ae(world, day(world, -3)))
    assert r.context["field"] == "onset_date" and "injury" in r.message

    def bypass(s):
        s.scalar(select(AdverseEvent)).onset_date = day(world, -3)
        s.flush()

    adverse_events_before = _ae(world, day(world, 1), confirm=("ae_before_consent",))
    with db.session_scope(world.url) as s:
        adverse_events_before(s)
    r = assert_refused(world.url, "invalid_date", bypass)
    assert r.context["rule"] == "before_injury" and "before the injury" in r.message


# -- plausibility rules of assessments ---------------------------------------------------------


def test_follow_up_before_the_infusion_is_refused_and_pre_infusion_after_it(world):
    with db.session_scope(world.url) as s:
        infuse(world, s)
    r = assert_refused(
        world.url,
        "follow_up_before_infusion",
        lambda s: record_exam(world, s, "week1", day(world, INFUSION_DAY - 1)),
    )
    assert r.context["field"] == "assessed_on" and "before it" in r.message
    assert_refused(
        world.url,
        "pre_infusion_after_infusion",
        lambda s: record_exam(world, s, "pre_infusion", day(world, INFUSION_DAY + 2)),
    )


def test_out_of_window_needs_confirmation_and_a_reason_then_records_a_deviation(world):
    with db.session_scope(world.url) as s:
        infuse(world, s)
    late = day(world, INFUSION_DAY + 50)  # month 1 window: infusion + 23..37
    r = assert_refused(
        world.url, "confirmation_required", lambda s: record_exam(world, s, "month1", late)
    )
    [warning] = r.context["warnings"]
    assert warning["rule"] == "visit_out_of_window" and "13 days late" in warning["message"]
    r = assert_refused(
        world.url,
        "invalid_input",
        lambda s: record_exam(world, s, "month1", late, confirm=["visit_out_of_window"]),
    )
    assert r.context["field"] == "deviation_reason"
    with db.session_scope(world.url) as s:
        row = record_exam(
            world,
            s,
            "month1",
            late,
            confirm=["visit_out_of_window"],
            deviation_reason="patient in another hospital until then",
        )
        aid = row.id
    with db.session_scope(world.url) as s:
        conf = s.scalar(select(Confirmation).where(Confirmation.record_id == aid))
        assert conf.rule == "visit_out_of_window" and "13 days late" in conf.message
        dev = s.scalar(select(Deviation))
        assert (dev.kind, dev.visit_code, dev.days_outside, dev.status) == (
            "visit_out_of_window",
            "month1",
            13,
            "open",
        )
        assert dev.reason == "patient in another hospital until then"
        assert (dev.record_table, dev.record_id) == ("assessments", aid)
        audited = {
            (e.table_name, e.action, e.actor)
            for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "create"))
        }
        assert ("confirmations", "create", "assessor") in audited
        assert ("deviations", "create", "assessor") in audited


def test_follow_up_of_a_patient_not_infused_and_an_exam_before_consent_warn(world):
    r = assert_refused(
        world.url,
        "confirmation_required",
        lambda s: record_exam(world, s, "month1", day(world, 60)),
    )
    assert [w["rule"] for w in r.context["warnings"]] == ["follow_up_not_infused"]
    r = assert_refused(
        world.url,
        "confirmation_required",
        lambda s: record_exam(world, s, "screening", day(world, 3)),
    )
    assert [w["rule"] for w in r.context["warnings"]] == ["before_consent"]
    with db.session_scope(world.url) as s:
        record_exam(world, s, "screening", day(world, 3), confirm=["before_consent"])


def test_an_incomplete_instrument_is_saved_only_as_explicitly_incomplete(world):
    from cordtrial.instruments import SCIM3

    data = {i.id: i.options[0].value for i in SCIM3.items}
    del data["stairs"], data["feeding"]

    def save(confirm=()):
        def action(s):
            return assessments.record_instrument(
                world.user(s, "assessor"),
                s,
                world.pat(s),
                kind="scim3",
                visit_code="unscheduled",
                assessed_on=day(world, 10),
                data=data,
                assessor_name="Dr S",
                blinded=False,
                confirm=confirm,
            )

        return action

    r = assert_refused(world.url, "confirmation_required", save())
    [warning] = r.context["warnings"]
    assert warning["rule"] == "instrument_incomplete"
    assert warning["message"] == "2 items not assessed: 1 Feeding; 15 Stair management"
    with db.session_scope(world.url) as s:
        row = save(("instrument_incomplete",))(s)
        assert row.result["total"] is None
        conf = s.scalar(select(Confirmation))
        assert conf.rule == "instrument_incomplete" and "15 Stair management" in conf.message


def test_an_adverse_event_before_consent_is_recorded_only_when_confirmed(world):
    r = assert_refused(world.url, "confirmation_required", _ae(world, day(world, 2)))
    assert r.context["warnings"][0]["rule"] == "ae_before_consent"
    with db.session_scope(world.url) as s:
        _ae(world, day(world, 2), confirm=["ae_before_consent"])(s)
        assert s.scalar(select(Confirmation.rule)) == "ae_before_consent"


def test_a_correction_that_moves_an_exam_out_of_its_window_is_checked_again(world):
    with db.session_scope(world.url) as s:
        infuse(world, s)
        aid = record_exam(world, s, "week1", day(world, INFUSION_DAY + 7)).id

    def move(s, **kw):
        row = s.get(Assessment, aid)
        assessments.correct(
            world.user(s, "assessor"), s, row, reason="date", assessed_on=day(world, 60), **kw
        )

    assert_refused(world.url, "confirmation_required", move)
    with db.session_scope(world.url) as s:
        move(s, confirm=["visit_out_of_window"], deviation_reason="typed the visit late")
        assert s.scalar(select(Deviation.days_outside)) == 6


# -- double data entry -------------------------------------------------------------------------


def _enter(w, user, rhi, visit="screening", on=None):
    def action(s):
        return double_entry.enter_exam(
            w.user(s, user),
            s,
            w.pat(s),
            visit_code=visit,
            assessed_on=on or day(w, 8),
            rhi=rhi,
            assessor_name="Dr Twice",
            blinded=False,
        )

    return action


def test_double_entry_is_required_when_the_protocol_asks(world):
    assert_refused(
        world.url,
        "double_entry_required",
        lambda s: double_entry.refuse_single_entry(world.user(s, "assessor"), s, DDE),
    )
    with db.session_scope(world.url) as s:  # the label protocol does not ask for it
        double_entry.refuse_single_entry(world.user(s, "assessor"), s)


def test_two_entries_by_two_people_then_a_third_reconciles(world):
    first = exam(seed=3)
    second = dict(first, c5RightMotor="5" if first["c5RightMotor"] != "5" else "3")
    second["analSensation"] = "Yes" if first["analSensation"] == "No" else "No"
    with db.session_scope(world.url) as s:
        e1 = _enter(world, "assessor", first)(s)
        de_id = e1.double_entry_id
        assert s.get(DoubleEntry, de_id).status == "awaiting_second"
    assert_refused(world.url, "same_person", _enter(world, "assessor", second))
    with db.session_scope(world.url) as s:
        _enter(world, "investigator", second)(s)
        de = s.get(DoubleEntry, de_id)
        assert de.status == "awaiting_reconciliation"
        assert [d.field for d in double_entry.compare(de)] == ["analSensation", "c5RightMotor"]
        assert not double_entry.may_see_values(world.user(s, "assessor"), de)
        assert double_entry.may_see_values(world.user(s, "investigator2"), de)
        assert s.scalar(select(Assessment.id)) is None  # entries are never classified
    assert_refused(world.url, "double_entry_complete", _enter(world, "investigator2", first))

    def reconcile(user, chosen):
        def action(s):
            de = s.get(DoubleEntry, de_id)
            return double_entry.reconcile(world.user(s, user), s, de, chosen=chosen)

        return action

    chosen = {"c5RightMotor": second["c5RightMotor"], "analSensation": first["analSensation"]}
    assert_refused(world.url, "third_person_required", reconcile("assessor", chosen))
    r = assert_refused(
        world.url, "invalid_input", reconcile("investigator2", {"c5RightMotor": "5"})
    )
    assert r.context["errors"][0]["field"] == "analSensation"
    with db.session_scope(world.url) as s:
        row = reconcile("investigator2", chosen)(s)
        expected = dict(first, c5RightMotor=second["c5RightMotor"])
        assert row.data == Exam.from_rhi(expected).to_rhi()
        assert row.result == classify(Exam.from_rhi(expected)).to_rhi()
        de = s.get(DoubleEntry, de_id)
        assert de.status == "reconciled" and de.assessment_id == row.id
        assert de.resolution["c5RightMotor"] == {
            "entry1": first["c5RightMotor"],
            "entry2": second["c5RightMotor"],
            "value": second["c5RightMotor"],
        }
    assert_refused(world.url, "double_entry_transition", reconcile("investigator2", chosen))
    with db.session_scope(world.url) as s:
        changes = [
            e.changes
            for e in s.scalars(
                select(AuditEntry).where(
                    AuditEntry.table_name == "double_entries", AuditEntry.action == "update"
                )
            )
        ]
        assert any('"reconciled"' in c for c in changes)
        assert any('"awaiting_reconciliation"' in c for c in changes)


# -- forms not done, the grid, worklists --------------------------------------------------------


def test_a_form_marked_not_done_needs_a_reason_and_an_empty_cell(world):
    def mark(visit="week1", form="isncsci", reason="patient declined"):
        def action(s):
            casebook.mark_not_done(
                world.user(s, "assessor"),
                s,
                world.pat(s),
                visit_code=visit,
                form=form,
                reason=reason,
            )

        return action

    assert_refused(world.url, "invalid_input", mark(form="nbd"))  # not scheduled at week 1
    assert_refused(world.url, "invalid_input", mark(reason=" "))
    with db.session_scope(world.url) as s:
        mark()(s)
        record_exam(world, s, "screening", day(world, 8))
    assert_refused(world.url, "already_not_done", mark())
    assert_refused(world.url, "form_done", mark(visit="screening"))
    with db.session_scope(world.url) as s:
        book = casebook.casebook_for(world.user(s, "monitor"), s, world.pat(s))
        cells = {r.code: r.cells["isncsci"] for r in book.visits}
        assert cells["week1"].state == "not_done"
        assert cells["screening"].state == "done"


def test_worklists_list_what_waits(world):
    with db.session_scope(world.url) as s:
        infuse(world, s)
        from .conftest import make_lot

        make_lot(world, s, "LOT-Q", world.other_patient, status="quarantine", skip=("cd34",))
        _ae(world, day(world, 50), confirm=())(s)
        record_exam(
            world,
            s,
            "month1",
            day(world, INFUSION_DAY + 50),
            confirm=["visit_out_of_window"],
            deviation_reason="late",
        )
    with db.session_scope(world.url) as s:
        mon = world.user(s, "monitor")
        far = worklists.Filters(within=3650)
        forms = worklists.run(
            mon, s, "forms", worklists.Filters(state="overdue", patient="SAP-001")
        )
        assert {(r["visit"], r["form"]) for r in forms} >= {("pre_infusion", "ISNCSCI")}
        assert all(r["state"] == "overdue" for r in forms)
        late = worklists.run(mon, s, "out-of-window", worklists.Filters())
        assert [(r["patient"], r["days_outside"]) for r in late] == [("SAP-001", 13)]
        assert late[0]["deviation"].endswith("(open)")
        waiting = worklists.run(mon, s, "lots", worklists.Filters())
        assert [(r["lot"], r["waiting_for"]) for r in waiting] == [("LOT-Q", "release tests: cd34")]
        [expiring] = worklists.run(mon, s, "expiry", far)
        # made with the world's dates: expired in August 2026, so listed whatever the horizon
        assert expiring["lot"] == "LOT-Q" and expiring["days_left"] < 0
        assert expiring["note"].startswith("expired")
        soon = worklists.Filters(within=30, today=world.injury_date + timedelta(days=30))
        assert worklists.run(mon, s, "expiry", soon) == []
        assert [
            r["term"] for r in worklists.run(mon, s, "adverse-events", worklists.Filters())
        ] == ["fever"]
        sdv = worklists.run(mon, s, "sdv", worklists.Filters(patient="SAP-001"))
        assert {r["type"] for r in sdv} >= {"Injury", "Assessment", "Infusion", "Adverse event"}
        counts = worklists.counts(world.user(s, "kus_investigator"), s)
        assert counts["lots"] == 0 and counts["sdv"] > 0  # another site sees only its own
    r = assert_refused(
        world.url,
        "invalid_input",
        lambda s: worklists.run(
            world.user(s, "monitor"), s, "forms", worklists.Filters(state="late")
        ),
    )
    assert r.context["field"] == "state"


def test_forms_after_the_end_of_study_are_neither_overdue_nor_listed(world):
    with db.session_scope(world.url) as s:
        infuse(world, s)
        patients.end_study(
            world.user(s, "investigator"),
            s,
            world.pat(s),
            ended_on=day(world, INFUSION_DAY + 10),
            reason="adverse_event",
        )
    later = worklists.Filters(patient="SAP-001", today=day(world, 1000))
    with db.session_scope(world.url) as s:
        mon = world.user(s, "monitor")
        listed = {r["visit"] for r in worklists.run(mon, s, "forms", later)}
        assert "week1" in listed  # its window opened before the end: missed, still listed
        assert listed.isdisjoint({"month1", "month3", "month6", "month12"})
        book = casebook.casebook_for(mon, s, world.pat(s), today=later.today)
        month6 = next(r for r in book.visits if r.code == "month6")
        assert month6.state == "not_expected"
        assert month6.cells["isncsci"].not_expected_reason == (
            f"study ended {day(world, INFUSION_DAY + 10)} (adverse event)"
        )


def _complete(w, code=None, **kw):
    def action(s):
        patients.end_study(
            w.user(s, "investigator"),
            s,
            w.pat(s, code),
            ended_on=day(w, INFUSION_DAY + 60),
            reason="completed",
            **kw,
        )

    return action


def test_completed_needs_the_last_visit_refused_before_its_window_confirmed_after(world):
    with db.session_scope(world.url) as s:
        infuse(world, s)
    # infused on day 45: month 12's window opens on day 380, after this end of study
    r = assert_refused(world.url, "completed_before_last_visit", _complete(world))
    assert r.context["field"] == "reason" and "month12" in r.message
    # not infused: month 12 has no window to judge by, so a warning to confirm
    code = world.other_patient
    r = assert_refused(world.url, "confirmation_required", _complete(world, code))
    assert [w["rule"] for w in r.context["warnings"]] == ["completed_without_last_visit"]
    with db.session_scope(world.url) as s:
        _complete(world, code, confirm=["completed_without_last_visit"])(s)
    with db.session_scope(world.url) as s:
        p = world.pat(s, code)
        [c] = s.scalars(select(Confirmation).where(Confirmation.patient_id == p.id)).all()
        assert (c.record_table, c.record_id, c.rule) == (
            "patients",
            p.id,
            "completed_without_last_visit",
        )
        assert p.status == "completed"
    # the last visit marked not done with a reason: nothing to refuse or confirm
    with db.session_scope(world.url) as s:
        casebook.mark_not_done(
            world.user(s, "investigator"),
            s,
            world.pat(s),
            visit_code="month12",
            form="isncsci",
            reason="moved abroad, examined there",
        )
        _complete(world)(s)


def test_no_record_is_stored_when_a_rule_refuses(world):
    try:
        with db.session_scope(world.url) as s:
            _ae(world, day(world, 2))(s)
    except Refusal:
        pass
    with db.session_scope(world.url) as s:
        assert s.scalar(select(AdverseEvent.id)) is None


def test_worklists_count_days_on_each_sites_own_calendar(world):
    """An adverse event that began today at the site has been open 0 days, whatever the UTC
    date. Kiritimati (UTC+14) is a day ahead of UTC from 10:00 UTC, Pago Pago (UTC-11) a day
    behind until 11:00 UTC: at any hour one of them is not on UTC's date."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    for zone, term in (("Pacific/Kiritimati", "rash"), ("Pacific/Pago_Pago", "headache")):
        today = datetime.now(ZoneInfo(zone)).date()
        with db.session_scope(world.url) as s:
            s.scalar(select(Site).where(Site.code == "SAP")).time_zone = zone
        with db.session_scope(world.url) as s:
            _ae(world, today, confirm=())(s)
            s.scalar(
                select(AdverseEvent)
                .where(AdverseEvent.onset_date == today)
                .order_by(AdverseEvent.id.desc())
            ).term = term
        with db.session_scope(world.url) as s:
            rows = worklists.run(world.user(s, "monitor"), s, "adverse-events", worklists.Filters())
            assert [r["days_open"] for r in rows if r["term"] == term] == [0], zone
