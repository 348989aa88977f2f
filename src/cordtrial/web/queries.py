"""Read-side queries for pages and the API, scoped to what the caller may see.

Reads only: every change goes through cordtrial.store services. Another site's record is
answered as "not found", so its existence is not revealed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from cordtrial.store import models as m

from .errors import NotFound
from .principal import Principal

# Stages of a patient's path through the trial, in order (study.md, cell-product.md).
STAGES: tuple[tuple[str, str], ...] = (
    ("screening", "Screening"),
    ("enrolled", "Consented"),
    ("harvested", "Raw material collected"),
    ("culture", "Cell culture"),
    ("released", "Lot released"),
    ("infused", "Infused, follow-up"),
    ("completed", "Study completed"),
    ("withdrawn", "Withdrawn"),
)
STAGE_LABELS = dict(STAGES)


def visible_patients(db: DbSession, who: Principal) -> list[m.Patient]:
    q = select(m.Patient).order_by(m.Patient.study_code)
    if who.site_id is not None:
        q = q.where(m.Patient.site_id == who.site_id)
    return list(db.scalars(q))


def get_patient(db: DbSession, who: Principal, patient_id: int) -> m.Patient:
    patient = db.get(m.Patient, patient_id)
    if patient is None or not who.sees_site(patient.site_id):
        raise NotFound(f"no patient with id {patient_id}")
    return patient


def get_patient_by_code(db: DbSession, who: Principal, code: str) -> m.Patient:
    patient = db.scalar(select(m.Patient).where(m.Patient.study_code == code))
    if patient is None or not who.sees_site(patient.site_id):
        raise NotFound(f"no patient with study code {code!r}")
    return patient


def get_lot(db: DbSession, who: Principal, lot_id: int) -> m.Lot:
    lot = db.get(m.Lot, lot_id)
    if lot is None or not who.sees_site(lot.patient.site_id):
        raise NotFound(f"no lot with id {lot_id}")
    return lot


def visible_lots(db: DbSession, who: Principal) -> list[m.Lot]:
    q = select(m.Lot).join(m.Patient).order_by(m.Lot.lot_number)
    if who.site_id is not None:
        q = q.where(m.Patient.site_id == who.site_id)
    return list(db.scalars(q))


def awaiting_lot(db: DbSession, who: Principal) -> list[m.Patient]:
    """Patients with a bone-marrow harvest and no lot yet (the processing center's worklist)."""
    with_lot = select(m.Lot.patient_id)
    q = (
        select(m.Patient)
        .where(
            m.Patient.id.in_(select(m.MarrowHarvest.patient_id)),
            m.Patient.id.not_in(with_lot),
            m.Patient.ended_on.is_(None),
        )
        .order_by(m.Patient.study_code)
    )
    if who.site_id is not None:
        q = q.where(m.Patient.site_id == who.site_id)
    return list(db.scalars(q))


def patient_lots(db: DbSession, patient: m.Patient) -> list[m.Lot]:
    return list(db.scalars(select(m.Lot).where(m.Lot.patient_id == patient.id).order_by(m.Lot.id)))


def patient_infusions(db: DbSession, patient: m.Patient) -> list[m.Infusion]:
    q = select(m.Infusion).where(m.Infusion.patient_id == patient.id)
    return list(db.scalars(q.order_by(m.Infusion.infusion_number)))


def patient_assessments(db: DbSession, patient: m.Patient, kind: str | None = None):
    q = select(m.Assessment).where(m.Assessment.patient_id == patient.id)
    if kind:
        q = q.where(m.Assessment.kind == kind)
    return list(db.scalars(q.order_by(m.Assessment.assessed_on, m.Assessment.id)))


def patient_adverse_events(db: DbSession, patient: m.Patient) -> list[m.AdverseEvent]:
    q = select(m.AdverseEvent).where(m.AdverseEvent.patient_id == patient.id)
    return list(db.scalars(q.order_by(m.AdverseEvent.onset_date, m.AdverseEvent.id)))


def visible_adverse_events(db: DbSession, who: Principal) -> list[tuple[m.AdverseEvent, m.Patient]]:
    q = select(m.AdverseEvent, m.Patient).join(m.Patient)
    if who.site_id is not None:
        q = q.where(m.Patient.site_id == who.site_id)
    rows = db.execute(q.order_by(m.AdverseEvent.onset_date.desc(), m.AdverseEvent.id.desc()))
    return [(ae, p) for ae, p in rows]


def lot_signatures(db: DbSession, lot: m.Lot) -> list[m.Signature]:
    q = select(m.Signature).where(
        m.Signature.record_table == "lots", m.Signature.record_id == lot.id
    )
    return list(db.scalars(q.order_by(m.Signature.signed_at)))


def stage_of(db: DbSession, patient: m.Patient) -> str:
    """Derive the stage from the recorded facts (not from a free status field)."""
    return stages_of(db, [patient])[patient.id]


def stages_of(db: DbSession, patients: list[m.Patient]) -> dict[int, str]:
    """The stage of each patient, read with one query per kind of fact (a dashboard of many
    patients costs the same handful of queries as one)."""
    ids = [p.id for p in patients]

    def having(column, *where) -> set[int]:
        return set(db.scalars(select(column).where(column.in_(ids), *where).distinct()))

    withdrawn = having(m.Consent.patient_id, m.Consent.withdrawn_on.is_not(None))
    consented = having(m.Consent.patient_id)
    infused = having(m.Infusion.patient_id)
    released = having(m.Lot.patient_id, m.Lot.status.in_(("released", "dispensed")))
    culture = having(m.Lot.patient_id, m.Lot.status.in_(("in_process", "quarantine")))
    harvested = having(m.MarrowHarvest.patient_id) | having(m.BloodDraw.patient_id)
    stages = {}
    for patient in patients:
        pid = patient.id
        if patient.ended_on is not None:  # the end of study outranks every other fact
            stages[pid] = "completed" if patient.end_reason == "completed" else "withdrawn"
            continue
        for stage, members in (
            ("withdrawn", withdrawn),
            ("infused", infused),
            ("released", released),
            ("culture", culture),
            ("harvested", harvested),
            ("enrolled", consented),
        ):
            if pid in members:
                stages[pid] = stage
                break
        else:
            stages[pid] = "screening"
    return stages


@dataclass
class Event:
    on: date
    kind: str
    title: str
    detail: str = ""
    link: str | None = None
    badges: list[tuple[str, str]] = field(default_factory=list)  # (text, css class)
    record: str | None = None  # the stored record's page (/records/{table}/{id}): corrections


def _day(d: date | datetime) -> date:
    return d.date() if isinstance(d, datetime) else d


def timeline(db: DbSession, patient: m.Patient) -> list[Event]:
    """Everything that happened to one patient, in date order."""
    pid = patient.id
    events: list[Event] = []
    if patient.injury is not None:
        inj = patient.injury
        events.append(
            Event(
                inj.injury_date,
                "injury",
                f"Injury at {inj.level}",
                inj.mechanism,
                record=f"/records/injuries/{inj.id}",
            )
        )
    for e in db.scalars(select(m.Eligibility).where(m.Eligibility.patient_id == pid)):
        badge = ("eligible", "ok") if e.eligible else ("not eligible", "bad")
        events.append(
            Event(
                e.assessed_on,
                "eligibility",
                "Eligibility assessed",
                badges=[badge],
                record=f"/records/eligibility/{e.id}",
            )
        )
    for c in db.scalars(select(m.Consent).where(m.Consent.patient_id == pid)):
        ref = f"/records/consents/{c.id}"
        by = f", taken by {c.taken_by}" if c.taken_by else ""
        events.append(
            Event(c.consent_date, "consent", "Consent", f"form {c.form_version}{by}", record=ref)
        )
        if c.withdrawn_on:
            use = f"may still be used: {c.withdrawal_use}" if c.withdrawal_use else ""
            events.append(Event(c.withdrawn_on, "consent", "Consent withdrawn", use, record=ref))
    for b in db.scalars(select(m.BloodDraw).where(m.BloodDraw.patient_id == pid)):
        serum = f", {b.serum_volume_ml:g} mL serum" if b.serum_volume_ml else ""
        events.append(
            Event(
                b.drawn_on,
                "blood_draw",
                "Blood draw (autologous serum)",
                f"{b.volume_ml:g} mL{serum}",
                record=f"/records/blood_draws/{b.id}",
            )
        )
    for h in db.scalars(select(m.MarrowHarvest).where(m.MarrowHarvest.patient_id == pid)):
        detail = f"{h.volume_ml:g} mL, {h.anatomical_site}"
        if h.complications:
            detail += f"; {h.complications}"
        events.append(
            Event(
                h.harvested_on,
                "harvest",
                "Bone-marrow harvest",
                detail,
                record=f"/records/marrow_harvests/{h.id}",
            )
        )
    for lot in patient_lots(db, patient):
        link = f"/lots/{lot.id}"
        events.append(
            Event(
                lot.culture_started_on,
                "culture",
                f"Culture started, lot {lot.lot_number}",
                link=link,
                badges=[(lot.status, "")],
                record=f"/records/lots/{lot.id}",
            )
        )
        for p in lot.passages:
            events.append(
                Event(
                    p.harvested_on,
                    "culture",
                    f"Passage {p.passage_number} harvested",
                    f"PD {p.population_doublings:.2f}, viability {p.viability_pct:g}%",
                    link,
                )
            )
        for s in lot_signatures(db, lot):
            events.append(
                Event(
                    _day(s.signed_at),
                    "release",
                    f"Lot {lot.lot_number}: {s.meaning}",
                    f"signed by {s.signer_name}",
                    link,
                    [("signed", "ok")],
                )
            )
    lot_numbers = {lot.id: lot.lot_number for lot in patient_lots(db, patient)}
    for inf in patient_infusions(db, patient):
        events.append(
            Event(
                inf.infused_on,
                "infusion",
                f"Infusion #{inf.infusion_number}",
                f"{sci(inf.cells_total)} cells ({sci(inf.cells_per_kg)}/kg), "
                f"lot {lot_numbers.get(inf.lot_id, '?')}",
                f"/infusions/{inf.id}",
                record=f"/records/infusions/{inf.id}",
            )
        )
    for a in patient_assessments(db, patient):
        events.append(_assessment_event(a))
    for ae in patient_adverse_events(db, patient):
        badges = [(f"grade {ae.grade}", "warn" if ae.grade < 3 else "bad")]
        if ae.serious:
            badges.append(("SAE", "bad"))
        events.append(
            Event(
                ae.onset_date,
                "adverse_event",
                f"Adverse event: {ae.term}",
                f"product: {ae.related_product}; outcome: {ae.outcome or 'ongoing'}",
                f"/adverse-events#ae-{ae.id}",
                badges,
                record=f"/records/adverse_events/{ae.id}",
            )
        )
    if patient.ended_on is not None:
        events.append(
            Event(
                patient.ended_on,
                "end",
                "End of study",
                f"{patient.end_reason}" + (f": {patient.end_detail}" if patient.end_detail else ""),
                record=f"/records/patients/{patient.id}",
            )
        )
    order = {
        k: i
        for i, k in enumerate(
            [
                "injury",
                "eligibility",
                "consent",
                "blood_draw",
                "harvest",
                "culture",
                "release",
                "infusion",
                "assessment",
                "adverse_event",
                "end",
            ]
        )
    }
    events.sort(key=lambda e: (e.on, order.get(e.kind, 99)))
    return events


def _assessment_event(a: m.Assessment) -> Event:
    link = f"/assessments/{a.id}"
    visit = a.visit_code.replace("_", " ")
    if a.kind == "isncsci":
        r = a.result or {}
        ms = _motor_score(r)
        detail = (
            f"NLI {r.get('neurologicalLevelOfInjury', '?')}, UEMS {r.get('upperMotorTotal', '?')}, "
            f"LEMS {r.get('lowerMotorTotal', '?')}, motor {ms}, LT {r.get('touchTotal', '?')}, "
            f"PP {r.get('prickTotal', '?')}"
        )
        badges = [(f"AIS {r.get('asiaImpairmentScale', '?')}", "ok")]
        if a.blinded:
            badges.append(("blinded assessor", ""))
        return Event(
            a.assessed_on,
            "assessment",
            f"ISNCSCI exam ({visit})",
            detail,
            link,
            badges,
            record=f"/records/assessments/{a.id}",
        )
    from cordtrial.instruments import review_flags

    names = {"scim3": "SCIM III", "wisci2": "WISCI II", "nbd": "NBD score", "lutf": "Bladder"}
    badges = []
    if review_flags(a.engine_version, a.data or {}):
        badges.append(("definition corrected: review", "warn"))
    return Event(
        a.assessed_on,
        "assessment",
        f"{names.get(a.kind, a.kind)} ({visit})",
        score_summary(a.result or {}),
        link,
        badges,
        record=f"/records/assessments/{a.id}",
    )


def score_summary(result: dict) -> str:
    """ "total 55 · self care 12 · ..." from an instrument's stored score."""
    parts = []
    if result.get("total") is not None:
        parts.append(f"total {result['total']}")
    elif "total" in result and result.get("missing_items"):
        parts.append("total not computable")
    for key, value in (result.get("scores") or {}).items():
        if value is not None:
            parts.append(f"{key.replace('_', ' ')} {value}")
    for key, value in (result.get("derived") or {}).items():
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            parts.append(f"{key.replace('_', ' ')} {value}")
    if result.get("missing_items"):
        parts.append(f"{len(result['missing_items'])} item(s) not assessed")
    return " · ".join(parts)[:240]


def sci(value: float) -> str:
    """A cell count as short text: 1.25e8, 2.2e6, 60."""
    text = f"{value:.3g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent)}"


def _motor_score(result: dict) -> str:
    try:
        return str(int(result["upperMotorTotal"]) + int(result["lowerMotorTotal"]))
    except (KeyError, ValueError, TypeError):
        return "ND"
