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

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..audit import set_reason
from ..models import (
    BloodDraw,
    CulturePassage,
    CustodyEvent,
    Lot,
    LotSerum,
    MarrowHarvest,
    Patient,
    ReleaseTest,
    User,
)
from ..protocol import Protocol
from ..protocol_versions import protocol_of, protocol_on
from ..rules import blood_draw_deviations
from ..signatures import add_signature
from . import deviations
from .base import check, deny, reauthenticate, require_role, require_site
from .fields import check_text
from .patients import has_consent_and_eligibility
from .timing import check_event_day, injury_date_of, site_today

PROCEDURE_ROLES = ("investigator",)
PROCESSING_ROLES = ("cell_processing",)
TESTING_ROLES = ("cell_processing", "qa")
CUSTODY_ROLES = ("cell_processing", "investigator", "qa")
DISPENSE_ROLES = ("cell_processing", "investigator")
LOT_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "in_process": ("quarantine", "rejected"),
    "quarantine": ("released", "rejected", "expired"),
    "released": ("dispensed", "rejected", "expired"),
    "dispensed": ("infused", "expired"),
    "rejected": (),
    "infused": (),
    "expired": (),
}


def _procedure_allowed(
    session: Session, user: User, patient: Patient, action: str, on: date | None = None
) -> None:
    require_role(session, user, PROCEDURE_ROLES, action)
    require_site(session, user, patient, action)
    if not has_consent_and_eligibility(session, patient, on):
        when = f" on {on.isoformat()}" if on is not None else ""
        deny(
            session,
            user,
            "no_consent",
            f"{action}: {patient.study_code} needs a positive eligibility decision and a "
            f"valid consent{when} before any raw material is taken",
            patient=patient.study_code,
        )


def _check_operator(session: Session, user: User, operator: str) -> None:
    check_text(session, user, "operator", operator, "the name of the person who did it")


def validate_blood_draw(session: Session, user: User, patient: Patient, row: BloodDraw) -> None:
    """A draw for autologous serum: on a day with consent and eligibility, within the
    protocol's volume (the day after injury outside the plan is a deviation, not a refusal)."""
    check_event_day(session, user, patient, "drawn_on", row.drawn_on)
    _procedure_allowed(session, user, patient, "record a blood draw", row.drawn_on)
    rm = protocol_on(session, row.drawn_on).raw_material
    limit = rm.max_blood_volume_ml if rm is not None else 600.0
    check(session, user, 0 < row.volume_ml <= limit, "volume_ml", row.volume_ml, f"0-{limit:g} mL")
    if row.serum_volume_ml is not None:
        check(
            session,
            user,
            0 < row.serum_volume_ml <= row.volume_ml,
            "serum_volume_ml",
            row.serum_volume_ml,
            f"more than 0 and at most the blood drawn ({row.volume_ml:g} mL), or blank",
        )
    _check_operator(session, user, row.operator)
    if row.id is not None:  # a correction: the serum may already be in a culture
        started = session.scalar(
            select(func.min(Lot.culture_started_on))
            .join(LotSerum, LotSerum.lot_id == Lot.id)
            .where(LotSerum.blood_draw_id == row.id)
        )
        _check_before_culture(session, user, "drawn_on", row.drawn_on, started, "serum")


