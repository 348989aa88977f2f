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


# -- anchors outside the database (issue 12, point 5) ------------------------------------------


def _rewrite_and_rehash(url: str, seq: int, **changes) -> None:
    """The attack the chain alone cannot show: alter an entry, then recompute its hash and
    every later link and hash with the project's own entry_hash."""
    engine = _raw(url)
    with engine.begin() as conn:
        _unlock_trail(conn, engine.dialect.name)
        rows = conn.execute(
            text("SELECT * FROM audit_trail WHERE seq >= :s ORDER BY seq"), {"s": seq}
        ).mappings()
        rows = [dict(r) for r in rows]
        prev = rows[0]["prev_hash"]
        rows[0].update(changes)
        for r in rows:  # new hashes first in a free range, so unique constraints hold
            r["prev_hash"] = prev
            r["hash"] = prev = audit.entry_hash(r)
        conn.execute(
            text(
                "UPDATE audit_trail SET hash = 'x' || substr(hash, 2), prev_hash = 'y' || substr(prev_hash, 2) WHERE seq >= :s"
            ),
            {"s": seq},
        )
        for r in rows:
            conn.execute(
                text(
                    "UPDATE audit_trail SET actor = :actor, changes = :changes, "
                    "prev_hash = :prev_hash, hash = :hash WHERE seq = :seq"
                ),
                r,
            )
    engine.dispose()


def test_rehashed_chain_is_caught_by_the_audit_key(world):
    _rewrite_and_rehash(world.url, 5, actor="mallory")
    report = _verify(world.url)
    # the chain itself is consistent again ...
    assert not any("link broken" in p or "altered" in p for p in report.problems)
    # ... but the MACs, made with a key the database never held, are not
    assert any("seq 5" in p and "MAC" in p for p in report.problems), report.problems


def test_removing_the_newest_records_is_caught_by_a_checkpoint(world):
    from cordtrial.store import audit_anchor

    audit_anchor.flush_checkpoints()
    with db.session_scope(world.url) as s:
        last = s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
        entry = s.scalar(select(AuditEntry).where(AuditEntry.seq == last))
        table, rid = entry.table_name, entry.record_id
    assert _verify(world.url).ok
    engine = _raw(world.url)
    with engine.begin() as conn:  # drop the triggers, delete the record and its entry
        _unlock_trail(conn, engine.dialect.name)
        conn.execute(text(f"DELETE FROM {table} WHERE id = :id"), {"id": int(rid)})
        conn.execute(text("DELETE FROM audit_trail WHERE seq = :s"), {"s": last})
    engine.dispose()
    problems = _verify(world.url).problems
    assert any(f"seq {last}" in p and "not in the trail" in p for p in problems), problems


def test_an_expected_head_must_still_be_in_the_trail(world):
    with db.session_scope(world.url) as s:
        head = audit.verify(s).head
        assert audit.verify(s, expect_head=head).ok
        assert not audit.verify(s, expect_head=(head[0], "0" * 64)).ok
        assert not audit.verify(s, expect_head=(head[0] + 1, head[1])).ok


def test_checkpoint_and_key_files_are_checked(world):
    from cordtrial.store import audit_anchor

    audit_anchor.flush_checkpoints()
    path = audit_anchor.checkpoints_path(world.url)
    lines = path.read_text().splitlines()
    assert lines and _verify(world.url).ok
    forged = json.loads(lines[-1])
    forged["seq"] += 0
    forged["hash"] = "f" * 64
    path.write_text("\n".join([*lines, json.dumps(forged)]) + "\n")
    problems = _verify(world.url).problems
    assert any("checkpoint file line" in p and "MAC" in p for p in problems), problems
    path.write_text("\n".join(lines) + "\n")
    key = audit_anchor.key_path(world.url)
    key.rename(key.with_name("elsewhere"))
    audit_anchor.forget_keys()
    problems = _verify(world.url).problems
    assert any("audit key file" in p and "missing" in p for p in problems), problems


# -- secrets (issue 12, point 1) ---------------------------------------------------------------


def _users_changes(url) -> str:
    with db.session_scope(url) as s:
        rows = s.scalars(select(AuditEntry.changes).where(AuditEntry.table_name == "users"))
        return "\n".join(rows)


def test_password_hashes_never_enter_the_trail(world):
    from cordtrial.store.models import User
    from cordtrial.store.passwords import hash_password

    with db.session_scope(world.url) as s:
        user = world.user(s, "monitor")
        user.password_hash = hash_password("a-new-long-passphrase")
    trail = _users_changes(world.url)
    assert "$argon2" not in trail
    assert audit.SECRET_MARK in trail  # that it changed is recorded
    assert _verify(world.url).ok
    # a hash swapped behind the application's back is still detected
    engine = _raw(world.url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE users SET password_hash = :h WHERE username = 'monitor'"),
            {"h": hash_password("attackers-own-password")},
        )
    engine.dispose()
    problems = _verify(world.url).problems
    assert any("password_hash" in p for p in problems), problems
    assert not any("$argon2" in p for p in problems)
    assert User.__table__.c.password_hash.info["secret"]


def test_hashes_written_before_the_fix_are_masked_and_still_verify(world, monkeypatch):
    """Entries made by earlier versions hold the hash itself; they cannot be edited out of the
    chain, so they are masked whenever the trail is read and `verify` reads them as before."""
    from cordtrial.store.models import User
    from cordtrial.store.passwords import hash_password

    monkeypatch.setitem(User.__table__.c.password_hash.info, "secret", False)
    with db.session_scope(world.url) as s:
        world.user(s, "monitor").password_hash = hash_password("an-old-style-passphrase")
    monkeypatch.setitem(User.__table__.c.password_hash.info, "secret", True)
    assert "$argon2" in _users_changes(world.url)  # as an old store would hold it
    assert _verify(world.url).ok
    with db.session_scope(world.url) as s:
        last = s.scalars(
            select(AuditEntry).where(AuditEntry.table_name == "users").order_by(AuditEntry.seq)
        ).all()[-1]
        masked = audit.mask_secrets(last.table_name, last.changes)
    assert "$argon2" not in masked and audit.SECRET_SHOWN in masked
