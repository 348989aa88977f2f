"""Data queries, source data verification, protocol deviations and locks: every state change
is stored and audited, every refusal is logged (assert_refused)."""

from __future__ import annotations

import json

from sqlalchemy import select

from cordtrial.store import audit, db
from cordtrial.store.models import (
    AdverseEvent,
    Assessment,
    AuditEntry,
    CasebookLock,
    DataLock,
    DataQuery,
    SourceVerification,
)
from cordtrial.store.services import (
    adverse_events,
    assessments,
    casebook,
    data_queries,
    deviations,
    double_entry,
    locks,
    records,
    sdv,
    users,
)

from .casebook_helpers import day, exam, record_exam
from .conftest import CHEAP_HASH, PASSWORD
from .helpers import assert_refused


def _exam(world) -> int:
    with db.session_scope(world.url) as s:
        return record_exam(world, s, "screening", day(world, 8)).id


def _ae(world) -> int:
    with db.session_scope(world.url) as s:
        return adverse_events.record_adverse_event(
            world.user(s, "investigator"),
            s,
            world.pat(s),
            term="anaemia",
            grade=1,
            serious=False,
            onset_date=day(world, 12),
        ).id


def _audit(s, table: str) -> list[tuple[str, str, dict]]:
    """(action, actor, changes) of a table's audit entries, oldest first."""
    return [
        (e.action, e.actor, json.loads(e.changes))
        for e in s.scalars(
            select(AuditEntry).where(AuditEntry.table_name == table).order_by(AuditEntry.seq)
        )
    ]


# -- data queries ------------------------------------------------------------------------------


def test_a_query_cycle_open_answer_reopen_correct_close(world):
    aid = _exam(world)

    def act(user, fn, **kw):
        def action(s):
            q = s.scalar(select(DataQuery))
            return fn(world.user(s, user), s, q, **kw)

        return action

    with db.session_scope(world.url) as s:
        q = data_queries.open_query(
            world.user(s, "monitor"),
            s,
            table="assessments",
            record_id=aid,
            field="data.c5RightMotor",
            text="Source shows 3, not 4?",
        )
        assert q.status == "open" and q.field == "data.c5RightMotor"
    # a correction is claimed before anything changed
    assert_refused(
        world.url,
        "no_correction",
        act("assessor", data_queries.answer, text="corrected", correction=True),
    )
    # only the site answers, only the monitor closes and re-opens
    assert_refused(world.url, "role_not_allowed", act("monitor", data_queries.answer, text="x"))
    assert_refused(world.url, "role_not_allowed", act("assessor", data_queries.close, text="x"))
    with db.session_scope(world.url) as s:
        act("assessor", data_queries.answer, text="4 is what the worksheet shows")(s)
    assert_refused(
        world.url, "query_transition", act("assessor", data_queries.answer, text="again")
    )
    with db.session_scope(world.url) as s:
        act("monitor", data_queries.reopen, text="The source document says 3.")(s)
        row = s.get(Assessment, aid)
        assessments.correct(
            world.user(s, "assessor"),
            s,
            row,
            reason="query: source document says 3",
            data=dict(row.data, c5RightMotor="3"),
        )
    with db.session_scope(world.url) as s:
        act("assessor", data_queries.answer, text="Corrected to 3.", correction=True)(s)
        act("monitor", data_queries.close, text="Confirmed against source.")(s)
    assert_refused(world.url, "query_transition", act("monitor", data_queries.close, text="x"))
    with db.session_scope(world.url) as s:
        q = s.scalar(select(DataQuery))
        assert q.status == "closed"
        assert [(m.action, m.correction) for m in q.messages] == [
            ("open", False),
            ("answer", False),
            ("reopen", False),
            ("answer", True),
            ("close", False),
        ]
        changes = [ch["status"] for a, _, ch in _audit(s, "data_queries") if "status" in ch]
        assert changes == [
            [None, "open"],
            ["open", "answered"],
            ["answered", "open"],
            ["open", "answered"],
            ["answered", "closed"],
        ]
        actors = [actor for a, actor, _ in _audit(s, "query_messages")]
        assert actors == ["monitor", "assessor", "monitor", "assessor", "monitor"]
        assert "c5RightMotor" in data_queries.describe(s, q)
        assert audit.verify(s).ok


