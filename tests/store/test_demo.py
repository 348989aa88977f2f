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
        assert s.scalar(select(func.count()).select_from(Patient)) == 13
        assert all(site.synthetic and "synthetic" in site.name for site in s.scalars(select(Site)))
        assert {lot.status for lot in s.scalars(select(Lot))} == {"infused"}
        # one user per role at each site, scoped to it
        sap = s.scalar(select(User).where(User.username == "sap_investigator"))
        asa = s.scalar(select(User).where(User.username == "asa_investigator"))
        assert len(patients.list_for(sap, s)) == 11 and len(patients.list_for(asa, s)) == 2
        assert s.scalar(select(func.count()).select_from(User)) == 14
    p, e, inf, ae = t.patients, t.exams, t.infusions, t.adverse_events
    assert p["synthetic"].all() and p["patient"].str.startswith("SYN-").all()
    assert p["tetraplegia"].all()  # cervical injuries
    assert p["age"].between(20, 70).all()
    baseline = e[e["visit"] == "screening"].set_index("patient")["ais"]
    assert set(baseline) <= {"A", "B", "C"} and len(baseline) == 13
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
