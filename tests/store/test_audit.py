"""The audit trail: who/when/old/new/reason on every change, append-only, hash-chained, and
tampering with the database (trail or data) detected by verify."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from cordtrial.store import audit, db
from cordtrial.store.models import AuditEntry, Injury, Patient
from cordtrial.store.services import records


def _verify(url):
    with db.session_scope(url) as s:
        return audit.verify(s)


def _raw(url):
    return create_engine(url)


def _unlock_trail(conn, dialect: str) -> None:
    """What an attacker with database access would do first."""
    if dialect == "sqlite":
        conn.execute(text("DROP TRIGGER audit_trail_no_update"))
        conn.execute(text("DROP TRIGGER audit_trail_no_delete"))
    else:
        conn.execute(text("ALTER TABLE audit_trail DISABLE TRIGGER USER"))


def test_clean_store_verifies(world):
    report = _verify(world.url)
    assert report.ok, report.problems
    assert report.entries > 30 and report.rows > 20


def test_change_records_who_when_old_new_reason(world):
    with db.session_scope(world.url) as s:
        inj = s.scalar(select(Injury).join(Patient).where(Patient.study_code == world.patient))
        records.amend(world.user(s, "investigator"), s, inj, {"level": "C6"}, reason="MRI re-read")
    with db.session_scope(world.url) as s:
        e = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert (e.actor, e.action, e.table_name, e.reason) == (
            "investigator",
            "update",
            "injuries",
            "MRI re-read",
        )
        assert json.loads(e.changes) == {"level": ["C5", "C6"]}
        assert e.at.endswith("+00:00")  # UTC


def test_trail_is_append_only(world):
    engine = _raw(world.url)
    for sql in ("UPDATE audit_trail SET actor = 'mallory'", "DELETE FROM audit_trail"):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(sql))
    engine.dispose()
    assert _verify(world.url).ok


def test_tampered_data_row_detected(world):
    engine = _raw(world.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE patients SET age_at_injury = 33 WHERE study_code = 'SAP-001'"))
    engine.dispose()
    report = _verify(world.url)
    assert not report.ok
    assert any(
        "patients" in p and "age_at_injury is 33" in p and "45" in p for p in report.problems
    ), report.problems


def test_inserted_and_deleted_rows_detected(world):
    engine = _raw(world.url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM patient_identities"))
        conn.execute(
            text("INSERT INTO sites (id, code, name, synthetic) VALUES (99, 'X', 'Fake', false)")
        )
    engine.dispose()
    problems = _verify(world.url).problems
    assert any("patient_identities" in p and "no delete" in p for p in problems)
    assert any("sites 99" in p and "not in the audit trail" in p for p in problems)


def test_tampered_trail_entry_detected(world):
    engine = _raw(world.url)
    dialect = engine.dialect.name
    with engine.begin() as conn:
        _unlock_trail(conn, dialect)
        conn.execute(text("UPDATE audit_trail SET actor = 'mallory' WHERE seq = 5"))
    engine.dispose()
    problems = _verify(world.url).problems
    assert any("seq 5" in p and "altered" in p for p in problems), problems


def test_rehashed_trail_entry_breaks_the_chain(world):
    """Recomputing an altered entry's own hash does not help: the next link breaks."""
    engine = _raw(world.url)
    with engine.begin() as conn:
        _unlock_trail(conn, engine.dialect.name)
        row = conn.execute(text("SELECT * FROM audit_trail WHERE seq = 5")).mappings().one()
        forged = dict(row, actor="mallory")
        conn.execute(
            text("UPDATE audit_trail SET actor = 'mallory', hash = :h WHERE seq = 5"),
            {"h": audit.entry_hash(forged)},
        )
    engine.dispose()
    problems = _verify(world.url).problems
    assert any("seq 6" in p and "link broken" in p for p in problems), problems


def test_deleted_trail_entry_detected(world):
    engine = _raw(world.url)
    with engine.begin() as conn:
        _unlock_trail(conn, engine.dialect.name)
        conn.execute(text("DELETE FROM audit_trail WHERE seq = 7"))
    engine.dispose()
    problems = _verify(world.url).problems
    assert any("expected seq 7" in p for p in problems), problems


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["mechanism", "level", "non_penetrating", "injury_date"]),
            st.integers(0, 8),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_sequence_of_changes_replays_exactly(world, changes):
    """Property: after any sequence of amendments the trail verifies and replays the rows."""
    values = {
        "mechanism": lambda i: f"mechanism {i}",
        "level": lambda i: f"C{i % 8 + 1}",
        "non_penetrating": lambda i: bool(i % 2),
        "injury_date": lambda i: date(2026, 1, 1 + i),
    }
    with db.session_scope(world.url) as s:
        inj = s.scalar(select(Injury).join(Patient).where(Patient.study_code == world.patient))
        for field, i in changes:
            records.amend(
                world.user(s, "investigator"), s, inj, {field: values[field](i)}, reason=f"test {i}"
            )
    report = _verify(world.url)
    assert report.ok, report.problems
