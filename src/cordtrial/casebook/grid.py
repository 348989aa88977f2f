"""One patient's casebook: the protocol's visits by forms, a status per cell and the next
action, plus the steps from injury to infusion.

Statuses (REDCap's record status dashboard and OpenClinica's participant matrix are the
conventions site teams know; standards.md): a cell is not yet due, due, overdue, done, done out
of window, not done (with a reason) or not expected (the patient's study ended before its
window opened: never due nor overdue); on top of that its records may be signed, verified
(source data verification), queried (open data queries) and locked. Pure: records are given as
``RecordRef`` summaries; the store reads them (``cordtrial.store.services.casebook``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from .forms import ENROLMENT_STEPS, FORMS, VISIT_FORMS
from .schedule import Anchors, ProtocolDef, Window, visit_state, windows

CellState = Literal[
    "not_applicable",
    "not_yet_due",
    "due",
    "overdue",
    "done",
    "done_out_of_window",
    "not_done",
    "not_expected",
]
RowState = Literal["not_scheduled", "not_yet_due", "due", "overdue", "not_expected"]
Actor = Literal["site", "monitor", "reader"]
STATUS_LABELS: dict[str, str] = {
    "not_applicable": "not planned",
    "not_yet_due": "not yet due",
    "due": "due",
    "overdue": "overdue",
    "done": "done",
    "done_out_of_window": "done out of window",
    "not_done": "not done",
    "not_expected": "not expected",
    "signed": "signed",
    "verified": "verified",
    "queried": "queried",
    "locked": "locked",
}
# The status a cell shows first: what most needs attention or says most about it.
_PRECEDENCE = ("locked", "queried", "verified", "signed")


@dataclass(frozen=True)
class RecordRef:
    """What the casebook needs to know of one stored record."""

    form: str
    table: str
    id: int
    on: date | None
    visit: str | None = None
    signed: bool = False
    verified: bool = False
    open_queries: int = 0
    done: bool = True  # a lot counts as done once released
    note: str = ""  # e.g. "saved incomplete", "released"


def lock_note(locked_at: datetime, by: str, *, trial: bool = False) -> str:
    """Why a record cannot be corrected now, in the words a correction form shows instead."""
    what = "trial data locked" if trial else "casebook locked"
    return f"{what} on {locked_at.strftime('%Y-%m-%d')} by {by}"


@dataclass(frozen=True)
class StudyEnd:
    """A patient's end of study: the last day in the study and why it ended."""

    on: date
    reason: str  # in words, e.g. "lost to follow-up"

    def describe(self) -> str:
        return f"study ended {self.on.isoformat()} ({self.reason})"

    def excludes(self, window: Window | None) -> bool:
        """Whether a visit with this window can no longer be expected: its window opens after
        the end (or it never got one: its anchor, e.g. the infusion, never happened)."""
        return window is None or window.start > self.on


@dataclass(frozen=True)
class NextAction:
    kind: Literal[
        "enter", "second_entry", "reconcile", "answer_query", "sign", "verify", "review_query"
    ]
    label: str
    record: RecordRef | None = None  # the record it is done on (the first one that needs it)


@dataclass(frozen=True)
class Cell:
    form: str
    visit: str | None
    state: CellState
    records: tuple[RecordRef, ...] = ()
    window: Window | None = None
    not_done_reason: str | None = None
    double_entry: str | None = None  # a pending double entry's status
    locked: bool = False
    not_expected_reason: str | None = None  # e.g. "study ended 2026-03-01 (death)"

    @property
    def signable(self) -> bool:
        return FORMS[self.form].signable if self.form in FORMS else False

    @property
    def signed(self) -> bool:
        return bool(self.records) and self.signable and all(r.signed for r in self.records)

    @property
    def verified(self) -> bool:
        return bool(self.records) and all(r.verified for r in self.records)

    @property
    def queries(self) -> int:
        return sum(r.open_queries for r in self.records)

    @property
    def flags(self) -> list[str]:
        out = []
        if self.locked:
            out.append("locked")
        if self.queries:
            out.append("queried")
        if self.verified:
            out.append("verified")
        if self.signed:
            out.append("signed")
        return out

    @property
    def status(self) -> str:
        """The one status shown first."""
        return next((f for f in _PRECEDENCE if f in self.flags), self.state)

    @property
    def statuses(self) -> list[str]:
        """Every status that applies, the state first (e.g. done out of window, signed)."""
        return [self.state, *self.flags]

    @property
    def labels(self) -> list[str]:
        return [STATUS_LABELS[s] for s in self.statuses]

    @property
    def to_verify(self) -> tuple[RecordRef, ...]:
        """The cell's records not (or no longer) verified against source: each needs its own
        mark (a cell of two serum draws is verified once both are)."""
        return tuple(r for r in self.records if not r.verified)

    def next_action(self, actor: Actor) -> NextAction | None:
        if self.locked or self.state in ("not_applicable", "not_expected") or actor == "reader":
            return None
        queried = next((r for r in self.records if r.open_queries), None)
        if actor == "monitor":
            if self.queries:
                return NextAction("review_query", f"review {_n(self.queries, 'query')}", queried)
            if self.to_verify:
                left = len(self.to_verify)
                label = "verify against source" + (f" ({left} records)" if left > 1 else "")
                return NextAction("verify", label, self.to_verify[0])
            return None
        if self.queries:
            return NextAction("answer_query", f"answer {_n(self.queries, 'query')}", queried)
        if self.double_entry == "awaiting_second":
            return NextAction("second_entry", "second entry by another person")
        if self.double_entry == "awaiting_reconciliation":
            return NextAction("reconcile", "reconcile the two entries (a third person)")
        if self.state in ("due", "overdue"):
            until = f" by {self.window.end}" if self.window and self.state == "due" else ""
            return NextAction("enter", f"enter{until}")
        if self.records and self.signable and not self.signed:
            unsigned = next((r for r in self.records if not r.signed), None)
            return NextAction("sign", "sign off", unsigned)
        return None