def test_query_refusals(world):
    aid = _exam(world)

    def open_(user="monitor", table="assessments", rid=aid, field=None, text="why?"):
        def action(s):
            data_queries.open_query(
                world.user(s, user), s, table=table, record_id=rid, field=field, text=text
            )

        return action

    assert_refused(world.url, "role_not_allowed", open_(user="assessor"))
    assert_refused(world.url, "invalid_input", open_(field="data.nonsense"))
    assert_refused(world.url, "invalid_input", open_(text="  "))
    assert_refused(world.url, "invalid_input", open_(table="users"))
    assert_refused(world.url, "not_found", open_(rid=999_999))
    with db.session_scope(world.url) as s:
        remote = record_exam(
            world, s, "screening", day(world, 8), user="kus_investigator", code="KUS-001"
        )
        rid = remote.id
    assert_refused(world.url, "other_site", open_(rid=rid))


# -- source data verification ------------------------------------------------------------------


def test_a_verified_record_loses_its_mark_when_it_changes(world):
    aid, ae_id = _exam(world), _ae(world)
    with db.session_scope(world.url) as s:
        mon = world.user(s, "monitor")
        sdv.verify(mon, s, "assessments", aid)
        sdv.verify(mon, s, "adverse_events", ae_id)
    assert_refused(
        world.url,
        "already_verified",
        lambda s: sdv.verify(world.user(s, "monitor"), s, "assessments", aid),
    )
    assert_refused(
        world.url,
        "role_not_allowed",
        lambda s: sdv.verify(world.user(s, "investigator"), s, "assessments", aid),
    )
    with db.session_scope(world.url) as s:
        per_site, per_patient = sdv.coverage(world.user(s, "monitor"), s)
        sap = next(c for c in per_patient if c.name == "SAP-001")
        assert sap.verified == 2 and sap.total >= 6
        row = s.get(Assessment, aid)
        assessments.correct(
            world.user(s, "assessor"), s, row, reason="typo", data=dict(row.data, c6LeftMotor="2")
        )
        ae = s.get(AdverseEvent, ae_id)
        records.amend(world.user(s, "investigator"), s, ae, {"grade": 2}, reason="worse")
    with db.session_scope(world.url) as s:
        marks = s.scalars(select(SourceVerification).order_by(SourceVerification.id)).all()
        assert [(m.cleared_by, m.cleared_reason) for m in marks] == [
            ("assessor", "changed: data, result"),
            ("investigator", "changed: grade"),
        ]
        assert sdv.active_mark(s, "assessments", aid) is None
        cleared = [
            e
            for e in s.scalars(
                select(AuditEntry).where(AuditEntry.table_name == "source_verifications")
            )
            if e.action == "update"
        ]
        assert [e.actor for e in cleared] == ["assessor", "investigator"]
        assert cleared[0].reason == "source data verification cleared: changed: data, result"
        # verified again after the change
        sdv.verify(world.user(s, "monitor"), s, "assessments", aid)
        assert len(sdv.history(s, "assessments", aid)) == 2
        _, per_patient = sdv.coverage(world.user(s, "monitor"), s)
        assert next(c for c in per_patient if c.name == "SAP-001").verified == 1
        assert audit.verify(s).ok


# -- deviations ---------------------------------------------------------------------------------


