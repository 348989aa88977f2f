"""Visit windows as dates, and where each visit stands on a given day.

A protocol visit (``cordtrial.store.protocol.VisitWindow``) is anchored to the injury or to the
infusion: its target is ``anchor + day`` and its window ``target - minus .. target + plus``.
Until a patient is infused, infusion-anchored visits follow the planned infusion day (the visit
schedule); afterwards the actual infusion day. Pure: a protocol and dates in, dates out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, Protocol

VisitState = Literal["not_scheduled", "not_yet_due", "due", "overdue"]
Phase = Literal["before", "infusion", "after"]


class VisitDef(Protocol):  # what this module needs of a protocol visit (VisitWindow)
    code: str
    anchor: str
    day: int
    minus: int
    plus: int
    verified: bool
    source: str
    forms: tuple[str, ...]


class ProtocolDef(Protocol):  # what this module needs of a protocol
    visits: list


@dataclass(frozen=True)
class Anchors:
    """The dates a patient's schedule hangs on (None: not recorded yet)."""

    injury: date | None = None
    consent: date | None = None
    infusion: date | None = None  # the (first) infusion given
    planned_infusion: date | None = None  # the infusion day of the visit schedule

    @property
    def infusion_anchor(self) -> tuple[date, str] | None:
        if self.infusion is not None:
            return self.infusion, "infusion"
        if self.planned_infusion is not None:
            return self.planned_infusion, "planned infusion"
        return None


@dataclass(frozen=True)
class Window:
    visit: str
    target: date
    start: date
    end: date
    anchored_on: str  # "injury", "infusion" or "planned infusion"
    verified: bool
    source: str

    def days_outside(self, on: date) -> int:
        """0 inside the window; days early (negative) or late (positive) otherwise."""
        if on < self.start:
            return (on - self.start).days
        if on > self.end:
            return (on - self.end).days
        return 0

    def describe(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()} (target {self.target})"


def window_for(visit: VisitDef, anchors: Anchors) -> Window | None:
    """The visit's window, or None while its anchor date is unknown."""
    if visit.anchor == "injury":
        if anchors.injury is None:
            return None
        base, name = anchors.injury, "injury"
    else:
        found = anchors.infusion_anchor
        if found is None:
            return None
        base, name = found
    target = base + timedelta(days=visit.day)
    return Window(
        visit.code,
        target,
        target - timedelta(days=visit.minus),
        target + timedelta(days=visit.plus),
        name,
        visit.verified,
        visit.source,
    )


def windows(protocol: ProtocolDef, anchors: Anchors) -> dict[str, Window | None]:
    return {v.code: window_for(v, anchors) for v in protocol.visits}


def phase(protocol: ProtocolDef, code: str) -> Phase | None:
    """Whether a visit comes before the infusion, on its day, or after it (follow-up).

    Infusion-anchored visits by the sign of their day; an injury-anchored visit by where the
    protocol lists it relative to the infusion-anchored ones (the label's month 6 is anchored
    to the injury but is a follow-up visit). None for a code the protocol does not list."""
    visits = list(protocol.visits)
    by_code = {v.code: (i, v) for i, v in enumerate(visits)}
    if code not in by_code:
        return None
    i, v = by_code[code]
    if v.anchor == "infusion":
        return "before" if v.day < 0 else "infusion" if v.day == 0 else "after"
    first_on_or_after = next(
        (j for j, w in enumerate(visits) if w.anchor == "infusion" and w.day >= 0), None
    )
    if first_on_or_after is None:
        return "before"
    return "before" if i < first_on_or_after else "after"


def visit_state(window: Window | None, today: date) -> VisitState:
    if window is None:
        return "not_scheduled"
    if today < window.start:
        return "not_yet_due"
    if today <= window.end:
        return "due"
    return "overdue"