def _n(count: int, word: str) -> str:
    plural = word[:-1] + "ies" if word.endswith("y") else word + "s"
    return f"{count} {word if count == 1 else plural}"


@dataclass(frozen=True)
class VisitRow:
    code: str
    window: Window | None
    state: RowState
    cells: dict[str, Cell]
    expected: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return all(
            self.cells[f].state in ("done", "done_out_of_window", "not_done") for f in self.expected
        )


@dataclass(frozen=True)
class Casebook:
    forms: tuple[str, ...]  # the visit forms, in column order
    enrolment: tuple[Cell, ...]
    visits: tuple[VisitRow, ...]
    locked: bool
    records: tuple[RecordRef, ...] = field(default=())

    def cells(self) -> list[Cell]:
        return [*self.enrolment, *(c for row in self.visits for c in row.cells.values())]

    def count(self, status: str) -> int:
        """Cells with ``status`` among their statuses."""
        return sum(status in c.statuses for c in self.cells())

    @property
    def open_queries(self) -> int:
        return sum(r.open_queries for r in self.records)

    @property
    def verified(self) -> tuple[int, int]:
        """(records verified, records) for source data verification."""
        return sum(r.verified for r in self.records), len(self.records)


def _records_state(records: Iterable[RecordRef], window: Window | None) -> CellState:
    if window is not None and any(r.on is not None and window.days_outside(r.on) for r in records):
        return "done_out_of_window"
    return "done"


def _visit_cell(
    form: str,
    code: str,
    expected: bool,
    records: tuple[RecordRef, ...],
    window: Window | None,
    today: date,
    not_done: str | None,
    double_entry: str | None,
    locked: bool,
    ended: StudyEnd | None,
) -> Cell:
    if records:
        state: CellState = _records_state(records, window)
    elif not_done is not None:
        state = "not_done"
    elif not expected:
        state = "not_applicable"
    elif ended is not None and ended.excludes(window):
        why = ended.describe()
        return Cell(form, code, "not_expected", (), window, None, double_entry, locked, why)
    else:
        when = visit_state(window, today)
        state = "not_yet_due" if when == "not_scheduled" else when
    return Cell(form, code, state, records, window, not_done, double_entry, locked)


def _enrolment_cell(
    form: str,
    records: tuple[RecordRef, ...],
    anchors: Anchors,
    deadline: int | None,
    today: date,
    locked: bool,
    ended: StudyEnd | None,
) -> Cell:
    if any(r.done for r in records):
        state: CellState = "done"
    elif ended is not None:  # a step not done by the end of study will not be
        why = ended.describe()
        return Cell(form, None, "not_expected", records, locked=locked, not_expected_reason=why)
    elif form == "infusion" and deadline is not None and anchors.injury is not None:
        last = anchors.injury + timedelta(days=deadline)
        state = "overdue" if today > last else "due"
    else:
        state = "due"
    return Cell(form, None, state, records, locked=locked)


def _row_state(code: str, window: Window | None, today: date, ended: StudyEnd | None) -> RowState:
    if code == "unscheduled":
        return "due"
    if ended is not None and ended.excludes(window):
        return "not_expected"
    return visit_state(window, today)


def build(
    protocol: ProtocolDef,
    anchors: Anchors,
    records: Iterable[RecordRef],
    *,
    today: date,
    not_done: Mapping[tuple[str, str], str] | None = None,
    double_entries: Mapping[str, str] | None = None,
    locked: bool = False,
    ended: StudyEnd | None = None,
) -> Casebook:
    """The casebook of one patient. ``not_done``: (visit, form) -> reason; ``double_entries``:
    visit -> status of a pending ISNCSCI double entry; ``ended``: the patient's end of study
    (visits whose window opens after it are not expected; those done before it stay)."""
    records = tuple(records)
    not_done = dict(not_done or {})
    double_entries = dict(double_entries or {})
    wins = windows(protocol, anchors)
    deadline = getattr(protocol, "max_days_injury_to_infusion", None)
    enrolment = tuple(
        _enrolment_cell(
            f.id,
            tuple(r for r in records if r.form == f.id),
            anchors,
            deadline,
            today,
            locked,
            ended,
        )
        for f in ENROLMENT_STEPS
    )
    forms = tuple(f.id for f in VISIT_FORMS)
    codes = [v.code for v in protocol.visits]
    if any(r.visit == "unscheduled" for r in records):
        codes.append("unscheduled")
    expected_of = {v.code: tuple(v.forms) for v in protocol.visits}
    rows = []
    for code in codes:
        window = wins.get(code)
        expected = expected_of.get(code, ())
        cells = {
            form: _visit_cell(
                form,
                code,
                form in expected,
                tuple(r for r in records if r.form == form and r.visit == code),
                window,
                today,
                not_done.get((code, form)),
                double_entries.get(code) if form == "isncsci" else None,
                locked,
                ended if code != "unscheduled" else None,
            )
            for form in forms
        }
        state = _row_state(code, window, today, ended)
        rows.append(VisitRow(code, window, state, cells, expected))
    return Casebook(forms, enrolment, tuple(rows), locked, records)
