"""The infusion: bedside chain-of-identity check by two persons, dose limits, signature.

Rules (cell-product.md step 8 and "Chain of identity"; limits from the protocol file): the
wristband code must be the patient's study code and the label code the lot number of a lot made
for this patient; the lot must be released (or dispensed) and unexpired; cells/kg at most the
protocol maximum (label 3.34e6/kg, weight measured nearest to infusion); total cells within the
protocol range; dilution and rate within limits; no more infusions than the protocol allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Infusion, Injury, Lot, Patient, Site, User
from ..protocol import DoseLimits, Protocol
from ..protocol_versions import protocol_on
from ..signatures import add_signature
from .base import check, check_all, deny, reauthenticate, require_role, require_site
from .manufacturing import ensure_lot_usable, transition
from .patients import reschedule_after_infusion
from .timing import check_event_day, local_day, site_zone

INFUSE_ROLES = ("investigator",)
CONFIRM_ROLES = ("investigator", "cell_processing", "qa", "assessor")
MEANING = "infusion performed and chain of identity confirmed"


@dataclass(frozen=True)
class InfusionInput:
    infused_on: date
    weight_kg: float
    weight_measured_on: date
    cells_total: float
    product_volume_ml: float
    diluent_volume_ml: float
    rate_ml_per_min: float
    started_at: datetime
    stopped_at: datetime
    vitals: dict
    wristband_code: str
    label_code: str
    thawed_at: datetime | None = None
    reaction: str | None = None


def dose_problem(
    limits: DoseLimits, cells_total: float, weight_kg: float, lot_cells: float | None
) -> tuple[str, str] | None:
    """(refusal code, message) when a dose breaks the protocol's limits, else None. Pure."""
    per_kg = cells_total / weight_kg
    if per_kg > limits.max_cells_per_kg:
        return (
            "dose_above_maximum",
            f"dose {per_kg:.3g} cells/kg is above the protocol maximum "
            f"{limits.max_cells_per_kg:.3g} cells/kg ({cells_total:.3g} cells, "
            f"{weight_kg:g} kg)",
        )
    if not limits.min_cells_total <= cells_total <= limits.max_cells_total:
        return (
            "dose_out_of_range",
            f"total dose {cells_total:.3g} cells is outside the protocol range "
            f"{limits.min_cells_total:.3g}-{limits.max_cells_total:.3g}",
        )
    if lot_cells is not None and cells_total > lot_cells:
        return (
            "dose_out_of_range",
            f"dose {cells_total:.3g} cells exceeds the lot's {lot_cells:.3g} viable cells",
        )
    return None


def _check_second_person(
    session: Session,
    user: User,
    patient: Patient,
    second: User | None,
    typed: str | None,
) -> None:
    if second is not None and second.id == user.id:
        deny(
            session,
            user,
            "second_person_required",
            "chain of identity must be confirmed by two different persons",
        )
    eligible = (
        second is not None
        and second.active
        and second.role in CONFIRM_ROLES
        and second.site_id in (None, patient.site_id)
    )
    if not eligible:
        name = typed if typed is not None else (second.username if second else "")
        deny(
            session,
            user,
            "invalid_second_person",
            f"second person {name!r}: not an account that may confirm an infusion here",
            field="second_username",
            value=name,
            allowed="the user name of another active account at this patient's site with "
            f"one of the roles {', '.join(CONFIRM_ROLES)}",
        )


