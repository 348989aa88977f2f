"""What the store refuses whatever path the input took (CLI, import, script), and how much a
refusal may keep (issue 12, points 3 and 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cordtrial.store import db
from cordtrial.store.models import AdverseEvent, AuditEntry, RefusalLog
from cordtrial.store.refusals import MAX_ERRORS, Refusal
from cordtrial.store.services import adverse_events, records
from cordtrial.store.text import safe_echo, text_problem, value_problems

from .helpers import assert_refused


def _ae(world, term):
    def action(s):
        adverse_events.record_adverse_event(
            world.user(s, "investigator"),
            s,
            world.pat(s),
            term=term,
            grade=1,
            serious=False,
            onset_date=world.injury_date + timedelta(days=10),
        )

    return action


@pytest.mark.parametrize("bad", ["head\x00ache", "lone \ud800 surrogate", "bell\x07", "\x9f"])
def test_control_characters_are_refused_and_the_refusal_is_logged(world, bad):
    r = assert_refused(world.url, "invalid_text", _ae(world, bad))
    assert r.context["field"] == "adverse_events.term"
    with db.session_scope(world.url) as s:  # stored escaped, on PostgreSQL too
        logged = s.scalars(select(RefusalLog).order_by(RefusalLog.id.desc())).first()
        assert text_problem(logged.message) is None
        assert s.scalar(select(func.count()).select_from(AdverseEvent)) == 0


def test_tabs_and_line_breaks_are_text(world):
    with db.session_scope(world.url) as s:
        _ae(world, "rash\ton both arms\r\nresolved")(s)
    with db.session_scope(world.url) as s:
        assert s.scalar(select(AdverseEvent.term)) == "rash\ton both arms\r\nresolved"


def test_amendments_are_checked_too(world):
    from cordtrial.store.models import Injury

    def action(s):
        inj = s.scalar(select(Injury))
        records.amend(world.user(s, "investigator"), s, inj, {"mechanism": "fall\x00"}, "typo")

    assert_refused(world.url, "invalid_text", action)


def test_a_refusal_keeps_a_bounded_record(world):
    """100,000 bad items are refused with MAX_ERRORS errors kept, each value cut short: the
    permanent refusal log and its audit entry stay small whatever was sent."""
    errors = [
        {"field": f"item{i}", "value": "x" * 10_000, "allowed": "a known item"}
        for i in range(100_000)
    ]
    r = Refusal("invalid_instrument", "m" * 1_000_000, errors=errors)
    assert len(r.message) < 1100
    assert len(r.context["errors"]) == MAX_ERRORS + 1
    assert all(len(str(e["value"])) < 300 for e in r.context["errors"][:-1])

    def action(s):
        from cordtrial.store.refusals import refuse

        refuse(s, "investigator", "invalid_instrument", "m" * 1_000_000, errors=errors)

    with pytest.raises(Refusal):
        with db.session_scope(world.url) as s:
            action(s)
    with db.session_scope(world.url) as s:
        entry = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert entry.table_name == "refusals"
        assert len(entry.changes) < 20_000


def test_text_rules():
    assert text_problem("plain text, tabs\tand\nlines") is None
    assert text_problem("a\x00b") == "control character U+0000 at position 1"
    assert "surrogate" in text_problem("\udfff")
    found = dict(value_problems({"a": [1.0, float("nan")], "k\x01": "v", "ok": "fine"}))
    assert set(found) == {("a", 1), ("k\x01",)}
    assert safe_echo("x" * 500).endswith("(300 more characters)")
    assert safe_echo(float("inf")) == "inf"
    assert safe_echo("a\x00") == "a\\u0000"
