"""The synthetic demo trial: shape of the case series, reproducible, marked synthetic, and
readable by the analysis through the tables adapter."""

from __future__ import annotations

import pandas as pd
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from cordtrial.store import audit, db, demo
from cordtrial.store.models import Lot, Patient, Site, User
from cordtrial.store.services import patients
from cordtrial.store.tables import analysis_tables

PASSWORDS = {role: f"{role}-demo-pw" for role in demo.ROLES}


@pytest.fixture
def cheap_hashes(monkeypatch):
    # test-only Argon2 cost; the demo's real accounts use the library defaults
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(demo, "hash_password", cheap.hash)


def _seed(url, seed=7):
    with db.session_scope(url) as s:
        return demo.seed_demo(s, seed=seed, passwords=PASSWORDS)


def test_demo_trial_shape(db_url, cheap_hashes):
    assert _seed(db_url) == PASSWORDS
    with db.session_scope(db_url) as s:
        t = analysis_tables(s)
        assert audit.verify(s).ok
        assert s.scalar(select(func.count()).select_from(Patient)) == demo.demo_size()
        assert all(site.synthetic and "synthetic" in site.name for site in s.scalars(select(Site)))
        # one user per role at each site, scoped to it
        sap = s.scalar(select(User).where(User.username == "sap_investigator"))
        asa = s.scalar(select(User).where(User.username == "asa_investigator"))
        assert len(patients.list_for(sap, s)) == demo.demo_size() - 2
        assert len(patients.list_for(asa, s)) == 2
        assert s.scalar(select(func.count()).select_from(User)) == 14
    p, e, inf, ae = t.patients, t.exams, t.infusions, t.adverse_events
    assert p["synthetic"].all() and p["patient"].str.startswith("SYN-").all()
    assert p["tetraplegia"].all()  # cervical injuries
    assert p["age"].between(20, 70).all()
    baseline = e[e["visit"] == "screening"].set_index("patient")["ais"]
    assert set(baseline) <= {"A", "B", "C"} and len(baseline) == demo.demo_size()
    assert (e.groupby("patient")["days_since_injury"].min() <= 14).all()
    assert inf["days_since_injury"].between(40, 54).all()
    assert (inf["cells_per_kg"] <= 3.34e6).all()
    assert inf["cells_total"].between(0.5e8, 2.0e8).all()
    assert set(e["visit"]) == {
        "screening",
        "pre_infusion",
        "infusion_day",
        "day1",
        "week1",
        "month1",
        "month3",
        "month6",
        "month12",
    }
    assert len(ae) >= 1 and set(ae["grade"]) <= {1, 2}
    assert {"total", "walks_indoors", "mobility_indoors"} <= set(
        t.instruments.loc[t.instruments["instrument"] == "scim3", "measure"]
    )


def test_demo_shows_every_stage_on_the_day_it_is_seeded(db_url, cheap_hashes):
    """Issue 13, point 7: patients at every stage of the pipeline, dated back from today, and
    the completed case series."""
    from datetime import date

    from cordtrial.store.models import Infusion, Visit
    from cordtrial.web.queries import STAGES, stage_of

    _seed(db_url)
    today = date.today()
    with db.session_scope(db_url) as s:
        stages = {p.study_code: stage_of(s, p) for p in s.scalars(select(Patient))}
        counts = {code: list(stages.values()).count(code) for code, _ in STAGES}
        assert counts == {
            "screening": 1,
            "enrolled": 1,
            "harvested": 1,
            "culture": 2,  # one lot in culture, one in quarantine awaiting QA
            "released": 1,
            "infused": 15,  # 13 of the case series, 2 in follow-up
            "completed": 0,
            "withdrawn": 0,
        }
        lots = [lot.status for lot in s.scalars(select(Lot))]
        assert sorted(set(lots)) == ["in_process", "infused", "quarantine", "released"]
        released = s.scalar(select(Lot).where(Lot.status == "released"))
        assert released.expiry_date > today and released.released_on < today
        # the follow-up patients' next visits are still to come
        recent = [i for i in s.scalars(select(Infusion)) if (today - i.infused_on).days < 60]
        assert len(recent) == 2
        upcoming = s.scalars(
            select(Visit).where(
                Visit.patient_id.in_([i.patient_id for i in recent]), Visit.target_date > today
            )
        ).all()
        assert {v.code for v in upcoming} >= {"month3", "month6", "month12"}
        # nothing is dated after today, and every record keeps its protocol version
        for column in (Infusion.infused_on, Lot.culture_started_on):
            assert s.scalar(select(func.max(column))) < today
        assert all(p.protocol_version == 1 for p in s.scalars(select(Patient)))


@pytest.mark.slow
def test_demo_is_reproducible(tmp_path, cheap_hashes):
    urls = [f"sqlite:///{tmp_path / f'demo{i}.sqlite'}" for i in range(2)]
    for url in urls:
        db.upgrade(url)
        _seed(url, seed=11)
    frames = []
    for url in urls:
        with db.session_scope(url) as s:
            frames.append(analysis_tables(s))
    for name in ("patients", "exams", "instruments", "infusions", "adverse_events"):
        pd.testing.assert_frame_equal(getattr(frames[0], name), getattr(frames[1], name))
    db.dispose_engines()


def test_demo_refuses_a_store_with_patients(world, cheap_hashes):
    with pytest.raises(demo.DemoError, match="already has patients"):
        _seed(world.url)


def test_site_scoped_tables(db_url, cheap_hashes):
    _seed(db_url, seed=3)
    with db.session_scope(db_url) as s:
        asa = s.scalar(select(User).where(User.username == "asa_statistician"))
        t = analysis_tables(s, asa)
    assert set(t.patients["site"]) == {"ASA"} and len(t.patients) == 2
    assert set(t.exams["patient"]) <= set(t.patients["patient"])


def test_empty_store_gives_empty_valid_tables(db_url):
    with db.session_scope(db_url) as s:
        t = analysis_tables(s)
    assert len(t.patients) == 0 and list(t.exams.columns)