def record_infusion(
    user: User,
    session: Session,
    patient: Patient,
    lot: Lot,
    data: InfusionInput,
    *,
    password: str,
    second_person: User | None,
    second_password: str,
    second_username: str | None = None,
    protocol: Protocol | None = None,
) -> Infusion:
    """Record an infusion; ``second_person`` is the account named as the second person (None
    when no account has the name typed, ``second_username``): refused alike, so the answer
    never reveals which names exist elsewhere or what role they have."""
    protocol = protocol or protocol_on(session, data.infused_on)
    limits = protocol.dose
    require_role(session, user, INFUSE_ROLES, "record an infusion")
    require_site(session, user, patient, "record an infusion")
    check_event_day(session, user, patient, "infused_on", data.infused_on)

    # Chain of identity: what was scanned at the bedside must match the records.
    if lot.patient_id != patient.id:
        ensure_lot_usable(session, user, lot, patient, data.infused_on, ("released", "dispensed"))
    if data.wristband_code.strip() != patient.study_code:
        deny(
            session,
            user,
            "identity_mismatch",
            f"wristband {data.wristband_code!r} is not patient {patient.study_code}",
            wristband=data.wristband_code,
            patient=patient.study_code,
        )
    if data.label_code.strip() != lot.lot_number:
        deny(
            session,
            user,
            "identity_mismatch",
            f"product label {data.label_code!r} is not lot {lot.lot_number}",
            label=data.label_code,
            lot=lot.lot_number,
        )
    ensure_lot_usable(session, user, lot, patient, data.infused_on, ("released", "dispensed"))

    done = session.scalar(
        select(func.count()).select_from(Infusion).where(Infusion.patient_id == patient.id)
    )
    if done >= protocol.max_infusions:
        deny(
            session,
            user,
            "infusion_limit",
            f"{patient.study_code} has had {done} infusion(s); the protocol allows "
            f"{protocol.max_infusions}",
            patient=patient.study_code,
            done=done,
        )

    # Every value rule at once (a form shows all its errors together); times and vitals: the
    # same rules as a correction of them.
    check_all(
        session, user, [*_value_checks(data, limits), *time_checks(session, _times(data, patient))]
    )
    per_kg = data.cells_total / data.weight_kg
    problem = dose_problem(limits, data.cells_total, data.weight_kg, lot.total_viable_cells)
    if problem is not None:
        deny(
            session,
            user,
            problem[0],
            problem[1],
            cells_per_kg=per_kg,
            maximum=limits.max_cells_per_kg,
        )
    dilution = (data.product_volume_ml + data.diluent_volume_ml) / data.product_volume_ml
    injury_date = session.scalar(select(Injury.injury_date).where(Injury.patient_id == patient.id))
    if injury_date is not None and protocol.max_days_injury_to_infusion is not None:
        days = (data.infused_on - injury_date).days
        check(
            session,
            user,
            0 <= days <= protocol.max_days_injury_to_infusion,
            "infused_on",
            data.infused_on.isoformat(),
            f"within {protocol.max_days_injury_to_infusion} days after the injury "
            f"({injury_date.isoformat()}); this is day {days}",
        )

    # Passwords last: every rule that does not need one is checked first, so a refusal never
    # tells a right password from a wrong one; wrong passwords count toward lockout.
    _check_second_person(session, user, patient, second_person, second_username)
    reauthenticate(session, user, password, "sign the infusion")
    reauthenticate(session, second_person, second_password, "confirm the infusion")

    infusion = Infusion(
        patient_id=patient.id,
        lot_id=lot.id,
        infusion_number=done + 1,
        infused_on=data.infused_on,
        weight_kg=data.weight_kg,
        weight_measured_on=data.weight_measured_on,
        cells_total=data.cells_total,
        cells_per_kg=per_kg,
        product_volume_ml=data.product_volume_ml,
        diluent_volume_ml=data.diluent_volume_ml,
        dilution_factor=dilution,
        rate_ml_per_min=data.rate_ml_per_min,
        thawed_at=data.thawed_at,
        started_at=data.started_at,
        stopped_at=data.stopped_at,
        vitals=data.vitals,
        wristband_code=data.wristband_code,
        label_code=data.label_code,
        confirmed_by_1_id=user.id,
        confirmed_by_2_id=second_person.id,
        reaction=data.reaction,
    )
    session.add(infusion)
    if lot.status == "released":
        transition(user, session, lot, "dispensed")
    transition(user, session, lot, "infused")
    patient.status = "infused"
    session.flush()
    add_signature(session, user, infusion, MEANING)
    add_signature(session, second_person, infusion, MEANING)
    reschedule_after_infusion(session, patient)
    return infusion


def _times(data: InfusionInput, patient: Patient) -> Infusion:
    """The fields validate_infusion_times reads, as an unsaved record."""
    return Infusion(
        patient_id=patient.id,
        infused_on=data.infused_on,
        started_at=data.started_at,
        stopped_at=data.stopped_at,
        thawed_at=data.thawed_at,
        vitals=data.vitals,
    )


def _value_checks(data: InfusionInput, limits: DoseLimits) -> list[tuple[bool, str, Any, str]]:
    """(ok, field, value, allowed) of the infusion's weight, volumes and rate."""
    product_ok = data.product_volume_ml > 0
    dilution = (
        (data.product_volume_ml + data.diluent_volume_ml) / data.product_volume_ml
        if product_ok
        else None
    )
    return [
        (0 < data.weight_kg <= 300, "weight_kg", data.weight_kg, "0-300 kg"),
        (
            abs((data.infused_on - data.weight_measured_on).days) <= 7,
            "weight_measured_on",
            data.weight_measured_on.isoformat(),
            "within 7 days of the infusion (dose per kg uses the weight nearest infusion)",
        ),
        (product_ok, "product_volume_ml", data.product_volume_ml, "> 0"),
        (
            dilution is None or dilution >= limits.min_dilution_factor,
            "diluent_volume_ml",
            data.diluent_volume_ml,
            f"enough for a >= {limits.min_dilution_factor:g}-fold dilution "
            f"(>= {(limits.min_dilution_factor - 1) * data.product_volume_ml:g} mL)",
        ),
        (
            limits.min_rate_ml_per_min <= data.rate_ml_per_min <= limits.max_rate_ml_per_min,
            "rate_ml_per_min",
            data.rate_ml_per_min,
            f"{limits.min_rate_ml_per_min:g}-{limits.max_rate_ml_per_min:g} mL/min",
        ),
    ]


def validate_infusion_times(session: Session, user: User, row: Infusion) -> None:
    """The times of an infusion (also after a correction): stop after start, on its day."""
    check_all(session, user, time_checks(session, row))


def time_checks(session: Session, row: Infusion) -> list[tuple[bool, str, Any, str]]:
    """(ok, field, value, allowed) of an infusion's times and vital signs."""
    patient = session.get(Patient, row.patient_id)
    site = patient.site or session.get(Site, patient.site_id)
    zone = site_zone(site)
    return [
        (
            row.stopped_at > row.started_at,
            "stopped_at",
            row.stopped_at.astimezone(zone).isoformat(timespec="minutes"),
            "after the start of the infusion",
        ),
        (
            local_day(row.started_at, site) == row.infused_on,
            "started_at",
            row.started_at.astimezone(zone).isoformat(timespec="minutes"),
            f"on the infusion day {row.infused_on.isoformat()} ({zone.key} time)",
        ),
        (
            row.thawed_at is None or row.thawed_at <= row.started_at,
            "thawed_at",
            row.thawed_at.astimezone(zone).isoformat(timespec="minutes") if row.thawed_at else None,
            "at or before the start of the infusion",
        ),
        (
            isinstance(row.vitals, dict) and {"before", "after"} <= set(row.vitals),
            "vitals",
            row.vitals,
            "a mapping with at least 'before' and 'after' readings",
        ),
    ]
