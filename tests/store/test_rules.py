"""The pure trial rules (cordtrial.store.rules): visit schedule, protocol version in effect,
eligibility checklist, blood-draw timing."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cordtrial.store.protocol import default_protocol
from cordtrial.store.rules import (
    EligibilityFacts,
    age_at_injury_problem,
    age_on,
    blood_draw_count_deviation,
    blood_draw_deviation,
    blood_draw_deviations,
    deviation_change,
    eligibility_problems,
    eligible_answers,
    first_day_without_eligibility,
    is_eligible,
    version_in_effect,
    visit_schedule,
)

LABEL = default_protocol()
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1))


def test_schedule_of_the_label_protocol():
    injury, infusion = date(2026, 1, 5), date(2026, 2, 20)
    visits = {v.code: v for v in visit_schedule(LABEL, injury, infusion)}
    assert visits["month6"].target == injury + timedelta(days=180)  # anchored to the injury
    assert (visits["month6"].start, visits["month6"].end) == (
        injury + timedelta(days=150),
        injury + timedelta(days=210),
    )
    assert visits["week1"].target == infusion + timedelta(days=7)
    assert visits["infusion_day"].start == visits["infusion_day"].end == infusion


def test_infusion_anchored_visits_wait_for_the_infusion_day():
    visits = visit_schedule(LABEL, date(2026, 1, 5), None)
    assert {v.code for v in visits} == {"screening", "month6"}


@given(days, st.integers(0, 120))
def test_schedule_windows_hold_their_target_and_follow_the_anchor(injury, gap):
    infusion = injury + timedelta(days=gap)
    visits = visit_schedule(LABEL, injury, infusion)
    assert len(visits) == len(LABEL.visits)
    for v in visits:
        assert v.start <= v.target <= v.end
        base = injury if v.anchor == "injury" else infusion
        assert (v.target - base).days == LABEL.visit(v.code).day
    assert [v.target for v in visits] == sorted(v.target for v in visits)


@given(st.lists(st.tuples(st.integers(1, 50), st.one_of(st.none(), days)), max_size=8), days)
def test_version_in_effect_is_the_newest_started_on_or_before_the_day(versions, on):
    found = version_in_effect(versions, on)
    started = [(since or date.min, n) for n, since in versions if (since or date.min) <= on]
    if not started:
        assert found is None
    else:
        assert found == max(started)[1]


def test_every_criterion_answered_and_checked_against_the_records():
    answers = eligible_answers(LABEL)
    facts = EligibilityFacts(days_since_injury=7, age=45, level="C5", ais="B")
    assert eligibility_problems(LABEL, answers, facts) == [] and is_eligible(LABEL, answers)
    problems = dict(
        eligibility_problems(
            LABEL,
            {**answers, "made_up": True},
            EligibilityFacts(days_since_injury=20, age=75, level="T4", ais="D"),
        )
    )
    assert set(problems) == {
        "made_up",
        "onset_14_days",
        "age_20_70",
        "cervical_on_imaging",
        "ais_a_b_c",
    }
    assert "20 days" in problems["onset_14_days"] and "at most 14" in problems["onset_14_days"]
    missing = {k: v for k, v in answers.items() if k != "infection"}
    assert dict(eligibility_problems(LABEL, missing, facts))["infection"].startswith("not answered")
    # an exclusion that applies, or an inclusion not met: not eligible (no contradiction)
    assert not is_eligible(LABEL, {**answers, "infection": True})
    assert not is_eligible(LABEL, {**answers, "age_20_70": False})
    assert eligibility_problems(LABEL, {**answers, "age_20_70": False}, facts) == []


def test_blood_draws_outside_days_14_to_28_are_a_deviation():
    injury = date(2026, 1, 5)
    assert blood_draw_deviation(LABEL, injury, injury + timedelta(days=14)) is None
    assert blood_draw_deviation(LABEL, injury, injury + timedelta(days=28)) is None
    assert "day 30" in blood_draw_deviation(LABEL, injury, injury + timedelta(days=30))


def test_a_blood_draw_beyond_the_protocols_count_is_a_deviation():
    assert blood_draw_count_deviation(LABEL, 1) is None
    assert blood_draw_count_deviation(LABEL, 2) is None  # the label plans two draws
    assert blood_draw_count_deviation(LABEL, 3) == "blood draw 3; the protocol plans 2"


def test_a_blood_draws_deviations_combine_its_day_and_its_count():
    injury = date(2026, 1, 5)
    assert blood_draw_deviations(LABEL, injury, injury + timedelta(days=15), 2) == []
    assert blood_draw_deviations(LABEL, injury, injury + timedelta(days=10), 3) == [
        "drawn on day 10 after injury; the protocol plans days 14-28",
        "blood draw 3; the protocol plans 2",
    ]
    assert blood_draw_deviations(LABEL, None, injury, 1) == []  # no injury day: no day rule


def test_a_recorded_deviation_is_made_once_updated_and_never_dropped():
    assert deviation_change(None, "late") == "create"
    assert deviation_change("late", "late") == "none"  # saved again: not recorded twice
    assert deviation_change("late", "early") == "update"
    assert deviation_change("late", None) == "none"  # corrected away: stays for review
    assert deviation_change(None, None) == "none"


@given(st.none() | st.text(max_size=5), st.none() | st.text(max_size=5))
def test_applying_a_deviation_change_twice_changes_nothing_more(recorded, now):
    after = now if deviation_change(recorded, now) != "none" else recorded
    assert deviation_change(after, now) == "none"


def test_age_at_injury_is_checked_against_the_date_of_birth():
    born, injured, today = date(1985, 4, 2), date(2026, 5, 19), date(2026, 12, 5)
    assert age_at_injury_problem(born, 41, injured, today) is None
    assert "was 41" in age_at_injury_problem(born, 45, injured, today)
    assert "before the date of birth" in age_at_injury_problem(born, 0, date(1985, 4, 1), today)
    assert age_at_injury_problem(born, 40, date(2026, 4, 1), today) is None  # before birthday
    # registration: no injury day yet, the age is at most today's
    assert age_at_injury_problem(born, 41, None, today) is None
    assert "is 41 today" in age_at_injury_problem(born, 42, None, today)
    assert age_at_injury_problem(None, 200, injured, today) is None  # no date of birth: no check


@given(days, days)
def test_only_the_completed_years_on_the_injury_day_agree(born, on):
    if on < born:
        assert age_at_injury_problem(born, 0, on, on) is not None
        return
    age = age_on(born, on)
    assert age_on(born, on + timedelta(days=1)) in (age, age + 1)  # one birthday at a time
    assert age_at_injury_problem(born, age, on, on) is None
    assert age_at_injury_problem(born, age + 1, on, on) is not None
    assert age == 0 or age_at_injury_problem(born, age - 1, on, on) is not None


def test_raw_material_needs_a_positive_decision_assessed_by_its_day():
    d = date(2026, 5, 1)
    taken = [d + timedelta(days=7), d + timedelta(days=10)]
    assert first_day_without_eligibility([(d, True)], taken) is None
    assert first_day_without_eligibility([(d, False)], taken) == taken[0]
    assert first_day_without_eligibility([(d + timedelta(days=8), True)], taken) == taken[0]
    # a later decision of not eligible leaves the earlier raw material covered
    later = [(d, True), (d + timedelta(days=9), False)]
    assert first_day_without_eligibility(later, taken) == taken[1]
    assert first_day_without_eligibility([], []) is None


@given(st.lists(st.tuples(days, st.booleans()), max_size=5), st.lists(days, max_size=5))
def test_every_uncovered_day_is_found(decisions, taken):
    first = first_day_without_eligibility(decisions, taken)
    covered = []
    for day in taken:
        before = [e for on, e in sorted(decisions, key=lambda x: x[0]) if on <= day]
        covered.append(bool(before) and before[-1])
    assert first == min((t for t, c in zip(taken, covered, strict=True) if not c), default=None)
