"""The steps of a patient's start in the trial, each defined once for its page and its API
operation: the request model, who may do it, what it does (through the store's services), and
what the page shows beside the form. Routers stay thin (routers/trial.py, routers/trial_api.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from cordtrial.store import models as m
from cordtrial.store.audit import canonical_value
from cordtrial.store.models import secret_columns
from cordtrial.store.protocol_versions import protocol_on
from cordtrial.store.record_refs import record_id_of
from cordtrial.store.services import manufacturing as mf
from cordtrial.store.services import patients as patient_service
from cordtrial.store.services.timing import site_today
from cordtrial.store.signatures import status as signature_status

from .errors import FormInvalid
from .principal import Principal
from .trial_schemas import (
    BloodDrawIn,
    ConsentIn,
    EligibilityIn,
    EndOfStudyIn,
    HarvestIn,
    InjuryIn,
    LotIn,
    VisitPlanIn,
    WithdrawalIn,
)


@dataclass(frozen=True)
class Step:
    slug: str  # page: /patients/{code}/record/{slug}; API: POST /api/v1/patients/{code}/{api}
    api: str
    title: str
    model: type
    permission: str
    apply: Callable[[DbSession, m.User, m.Patient, Any], Any]
    done: str  # the message after saving
    submit: str
    intro: str = ""
    # (db, patient, who) -> extra page context: defaults, options, facts beside the form
    context: Callable[[DbSession, m.Patient, Principal], dict] | None = None
    lands_on: Callable[[Any, m.Patient], str] = field(
        default=lambda record, patient: f"/patients/{patient.study_code}"
    )


# -- what each step does -------------------------------------------------------------------------


def _injury(db, user, patient, body: InjuryIn):
    return patient_service.record_injury(user, db, patient, **body.model_dump())


def _eligibility(db, user, patient, body: EligibilityIn):
    return patient_service.record_eligibility(
        user,
        db,
        patient,
        assessed_on=body.assessed_on,
        criteria=body.criteria,
        password=body.password,
    )


def _consent(db, user, patient, body: ConsentIn):
    return patient_service.record_consent(user, db, patient, **body.model_dump())


def _withdrawal(db, user, patient, body: WithdrawalIn):
    rows = patient_service.withdraw_consent(
        user, db, patient, withdrawn_on=body.withdrawn_on, use=body.use, reason=body.reason
    )
    return rows[-1]


def _blood_draw(db, user, patient, body: BloodDrawIn):
    return mf.record_blood_draw(user, db, patient, **body.model_dump())


def _harvest(db, user, patient, body: HarvestIn):
    return mf.record_harvest(user, db, patient, **body.model_dump())


def _material(db, who_site: int | None, model, ids: list[int], field_name: str) -> list:
    """Raw materials by id; one unknown here (or at another site) is a field error. Another
    patient's material of the same site goes to the store, which refuses and logs it."""
    out = []
    for rid in ids:
        row = db.get(model, rid)
        site = db.get(m.Patient, row.patient_id).site_id if row is not None else None
        if row is None or (who_site is not None and site != who_site):
            raise FormInvalid(
                [{"field": field_name, "value": rid, "allowed": "a raw material at your site"}]
            )
        out.append(row)
    return out


def _lot(db, user, patient, body: LotIn):
    (harvest,) = _material(db, user.site_id, m.MarrowHarvest, [body.harvest_id], "harvest_id")
    serum = _material(db, user.site_id, m.BloodDraw, body.serum_draw_ids, "serum_draw_ids")
    return mf.create_lot(
        user,
        db,
        patient,
        lot_number=body.lot_number or mf.next_lot_number(db, patient),
        harvest=harvest,
        serum=serum,
        culture_started_on=body.culture_started_on,
        label_code=body.label_code,
    )


def _end(db, user, patient, body: EndOfStudyIn):
    return patient_service.end_study(
        user,
        db,
        patient,
        ended_on=body.ended_on,
        reason=body.reason,
        detail=body.detail,
        confirm=body.confirm,
    )


def _visit_plan(db, user, patient, body: VisitPlanIn):
    patient_service.schedule_visits(user, db, patient, planned_infusion=body.planned_infusion)
    return patient


