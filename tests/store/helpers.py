"""Assertions shared by the store tests."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cordtrial.store import db
from cordtrial.store.models import AuditEntry, RefusalLog
from cordtrial.store.refusals import Refusal


def assert_refused(url: str, code: str, action) -> Refusal:
    """Run ``action(session)`` in a unit of work; it must be refused with ``code``, nothing it
    did may be stored, and the refusal must be logged (table and audit trail)."""
    with db.session_scope(url) as s:
        before = s.scalar(select(func.count()).select_from(RefusalLog))
        audit_before = s.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(Refusal) as info:
        with db.session_scope(url) as s:
            action(s)
    assert info.value.code == code, info.value
    assert info.value.message
    with db.session_scope(url) as s:
        rows = s.scalars(select(RefusalLog).order_by(RefusalLog.id)).all()
        assert len(rows) == before + 1
        assert rows[-1].code == code
        assert rows[-1].message == info.value.message
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()[audit_before:]
        # the refused work was rolled back: the only new audit entry is the refusal itself,
        # and for a wrong password the signer's failure count (it counts toward lockout)
        expected = ["refusals"] + (["users"] if code == "authentication_failed" else [])
        assert sorted(e.table_name for e in entries) == sorted(expected)
        refusal_entry = next(e for e in entries if e.table_name == "refusals")
        assert refusal_entry.actor == rows[-1].username
    return info.value
