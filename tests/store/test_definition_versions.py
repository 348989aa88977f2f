"""Instrument records keep their definition version: new records get the current one, an
upgraded store labels pre-versioning records as entered under version 1 (audited), records a
correction affects are listed for review by role and site, and re-entering one needs a reason."""

from __future__ import annotations

from datetime import date

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select

from cordtrial.store import audit, db
from cordtrial.store.models import Assessment, AuditEntry
from cordtrial.store.services import assessments

from .helpers import assert_refused

ON = date(2026, 3, 1)


def _record(world, s, kind, data, *, patient=None, user="assessor"):
    return assessments.record_instrument(
        world.user(s, user),
        s,
        world.pat(s, patient),
        kind=kind,
        visit_code="unscheduled",
        assessed_on=ON,
        data=data,
        assessor_name="Dr W",
        blinded=False,
        confirm=("instrument_incomplete",),  # most of these records are partial on purpose
    )


def _pre_versioning(monkeypatch):
    """Record as releases before definition versions did: the tag is the instrument id."""
    original = assessments.evaluate_instrument

    def old(kind, data):
        clean, score, _ = original(kind, data)
        return clean, score, kind

    monkeypatch.setattr(assessments, "evaluate_instrument", old)


def _rerun_migration_0003(url: str) -> None:
    """Run 0003's upgrade again on the current schema (its data step is what is tested; going
    down and up through later revisions would drop their columns' data)."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    module = ScriptDirectory.from_config(db.alembic_config()).get_revision("0003").module
    with db.get_engine(url).begin() as conn, Operations.context(MigrationContext.configure(conn)):
        module.upgrade()


def test_new_records_keep_the_current_definition_version(world):
    with db.session_scope(world.url) as s:
        assert _record(world, s, "wisci2", {"maximum": 19}).engine_version == "wisci2@2"
        assert _record(world, s, "nbd", {"flatus_incontinence": "no"}).engine_version == "nbd@1"


def test_upgrade_labels_old_records_with_the_pre_fix_version(world, monkeypatch):
    _pre_versioning(monkeypatch)
    with db.session_scope(world.url) as s:
        ids = {
            "w19": _record(world, s, "wisci2", {"self_selected": 12, "maximum": 19}).id,
            "w12": _record(world, s, "wisci2", {"maximum": 12}).id,
            "scim": _record(world, s, "scim3", {"feeding": 2}).id,
            "lutf": _record(world, s, "lutf", {"urinary_tract_drugs": "no"}).id,
        }
        assert s.get(Assessment, ids["w19"]).engine_version == "wisci2"
    monkeypatch.undo()
    _rerun_migration_0003(world.url)
    with db.session_scope(world.url) as s:
        versions = {k: s.get(Assessment, v).engine_version for k, v in ids.items()}
        assert versions == {
            "w19": "wisci2@1",
            "w12": "wisci2@1",
            "scim": "scim3@1",
            "lutf": "lutf@1",
        }
        # The change is in the audit trail, which still replays to the tables.
        entries = s.scalars(
            select(AuditEntry).where(
                AuditEntry.actor == "system",
                AuditEntry.action == "update",
                AuditEntry.table_name == "assessments",
                AuditEntry.reason.contains("0003"),
            )
        ).all()
        assert {e.record_id for e in entries} == {str(v) for v in ids.values()}
        assert all("migration 0003" in e.reason for e in entries)
        report = audit.verify(s)
        assert report.ok, report.problems
        # Only the WISCI record at 18/19 awaits review.
        pending = assessments.awaiting_review(world.user(s, "monitor"), s)
        assert [(e.assessment.id, [f.item_id for f in e.flags]) for e in pending] == [
            (ids["w19"], ["maximum"])
        ]
    # Running the migration again changes nothing.
    _rerun_migration_0003(world.url)
    with db.session_scope(world.url) as s:
        assert s.get(Assessment, ids["w19"]).engine_version == "wisci2@1"
        assert audit.verify(s).ok


@pytest.fixture
def pending(world, monkeypatch):
    """A WISCI record at 18/19 entered under wisci2@1 at each site, and one under wisci2@2."""
    _pre_versioning(monkeypatch)
    with db.session_scope(world.url) as s:
        sap = _record(world, s, "wisci2", {"self_selected": 18, "maximum": 19}).id
        kus = _record(
            world,
            s,
            "wisci2",
            {"maximum": 18},
            patient=world.remote_patient,
            user="kus_investigator",
        ).id
    monkeypatch.undo()
    _rerun_migration_0003(world.url)
    with db.session_scope(world.url) as s:
        fixed = _record(world, s, "wisci2", {"maximum": 19}).id
    return {"sap": sap, "kus": kus, "fixed": fixed}


def test_review_list_follows_roles_and_sites(world, pending):
    with db.session_scope(world.url) as s:
        for role in ("investigator", "monitor", "admin"):
            listed = [e.assessment.id for e in assessments.awaiting_review(world.user(s, role), s)]
            assert listed == [pending["sap"]], role  # their site only; never the wisci2@2 one
        remote = assessments.awaiting_review(world.user(s, "kus_investigator"), s)
        assert [e.assessment.id for e in remote] == [pending["kus"]]
    for role in ("assessor", "statistician", "qa", "cell_processing"):
        r = assert_refused(
            world.url,
            "role_not_allowed",
            lambda s, role=role: assessments.awaiting_review(world.user(s, role), s),
        )
        assert "investigator, monitor, admin" in r.message


def test_reentry_needs_the_affected_items_and_a_reason(world, pending):
    def reenter(data, reason, user="assessor"):
        def act(s):
            row = s.get(Assessment, pending["sap"])
            assessments.reenter_under_current_definition(
                world.user(s, user), s, row, data=data, reason=reason
            )

        return act

    r = assert_refused(world.url, "invalid_input", reenter({"self_selected": 18}, "source"))
    assert [e["item"] for e in r.context["errors"]] == ["maximum"]
    r = assert_refused(
        world.url, "invalid_input", reenter({"self_selected": 18, "maximum": 18}, "  ")
    )
    assert r.context["field"] == "reason"
    for bad in ("CRF\x00", "x" * 2001):
        r = assert_refused(
            world.url, "invalid_input", reenter({"self_selected": 18, "maximum": 18}, bad)
        )
        assert r.context["field"] == "reason" and "control characters" in r.message
    assert_refused(
        world.url, "role_not_allowed", reenter({"self_selected": 18, "maximum": 18}, "x", "monitor")
    )
    r = assert_refused(
        world.url, "invalid_instrument", reenter({"self_selected": 19, "maximum": 18}, "CRF")
    )
    assert r.context["errors"][0]["item"] == "self_selected"
    with db.session_scope(world.url) as s:
        reenter({"self_selected": 18, "maximum": 18}, "CRF: no devices, with braces")(s)
    with db.session_scope(world.url) as s:
        row = s.get(Assessment, pending["sap"])
        assert (row.engine_version, row.data) == ("wisci2@2", {"self_selected": 18, "maximum": 18})
        last = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.table_name == "assessments", AuditEntry.record_id == str(row.id))
            .order_by(AuditEntry.seq.desc())
        ).first()
        assert last.reason == "CRF: no devices, with braces"
        assert "wisci2@1" in last.changes and "wisci2@2" in last.changes
        listed = assessments.awaiting_review(world.user(s, "investigator"), s)
        assert listed == []


def test_plain_correction_of_an_old_record_needs_a_reason(world, pending):
    def correct(s):
        row = s.get(Assessment, pending["sap"])
        assessments.correct(world.user(s, "assessor"), s, row, reason=None, data={"maximum": 20})

    r = assert_refused(world.url, "reason_required", correct)
    assert "wisci2@1" in r.message and "wisci2@2" in r.message
    # Fields other than the data do not change the definition: no reason needed.
    with db.session_scope(world.url) as s:
        row = s.get(Assessment, pending["sap"])
        assessments.correct(world.user(s, "assessor"), s, row, reason=None, assessor_name="Dr V")
        assert row.engine_version == "wisci2@1"
