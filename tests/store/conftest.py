"""Store test fixtures: every store test runs on SQLite, and on PostgreSQL when
CORDTRIAL_TEST_POSTGRES_URL is set (``source .ci/postgres.sh``); the ``db_url`` fixture that
provides both is in tests/conftest.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from cordtrial.store import db
from cordtrial.store.models import Lot, Patient, Site, User
from cordtrial.store.protocol import default_protocol
from cordtrial.store.rules import eligible_answers
from cordtrial.store.services import manufacturing as mf
from cordtrial.store.services import patients, users
from cordtrial.store.services.infusions import InfusionInput

PASSWORD = "correct-horse-1"
# Cheap Argon2 parameters for test accounts only (verification reads them from the hash);
# the product hashes with argon2-cffi's defaults.
CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@dataclass
class World:
    """Two sites, one user per role at the first, an investigator at the second, one patient
    eligible and consented with a bone-marrow harvest."""

    url: str
    injury_date: date = date(2026, 1, 5)
    patient: str = "SAP-001"
    other_patient: str = "SAP-002"
    remote_patient: str = "KUS-001"

    def user(self, s, username: str) -> User:
        return s.scalar(select(User).where(User.username == username))

    def pat(self, s, code: str | None = None) -> Patient:
        return s.scalar(select(Patient).where(Patient.study_code == (code or self.patient)))

    def lot(self, s, number: str) -> Lot:
        return s.scalar(select(Lot).where(Lot.lot_number == number))


ROLES = ("investigator", "assessor", "cell_processing", "qa", "monitor", "statistician", "admin")


def enrol(s, inv: User, site: Site, code: str, injury: date):
    p = patients.register(
        inv,
        s,
        site=site,
        study_code=code,
        sex="M",
        age_at_injury=45,
        identity={"full_name": f"Name of {code}", "hospital_number": "H1"},
    )
    patients.record_injury(
        inv,
        s,
        p,
        injury_date=injury,
        mechanism="fall from standing height",
        non_penetrating=True,
        level="C5",
    )
    patients.record_eligibility(
        inv,
        s,
        p,
        assessed_on=injury + timedelta(days=7),
        criteria=eligible_answers(default_protocol()),
        password=PASSWORD,
    )
    patients.record_consent(inv, s, p, consent_date=injury + timedelta(days=7), form_version="1.0")
    for day in (14, 21):
        mf.record_blood_draw(
            inv,
            s,
            p,
            drawn_on=injury + timedelta(days=day),
            volume_ml=240.0,
            serum_volume_ml=110.0,
            operator="Nurse A",
        )
    mf.record_harvest(
        inv, s, p, harvested_on=injury + timedelta(days=20), volume_ml=50, operator="Dr A"
    )
    return p


@pytest.fixture
def world(db_url) -> World:
    w = World(db_url)
    with db.session_scope(db_url) as s:
        sap = Site(code="SAP", name="Sapporo")
        kus = Site(code="KUS", name="Kushiro")
        s.add_all([sap, kus])
        s.flush()
        for role in ROLES:
            users.create_user(
                None,
                s,
                username=role,
                display_name=f"{role.title()} One",
                role=role,
                site=sap,
                password_hash=CHEAP_HASH,
            )
        users.create_user(
            None,
            s,
            username="investigator2",
            display_name="Investigator Two",
            role="investigator",
            site=sap,
            password_hash=CHEAP_HASH,
        )
        users.create_user(
            None,
            s,
            username="kus_investigator",
            display_name="Kushiro Inv",
            role="investigator",
            site=kus,
            password_hash=CHEAP_HASH,
        )
        inv = w.user(s, "investigator")
        enrol(s, inv, sap, w.patient, w.injury_date)
        enrol(s, inv, sap, w.other_patient, w.injury_date)
        enrol(s, w.user(s, "kus_investigator"), kus, w.remote_patient, w.injury_date)
    return w


def harvest_of(s, patient: Patient):
    from cordtrial.store.models import MarrowHarvest

    return s.scalar(select(MarrowHarvest).where(MarrowHarvest.patient_id == patient.id))


def serum_of(s, patient: Patient):
    from cordtrial.store.models import BloodDraw

    return list(s.scalars(select(BloodDraw).where(BloodDraw.patient_id == patient.id)))


def make_lot(
    w: World,
    s,
    number: str,
    patient_code: str | None = None,
    *,
    status: str = "released",
    failing: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
) -> Lot:
    """A lot for a patient taken as far as ``status`` (in_process, quarantine, released)."""
    cp, qa = w.user(s, "cell_processing"), w.user(s, "qa")
    p = w.pat(s, patient_code)
    start = w.injury_date + timedelta(days=21)
    lot = mf.create_lot(
        cp,
        s,
        p,
        lot_number=number,
        harvest=harvest_of(s, p),
        serum=serum_of(s, p),
        culture_started_on=start,
    )
    seeded = 2.0e4
    for n in range(3):
        mf.record_passage(
            cp,
            s,
            lot,
            passage_number=n,
            seeded_on=start + timedelta(days=5 * n),
            harvested_on=start + timedelta(days=5 * n + 5),
            cells_seeded=seeded,
            cells_harvested=seeded * 20,
            viability_pct=94.0,
            operator="CP",
        )
        seeded *= 20
    if status == "in_process":
        return lot
    mf.finish_culture(
        cp,
        s,
        lot,
        cryopreserved_on=start + timedelta(days=15),
        total_viable_cells=1.6e8,
        volume_ml=20.0,
        storage_location="LN2 tank 1",
    )
    for spec in default_protocol().release_tests:
        if spec.code in skip:
            continue
        kw: dict = {}
        if spec.numeric:
            good = (
                1.6e8
                if spec.code == "total_viable_cells"
                else (spec.min if spec.min is not None else spec.max)
            )
            bad = (spec.min - 1) if spec.min is not None else (spec.max + 1)
            kw["value"] = bad if spec.code in failing else good
        else:
            kw["text_result"] = "growth" if spec.code in failing else spec.expected
        mf.record_release_test(
            cp,
            s,
            lot,
            test_code=spec.code,
            method="SOP-1",
            tested_on=start + timedelta(days=16),
            analyst="Analyst",
            **kw,
        )
    if status == "quarantine":
        return lot
    mf.release_lot(qa, s, lot, password=PASSWORD, today=start + timedelta(days=17))
    return lot


def infusion_input(w: World, patient_code: str, lot_number: str, **over) -> InfusionInput:
    day = w.injury_date + timedelta(days=45)
    start = datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)
    base = dict(
        infused_on=day,
        weight_kg=60.0,
        weight_measured_on=day,
        cells_total=1.5e8,
        product_volume_ml=20.0,
        diluent_volume_ml=40.0,
        rate_ml_per_min=0.8,
        started_at=start,
        stopped_at=start + timedelta(minutes=75),
        vitals={"before": {"sbp": 120}, "after": {"sbp": 118}},
        wristband_code=patient_code,
        label_code=lot_number,
    )
    base.update(over)
    return InfusionInput(**base)
