"""The casebook's pure parts: visit windows and phases, plausibility rules, the grid's statuses
and next actions, and the comparison of two entries of an exam."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cordtrial.casebook import plausibility as pl
from cordtrial.casebook.grid import RecordRef, StudyEnd, build, lock_note
from cordtrial.casebook.reconcile import discrepancies, entry_defaults, reconciled
from cordtrial.casebook.schedule import Anchors, phase, visit_state, window_for, windows
from cordtrial.store.protocol import default_protocol

P = default_protocol()
INJURY = date(2026, 1, 5)
INFUSED = INJURY + timedelta(days=45)
TODAY = INJURY + timedelta(days=100)
INFUSED_ANCHORS = Anchors(injury=INJURY, consent=INJURY + timedelta(days=7), infusion=INFUSED)


# -- schedule ------------------------------------------------------------------------------


def test_windows_follow_their_anchor_and_the_planned_infusion_until_infused():
    planned = Anchors(injury=INJURY, planned_infusion=INJURY + timedelta(days=40))
    w = windows(P, planned)
    assert w["screening"].target == INJURY + timedelta(days=7)
    assert (w["screening"].start, w["screening"].end) == (INJURY, INJURY + timedelta(days=14))
    assert w["month1"].anchored_on == "planned infusion"
    assert w["month1"].target == INJURY + timedelta(days=70)
    done = windows(P, INFUSED_ANCHORS)
    assert done["month1"].anchored_on == "infusion" and done[
        "month1"
    ].target == INFUSED + timedelta(days=30)
    # month 6 is anchored to the injury (180 +/- 30 d, jRCT2053210130)
    assert done["month6"].target == INJURY + timedelta(days=180) and done["month6"].verified
    assert windows(P, Anchors(injury=INJURY))["month1"] is None


def test_phases_place_injury_anchored_follow_up_after_the_infusion():
    assert phase(P, "screening") == "before"
    assert phase(P, "pre_infusion") == "before"
    assert phase(P, "infusion_day") == "infusion"
    assert phase(P, "day1") == "after"
    assert phase(P, "month6") == "after"  # anchored to the injury, listed after the infusion
    assert phase(P, "unscheduled") is None


def test_visit_states():
    w = window_for(P.visit("week1"), INFUSED_ANCHORS)
    assert visit_state(None, TODAY) == "not_scheduled"
    assert visit_state(w, w.start - timedelta(days=1)) == "not_yet_due"
    assert visit_state(w, w.start) == "due" and visit_state(w, w.end) == "due"
    assert visit_state(w, w.end + timedelta(days=1)) == "overdue"
    assert w.days_outside(w.start - timedelta(days=3)) == -3
    assert w.days_outside(w.end + timedelta(days=2)) == 2


# -- plausibility --------------------------------------------------------------------------


def _codes(findings):
    return [f.rule.code for f in findings]


def test_dates_after_tomorrow_or_before_the_injury_are_refused():
    today = date(2026, 12, 4)
    assert pl.date_findings("x", today + timedelta(days=1), injury=INJURY, today=today) == []
    future = pl.date_findings("x", today + timedelta(days=2), injury=INJURY, today=today)
    assert _codes(future) == ["date_in_future"] and future[0].refuses
    early = pl.date_findings("onset_date", INJURY - timedelta(days=1), injury=INJURY, today=today)
    assert _codes(early) == ["before_injury"] and "2026-01-04" in early[0].message


def test_follow_up_before_the_infusion_and_pre_infusion_after_it_are_refused():
    before = pl.visit_findings(P, INFUSED_ANCHORS, "week1", INFUSED - timedelta(days=1))
    assert _codes(before) == ["follow_up_before_infusion"] and before[0].refuses
    after = pl.visit_findings(P, INFUSED_ANCHORS, "pre_infusion", INFUSED + timedelta(days=1))
    assert _codes(after) == ["pre_infusion_after_infusion"]


def test_follow_up_of_a_patient_not_infused_and_out_of_window_warn():
    anchors = Anchors(injury=INJURY, planned_infusion=INJURY + timedelta(days=40))
    found = pl.visit_findings(P, anchors, "month1", INJURY + timedelta(days=90))
    assert _codes(found) == ["follow_up_not_infused", "visit_out_of_window"]
    late = found[1]
    assert not late.refuses and late.days == 13
    assert "13 days late" in late.message and "planned infusion" in late.message
    assert "study.md" in late.note and "unverified" in late.note
    early = pl.visit_findings(P, INFUSED_ANCHORS, "month6", INJURY + timedelta(days=140))
    assert early[0].days == -10 and "10 days early" in early[0].message
    assert pl.visit_findings(P, INFUSED_ANCHORS, "week1", INFUSED + timedelta(days=7)) == []
    assert pl.visit_findings(P, INFUSED_ANCHORS, "unscheduled", TODAY) == []


def test_before_consent_and_incomplete_warn_with_the_items_named():
    on = INJURY + timedelta(days=2)
    assert _codes(pl.consent_findings("assessed_on", on, INFUSED_ANCHORS)) == ["before_consent"]
    ae = pl.consent_findings("onset_date", on, INFUSED_ANCHORS, rule="ae_before_consent")
    assert ae[0].rule.action == "warn" and "ICH E6(R3)" in ae[0].rule.source
    assert pl.consent_findings("assessed_on", on, Anchors(injury=INJURY)) == []
    inc = pl.completeness_findings(["stairs", "feeding"], ["15 Stair management", "1 Feeding"])
    assert inc[0].message == "2 items not assessed: 15 Stair management; 1 Feeding"
    assert pl.completeness_findings([]) == []


def test_completed_without_the_last_visit_is_refused_before_its_window_then_warns():
    month12 = window_for(P.visit("month12"), INFUSED_ANCHORS)
    early = month12.start - timedelta(days=1)
    refused = pl.end_of_study_findings(P, INFUSED_ANCHORS, "completed", early, False)
    assert _codes(refused) == ["completed_before_last_visit"] and refused[0].refuses
    assert "month12" in refused[0].message and refused[0].field == "reason"
    late = month12.end + timedelta(days=10)
    warned = pl.end_of_study_findings(P, INFUSED_ANCHORS, "completed", late, False)
    assert _codes(warned) == ["completed_without_last_visit"] and not warned[0].refuses
    not_infused = pl.end_of_study_findings(P, Anchors(injury=INJURY), "completed", late, False)
    assert _codes(not_infused) == ["completed_without_last_visit"]  # no window to judge by
    assert pl.end_of_study_findings(P, INFUSED_ANCHORS, "completed", early, True) == []
    assert pl.end_of_study_findings(P, INFUSED_ANCHORS, "lost_to_follow_up", early, False) == []


def test_every_rule_says_what_it_does_and_cites_a_source():
    for rule in pl.RULES.values():
        assert rule.action in ("refuse", "warn") and rule.summary and rule.source
    assert pl.WARNINGS == {
        "before_consent",
        "ae_before_consent",
        "follow_up_not_infused",
        "visit_out_of_window",
        "instrument_incomplete",
        "completed_without_last_visit",
    }


# -- the grid ------------------------------------------------------------------------------


def _ref(form, visit, on, **kw):
    return RecordRef(form, "assessments", kw.pop("id", 1), on, visit, **kw)


def test_cells_show_due_overdue_done_out_of_window_not_done_and_flags():
    on_time = INFUSED + timedelta(days=1)
    late = INFUSED + timedelta(days=20)  # 3 days before the month 1 window
    records = [
        _ref("isncsci", "day1", on_time, id=1, signed=True, verified=True),
        _ref("isncsci", "month1", late, id=2, open_queries=2),
        RecordRef("injury", "injuries", 1, INJURY),
        RecordRef("lot", "lots", 1, INJURY + timedelta(days=21), done=False, note="quarantine"),
    ]
    book = build(
        P,
        INFUSED_ANCHORS,
        records,
        today=INFUSED + timedelta(days=25),
        not_done={("week1", "isncsci"): "patient transferred"},
    )
    rows = {r.code: r for r in book.visits}
    day1 = rows["day1"].cells["isncsci"]
    assert day1.state == "done" and day1.statuses == ["done", "verified", "signed"]
    assert day1.status == "verified" and day1.next_action("site") is None
    month1 = rows["month1"].cells["isncsci"]
    assert month1.state == "done_out_of_window" and month1.status == "queried"
    assert month1.next_action("site").kind == "answer_query"
    assert month1.next_action("monitor").label == "review 2 queries"
    week1 = rows["week1"].cells["isncsci"]
    assert week1.state == "not_done" and week1.not_done_reason == "patient transferred"
    assert rows["month1"].cells["scim3"].state == "due"
    assert rows["month1"].cells["scim3"].next_action("site").kind == "enter"
    assert rows["month3"].cells["isncsci"].state == "not_yet_due"
    assert rows["day1"].cells["scim3"].state == "not_applicable"
    assert rows["pre_infusion"].cells["isncsci"].state == "overdue"
    steps = {c.form: c for c in book.enrolment}
    assert steps["injury"].state == "done" and steps["lot"].state == "due"
    assert book.count("overdue") >= 1 and book.open_queries == 2
    assert book.verified == (1, 4)


def test_a_locked_casebook_offers_no_action_and_shows_locked_first():
    records = [_ref("isncsci", "day1", INFUSED + timedelta(days=1), verified=True)]
    book = build(P, INFUSED_ANCHORS, records, today=TODAY, locked=True)
    cell = next(r for r in book.visits if r.code == "day1").cells["isncsci"]
    assert cell.status == "locked" and cell.next_action("monitor") is None


def test_each_record_of_a_cell_is_verified_and_the_next_one_is_the_target():
    draws = [
        RecordRef("blood_draw", "blood_draws", 1, INJURY + timedelta(days=14)),
        RecordRef("blood_draw", "blood_draws", 2, INJURY + timedelta(days=21)),
    ]
    book = build(P, INFUSED_ANCHORS, draws, today=TODAY)
    cell = {c.form: c for c in book.enrolment}["blood_draw"]
    step = cell.next_action("monitor")
    assert step.kind == "verify" and step.record.id == 1 and step.label.endswith("(2 records)")
    assert [r.id for r in cell.to_verify] == [1, 2]
    draws[0] = RecordRef("blood_draw", "blood_draws", 1, draws[0].on, verified=True)
    cell = {c.form: c for c in build(P, INFUSED_ANCHORS, draws, today=TODAY).enrolment}[
        "blood_draw"
    ]
    step = cell.next_action("monitor")
    assert step.record.id == 2 and step.label == "verify against source"
    assert [r.id for r in cell.to_verify] == [2] and not cell.verified


def test_a_lock_says_when_and_by_whom():
    at = datetime(2026, 12, 5, 8, 30, tzinfo=UTC)
    assert lock_note(at, "Dr Inv") == "casebook locked on 2026-12-05 by Dr Inv"
    assert lock_note(at, "Admin", trial=True) == "trial data locked on 2026-12-05 by Admin"


def test_double_entry_and_unscheduled_records_in_the_grid():
    records = [_ref("wisci2", "unscheduled", TODAY)]
    book = build(
        P, INFUSED_ANCHORS, records, today=TODAY, double_entries={"month1": "awaiting_second"}
    )
    assert book.visits[-1].code == "unscheduled"
    cell = next(r for r in book.visits if r.code == "month1").cells["isncsci"]
    assert cell.next_action("site").kind == "second_entry"


def test_infusion_step_is_overdue_after_the_protocols_last_day():
    book = build(P, Anchors(injury=INJURY), [], today=INJURY + timedelta(days=55))
    assert {c.form: c.state for c in book.enrolment}["infusion"] == "overdue"


def test_visits_after_the_end_of_study_are_not_expected_and_never_overdue():
    ended = StudyEnd(INFUSED + timedelta(days=40), "lost to follow-up")
    done = _ref("isncsci", "month1", INFUSED + timedelta(days=30))
    years_later = INFUSED + timedelta(days=800)  # every window long past
    book = build(P, INFUSED_ANCHORS, [done], today=years_later, ended=ended)
    rows = {r.code: r for r in book.visits}
    assert rows["month1"].cells["isncsci"].state == "done"  # done before the end: unchanged
    # month 1's SCIM window opened before the end: a missed form, still overdue
    assert rows["month1"].cells["scim3"].state == "overdue"
    for code in ("month3", "month6", "month12"):  # windows open after the end
        assert rows[code].state == "not_expected"
        for form in rows[code].expected:
            cell = rows[code].cells[form]
            assert cell.state == "not_expected" and cell.next_action("site") is None
            assert cell.not_expected_reason == (
                f"study ended {ended.on.isoformat()} (lost to follow-up)"
            )
        assert rows[code].cells["lutf"].state in ("not_applicable", "not_expected")
    overdue = {c.visit for c in book.cells() if c.state == "overdue"}
    assert overdue == {r.code for r in book.visits if r.window.start <= ended.on}
    assert book.count("due") == 0
    without_end = build(P, INFUSED_ANCHORS, [done], today=years_later)
    assert {c.visit for c in without_end.cells() if c.state == "overdue"} >= {"month6", "month12"}


def test_enrolment_steps_left_at_the_end_of_study_are_not_expected():
    anchors = Anchors(injury=INJURY)
    ended = StudyEnd(INJURY + timedelta(days=20), "consent withdrawn")
    records = [RecordRef("injury", "injuries", 1, INJURY)]
    book = build(P, anchors, records, today=INJURY + timedelta(days=90), ended=ended)
    steps = {c.form: c for c in book.enrolment}
    assert steps["injury"].state == "done"
    assert steps["infusion"].state == "not_expected"  # not overdue after the 54 days
    assert steps["infusion"].not_expected_reason.startswith("study ended")
    # infusion-anchored visits never got a window: not expected either
    assert {r.code: r.state for r in book.visits}["month12"] == "not_expected"
    assert book.count("overdue") == 1  # screening, whose window opened before the end
    assert book.count("due") == 0


# -- double data entry -----------------------------------------------------------------------


def test_discrepancies_are_listed_cell_by_cell_in_entry_order():
    a = {"assessed_on": "2026-02-01", "c5RightMotor": "4", "c6RightMotor": "3", "x": "NT"}
    b = {"assessed_on": "2026-02-01", "c5RightMotor": "5", "c6RightMotor": "3"}
    found = discrepancies(a, b, ("c6RightMotor", "c5RightMotor"))
    assert [(d.field, d.first, d.second) for d in found] == [
        ("c5RightMotor", "4", "5"),
        ("x", "NT", None),
    ]
    merged, unresolved = reconciled(a, b, {"c5RightMotor": "5"})
    assert unresolved == ["x"]
    merged, unresolved = reconciled(a, b, {"c5RightMotor": "5", "x": ""})
    assert unresolved == [] and merged == {
        "assessed_on": "2026-02-01",
        "c5RightMotor": "5",
        "c6RightMotor": "3",
    }


cells = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(["0", "1", "2", "NT", ""]), max_size=4
)


@given(cells, cells)
def test_discrepancies_are_symmetric_and_choosing_one_entry_gives_it_back(first, second):
    one = {d.field for d in discrepancies(first, second)}
    assert one == {d.field for d in discrepancies(second, first)}
    chosen = {d.field: first.get(d.field, "") for d in discrepancies(first, second)}
    merged, unresolved = reconciled(first, second, chosen)
    assert unresolved == []
    assert merged == {k: v for k, v in first.items() if v != ""}


def test_a_double_entry_heading_starts_blank_but_for_the_visit():
    today = date(2026, 12, 5)
    double = entry_defaults("month1", double_entry=True, user_name="Typist", today=today)
    assert double == {"visit_code": "month1", "assessed_on": "", "assessor_name": "", "blinded": ""}
    single = entry_defaults("month1", double_entry=False, user_name="Dr A", today=today)
    assert single["assessor_name"] == "Dr A" and single["assessed_on"] == "2026-12-05"