def test_a_deviation_is_reported_closed_and_reopened(world):
    def report(user="investigator", **kw):
        def action(s):
            return deviations.report(
                world.user(s, user),
                s,
                world.pat(s),
                kind=kw.get("kind", "procedure"),
                description="harvest volume not recorded at the bedside",
                reason=kw.get("reason", "form lost"),
            )

        return action

    assert_refused(world.url, "role_not_allowed", report(user="assessor"))
    assert_refused(world.url, "invalid_input", report(kind="bad"))
    assert_refused(world.url, "invalid_input", report(reason=""))
    with db.session_scope(world.url) as s:
        dev_id = report()(s).id

    def move(fn, **kw):
        def action(s):
            dev, _ = deviations.get(world.user(s, "monitor"), s, dev_id)
            fn(world.user(s, "monitor"), s, dev, **kw)

        return action

    assert_refused(world.url, "deviation_transition", move(deviations.reopen, reason="x"))
    with db.session_scope(world.url) as s:
        move(deviations.close, resolution="minor; retrained staff")(s)
    assert_refused(world.url, "deviation_transition", move(deviations.close, resolution="x"))
    with db.session_scope(world.url) as s:
        move(deviations.reopen, reason="sponsor asks for a CAPA")(s)
        [(dev, p)] = deviations.list_for(world.user(s, "monitor"), s, status="open")
        assert p.study_code == "SAP-001" and dev.resolution is None
        statuses = [ch["status"] for _, _, ch in _audit(s, "deviations") if "status" in ch]
        assert statuses == [[None, "open"], ["open", "closed"], ["closed", "open"]]
        assert deviations.list_for(world.user(s, "kus_investigator"), s) == []


# -- locks ---------------------------------------------------------------------------------------


def test_a_casebook_is_locked_once_queries_are_closed_and_unlocked_with_a_reason(world):
    aid = _exam(world)
    with db.session_scope(world.url) as s:
        q = data_queries.open_query(
            world.user(s, "monitor"), s, table="assessments", record_id=aid, field=None, text="?"
        )
        qid = q.id

    def lock(password=PASSWORD, user="investigator"):
        def action(s):
            return locks.lock_casebook(world.user(s, user), s, world.pat(s), password=password)

        return action

    assert_refused(world.url, "queries_open", lock())
    with db.session_scope(world.url) as s:
        data_queries.close(world.user(s, "monitor"), s, s.get(DataQuery, qid), text="fine")
        double_entry.enter_exam(
            world.user(s, "assessor"),
            s,
            world.pat(s),
            visit_code="week1",
            assessed_on=day(world, 20),
            rhi=exam(),
            assessor_name="A",
            blinded=False,
        )
    assert_refused(world.url, "double_entry_pending", lock())
    with db.session_scope(world.url) as s:  # the pending entry goes (a test shortcut)
        from cordtrial.store.models import DoubleEntry, ExamEntry

        for row in s.scalars(select(ExamEntry)):
            s.delete(row)
        s.flush()
        for row in s.scalars(select(DoubleEntry)):
            s.delete(row)
    assert_refused(world.url, "role_not_allowed", lock(user="assessor"))
    assert_refused(world.url, "authentication_failed", lock(password="wrong-password-1"))
    with db.session_scope(world.url) as s:
        lk = lock()(s)
        assert lk.meaning == locks.MEANING and lk.records == 7 and len(lk.content_hash) == 64
    assert_refused(world.url, "already_locked", lock())
    # every change of the locked casebook is refused, whatever service makes it
    assert_refused(
        world.url, "casebook_locked", lambda s: record_exam(world, s, "screening", day(world, 9))
    )

    def correct(s):
        row = s.get(Assessment, aid)
        assessments.correct(world.user(s, "assessor"), s, row, reason="x", assessor_name="B")

    r = assert_refused(world.url, "casebook_locked", correct)
    assert "SAP-001" in r.message
    assert_refused(
        world.url,
        "casebook_locked",
        lambda s: sdv.verify(world.user(s, "monitor"), s, "assessments", aid),
    )
    assert_refused(
        world.url,
        "casebook_locked",
        lambda s: casebook.mark_not_done(
            world.user(s, "assessor"),
            s,
            world.pat(s),
            visit_code="day1",
            form="isncsci",
            reason="x",
        ),
    )
    # another patient is not affected
    with db.session_scope(world.url) as s:
        record_exam(world, s, "screening", day(world, 8), code=world.other_patient)
        book = casebook.casebook_for(world.user(s, "monitor"), s, world.pat(s))
        assert book.locked

    def unlock(reason="late lab result to enter"):
        def action(s):
            locks.unlock_casebook(world.user(s, "investigator"), s, world.pat(s), reason=reason)

        return action

    assert_refused(world.url, "invalid_input", unlock(reason=" "))
    with db.session_scope(world.url) as s:
        unlock()(s)
        record_exam(world, s, "screening", day(world, 9))
        lk = s.scalar(select(CasebookLock))
        assert lk.unlock_reason == "late lab result to enter"
        entry = [
            e
            for e in s.scalars(select(AuditEntry).where(AuditEntry.table_name == "casebook_locks"))
        ][-1]
        assert entry.action == "update" and entry.reason == "late lab result to enter"
    assert_refused(world.url, "not_locked", unlock())


