"""Read the store once into plain rows: the single input of every standards mapping.

The mappings (SDTM, ODM, REDCap, statistical files) are pure functions of a :class:`Trial`, so
the CLI, the web page and the tests share them and none of them touches the database.

De-identified by default, with the rules of the table export (:mod:`cordtrial.store.export`):
no identity table, no audit trail, no user names, and the free-text columns that may identify
(harvest complications, infusion reaction, assessor names) left out. ``identified=True`` keeps
those free-text columns; names and hospital numbers never leave through these formats.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.store import models as m
from cordtrial.store.export import FREE_TEXT
from cordtrial.store.protocol import Protocol
from cordtrial.store.protocol_versions import protocol_on

Row = dict[str, Any]

# model -> columns never carried (user references are internal ids; see module docstring)
_INTERNAL = {"entered_by_id", "reported_by_id", "obtained_by_id", "assessed_by_id",
             "confirmed_by_1_id", "confirmed_by_2_id", "assessor_id"}  # fmt: skip


@dataclass
class Trial:
    """The rows of one trial (or one site of it), keyed by patient where they belong to one."""

    protocol: Protocol
    identified: bool
    sites: list[Row]
    patients: list[Row]  # with site_code
    injuries: dict[int, Row] = field(default_factory=dict)
    eligibility: dict[int, list[Row]] = field(default_factory=dict)
    consents: dict[int, list[Row]] = field(default_factory=dict)
    visits: dict[int, list[Row]] = field(default_factory=dict)
    assessments: dict[int, list[Row]] = field(default_factory=dict)
    blood_draws: dict[int, list[Row]] = field(default_factory=dict)
    harvests: dict[int, list[Row]] = field(default_factory=dict)
    lots: dict[int, list[Row]] = field(default_factory=dict)  # with passages, release_tests
    infusions: dict[int, list[Row]] = field(default_factory=dict)  # with lot_number
    adverse_events: dict[int, list[Row]] = field(default_factory=dict)
    exported_at: datetime | None = None

    def rows(self, name: str, patient: Row) -> list[Row]:
        return getattr(self, name).get(patient["id"], [])

    @property
    def study_id(self) -> str:
        """STUDYID / ODM Study OID: the protocol id in capitals."""
        return self.protocol.id.upper()

    def last_date(self, patient: Row) -> date | None:
        """The last date anything was recorded for the patient (end of participation so far)."""
        dates = [a["assessed_on"] for a in self.rows("assessments", patient)]
        dates += [i["infused_on"] for i in self.rows("infusions", patient)]
        dates += [e["onset_date"] for e in self.rows("adverse_events", patient)]
        return max(dates) if dates else None


def _plain(obj, drop: set[str]) -> Row:
    return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs if c.key not in drop}


def _by_patient(session: Session, model, ids: list[int], drop: set[str], *order) -> dict:
    out: dict[int, list[Row]] = defaultdict(list)
    q = select(model).where(model.patient_id.in_(ids)).order_by(model.patient_id, *order)
    for obj in session.scalars(q):
        out[obj.patient_id].append(_plain(obj, drop))
    return dict(out)


def load_trial(
    session: Session,
    site_id: int | None = None,
    identified: bool = False,
    protocol: Protocol | None = None,
    now: datetime | None = None,
) -> Trial:
    """Read the trial (one site's patients if ``site_id`` is given) from the store."""
    from cordtrial.store.types import utcnow

    def drop(table: str) -> set[str]:
        return _INTERNAL | (set() if identified else FREE_TEXT.get(table, set()))

    q = select(m.Patient, m.Site.code).join(m.Site).order_by(m.Patient.study_code)
    if site_id is not None:
        q = q.where(m.Patient.site_id == site_id)
    patients = [{**_plain(p, set()), "site_code": code} for p, code in session.execute(q)]
    ids = [p["id"] for p in patients]
    used_sites = {p["site_id"] for p in patients}
    sites = [_plain(s, set()) for s in session.scalars(select(m.Site).order_by(m.Site.code))]
    trial = Trial(
        protocol=protocol or protocol_on(session),
        identified=identified,
        sites=[s for s in sites if s["id"] in used_sites or site_id is None],
        patients=patients,
        exported_at=now or utcnow(),
    )
    trial.injuries = {
        r["patient_id"]: r for rows in _by_patient(session, m.Injury, ids, set()).values()
        for r in rows
    }  # fmt: skip
    trial.eligibility = _by_patient(session, m.Eligibility, ids, drop(""), m.Eligibility.id)
    trial.consents = _by_patient(session, m.Consent, ids, drop(""), m.Consent.id)
    trial.visits = _by_patient(session, m.Visit, ids, set(), m.Visit.target_date)
    trial.assessments = _by_patient(
        session, m.Assessment, ids, drop("assessments"), m.Assessment.assessed_on, m.Assessment.id
    )
    trial.blood_draws = _by_patient(session, m.BloodDraw, ids, set(), m.BloodDraw.drawn_on)
    trial.harvests = _by_patient(
        session, m.MarrowHarvest, ids, drop("marrow_harvests"), m.MarrowHarvest.harvested_on
    )
    trial.adverse_events = _by_patient(
        session, m.AdverseEvent, ids, drop(""), m.AdverseEvent.onset_date, m.AdverseEvent.id
    )
    lots = _by_patient(session, m.Lot, ids, set(), m.Lot.lot_number)
    lot_number = {}
    for rows in lots.values():
        for lot in rows:
            lot_number[lot["id"]] = lot["lot_number"]
            lot["passages"] = [
                _plain(p, set())
                for p in session.scalars(
                    select(m.CulturePassage)
                    .where(m.CulturePassage.lot_id == lot["id"])
                    .order_by(m.CulturePassage.passage_number)
                )
            ]
            lot["release_tests"] = [
                _plain(t, set())
                for t in session.scalars(
                    select(m.ReleaseTest)
                    .where(m.ReleaseTest.lot_id == lot["id"])
                    .order_by(m.ReleaseTest.tested_on, m.ReleaseTest.id)
                )
            ]
    trial.lots = lots
    trial.infusions = _by_patient(
        session, m.Infusion, ids, drop("infusions"), m.Infusion.infused_on, m.Infusion.id
    )
    for rows in trial.infusions.values():
        for inf in rows:
            inf["lot_number"] = lot_number.get(inf["lot_id"])
    return trial
