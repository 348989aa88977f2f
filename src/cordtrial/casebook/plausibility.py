"""Plausibility rules of the casebook's forms: what each rule says, where it comes from, and
whether it refuses the record or warns and asks the user to confirm (the confirmation is then
stored with the record and audited).

Pure: dates, the protocol and the anchor dates in, findings out. The store applies them where
records are made (``cordtrial.store.services.plausibility``; dates of every form in the flush
guard ``cordtrial.store.casebook_guard``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from .schedule import Anchors, ProtocolDef, phase, window_for

Action = Literal["refuse", "warn"]
# A date up to this many days after today's date in UTC is accepted: at a site east of UTC the
# local date is already tomorrow's for part of the day.
GRACE_DAYS = 1


@dataclass(frozen=True)
class Rule:
    code: str
    action: Action
    summary: str  # the rule in words
    source: str  # where it comes from (clinical rules cite their source; tags as in the references)


_RULES = (
    Rule(
        "date_in_future",
        "refuse",
        "A date after tomorrow (UTC) is refused: a form records what has happened "
        f"({GRACE_DAYS} day of grace for sites east of UTC).",
        "data quality (ALCOA+: accurate, contemporaneous)",
    ),
    Rule(
        "before_injury",
        "refuse",
        "A date before the patient's injury is refused: nothing of the trial happens before it.",
        "data quality (the injury is the first event of every patient's course)",
    ),
    Rule(
        "follow_up_before_infusion",
        "refuse",
        "A visit the protocol places after the infusion, dated before the infusion, is "
        "refused: the visit or the date is wrong.",
        "the protocol's visit schedule (protocol file, visits)",
    ),
    Rule(
        "pre_infusion_after_infusion",
        "refuse",
        "A visit the protocol places before the infusion, dated after it, is refused.",
        "the protocol's visit schedule (protocol file, visits)",
    ),
    Rule(
        "before_consent",
        "warn",
        "An assessment dated before the informed consent: trial procedures begin with consent; "
        "a standard-care exam from before consent may be used only where the protocol and the "
        "consent allow it. Confirm to save.",
        "ICH E6(R3) 2.8.7: consent is signed and dated prior to trial participation [V2]",
    ),
    Rule(
        "ae_before_consent",
        "warn",
        "An adverse event with onset before the informed consent: an adverse event is an "
        "unfavourable medical occurrence in a trial participant, so an event that began before "
        "consent is usually medical history, unless the protocol asks for events from "
        "screening on. Confirm to record it as an adverse event.",
        "ICH E6(R3) glossary, adverse event; investigator safety reporting [V2]",
    ),
    Rule(
        "follow_up_not_infused",
        "warn",
        "A follow-up visit of a patient who has not been infused: possible (safety follow-up, "
        "or untreated patients followed for comparison, as in the post-marketing survey "
        "jRCT2053210130), but check that the infusion is not simply missing. Confirm to save.",
        "study.md: post-marketing survey of treated and untreated patients [V]",
    ),
    Rule(
        "visit_out_of_window",
        "warn",
        "A visit outside the protocol's window: it is saved with a protocol deviation that "
        "records the reason (required).",
        "the protocol's visit window (protocol file; each window names its own source)",
    ),
    Rule(
        "completed_before_last_visit",
        "refuse",
        "An end of study 'completed' dated before the window of the protocol's last visit "
        "opens, with nothing recorded at that visit, is refused: the patient cannot have "
        "completed the schedule; the date or the reason is wrong (e.g. lost to follow-up).",
        "the protocol's visit schedule (protocol file, visits: the last visit ends it)",
    ),
    Rule(
        "completed_without_last_visit",
        "warn",
        "An end of study 'completed' while the protocol's last visit has nothing recorded and "
        "is not marked not done: check that the visit is not simply missing (enter it first, "
        "or mark its forms not done with the reason). Confirm to save.",
        "the protocol's visit schedule (protocol file, visits: the last visit ends it)",
    ),
    Rule(
        "instrument_incomplete",
        "warn",
        "An instrument with items not assessed is saved only as explicitly incomplete, the "
        "missing items named; scores that need them are not computable (a missing item is "
        "never imputed).",
        "instruments.md, rules common to all instruments; SCIM III scoring [V]",
    ),
)
RULES: dict[str, Rule] = {r.code: r for r in _RULES}
WARNINGS: frozenset[str] = frozenset(r.code for r in _RULES if r.action == "warn")

# The dates on which something happened, per table: the future- and before-injury rules apply
# to these (not to planned dates such as a lot's expiry or a visit's target). A new form with
# dates of events adds its table here.
EVENT_DATES: dict[str, tuple[str, ...]] = {
    "injuries": ("injury_date",),
    "eligibility": ("assessed_on",),
    "consents": ("consent_date", "withdrawn_on"),
    "assessments": ("assessed_on",),
    "exam_entries": ("assessed_on",),
    "blood_draws": ("drawn_on",),
    "marrow_harvests": ("harvested_on",),
    "lots": ("culture_started_on", "cryopreserved_on"),
    "culture_passages": ("seeded_on", "harvested_on"),
    "release_tests": ("tested_on",),
    "custody_events": ("at",),
    "infusions": ("infused_on", "weight_measured_on"),
    "adverse_events": ("onset_date", "resolution_date"),
}


@dataclass(frozen=True)
class Finding:
    """One rule that applies to one value of a record being saved."""

    rule: Rule
    field: str
    value: str | None
    message: str  # this case in words
    days: int | None = None  # visit windows: days early (negative) or late (positive)
    note: str = ""  # e.g. the source of the visit window

    @property
    def refuses(self) -> bool:
        return self.rule.action == "refuse"

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule.code,
            "action": self.rule.action,
            "field": self.field,
            "value": self.value,
            "message": self.message,
            "note": self.note,
        }


def _finding(
    code: str, field: str, on: date | None, message: str, days: int | None = None, note: str = ""
) -> Finding:
    return Finding(RULES[code], field, on.isoformat() if on else None, message, days, note)


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def date_findings(
    field: str, value: date | datetime | None, *, injury: date | None, today: date
) -> list[Finding]:
    """The refusals for one event date: after tomorrow, or before the injury."""
    if value is None:
        return []
    on = _day(value)
    out = []
    if on > today + timedelta(days=GRACE_DAYS):
        out.append(
            _finding("date_in_future", field, on, f"{field} {on} is after today ({today}, UTC)")
        )
    if injury is not None and on < injury:
        out.append(
            _finding("before_injury", field, on, f"{field} {on} is before the injury ({injury})")
        )
    return out


def consent_findings(
    field: str, on: date, anchors: Anchors, *, rule: str = "before_consent"
) -> list[Finding]:
    """A warning for a date before the (first) consent; none while no consent is recorded
    (eligibility and consent checks of their own cover that)."""
    if anchors.consent is None or on >= anchors.consent:
        return []
    return [_finding(rule, field, on, f"{field} {on} is before the consent ({anchors.consent})")]


def visit_findings(
    protocol: ProtocolDef, anchors: Anchors, visit_code: str, on: date
) -> list[Finding]:
    """Where an assessment dated ``on`` at ``visit_code`` stands against the schedule: a
    follow-up before the infusion or a pre-infusion visit after it (refused), a follow-up of a
    patient not infused, a date outside the window (warnings)."""
    where = phase(protocol, visit_code)
    if where is None:  # unscheduled: no window, no phase
        return []
    infused = anchors.infusion
    if where == "after" and infused is not None and on < infused:
        return [
            _finding(
                "follow_up_before_infusion",
                "assessed_on",
                on,
                f"visit {visit_code} follows the infusion ({infused}); {on} is before it",
            )
        ]
    if where == "before" and infused is not None and on > infused:
        return [
            _finding(
                "pre_infusion_after_infusion",
                "assessed_on",
                on,
                f"visit {visit_code} comes before the infusion ({infused}); {on} is after it",
            )
        ]
    out = []
    if where == "after" and infused is None:
        out.append(
            _finding(
                "follow_up_not_infused",
                "visit_code",
                on,
                f"visit {visit_code} is a follow-up visit, and no infusion is recorded",
            )
        )
    visit = next(v for v in protocol.visits if v.code == visit_code)
    window = window_for(visit, anchors)
    if window is not None:
        days = window.days_outside(on)
        if days:
            unverified = "" if window.verified else " (unverified)"
            out.append(
                _finding(
                    "visit_out_of_window",
                    "assessed_on",
                    on,
                    f"visit {visit_code} on {on} is {abs(days)} day{'s' * (abs(days) != 1)} "
                    f"{'early' if days < 0 else 'late'}: window {window.start} to {window.end} "
                    f"(from the {window.anchored_on})",
                    days,
                    f"window source: {window.source}{unverified}",
                )
            )
    return out


def end_of_study_findings(
    protocol: ProtocolDef, anchors: Anchors, reason: str, ended_on: date, last_visit_seen: bool
) -> list[Finding]:
    """Whether an end of study may say "completed": the protocol's last visit (the last one it
    lists) must have something recorded (``last_visit_seen``: a record, or a form marked not
    done). Before that visit's window opens it is refused; after, a warning to confirm."""
    if reason != "completed" or last_visit_seen or not protocol.visits:
        return []
    last = protocol.visits[-1]
    window = window_for(last, anchors)
    if window is not None and ended_on < window.start:
        return [
            _finding(
                "completed_before_last_visit",
                "reason",
                ended_on,
                f"completed on {ended_on}, before the window of the last visit ({last.code}, "
                f"{window.start} to {window.end}) opens",
            )
        ]
    when = f", window {window.start} to {window.end}" if window else ", no window yet"
    return [
        _finding(
            "completed_without_last_visit",
            "reason",
            ended_on,
            f"completed on {ended_on}, and nothing is recorded at the last visit "
            f"({last.code}{when})",
        )
    ]


def completeness_findings(missing: Sequence[str], labels: Iterable[str] = ()) -> list[Finding]:
    """The incomplete-instrument warning, naming the missing items (``labels`` in words)."""
    if not missing:
        return []
    named = list(labels) or list(missing)
    return [
        Finding(
            RULES["instrument_incomplete"],
            "data",
            None,
            f"{len(missing)} item{'s' * (len(missing) != 1)} not assessed: {'; '.join(named)}",
        )
    ]