# -- what the pages show beside the forms ----------------------------------------------------------


def _today(patient: m.Patient) -> str:
    return site_today(patient.site).isoformat()


def _eligibility_context(db, patient, who) -> dict:
    day = site_today(patient.site)
    protocol = protocol_on(db, day)
    return {
        "criteria": protocol.eligibility,
        "protocol": protocol,
        "defaults": {"assessed_on": day.isoformat()},
        "signing": "eligibility assessed and confirmed",
    }


def _draws(db, patient) -> list[m.BloodDraw]:
    return list(
        db.scalars(
            select(m.BloodDraw)
            .where(m.BloodDraw.patient_id == patient.id)
            .order_by(m.BloodDraw.drawn_on, m.BloodDraw.id)
        )
    )


def _harvests(db, patient) -> list[m.MarrowHarvest]:
    return list(
        db.scalars(
            select(m.MarrowHarvest)
            .where(m.MarrowHarvest.patient_id == patient.id)
            .order_by(m.MarrowHarvest.harvested_on, m.MarrowHarvest.id)
        )
    )


def _blood_context(db, patient, who) -> dict:
    draws = _draws(db, patient)
    rm = protocol_on(db, site_today(patient.site)).raw_material
    facts = [
        (f"Draw {i}", f"{d.drawn_on} · {d.volume_ml:g} mL blood · "
         f"{f'{d.serum_volume_ml:g} mL serum' if d.serum_volume_ml else 'serum not yet prepared'}")
        for i, d in enumerate(draws, 1)
    ]  # fmt: skip
    if rm is not None:
        facts.insert(
            0,
            (
                "Protocol",
                f"{rm.blood_draws} draws, days {rm.blood_draw_days[0]}-{rm.blood_draw_days[1]} "
                f"after injury, at most {rm.max_blood_volume_ml:g} mL each",
            ),
        )
    return {"facts": facts, "defaults": {"operator": who.full_name, "volume_ml": "240"}}


def _harvest_context(db, patient, who) -> dict:
    rm = protocol_on(db, site_today(patient.site)).raw_material
    facts = []
    if rm is not None and rm.max_days_injury_to_harvest is not None:
        facts.append(("Protocol", f"within {rm.max_days_injury_to_harvest} days after the injury"))
    facts += [
        (f"Harvest {h.id}", f"{h.harvested_on} · {h.volume_ml:g} mL")
        for h in _harvests(db, patient)
    ]
    return {"facts": facts, "defaults": {"operator": who.full_name}}


def _lot_context(db, patient, who) -> dict:
    harvests = _harvests(db, patient)
    draws = [d for d in _draws(db, patient) if d.serum_volume_ml]
    return {
        "options": {
            "harvest_id": [
                (str(h.id), f"harvest {h.id}: {h.harvested_on}, {h.volume_ml:g} mL")
                for h in harvests
            ],
            "serum_draw_ids": [
                (str(d.id), f"draw {d.id}: {d.drawn_on}, {d.serum_volume_ml:g} mL serum")
                for d in draws
            ],
        },
        "defaults": {
            "harvest_id": str(harvests[-1].id) if harvests else "",
            "serum_draw_ids": [str(d.id) for d in draws],
            "culture_started_on": harvests[-1].harvested_on.isoformat() if harvests else "",
        },
        "facts": [("Next lot number", mf.next_lot_number(db, patient))],
    }


def _consent_context(db, patient, who) -> dict:
    return {"defaults": {"taken_by": who.full_name}}


def _end_context(db, patient, who) -> dict:
    return {"defaults": {"ended_on": _today(patient)}}