def _check_before_culture(
    session: Session, user: User, field: str, day: date, started: date | None, what: str
) -> None:
    """A raw material's (corrected) day is not after the start of a culture that uses it: the
    same order the lot's start checks (validate_lot_start), kept when either side changes."""
    check(
        session,
        user,
        started is None or day <= started,
        field,
        day.isoformat(),
        f"on or before {started.isoformat() if started else ''}, the start of the culture that "
        f"uses this {what}",
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
    row = BloodDraw(
        patient_id=patient.id,
        drawn_on=drawn_on,
        volume_ml=volume_ml,
        serum_volume_ml=serum_volume_ml,
        operator=operator,
    )
    require_role(session, user, PROCEDURE_ROLES, "record a blood draw")
    require_site(session, user, patient, "record a blood draw")
    validate_blood_draw(session, user, patient, row)
    session.add(row)
    session.flush()
    record_draw_deviation(user, session, patient, row)
    return row


def blood_draw_deviations_of(session: Session, row: BloodDraw) -> list[str]:
    """How a stored draw departs from the protocol in effect on its day (rules.py)."""
    earlier = session.scalar(
        select(func.count(BloodDraw.id)).where(
            BloodDraw.patient_id == row.patient_id,
            BloodDraw.id != row.id,  # its own stored day may be the one being corrected
            (BloodDraw.drawn_on < row.drawn_on)
            | ((BloodDraw.drawn_on == row.drawn_on) & (BloodDraw.id < row.id)),
        )
    )
    injury = injury_date_of(session, session.get(Patient, row.patient_id))
    return blood_draw_deviations(
        protocol_on(session, row.drawn_on), injury, row.drawn_on, earlier + 1
    )


def record_draw_deviation(user: User, session: Session, patient: Patient, row: BloodDraw):
    """The draw's protocol deviation in the deviations list (made, updated, or left alone)."""
    whys = blood_draw_deviations_of(session, row)
    description = "blood draw: " + "; ".join(whys) if whys else None
    return deviations.sync_record_deviation(
        user, session, patient, row, kind="procedure", description=description
    )


def validate_harvest(session: Session, user: User, patient: Patient, row: MarrowHarvest) -> None:
    """A bone-marrow harvest: on a day with consent and eligibility, within the protocol's days
    after injury (label: ~31 days) and volume."""
    check_event_day(session, user, patient, "harvested_on", row.harvested_on)
    _procedure_allowed(session, user, patient, "record a bone-marrow harvest", row.harvested_on)
    rm = protocol_on(session, row.harvested_on).raw_material
    limit = rm.max_harvest_volume_ml if rm is not None else 200.0
    check(session, user, 0 < row.volume_ml <= limit, "volume_ml", row.volume_ml, f"0-{limit:g} mL")
    injury = injury_date_of(session, patient)
    if rm is not None and rm.max_days_injury_to_harvest is not None and injury is not None:
        days = (row.harvested_on - injury).days
        check(
            session,
            user,
            days <= rm.max_days_injury_to_harvest,
            "harvested_on",
            row.harvested_on.isoformat(),
            f"within {rm.max_days_injury_to_harvest} days after the injury "
            f"({injury.isoformat()}); this is day {days}",
        )
    check(
        session,
        user,
        bool(row.anatomical_site and row.anatomical_site.strip()),
        "anatomical_site",
        row.anatomical_site,
        "where the marrow was aspirated, e.g. posterior iliac crest",
    )
    _check_operator(session, user, row.operator)
    if row.id is not None:  # a correction: the marrow may already be in a culture
        started = session.scalar(
            select(func.min(Lot.culture_started_on)).where(Lot.harvest_id == row.id)
        )
        _check_before_culture(session, user, "harvested_on", row.harvested_on, started, "harvest")


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
    row = MarrowHarvest(
        patient_id=patient.id,
        harvested_on=harvested_on,
        volume_ml=volume_ml,
        operator=operator,
        anatomical_site=anatomical_site,
        complications=complications,
    )
    require_role(session, user, PROCEDURE_ROLES, "record a bone-marrow harvest")
    require_site(session, user, patient, "record a bone-marrow harvest")
    validate_harvest(session, user, patient, row)
    session.add(row)
    session.flush()
    return row


def _lot_patient(session: Session, lot: Lot) -> Patient:
    return session.get(Patient, lot.patient_id)


def next_lot_number(session: Session, patient: Patient) -> str:
    """The next free lot number of a patient: <study code>-L1, -L2, ..."""
    n = 1
    while session.scalar(select(Lot.id).where(Lot.lot_number == f"{patient.study_code}-L{n}")):
        n += 1
    return f"{patient.study_code}-L{n}"


def serum_of(session: Session, lot: Lot) -> list[BloodDraw]:
    """The blood draws whose serum the lot's culture uses."""
    return list(
        session.scalars(
            select(BloodDraw)
            .join(LotSerum, LotSerum.blood_draw_id == BloodDraw.id)
            .where(LotSerum.lot_id == lot.id)
            .order_by(BloodDraw.drawn_on, BloodDraw.id)
        )
    )


def validate_lot_start(
    session: Session,
    user: User,
    patient: Patient,
    lot: Lot,
    harvest: MarrowHarvest,
    serum: Sequence[BloodDraw],
) -> None:
    """Chain of identity at the start of culture: the harvest and every serum draw are this
    patient's, taken before the culture started."""
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
    for draw in serum:
        if draw.patient_id != patient.id:
            deny(
                session,
                user,
                "wrong_patient_serum",
                f"start a lot: the serum of blood draw {draw.id} belongs to another patient, "
                f"not {patient.study_code}",
                patient=patient.study_code,
                blood_draw=draw.id,
            )
    rm = protocol_on(session, lot.culture_started_on).raw_material
    check(
        session,
        user,
        bool(serum) or rm is None,
        "serum_draw_ids",
        [],
        "the blood draws whose autologous serum the culture uses (at least one)",
    )
    for draw in serum:
        check(
            session,
            user,
            draw.serum_volume_ml is not None,
            "serum_draw_ids",
            draw.id,
            f"draws with prepared serum (draw {draw.id} on {draw.drawn_on} has no serum volume)",
        )
    check(
        session,
        user,
        isinstance(lot.lot_number, str) and bool(LOT_NUMBER.match(lot.lot_number or "")),
        "lot_number",
        lot.lot_number,
        "a unique lot identifier: 2-64 of A-Z, a-z, 0-9, '-', '_' and '.'",
    )
    check_event_day(session, user, patient, "culture_started_on", lot.culture_started_on)
    latest = max([harvest.harvested_on, *(d.drawn_on for d in serum)])
    check(
        session,
        user,
        lot.culture_started_on >= latest,
        "culture_started_on",
        lot.culture_started_on.isoformat(),
        f"on or after the harvest and the serum draws ({latest.isoformat()})",
    )


def create_lot(
    user: User,
    session: Session,
    patient: Patient,
    *,
    lot_number: str,
    harvest: MarrowHarvest,
    culture_started_on: date,
    serum: Sequence[BloodDraw] = (),
    label_code: str | None = None,
) -> Lot:
    """Start a lot from a patient's bone-marrow harvest and autologous serum. ``label_code``
    is the study code read on the raw materials' labels at the processing center: it must be
    the patient's (chain of identity)."""
    require_role(session, user, PROCESSING_ROLES, "start a lot")
    require_site(session, user, patient, "start a lot")
    if label_code is not None and label_code.strip() != patient.study_code:
        deny(
            session,
            user,
            "identity_mismatch",
            f"start a lot: the raw-material label reads {label_code!r}, not {patient.study_code}",
            field="label_code",
            value=label_code,
            allowed=f"{patient.study_code}, the study code of the patient whose lot this is "
            "(check the labels: these may be another patient's materials)",
        )
    lot = Lot(
        lot_number=lot_number,
        patient_id=patient.id,
        harvest_id=harvest.id,
        status="in_process",
        culture_started_on=culture_started_on,
    )
    validate_lot_start(session, user, patient, lot, harvest, serum)
    taken = session.scalar(select(Lot.id).where(Lot.lot_number == lot_number))
    check(session, user, taken is None, "lot_number", lot_number, "a lot number not yet used")
    session.add(lot)
    session.flush()
    for draw in serum:
        session.add(LotSerum(lot_id=lot.id, blood_draw_id=draw.id))
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


def validate_passage(session: Session, user: User, lot: Lot, row: CulturePassage) -> None:
    patient = _lot_patient(session, lot)
    check(session, user, row.cells_seeded > 0, "cells_seeded", row.cells_seeded, "> 0")
    check(session, user, row.cells_harvested > 0, "cells_harvested", row.cells_harvested, "> 0")
    check(session, user, 0 <= row.viability_pct <= 100, "viability_pct", row.viability_pct, "0-100")
    if row.confluence_pct is not None:
        check(
            session,
            user,
            0 <= row.confluence_pct <= 100,
            "confluence_pct",
            row.confluence_pct,
            "0-100 or blank",
        )
    check(
        session,
        user,
        row.seeded_on >= lot.culture_started_on,
        "seeded_on",
        row.seeded_on.isoformat(),
        f"on or after the culture start ({lot.culture_started_on.isoformat()})",
    )
    check(
        session,
        user,
        row.harvested_on >= row.seeded_on,
        "harvested_on",
        row.harvested_on.isoformat(),
        f"on or after seeding ({row.seeded_on.isoformat()})",
    )
    check_event_day(session, user, patient, "harvested_on", row.harvested_on, on_study=False)
    check(session, user, row.vessels >= 1, "vessels", row.vessels, ">= 1")
    _check_operator(session, user, row.operator)


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
    validate_passage(session, user, lot, row)
    taken = session.scalar(
        select(CulturePassage.id).where(
            CulturePassage.lot_id == lot.id, CulturePassage.passage_number == passage_number
        )
    )
    check(
        session,
        user,
        taken is None,
        "passage_number",
        passage_number,
        "a passage number not yet recorded for this lot",
    )
    session.add(row)
    session.flush()
    return row


def cumulative_population_doublings(lot: Lot) -> float:
    """Sum of PD over passages (cell-product.md step 4)."""
    return sum(p.population_doublings for p in lot.passages)


def validate_lot(session: Session, user: User, lot: Lot) -> None:
    """A lot's own figures and dates (after culture start, the cryopreservation, the release)."""
    patient = _lot_patient(session, lot)
    check_event_day(session, user, patient, "culture_started_on", lot.culture_started_on)
    for name in ("total_viable_cells", "volume_ml"):
        value = getattr(lot, name)
        if value is not None:
            check(session, user, value > 0, name, value, "> 0")
    if lot.cryopreserved_on is not None:
        check(
            session,
            user,
            lot.cryopreserved_on >= lot.culture_started_on,
            "cryopreserved_on",
            lot.cryopreserved_on.isoformat(),
            f"on or after the culture start ({lot.culture_started_on.isoformat()})",
        )
        check_event_day(
            session, user, patient, "cryopreserved_on", lot.cryopreserved_on, on_study=False
        )
    check_text(
        session,
        user,
        "storage_location",
        lot.storage_location,
        "where the frozen lot is stored",
        required=False,
    )


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
    """Culture done and cryopreserved: the lot goes to quarantine awaiting release; it expires
    after the shelf life of the protocol version the lot was started under."""
    protocol = protocol or protocol_of(session, lot)
    require_role(session, user, PROCESSING_ROLES, "finish culture")
    require_site(session, user, _lot_patient(session, lot), "finish culture")
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
    validate_lot(session, user, lot)
    last = max((p.harvested_on for p in lot.passages), default=None)
    if last is not None:
        check(
            session,
            user,
            cryopreserved_on >= last,
            "cryopreserved_on",
            cryopreserved_on.isoformat(),
            f"on or after the last passage's harvest ({last.isoformat()})",
        )
    return transition(user, session, lot, "quarantine")


def judge_release_test(
    session: Session, user: User, lot: Lot, row: ReleaseTest, protocol: Protocol | None = None
) -> None:
    """Check a release result against the lot's specification and set ``passed`` (again after
    a correction: the judgement follows the corrected value)."""
    protocol = protocol or protocol_of(session, lot)
    spec = protocol.release_spec(row.test_code)
    check(
        session,
        user,
        spec is not None,
        "test_code",
        row.test_code,
        ", ".join(t.code for t in protocol.release_tests),
    )
    if spec.numeric:
        check(
            session,
            user,
            row.value is not None,
            "value",
            row.value,
            f"a number ({spec.unit or ''})",
        )
    else:
        check(
            session,
            user,
            bool(row.text_result),
            "text_result",
            row.text_result,
            f"the observed result, e.g. {spec.expected!r}",
        )
    for name in ("method", "analyst"):
        check_text(session, user, name, getattr(row, name), f"the {name}")
    check(
        session,
        user,
        row.tested_on >= lot.culture_started_on,
        "tested_on",
        row.tested_on.isoformat(),
        f"on or after the culture start ({lot.culture_started_on.isoformat()})",
    )
    check_event_day(
        session, user, _lot_patient(session, lot), "tested_on", row.tested_on, on_study=False
    )
    row.passed = spec.passes(row.value, row.text_result)
    row.specification = spec.describe()


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
    require_role(session, user, TESTING_ROLES, "record a release test")
    require_site(session, user, _lot_patient(session, lot), "record a release test")
    if lot.status not in ("in_process", "quarantine"):
        deny(
            session,
            user,
            "lot_transition",
            f"lot {lot.lot_number} is {lot.status!r}: release tests are recorded before release",
        )
    row = ReleaseTest(
        lot_id=lot.id,
        test_code=test_code,
        method=method,
        value=value,
        text_result=text_result,
        tested_on=tested_on,
        analyst=analyst,
        passed=False,
        specification="",
    )
    judge_release_test(session, user, lot, row, protocol)
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
    released_on: date | None = None,
    protocol: Protocol | None = None,
) -> Lot:
    """QA release with an electronic signature ("released for clinical use"), against the
    specification of the lot's protocol version. ``released_on`` is the day of the release
    decision (default ``today``), checked like every event day: not to come, after the
    cryopreservation and the latest results, before expiry."""
    protocol = protocol or protocol_of(session, lot)
    day = released_on or today
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
        # named as the specification names them; the codes stay in the refusal's context
        name = {t.code: t.name for t in protocol.release_tests}
        parts = []
        if missing:
            parts.append(f"no result for {', '.join(name[c] for c in missing)}")
        if failed:
            parts.append(f"outside the limit: {', '.join(name[c] for c in failed)}")
        deny(
            session,
            user,
            "release_tests_incomplete",
            f"lot {lot.lot_number} cannot be released: {'; '.join(parts)}",
            lot=lot.lot_number,
            missing=missing,
            failed=failed,
        )
    if lot.expiry_date is not None and lot.expiry_date < day:
        deny(
            session,
            user,
            "lot_expired",
            f"lot {lot.lot_number} expired on {lot.expiry_date.isoformat()}",
            lot=lot.lot_number,
        )
    patient = _lot_patient(session, lot)
    check(
        session,
        user,
        day <= site_today(patient.site),
        "released_on",
        day.isoformat(),
        f"a day that has come (today at site {patient.site.code}: "
        f"{site_today(patient.site).isoformat()})",
    )
    last_test = session.scalar(
        select(func.max(ReleaseTest.tested_on)).where(ReleaseTest.lot_id == lot.id)
    )
    earliest = max(d for d in (lot.cryopreserved_on, last_test) if d is not None)
    check(
        session,
        user,
        day >= earliest,
        "released_on",
        day.isoformat(),
        f"on or after the cryopreservation and the last release test ({earliest.isoformat()})",
    )
    reauthenticate(session, user, password, "release a lot")
    lot.released_on = day
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
    if lot.released_on is not None and lot.released_on > on:
        deny(
            session,
            user,
            "lot_not_released",
            f"lot {lot.lot_number} was released on {lot.released_on.isoformat()}, after "
            f"{on.isoformat()}",
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
