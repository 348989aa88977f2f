"""Raw materials and the cell product: blood draws, bone-marrow harvest, the lot and its life
cycle (cell-product.md), culture passages, release tests, QA release, custody.

Lot life cycle::

    in_process -> quarantine -> released -> dispensed -> infused
                       |            |           |
                       v            v           v
                   rejected      expired    (expired)

Only QA releases or rejects; only a released, unexpired lot can be dispensed; release needs a
passing result for every required test of the protocol's specification.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import set_reason
from ..models import (
    BloodDraw,
    CulturePassage,
    CustodyEvent,
    Lot,
    MarrowHarvest,
    Patient,
    ReleaseTest,
    User,
)
from ..protocol import Protocol, default_protocol
from ..signatures import add_signature
from .base import check, deny, reauthenticate, require_role, require_site
from .patients import has_consent_and_eligibility

PROCEDURE_ROLES = ("investigator",)
PROCESSING_ROLES = ("cell_processing",)
TESTING_ROLES = ("cell_processing", "qa")
CUSTODY_ROLES = ("cell_processing", "investigator", "qa")
DISPENSE_ROLES = ("cell_processing", "investigator")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "in_process": ("quarantine", "rejected"),
    "quarantine": ("released", "rejected", "expired"),
    "released": ("dispensed", "rejected", "expired"),
    "dispensed": ("infused", "expired"),
    "rejected": (),
    "infused": (),
    "expired": (),
}


def _procedure_allowed(session: Session, user: User, patient: Patient, action: str) -> None:
    require_role(session, user, PROCEDURE_ROLES, action)
    require_site(session, user, patient, action)
    if not has_consent_and_eligibility(session, patient):
        deny(
            session,
            user,
            "no_consent",
            f"{action}: {patient.study_code} needs a positive eligibility decision and a "
            "valid consent before any raw material is taken",
            patient=patient.study_code,
        )


def record_blood_draw(
    user: User,
    session: Session,
    patient: Patient,
    *,
    drawn_on: date,
    volume_ml: float,
    operator: str,
    serum_volume_ml: float | None = None,
) -> BloodDraw:
    _procedure_allowed(session, user, patient, "record a blood draw")
    check(session, user, 0 < volume_ml <= 600, "volume_ml", volume_ml, "0-600 mL")
    row = BloodDraw(
        patient_id=patient.id,
        drawn_on=drawn_on,
        volume_ml=volume_ml,
        serum_volume_ml=serum_volume_ml,
        operator=operator,
    )
    session.add(row)
    session.flush()
    return row


def record_harvest(
    user: User,
    session: Session,
    patient: Patient,
    *,
    harvested_on: date,
    volume_ml: float,
    operator: str,
    anatomical_site: str = "posterior iliac crest",
    complications: str | None = None,
) -> MarrowHarvest:
    _procedure_allowed(session, user, patient, "record a bone-marrow harvest")
    check(session, user, 0 < volume_ml <= 200, "volume_ml", volume_ml, "0-200 mL")
    row = MarrowHarvest(
        patient_id=patient.id,
        harvested_on=harvested_on,
        volume_ml=volume_ml,
        operator=operator,
        anatomical_site=anatomical_site,
        complications=complications,
    )
    session.add(row)
    session.flush()
    return row


def _lot_patient(session: Session, lot: Lot) -> Patient:
    return session.get(Patient, lot.patient_id)


def create_lot(
    user: User,
    session: Session,
    patient: Patient,
    *,
    lot_number: str,
    harvest: MarrowHarvest,
    culture_started_on: date,
) -> Lot:
    require_role(session, user, PROCESSING_ROLES, "start a lot")
    require_site(session, user, patient, "start a lot")
    if harvest.patient_id != patient.id:
        deny(
            session,
            user,
            "wrong_patient_lot",
            f"start a lot: harvest {harvest.id} belongs to another patient, not "
            f"{patient.study_code}",
            patient=patient.study_code,
            harvest=harvest.id,
        )
    check(
        session,
        user,
        bool(lot_number and lot_number.strip()),
        "lot_number",
        lot_number,
        "a unique lot identifier",
    )
    taken = session.scalar(select(Lot.id).where(Lot.lot_number == lot_number))
    check(session, user, taken is None, "lot_number", lot_number, "a lot number not yet used")
    check(
        session,
        user,
        culture_started_on >= harvest.harvested_on,
        "culture_started_on",
        culture_started_on.isoformat(),
        f"on or after the harvest {harvest.harvested_on}",
    )
    lot = Lot(
        lot_number=lot_number,
        patient_id=patient.id,
        harvest_id=harvest.id,
        status="in_process",
        culture_started_on=culture_started_on,
    )
    session.add(lot)
    session.flush()
    return lot


def transition(
    user: User, session: Session, lot: Lot, new_status: str, reason: str | None = None
) -> Lot:
    """Move a lot along its life cycle; refuse a move the life cycle does not allow."""
    allowed = TRANSITIONS[lot.status]
    if new_status not in allowed:
        deny(
            session,
            user,
            "lot_transition",
            f"lot {lot.lot_number}: cannot go from {lot.status!r} to {new_status!r}; "
            f"allowed: {', '.join(allowed) or 'none (final state)'}",
            lot=lot.lot_number,
            status=lot.status,
            requested=new_status,
        )
    lot.status = new_status
    if reason:
        set_reason(session, lot, reason)
    session.flush()
    return lot


def record_passage(
    user: User,
    session: Session,
    lot: Lot,
    *,
    passage_number: int,
    seeded_on: date,
    harvested_on: date,
    cells_seeded: float,
    cells_harvested: float,
    viability_pct: float,
    operator: str,
    vessels: int = 1,
    confluence_pct: float | None = None,
) -> CulturePassage:
    require_role(session, user, PROCESSING_ROLES, "record a culture passage")
    require_site(session, user, _lot_patient(session, lot), "record a culture passage")
    if lot.status != "in_process":
        deny(
            session,
            user,
            "lot_transition",
            f"lot {lot.lot_number} is {lot.status!r}: passages only while 'in_process'",
        )
    check(session, user, cells_seeded > 0, "cells_seeded", cells_seeded, "> 0")
    check(session, user, cells_harvested > 0, "cells_harvested", cells_harvested, "> 0")
    check(session, user, 0 <= viability_pct <= 100, "viability_pct", viability_pct, "0-100")
    check(
        session,
        user,
        harvested_on >= seeded_on,
        "harvested_on",
        harvested_on.isoformat(),
        f"on or after seeding ({seeded_on.isoformat()})",
    )
    check(session, user, vessels >= 1, "vessels", vessels, ">= 1")
    row = CulturePassage(
        lot_id=lot.id,
        passage_number=passage_number,
        seeded_on=seeded_on,
        harvested_on=harvested_on,
        cells_seeded=cells_seeded,
        cells_harvested=cells_harvested,
        viability_pct=viability_pct,
        operator=operator,
        vessels=vessels,
        confluence_pct=confluence_pct,
    )
    session.add(row)
    session.flush()
    return row


def cumulative_population_doublings(lot: Lot) -> float:
    """Sum of PD over passages (cell-product.md step 4)."""
    return sum(p.population_doublings for p in lot.passages)


def finish_culture(
    user: User,
    session: Session,
    lot: Lot,
    *,
    cryopreserved_on: date,
    total_viable_cells: float,
    volume_ml: float,
    storage_location: str,
    protocol: Protocol | None = None,
) -> Lot:
    """Culture done and cryopreserved: the lot goes to quarantine awaiting release."""
    protocol = protocol or default_protocol()
    require_role(session, user, PROCESSING_ROLES, "finish culture")
    require_site(session, user, _lot_patient(session, lot), "finish culture")
    check(session, user, total_viable_cells > 0, "total_viable_cells", total_viable_cells, "> 0")
    check(session, user, volume_ml > 0, "volume_ml", volume_ml, "> 0")
    if "quarantine" not in TRANSITIONS[lot.status]:
        deny(
            session,
            user,
            "lot_transition",
            f"lot {lot.lot_number} is {lot.status!r}: culture can only finish 'in_process'",
            lot=lot.lot_number,
            status=lot.status,
        )
    lot.cryopreserved_on = cryopreserved_on
    lot.expiry_date = cryopreserved_on + timedelta(days=protocol.lot_shelf_life_days)
    lot.total_viable_cells = total_viable_cells
    lot.volume_ml = volume_ml
    lot.storage_location = storage_location
    return transition(user, session, lot, "quarantine")


def record_release_test(
    user: User,
    session: Session,
    lot: Lot,
    *,
    test_code: str,
    method: str,
    tested_on: date,
    analyst: str,
    value: float | None = None,
    text_result: str | None = None,
    protocol: Protocol | None = None,
) -> ReleaseTest:
    protocol = protocol or default_protocol()
    require_role(session, user, TESTING_ROLES, "record a release test")
    require_site(session, user, _lot_patient(session, lot), "record a release test")
    spec = protocol.release_spec(test_code)
    check(
        session,
        user,
        spec is not None,
        "test_code",
        test_code,
        ", ".join(t.code for t in protocol.release_tests),
    )
    if lot.status not in ("in_process", "quarantine"):
        deny(
            session,
            user,
            "lot_transition",
            f"lot {lot.lot_number} is {lot.status!r}: release tests are recorded before release",
        )
    if spec.numeric:
        check(session, user, value is not None, "value", value, f"a number ({spec.unit or ''})")
    else:
        check(
            session,
            user,
            bool(text_result),
            "text_result",
            text_result,
            f"the observed result, e.g. {spec.expected!r}",
        )
    row = ReleaseTest(
        lot_id=lot.id,
        test_code=test_code,
        method=method,
        value=value,
        text_result=text_result,
        tested_on=tested_on,
        analyst=analyst,
        passed=spec.passes(value, text_result),
        specification=spec.describe(),
    )
    session.add(row)
    session.flush()
    return row


def release_status(session: Session, lot: Lot, protocol: Protocol) -> tuple[list[str], list[str]]:
    """(required tests with no result, required tests whose latest result fails)."""
    latest: dict[str, ReleaseTest] = {}
    for t in session.scalars(
        select(ReleaseTest)
        .where(ReleaseTest.lot_id == lot.id)
        .order_by(ReleaseTest.tested_on, ReleaseTest.id)
    ):
        latest[t.test_code] = t
    missing = [s.code for s in protocol.release_tests if s.required and s.code not in latest]
    failed = [
        s.code
        for s in protocol.release_tests
        if s.required and s.code in latest and not latest[s.code].passed
    ]
    return missing, failed


def release_lot(
    user: User,
    session: Session,
    lot: Lot,
    *,
    password: str,
    today: date,
    protocol: Protocol | None = None,
) -> Lot:
    """QA release with an electronic signature ("released for clinical use")."""
    protocol = protocol or default_protocol()
    require_role(session, user, ("qa",), "release a lot")
    require_site(session, user, _lot_patient(session, lot), "release a lot")
    if lot.status != "quarantine":
        deny(
            session,
            user,
            "lot_transition",
            f"lot {lot.lot_number} is {lot.status!r}: only a lot in quarantine can be released",
            lot=lot.lot_number,
            status=lot.status,
        )
    missing, failed = release_status(session, lot, protocol)
    if missing or failed:
        parts = []
        if missing:
            parts.append(f"no result for {', '.join(missing)}")
        if failed:
            parts.append(f"failed {', '.join(failed)}")
        deny(
            session,
            user,
            "release_tests_incomplete",
            f"lot {lot.lot_number} cannot be released: {'; '.join(parts)}",
            lot=lot.lot_number,
            missing=missing,
            failed=failed,
        )
    if lot.expiry_date is not None and lot.expiry_date < today:
        deny(
            session,
            user,
            "lot_expired",
            f"lot {lot.lot_number} expired on {lot.expiry_date.isoformat()}",
            lot=lot.lot_number,
        )
    reauthenticate(session, user, password, "release a lot")
    transition(user, session, lot, "released")
    add_signature(session, user, lot, "released for clinical use")
    return lot


def reject_lot(user: User, session: Session, lot: Lot, *, reason: str) -> Lot:
    require_role(session, user, ("qa",), "reject a lot")
    require_site(session, user, _lot_patient(session, lot), "reject a lot")
    check(session, user, bool(reason and reason.strip()), "reason", reason, "why it is rejected")
    return transition(user, session, lot, "rejected", reason=reason)


def dispense_lot(user: User, session: Session, lot: Lot, patient: Patient, *, today: date) -> Lot:
    """Issue a released, unexpired lot for its own patient."""
    require_role(session, user, DISPENSE_ROLES, "dispense a lot")
    require_site(session, user, patient, "dispense a lot")
    ensure_lot_usable(session, user, lot, patient, today, allowed=("released",))
    return transition(user, session, lot, "dispensed")


def ensure_lot_usable(
    session: Session, user: User, lot: Lot, patient: Patient, on: date, allowed: tuple[str, ...]
) -> None:
    if lot.patient_id != patient.id:
        owner = _lot_patient(session, lot)
        deny(
            session,
            user,
            "wrong_patient_lot",
            f"lot {lot.lot_number} belongs to {owner.study_code}, not {patient.study_code}",
            lot=lot.lot_number,
            patient=patient.study_code,
        )
    if lot.status == "expired" or (lot.expiry_date is not None and lot.expiry_date < on):
        deny(
            session,
            user,
            "lot_expired",
            f"lot {lot.lot_number} expired on {lot.expiry_date}",
            lot=lot.lot_number,
        )
    if lot.status not in allowed:
        deny(
            session,
            user,
            "lot_not_released",
            f"lot {lot.lot_number} is {lot.status!r}; it must be {' or '.join(allowed)}",
            lot=lot.lot_number,
            status=lot.status,
        )


def expire_lots(user: User, session: Session, *, today: date) -> list[Lot]:
    """Mark quarantined, released and dispensed lots past their expiry date as expired."""
    require_role(session, user, ("qa", "cell_processing"), "expire lots")
    q = select(Lot).where(
        Lot.status.in_(("quarantine", "released", "dispensed")), Lot.expiry_date < today
    )
    out = []
    for lot in session.scalars(q):
        if user.site_id is None or _lot_patient(session, lot).site_id == user.site_id:
            out.append(transition(user, session, lot, "expired", reason="past expiry date"))
    return out


def record_custody(
    user: User,
    session: Session,
    lot: Lot,
    *,
    at: datetime,
    from_location: str,
    to_location: str,
    condition: str | None = None,
    temperature_c: float | None = None,
) -> CustodyEvent:
    require_role(session, user, CUSTODY_ROLES, "record a custody hand-over")
    require_site(session, user, _lot_patient(session, lot), "record a custody hand-over")
    check(session, user, at.tzinfo is not None, "at", at, "a timezone-aware time")
    row = CustodyEvent(
        lot_id=lot.id,
        at=at,
        from_location=from_location,
        to_location=to_location,
        handled_by=user.display_name,
        condition=condition,
        temperature_c=temperature_c,
    )
    session.add(row)
    session.flush()
    return row
