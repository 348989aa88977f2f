"""The life of one lot, from culture to infusion, and the moves its life cycle forbids."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from cordtrial.store import db, signatures
from cordtrial.store.models import LOT_STATUSES, AuditEntry, Infusion
from cordtrial.store.services import infusions
from cordtrial.store.services import manufacturing as mf
from cordtrial.store.services.manufacturing import TRANSITIONS, cumulative_population_doublings

from .conftest import PASSWORD, infusion_input, make_lot
from .helpers import assert_refused


def test_full_life_cycle(world):
    with db.session_scope(world.url) as s:
        lot = make_lot(world, s, "LOT-1", status="in_process")
        assert lot.status == "in_process"
        # 3 passages, 20-fold each: PD = log2(20) per passage
        assert cumulative_population_doublings(lot) == pytest.approx(3 * math.log2(20))
        assert lot.passages[0].doubling_time_hours == pytest.approx(120 / math.log2(20))
    with db.session_scope(world.url) as s:
        s.delete(world.lot(s, "LOT-1").passages[2])  # direct deletion is audited too
    with db.session_scope(world.url) as s:
        lot = make_lot(world, s, "LOT-2")
        assert lot.status == "released"
        assert lot.expiry_date == lot.cryopreserved_on + timedelta(days=180)
        (sig,) = signatures.status(s, lot)
        assert sig.valid and sig.signature.meaning == "released for clinical use"
        assert sig.signature.signer_name == "Qa One"
        mf.record_custody(
            world.user(s, "cell_processing"),
            s,
            lot,
            at=infusion_input(world, world.patient, "LOT-2").started_at - timedelta(hours=2),
            from_location="CPC LN2 tank 1",
            to_location="Ward 5",
            condition="dry shipper",
            temperature_c=-150.0,
        )
        mf.dispense_lot(
            world.user(s, "cell_processing"),
            s,
            lot,
            world.pat(s),
            today=world.injury_date + timedelta(days=45),
        )
        assert lot.status == "dispensed"
    with db.session_scope(world.url) as s:
        lot = world.lot(s, "LOT-2")
        infusions.record_infusion(
            world.user(s, "investigator"),
            s,
            world.pat(s),
            lot,
            infusion_input(world, world.patient, "LOT-2"),
            password=PASSWORD,
            second_person=world.user(s, "qa"),
            second_password=PASSWORD,
        )
    with db.session_scope(world.url) as s:
        lot = world.lot(s, "LOT-2")
        assert lot.status == "infused"
        # status changes after release leave the release signature valid
        assert all(st.valid for st in signatures.status(s, lot))
        inf = s.scalar(select(Infusion))
        assert inf.cells_per_kg == pytest.approx(2.5e6)
        assert inf.dilution_factor == pytest.approx(3.0)
        assert {st.signature.signer_name for st in signatures.status(s, inf)} == {
            "Investigator One",
            "Qa One",
        }
        statuses = [
            e.changes
            for e in s.scalars(
                select(AuditEntry).where(
                    AuditEntry.table_name == "lots", AuditEntry.record_id == str(lot.id)
                )
            )
        ]
        seen = [c for c in statuses if '"status"' in c]
        for step in ("quarantine", "released", "dispensed", "infused"):
            assert any(f'"{step}"]' in c for c in seen), step


@pytest.mark.parametrize("status", ["in_process", "quarantine"])
def test_cannot_dispense_unreleased(world, status):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1", status=status)

    def action(s):
        mf.dispense_lot(
            world.user(s, "cell_processing"),
            s,
            world.lot(s, "LOT-1"),
            world.pat(s),
            today=date(2026, 2, 20),
        )

    assert_refused(world.url, "lot_not_released", action)


def test_release_only_from_quarantine(world):
    with db.session_scope(world.url) as s:
        make_lot(world, s, "LOT-1", status="in_process")

    def action(s):
        mf.release_lot(
            world.user(s, "qa"),
            s,
            world.lot(s, "LOT-1"),
            password=PASSWORD,
            today=date(2026, 2, 20),
        )

    r = assert_refused(world.url, "lot_transition", action)
    assert "'in_process'" in r.message


def test_rejected_lot_is_final(world):
    with db.session_scope(world.url) as s:
        lot = make_lot(world, s, "LOT-1", status="quarantine", failing=("mycoplasma",))
        mf.reject_lot(world.user(s, "qa"), s, lot, reason="mycoplasma positive")
        entry = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert entry.reason == "mycoplasma positive"

    def action(s):
        mf.transition(world.user(s, "qa"), s, world.lot(s, "LOT-1"), "released")

    r = assert_refused(world.url, "lot_transition", action)
    assert "final state" in r.message
    assert_refused(
        world.url,
        "lot_not_released",
        lambda s: infusions.record_infusion(
            world.user(s, "investigator"),
            s,
            world.pat(s),
            world.lot(s, "LOT-1"),
            infusion_input(world, world.patient, "LOT-1"),
            password=PASSWORD,
            second_person=world.user(s, "qa"),
            second_password=PASSWORD,
        ),
    )


def test_expiry_sweep_and_expired_lot(world):
    with db.session_scope(world.url) as s:
        lot = make_lot(world, s, "LOT-1")
        expiry = lot.expiry_date
        assert mf.expire_lots(world.user(s, "qa"), s, today=expiry) == []
        assert [
            x.lot_number
            for x in mf.expire_lots(world.user(s, "qa"), s, today=expiry + timedelta(days=1))
        ] == ["LOT-1"]
        assert lot.status == "expired"

    def action(s):
        mf.dispense_lot(
            world.user(s, "cell_processing"),
            s,
            world.lot(s, "LOT-1"),
            world.pat(s),
            today=expiry - timedelta(days=10),
        )

    assert_refused(world.url, "lot_expired", action)


def test_transition_table_is_closed():
    """Every target state is a known state; final states have no way out."""
    assert set(TRANSITIONS) == set(LOT_STATUSES)
    for targets in TRANSITIONS.values():
        assert set(targets) <= set(TRANSITIONS)
    for final in ("rejected", "infused", "expired"):
        assert TRANSITIONS[final] == ()


def test_visit_schedule_follows_protocol_windows(world):
    from cordtrial.store.services import patients

    infusion = world.injury_date + timedelta(days=45)
    with db.session_scope(world.url) as s:
        inv = world.user(s, "investigator")
        visits = {
            v.code: v
            for v in patients.schedule_visits(inv, s, world.pat(s), planned_infusion=infusion)
        }
        assert visits["screening"].window_end == world.injury_date + timedelta(days=14)
        assert visits["week1"].target_date == infusion + timedelta(days=7)
        m6 = visits["month6"]  # anchored to the injury: 180 +/- 30 days (jRCT2053210130)
        assert (m6.window_start, m6.window_end) == (
            world.injury_date + timedelta(days=150),
            world.injury_date + timedelta(days=210),
        )
        assert patients.days_outside_window(m6, m6.target_date) == 0
        assert patients.days_outside_window(m6, m6.window_end + timedelta(days=3)) == 3
        assert patients.days_outside_window(m6, m6.window_start - timedelta(days=2)) == -2
        # re-planning the infusion moves the infusion-anchored visits, not the others
        later = patients.schedule_visits(
            inv, s, world.pat(s), planned_infusion=infusion + timedelta(days=5)
        )
        moved = {v.code: v.target_date for v in later}
        assert moved["week1"] == infusion + timedelta(days=12)
        assert moved["month6"] == m6.target_date
        assert len(patients.visits_of(inv, s, world.pat(s))) == 9
