"""Pure trial rules over a protocol version and dates: the visit schedule, which protocol
version is in effect on a day, the eligibility checklist, raw-material timing. No database, no
clock: the services pass in the dates, so every rule is checked against the day the event
happened, not the day it is entered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from .protocol import Protocol


@dataclass(frozen=True)
class ScheduledVisit:
    code: str
    anchor: str  # injury | infusion
    target: date
    start: date
    end: date


def visit_schedule(
    protocol: Protocol, injury_date: date, infusion_date: date | None
) -> list[ScheduledVisit]:
    """The protocol's visits with their target day and window, in target order. Visits
    anchored to the infusion are left out until its (planned or actual) day is known."""
    out = []
    for w in protocol.visits:
        if w.anchor == "infusion" and infusion_date is None:
            continue
        base = injury_date if w.anchor == "injury" else infusion_date
        target = base + timedelta(days=w.day)
        out.append(
            ScheduledVisit(
                w.code,
                w.anchor,
                target,
                target - timedelta(days=w.minus),
                target + timedelta(days=w.plus),
            )
        )
    return sorted(out, key=lambda v: (v.target, v.code))


def version_in_effect(versions: Iterable[tuple[int, date | None]], on: date) -> int | None:
    """The number of the newest version whose effective date is on or before ``on`` (a version
    without a date is in effect from the start); None when no version covers the day."""
    best: tuple[date, int] | None = None
    for number, since in versions:
        key = (since or date.min, number)
        if key[0] <= on and (best is None or key > best):
            best = key
    return None if best is None else best[1]


@dataclass(frozen=True)
class EligibilityFacts:
    """What the records say about the patient on the assessment day."""

    days_since_injury: int | None = None
    age: int | None = None
    level: str | None = None  # injury level, e.g. "C5"
    ais: str | None = None  # the latest ISNCSCI exam's AIS grade on or before the day


def eligibility_problems(
    protocol: Protocol, answers: Mapping[str, bool], facts: EligibilityFacts
) -> list[tuple[str, str]]:
    """(criterion code, what is wrong) for a checklist: every criterion of the version answered,
    no other, and no "met" answer the records contradict."""
    problems = []
    known = {c.code for c in protocol.eligibility}
    for code in answers:
        if code not in known:
            problems.append((code, f"not a criterion of protocol {protocol.id}"))
    for c in protocol.eligibility:
        if c.code not in answers:
            problems.append((c.code, "not answered: every criterion needs yes or no"))
            continue
        if c.kind != "inclusion" or not answers[c.code]:
            continue
        why = _contradiction(c, facts)
        if why:
            problems.append((c.code, f"answered as met, but {why}"))
    return problems


def _contradiction(c, facts: EligibilityFacts) -> str | None:
    days, age = facts.days_since_injury, facts.age
    if c.max_days_since_injury is not None and days is not None and days > c.max_days_since_injury:
        return (
            f"the injury was {days} days before this assessment (at most {c.max_days_since_injury})"
        )
    if c.min_age is not None and age is not None and age < c.min_age:
        return f"the patient's age at injury is {age} (at least {c.min_age})"
    if c.max_age is not None and age is not None and age > c.max_age:
        return f"the patient's age at injury is {age} (at most {c.max_age})"
    if c.levels and facts.level and not facts.level.upper().startswith(tuple(c.levels)):
        return f"the injury level is {facts.level} (allowed: {', '.join(c.levels)})"
    if c.ais and facts.ais and facts.ais not in c.ais:
        return f"the latest exam's AIS grade is {facts.ais} (allowed: {', '.join(c.ais)})"
    return None


def is_eligible(protocol: Protocol, answers: Mapping[str, bool]) -> bool:
    """Every inclusion criterion met and no exclusion criterion applying."""
    return all(
        answers.get(c.code) is (c.kind == "inclusion") for c in protocol.eligibility
    ) and bool(protocol.eligibility)


def eligible_answers(protocol: Protocol) -> dict[str, bool]:
    """The answers of a patient who meets every criterion (inclusions met, no exclusion)."""
    return {c.code: c.kind == "inclusion" for c in protocol.eligibility}


def blood_draw_deviation(protocol: Protocol, injury_date: date, drawn_on: date) -> str | None:
    """Why a blood draw is outside the protocol's days after injury (a deviation to report,
    not a refusal: the draw happened), or None."""
    rm = protocol.raw_material
    if rm is None:
        return None
    day = (drawn_on - injury_date).days
    first, last = rm.blood_draw_days
    if first <= day <= last:
        return None
    return f"drawn on day {day} after injury; the protocol plans days {first}-{last}"


def blood_draw_count_deviation(protocol: Protocol, number: int) -> str | None:
    """Why the ``number``-th blood draw of a patient is beyond the protocol's planned count
    (study.md: two draws for autologous serum; a deviation to report, not a refusal), or None."""
    rm = protocol.raw_material
    if rm is None or number <= rm.blood_draws:
        return None
    return f"blood draw {number}; the protocol plans {rm.blood_draws}"


def blood_draw_deviations(
    protocol: Protocol, injury_date: date | None, drawn_on: date, number: int
) -> list[str]:
    """Every way the ``number``-th blood draw (by date) departs from the protocol: its day
    after injury, its count. Empty when it follows the plan."""
    whys = [
        blood_draw_deviation(protocol, injury_date, drawn_on) if injury_date else None,
        blood_draw_count_deviation(protocol, number),
    ]
    return [why for why in whys if why]


DeviationChange = Literal["none", "create", "update"]


def deviation_change(recorded: str | None, now: str | None) -> DeviationChange:
    """What a (re)saved record does to the protocol deviation recorded with it, given the
    recorded deviation's description and the one the record shows now (None: none). Saving
    again the same deviation changes nothing (idempotent); a different one updates the recorded
    deviation. A correction that removes the deviation leaves the recorded one as it is: like a
    visit out of window corrected into its window, it stays for the monitor to close with a
    resolution (a deviation, once recorded, is reviewed, never silently dropped)."""
    if now is None or now == recorded:
        return "none"
    return "create" if recorded is None else "update"


def age_on(born: date, on: date) -> int:
    """Completed years of life on ``on`` (the age a chart states)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def age_at_injury_problem(
    born: date | None, age: int | None, injured_on: date | None, today: date
) -> str | None:
    """Why the age at injury contradicts the date of birth, or None. With the injury day
    known the age is the completed years on that day; before it is recorded (registration),
    the injury is not in the future, so the age is at most the patient's age today."""
    if born is None or age is None:
        return None
    if injured_on is not None:
        if injured_on < born:
            return (
                f"the injury ({injured_on.isoformat()}) is before the date of birth "
                f"({born.isoformat()})"
            )
        actual = age_on(born, injured_on)
        if age != actual:
            return (
                f"the age at injury ({age}) contradicts the date of birth ({born.isoformat()}): "
                f"born then, the patient was {actual} on the day of the injury "
                f"({injured_on.isoformat()})"
            )
        return None
    if age > age_on(born, today):
        return (
            f"the age at injury ({age}) contradicts the date of birth ({born.isoformat()}): "
            f"born then, the patient is {age_on(born, today)} today"
        )
    return None


def first_day_without_eligibility(
    decisions: Iterable[tuple[date, bool]], taken: Iterable[date]
) -> date | None:
    """The first day raw material was taken that no positive eligibility decision covers, or
    None. A day is covered when the latest decision assessed on or before it is eligible (the
    rule each blood draw and harvest is checked against when it is recorded)."""
    ordered = sorted(decisions, key=lambda d: d[0])  # stable: a later entry of a day wins
    for day in sorted(taken):
        latest = [eligible for on, eligible in ordered if on <= day]
        if not latest or not latest[-1]:
            return day
    return None
