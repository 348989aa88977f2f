"""Fixtures for the web tests: a seeded store, an in-process client and a live server.

The scenario is built through the store's own services (the same rules as production), once per
test session into a template SQLite file; each test that changes data gets its own copy.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cordtrial.store import db as store_db
from cordtrial.store.models import ROLES, Site
from cordtrial.store.protocol import default_protocol
from cordtrial.store.rules import eligible_answers
from cordtrial.store.services import manufacturing, patients, users

PASSWORD = {
    "investigator": "inv-password-1",
    "assessor": "ass-password-1",
    "cell_processing": "cpc-password-1",
    "qa": "qa-password-12",
    "monitor": "mon-password-1",
    "statistician": "sta-password-1",
    "admin": "adm-password-1",
}
USERNAME = {
    "investigator": "inv",
    "assessor": "ass",
    "cell_processing": "cpc",
    "qa": "qa",
    "monitor": "mon",
    "statistician": "stat",
    "admin": "adm",
}
OTHER_INVESTIGATOR = ("inv-b", "invb-password-1")
TODAY = date.today()
INJURY = TODAY - timedelta(days=30)
REFERENCE_CASES = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "isncsci" / ("reference-cases.json")
)


def reference_case(index: int) -> dict:
    """One exam of the shared reference cases; skips the test where ../shared is absent
    (shared data is read by tests, never committed)."""
    if not REFERENCE_CASES.exists():
        pytest.skip(f"{REFERENCE_CASES} not present (shared reference data is never committed)")
    return json.loads(REFERENCE_CASES.read_text(encoding="utf-8"))[index]


# Passing results for every release test of the shipped protocol (approved-label.toml).
PASSING_TESTS = {
    "viability": 92.0,
    "total_viable_cells": 1.2e8,
    "cd73": 99.0,
    "cd90": 98.5,
    "cd105": 97.0,
    "cd45": 0.5,
    "cd34": 0.3,
    "hla_dr": 0.4,
    "sterility": "no growth",
    "mycoplasma": "negative",
    "endotoxin": 0.1,
}


@dataclass(frozen=True)
class Scenario:
    url: str
    lot_quarantine: int  # SAP-001's lot, all release tests passing, awaiting QA
    lot_released: int  # SAP-002's lot, released
    lot_other_site: int  # OTH-001's lot


def _enrol(user, s, site, code, *, password, age=45):
    p = patients.register(
        user,
        s,
        site=site,
        study_code=code,
        sex="M",
        age_at_injury=age,
        identity={"full_name": f"Name of {code}", "hospital_number": "H" + code},
        synthetic=True,
    )
    patients.record_injury(
        user,
        s,
        p,
        injury_date=INJURY,
        mechanism="fall from height",
        non_penetrating=True,
        level="C5",
    )
    patients.record_eligibility(
        user,
        s,
        p,
        assessed_on=INJURY + timedelta(days=5),
        criteria=eligible_answers(default_protocol()),
        password=password,
    )
    patients.record_consent(
        user, s, p, consent_date=INJURY + timedelta(days=6), form_version="v1.0"
    )
    serum = [
        manufacturing.record_blood_draw(
            user,
            s,
            p,
            drawn_on=INJURY + timedelta(days=day),
            volume_ml=240,
            serum_volume_ml=110,
            operator="Nurse Draw",
        )
        for day in (7, 9)
    ]
    harvest = manufacturing.record_harvest(
        user, s, p, harvested_on=INJURY + timedelta(days=10), volume_ml=60, operator="Dr Harvest"
    )
    return p, harvest, serum


def _lot(cpc, qa, s, patient, material, number, *, release=False):
    harvest, serum = material
    lot = manufacturing.create_lot(
        cpc,
        s,
        patient,
        lot_number=number,
        harvest=harvest,
        serum=serum,
        culture_started_on=INJURY + timedelta(days=11),
    )
    start = INJURY + timedelta(days=11)
    seeded = 1e6
    for n, (days, fold) in enumerate(((5, 8.0), (5, 10.0), (4, 6.0)), start=1):
        manufacturing.record_passage(
            cpc,
            s,
            lot,
            passage_number=n,
            seeded_on=start,
            harvested_on=start + timedelta(days=days),
            cells_seeded=seeded,
            cells_harvested=seeded * fold,
            viability_pct=95.0,
            operator="CPC operator",
        )
        start += timedelta(days=days)
    manufacturing.finish_culture(
        cpc,
        s,
        lot,
        cryopreserved_on=start,
        total_viable_cells=1.2e8,
        volume_ml=20,
        storage_location="LN2 tank 1",
    )
    for code, value in PASSING_TESTS.items():
        numeric = not isinstance(value, str)
        manufacturing.record_release_test(
            cpc,
            s,
            lot,
            test_code=code,
            method="validated method",
            tested_on=start,
            analyst="QC analyst",
            value=value if numeric else None,
            text_result=None if numeric else value,
        )
    if release:
        manufacturing.release_lot(qa, s, lot, password=PASSWORD["qa"], today=TODAY)
    return lot


def build_scenario(url: str) -> Scenario:
    store_db.upgrade(url)
    with store_db.session_scope(url) as s:
        site = Site(code="SAP", name="Sapporo University Hospital (synthetic)", synthetic=True)
        other = Site(code="OTH", name="Other Hospital (synthetic)", synthetic=True)
        s.add_all([site, other])
        s.flush()
        made = {}
        for role, name in USERNAME.items():
            # Statistician and admin work across sites; the others belong to site SAP.
            where = None if role in ("statistician", "admin") else site
            made[role] = users.create_user(
                None,
                s,
                username=name,
                display_name=f"{role.replace('_', ' ').title()} User",
                role=role,
                site=where,
                password=PASSWORD[role],
            )
        inv_b = users.create_user(
            None,
            s,
            username=OTHER_INVESTIGATOR[0],
            display_name="Investigator B",
            role="investigator",
            site=other,
            password=OTHER_INVESTIGATOR[1],
        )
        cpc_b = users.create_user(
            None,
            s,
            username="cpc-b",
            display_name="CPC B",
            role="cell_processing",
            site=other,
            password="cpcb-password-1",
        )
        inv, cpc, qa = made["investigator"], made["cell_processing"], made["qa"]
        pw = PASSWORD["investigator"]
        p1, *m1 = _enrol(inv, s, site, "SAP-001", password=pw)
        p2, *m2 = _enrol(inv, s, site, "SAP-002", password=pw)
        p3, *m3 = _enrol(inv_b, s, other, "OTH-001", password=OTHER_INVESTIGATOR[1])
        lot1 = _lot(cpc, qa, s, p1, m1, "LOT-SAP-001")
        lot2 = _lot(cpc, qa, s, p2, m2, "LOT-SAP-002", release=True)
        lot3 = _lot(cpc_b, qa, s, p3, m3, "LOT-OTH-001")
        ids = (lot1.id, lot2.id, lot3.id)
    store_db.dispose_engines()
    return Scenario(url, *ids)


def copy_store(source: Path, target: Path) -> None:
    """Copy an SQLite store with its audit key (kept beside the file, outside the database)."""
    shutil.copyfile(source, target)
    shutil.copyfile(f"{source}.audit-key", f"{target}.audit-key")


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> tuple[Path, Scenario]:
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    scenario = build_scenario(f"sqlite:///{path}")
    return path, scenario


@pytest.fixture
def scenario(template_db, tmp_path) -> Scenario:
    """A private copy of the seeded store for one test."""
    path, base = template_db
    copy = tmp_path / "store.sqlite"
    copy_store(path, copy)
    return Scenario(
        f"sqlite:///{copy}", base.lot_quarantine, base.lot_released, base.lot_other_site
    )


DEMO_PASSWORDS = {role: f"demo-{role}-pass" for role in ROLES}


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> str:
    """The URL of a store seeded with the demo trial (about a minute; shared by the slow tests
    that read it and must not change it)."""
    from cordtrial.store import db
    from cordtrial.store.demo import seed_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite'}"
    db.upgrade(url)
    with db.session_scope(url) as s:
        seed_demo(s, passwords=dict(DEMO_PASSWORDS))
    return url


@pytest.fixture
def app(scenario):
    from cordtrial.web.app import create_app

    return create_app(scenario.url, secret_key="test-secret")


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    # https base URL: the session cookie is Secure, as in production.
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client, role: str | None = None, *, username=None, password=None):
    """Log in through the form; returns the page's CSRF token for later posts."""
    username = username or USERNAME[role]
    password = password or PASSWORD[role]
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    home = client.get("/")
    assert home.status_code == 200
    return re.search(r'name="csrf-token" content="([^"]+)"', home.text).group(1)


# -- live server for the browser tests ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(url: str):
    """The app over the store at ``url``, served by uvicorn on a free loopback port in a
    thread; yields the base URL."""
    import uvicorn

    from cordtrial.web.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(url), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def live_server(scenario):
    """uvicorn on a free loopback port, in a thread, over a private copy of the store."""
    import uvicorn

    from cordtrial.web.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(scenario.url), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", scenario
    server.should_exit = True
    thread.join(10)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def browser_login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def amend_to_double_entry(url: str) -> None:
    """The trial amends its protocol, as its administrator would on the Protocol page: ISNCSCI
    exams entered from today on are entered twice and reconciled."""
    from cordtrial.store.models import User
    from cordtrial.store.protocol_versions import protocol_on
    from cordtrial.store.services import protocols
    from cordtrial.store.services.timing import site_today

    with store_db.session_scope(url) as s:
        admin = s.scalar(select(User).where(User.username == USERNAME["admin"]))
        protocols.amend(
            admin,
            s,
            protocol_on(s).model_copy(update={"double_data_entry": ("isncsci",)}),
            effective_from=site_today(None),
            summary="Amendment 1: ISNCSCI exams entered twice and reconciled",
        )
