"""Amending a stored record: the one path for corrections, with the reason rule."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..audit import set_reason
from ..models import (
    AdverseEvent,
    BloodDraw,
    Consent,
    CulturePassage,
    CustodyEvent,
    Infusion,
    Injury,
    Lot,
    MarrowHarvest,
    Patient,
    ReleaseTest,
    User,
)
from ..signatures import signatures_for
from .assessments import require_reason_if_signed
from .base import check, deny, require_role, require_site

# Who may amend what; fields that only their own service may set are not amendable here.
AMENDABLE: dict[type, tuple[tuple[str, ...], frozenset[str]]] = {
    Injury: (
        ("investigator",),
        frozenset({"injury_date", "mechanism", "non_penetrating", "level"}),
    ),
    Consent: (("investigator",), frozenset({"consent_date", "form_version", "withdrawn_on"})),
    BloodDraw: (
        ("investigator",),
        frozenset({"drawn_on", "volume_ml", "serum_volume_ml", "operator"}),
    ),
    MarrowHarvest: (
        ("investigator",),
        frozenset({"harvested_on", "volume_ml", "operator", "anatomical_site", "complications"}),
    ),
    CulturePassage: (
        ("cell_processing",),
        frozenset(
            {
                "seeded_on",
                "harvested_on",
                "vessels",
                "cells_seeded",
                "cells_harvested",
                "viability_pct",
                "confluence_pct",
                "operator",
            }
        ),
    ),
    Lot: (
        ("cell_processing", "qa"),
        frozenset({"storage_location", "volume_ml", "total_viable_cells"}),
    ),
    ReleaseTest: (("cell_processing", "qa"), frozenset({"method", "analyst", "tested_on"})),
    CustodyEvent: (
        ("cell_processing", "investigator", "qa"),
        frozenset({"condition", "temperature_c"}),
    ),
    Infusion: (("investigator",), frozenset({"vitals", "reaction", "thawed_at"})),
    AdverseEvent: (
        ("investigator",),
        frozenset(
            {
                "term",
                "grade",
                "serious",
                "related_product",
                "related_harvest",
                "related_blood_draw",
                "related_infusion",
                "expected",
                "resolution_date",
                "outcome",
            }
        ),
    ),
}


def _patient_of(session: Session, record) -> Patient:
    if hasattr(record, "patient_id"):
        return session.get(Patient, record.patient_id)
    return session.get(Patient, session.get(Lot, record.lot_id).patient_id)


def signed_parent(session: Session, record):
    """The signed record a change would alter: the record itself, or the lot of a release test."""
    if isinstance(record, ReleaseTest):
        return session.get(Lot, record.lot_id)
    return record


def amend(user: User, session: Session, record, changes: dict[str, Any], reason: str | None) -> Any:
    """Apply field changes; a signed record (or a test of a signed lot) needs a reason."""
    spec = AMENDABLE.get(type(record))
    if spec is None:
        deny(
            session,
            user,
            "not_amendable",
            f"{record.__tablename__} records are changed through their own service",
        )
    roles, fields = spec
    require_role(session, user, roles, f"amend {record.__tablename__}")
    require_site(session, user, _patient_of(session, record), f"amend {record.__tablename__}")
    for key in changes:
        check(session, user, key in fields, "field", key, ", ".join(sorted(fields)))
    parent = signed_parent(session, record)
    require_reason_if_signed(session, user, parent, reason)
    for key, value in changes.items():
        setattr(record, key, value)
    if reason:
        set_reason(session, record, reason)
    session.flush()
    return record


def is_signed(session: Session, record) -> bool:
    return bool(signatures_for(session, signed_parent(session, record)))