STEPS: dict[str, Step] = {
    s.slug: s
    for s in (
        Step(
            "injury",
            "injury",
            "The injury",
            InjuryIn,
            "record_clinical",
            _injury,
            "Injury recorded; the visits anchored to it are scheduled.",
            "Save the injury",
            "The day of the injury anchors the visit schedule and every time window of the "
            "protocol.",
        ),
        Step(
            "eligibility",
            "eligibility",
            "Eligibility checklist",
            EligibilityIn,
            "record_clinical",
            _eligibility,
            "Eligibility checklist signed.",
            "Sign the checklist",
            "Answer every criterion of the protocol in effect on the day of the assessment. "
            "The answers are checked against the records of that day, and you sign the "
            "checklist with your password.",
            _eligibility_context,
        ),
        Step(
            "consent",
            "consents",
            "Consent",
            ConsentIn,
            "record_clinical",
            _consent,
            "Consent recorded.",
            "Save the consent",
            "The signed consent form: its version, the day it was signed and who took it.",
            _consent_context,
        ),
        Step(
            "withdrawal",
            "consent-withdrawal",
            "Withdrawal of consent",
            WithdrawalIn,
            "record_clinical",
            _withdrawal,
            "Withdrawal of consent recorded; the patient's participation ended that day.",
            "Record the withdrawal",
            "Every valid consent ends on this day and the patient leaves the study; record "
            "what the patient allows to be used.",
        ),
        Step(
            "blood-draw",
            "blood-draws",
            "Blood draw for autologous serum",
            BloodDrawIn,
            "record_clinical",
            _blood_draw,
            "Blood draw recorded.",
            "Save the blood draw",
            "Peripheral blood for the patient's own serum, in which the cells are grown.",
            _blood_context,
        ),
        Step(
            "harvest",
            "harvests",
            "Bone-marrow harvest",
            HarvestIn,
            "record_clinical",
            _harvest,
            "Bone-marrow harvest recorded.",
            "Save the harvest",
            "",
            _harvest_context,
        ),
        Step(
            "lot",
            "lots",
            "Start a lot",
            LotIn,
            "start_lot",
            _lot,
            "Lot started; print its label.",
            "Start the lot",
            "Check the study code on the labels of the marrow bag and the serum tubes against "
            "this patient, choose them, and start the culture.",
            _lot_context,
            lambda lot, patient: f"/lots/{lot.id}/label",
        ),
        Step(
            "end-of-study",
            "end-of-study",
            "End of study",
            EndOfStudyIn,
            "record_clinical",
            _end,
            "End of study recorded.",
            "Record the end of study",
            "The patient's last day in the study and why; no record may be dated after it.",
            _end_context,
        ),
        Step(
            "visit-plan",
            "visit-plan",
            "Plan the infusion day",
            VisitPlanIn,
            "record_clinical",
            _visit_plan,
            "Visit schedule updated.",
            "Schedule the visits",
            "The visits anchored to the infusion (before infusion, day 1, week 1, months 1, 3 "
            "and 12) are scheduled around this day; the recorded infusion moves them to the "
            "day it was given.",
        ),
    )
}


# -- answers -------------------------------------------------------------------------------------


def record_data(record: m.Base) -> dict[str, Any]:
    """A stored record's fields as JSON values (never a secret column)."""
    table = record.__table__
    hidden = secret_columns(table)
    return {
        c.name: canonical_value(c, getattr(record, record.__mapper__.get_property_by_column(c).key))
        for c in table.columns
        if c.name not in hidden
    }


def notes_for(db: DbSession, record: m.Base) -> list[str]:
    """Deviations the store recorded but did not refuse (the event happened)."""
    if not isinstance(record, m.BloodDraw):
        return []
    return [f"protocol deviation: {why}" for why in mf.blood_draw_deviations_of(db, record)]


def record_out(db: DbSession, record: m.Base, patient: m.Patient) -> dict[str, Any]:
    out = _record_out(db, record, patient)
    if isinstance(record, m.Patient):  # end of study, visit plan: the schedule as it stands
        out["visits"] = [
            {
                "code": v.code,
                "target_date": v.target_date,
                "window_start": v.window_start,
                "window_end": v.window_end,
            }
            for v in db.scalars(
                select(m.Visit)
                .where(m.Visit.patient_id == patient.id)
                .order_by(m.Visit.target_date)
            )
        ]
    return out


def _record_out(db: DbSession, record: m.Base, patient: m.Patient) -> dict[str, Any]:
    return {
        "table": record.__tablename__,
        "id": record_id_of(record),
        "patient": patient.study_code,
        "protocol_version": getattr(record, "protocol_version", None),
        "data": record_data(record),
        "signatures": [
            {
                "signer": s.signature.signer_name,
                "meaning": s.signature.meaning,
                "signed_at": s.signature.signed_at,
                "valid": s.valid,
            }
            for s in signature_status(db, record)
        ],
        "notes": notes_for(db, record),
    }