def _sponsor_admin(world) -> None:
    with db.session_scope(world.url) as s:
        users.create_user(
            None,
            s,
            username="sponsor_admin",
            display_name="Sponsor Admin",
            role="admin",
            site=None,
            password_hash=CHEAP_HASH,
        )


def test_the_trial_data_lock_covers_every_signed_off_casebook(world):
    _sponsor_admin(world)

    def lock_trial(user="sponsor_admin"):
        def action(s):
            return locks.lock_trial(world.user(s, user), s, password=PASSWORD)

        return action

    assert_refused(world.url, "role_not_allowed", lock_trial(user="admin"))  # bound to a site
    with db.session_scope(world.url) as s:
        for code, inv in (("SAP-001", "investigator"), ("SAP-002", "investigator")):
            locks.lock_casebook(world.user(s, inv), s, world.pat(s, code), password=PASSWORD)
    r = assert_refused(world.url, "casebooks_not_locked", lock_trial())
    assert "KUS-001" in r.message
    with db.session_scope(world.url) as s:
        locks.lock_casebook(
            world.user(s, "kus_investigator"), s, world.pat(s, "KUS-001"), password=PASSWORD
        )
        lk = lock_trial()(s)
        assert lk.scope["patients"] == ["KUS-001", "SAP-001", "SAP-002"]
        assert lk.scope["sites"] == ["KUS", "SAP"] and lk.scope["records"]["injuries"] == 3
        statement = locks.lock_statement(s)
        assert statement.startswith(f"data lock {lk.id} of ")
        assert "3 patients at sites KUS, SAP" in statement
    assert_refused(world.url, "already_locked", lock_trial())
    assert_refused(
        world.url,
        "trial_locked",
        lambda s: locks.unlock_casebook(
            world.user(s, "investigator"), s, world.pat(s), reason="need to fix"
        ),
    )
    r = assert_refused(world.url, "trial_locked", lambda s: _register(world, s))
    assert "data lock" in r.message

    def unlock(reason):
        return lambda s: locks.unlock_trial(world.user(s, "sponsor_admin"), s, reason=reason)

    assert_refused(world.url, "invalid_input", unlock(""))
    with db.session_scope(world.url) as s:
        unlock("a site found a transcription error")(s)
        assert locks.lock_statement(s).startswith("data not locked")
        assert s.scalar(select(DataLock.unlock_reason)) == "a site found a transcription error"
    assert_refused(world.url, "not_locked", unlock("again"))


def _register(world, s):
    from cordtrial.store.models import Site
    from cordtrial.store.services import patients

    patients.register(
        world.user(s, "investigator"),
        s,
        site=s.scalar(select(Site).where(Site.code == "SAP")),
        study_code="SAP-099",
        sex="F",
        age_at_injury=30,
    )