# -- the patient's path, as a checklist on the patient page ------------------------------------------


@dataclass(frozen=True)
class PlanItem:
    title: str
    done: bool
    detail: str = ""
    link: str | None = None  # where the caller does it (None: not their role, or nothing to do)
    testid: str = ""


def patient_plan(db: DbSession, patient: m.Patient, who: Principal) -> list[PlanItem]:
    """Each step of the patient's path with what is recorded, and a link for who may act."""
    code = patient.study_code
    base = f"/patients/{code}/record"
    open_ = patient.ended_on is None

    def can(permission: str) -> bool:
        return open_ and who.can(permission)

    def first(model, *order):
        return db.scalar(
            select(model).where(model.patient_id == patient.id).order_by(*order).limit(1)
        )

    injury = first(m.Injury, m.Injury.id)
    elig = first(m.Eligibility, m.Eligibility.assessed_on.desc(), m.Eligibility.id.desc())
    consent = first(m.Consent, m.Consent.consent_date.desc(), m.Consent.id.desc())
    draws = _draws(db, patient)
    harvests = _harvests(db, patient)
    lots = list(db.scalars(select(m.Lot).where(m.Lot.patient_id == patient.id).order_by(m.Lot.id)))
    infused = first(m.Infusion, m.Infusion.infusion_number)
    protocol = protocol_on(db, site_today(patient.site))
    wanted = protocol.raw_material.blood_draws if protocol.raw_material else 1
    items = [
        PlanItem(
            "Injury",
            injury is not None,
            f"{injury.injury_date} · {injury.level}" if injury else "",
            f"{base}/injury" if injury is None and can("record_clinical") else None,
            "step-injury",
        ),
        PlanItem(
            "Eligibility checklist (signed)",
            elig is not None,
            f"{elig.assessed_on} · {'eligible' if elig.eligible else 'NOT eligible'}"
            if elig
            else "",
            f"{base}/eligibility" if injury is not None and can("record_clinical") else None,
            "step-eligibility",
        ),
        PlanItem(
            "Consent",
            consent is not None,
            (
                f"{consent.consent_date} · form {consent.form_version}"
                + (f" · withdrawn {consent.withdrawn_on}" if consent.withdrawn_on else "")
            )
            if consent
            else "",
            f"{base}/consent" if can("record_clinical") else None,
            "step-consent",
        ),
        PlanItem(
            f"Blood draws for serum ({len(draws)} of {wanted})",
            len(draws) >= wanted,
            ", ".join(str(d.drawn_on) for d in draws),
            f"{base}/blood-draw" if can("record_clinical") and infused is None else None,
            "step-blood-draw",
        ),
        PlanItem(
            "Bone-marrow harvest",
            bool(harvests),
            ", ".join(str(h.harvested_on) for h in harvests),
            f"{base}/harvest" if can("record_clinical") and infused is None else None,
            "step-harvest",
        ),
        PlanItem(
            "Lot (cell processing)",
            bool(lots),
            ", ".join(f"{lot.lot_number} ({lot.status})" for lot in lots),
            f"{base}/lot" if harvests and can("start_lot") and infused is None else None,
            "step-lot",
        ),
        PlanItem(
            "QA release",
            any(lot.released_on for lot in lots),
            ", ".join(
                f"{lot.lot_number} released {lot.released_on}" for lot in lots if lot.released_on
            ),
            f"/lots/{lots[-1].id}" if lots and who.can("release_lot") else None,
            "step-release",
        ),
        PlanItem(
            "Infusion",
            infused is not None,
            str(infused.infused_on) if infused else "",
            f"/patients/{code}/infusions/new" if can("infuse") and infused is None else None,
            "step-infusion",
        ),
        PlanItem(
            "End of study",
            patient.ended_on is not None,
            f"{patient.ended_on} · {patient.end_reason}" if patient.ended_on else "",
            f"{base}/end-of-study" if can("record_clinical") else None,
            "step-end",
        ),
    ]
    return items
