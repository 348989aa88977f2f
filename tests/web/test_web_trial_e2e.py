"""Issue 13, done when: on a store that starts empty except for the administrator made by
`cordtrial users create-admin`, a site's team runs a new patient in real Chromium, each role
doing its own steps in the browser only: the admin creates the site and the accounts, each
person logs in with the one-time password and sets their own, then registration, injury,
signed eligibility, consent, both serum draws, harvest, lot, passages, release tests, QA
release, infusion, the month-6 exam, and the trial report.

With CORDTRIAL_WEB_SCREENSHOTS=docs/img the screenshots of the new pages in the docs are
written here (1440 px wide), and each new page is also walked at 390 px (a phone): nothing may
be wider than the screen.
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import reference_case, serve
from playwright.sync_api import expect
from test_web_e2e import _keys_for

from cordtrial.web.layout import ENTRY_ORDER, NON_KEY

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ADMIN_PASSWORD = "first-admin-password-1"
TODAY = date.today()
INJURY = TODAY - timedelta(days=200)  # the month-6 visit (day 180 +/- 30) has come
NARROW_SHOTS = ("eligibility", "lot-label")
TEAM = {  # user name -> (full name, role, site)
    "ito": ("Dr Ito Kenji", "investigator", "KOB"),
    "sato": ("Sato Yuki", "assessor", "KOB"),
    "mori": ("Mori Aiko", "cell_processing", "KOB"),
    "kato": ("Kato Ren", "qa", "KOB"),
    "abe": ("Abe Mika", "statistician", "*"),
}


def day(n: int) -> str:
    return (INJURY + timedelta(days=n)).isoformat()


def new_password(name: str) -> str:
    """The person's own password (not based on their names, as the password rules require)."""
    return f"quartz-harbour-{list(TEAM).index(name) + 7}-lantern"


@pytest.fixture
def empty_site_server(tmp_path):
    """A new store with only the first administrator (created by the CLI), served on
    loopback."""
    from typer.testing import CliRunner

    from cordtrial.cli import app as cli

    url = f"sqlite:///{tmp_path / 'trial.sqlite'}"
    result = CliRunner().invoke(
        cli,
        ["users", "create-admin", "alice", "--name", "Alice Admin", "--database-url", url],
        input=ADMIN_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    with serve(url) as base:
        yield base, url


class Shots:
    """Each new page as its user sees it: at 1440 px (a screenshot for the docs when
    CORDTRIAL_WEB_SCREENSHOTS is set) and at 390 px (a phone), where nothing may be wider than
    the screen."""

    def __init__(self):
        target = os.environ.get("CORDTRIAL_WEB_SCREENSHOTS")
        self.out = Path(target) if target else None
        self.walked: list[str] = []

    def take(self, page, name: str) -> None:
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(self.out / f"web-{name}.png"), full_page=True)
        size = page.viewport_size
        page.set_viewport_size({"width": 390, "height": 844})
        width = page.evaluate("document.documentElement.scrollWidth")
        if self.out is not None and name in NARROW_SHOTS:
            page.screenshot(path=str(self.out / f"web-{name}-390.png"), full_page=True)
        page.set_viewport_size(size)
        assert width <= 390, f"{name} ({page.url}) is {width} px wide on a 390 px screen"
        self.walked.append(name)


def login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def first_login(page, base: str, username: str, once: str) -> None:
    """Log in with the one-time password and choose one's own."""
    login(page, base, username, once)
    page.wait_for_url(f"{base}/account/password")
    page.fill("#f-current_password", once)
    page.fill("#f-new_password", new_password(username))
    page.fill("#f-confirm_password", new_password(username))
    page.click("form[action='/account/password'] button[type=submit]")
    page.wait_for_url(f"{base}/")
    expect(page.get_by_test_id("whoami")).to_contain_text(TEAM[username][0])


def logout(page) -> None:
    page.get_by_role("button", name="Log out").click()


def enter_exam(page, base: str, code: str, visit: str, on: str) -> None:
    """A whole ISNCSCI exam (reference case 0, AIS A) by keyboard, on the day it was done."""
    case = reference_case(0)
    page.goto(f"{base}/patients/{code}/exams/new")
    page.select_option("#visit_code", visit)
    page.fill("#assessed_on", on)
    page.focus("#f-" + ENTRY_ORDER[0])
    for field in ENTRY_ORDER:
        if field in NON_KEY.values():
            continue
        for key in _keys_for(case[field], field):
            page.keyboard.press(key)
    expect(page.get_by_test_id("result-asiaImpairmentScale")).to_have_text(
        case["totals"]["asiaImpairmentScale"]
    )
    page.click("#save-exam")
    page.wait_for_url(re.compile(r".*/assessments/\d+$"))


def save(page, url_part: str | re.Pattern) -> None:
    page.click("#save-step")
    page.wait_for_url(url_part)


def test_a_site_runs_a_new_patient_from_an_empty_store(empty_site_server, browser):
    base, url = empty_site_server
    shots = Shots()
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(15_000)

    # -- the administrator: the site and the team -------------------------------------------------
    login(page, base, "alice", ADMIN_PASSWORD)
    page.wait_for_url(f"{base}/")
    page.click("text=Administration")
    page.click("nav[aria-label=Administration] >> text=Sites")
    page.fill("#f-code", "KOB")
    page.fill("#f-name", "Kobe Spine Center")
    page.select_option("#f-time_zone", "Asia/Tokyo")
    page.click("#create-site")
    expect(page.get_by_test_id("sites")).to_contain_text("Kobe Spine Center")
    shots.take(page, "admin-sites")
    once = {}
    for username, (name, role, site) in TEAM.items():
        page.goto(f"{base}/admin/users")
        page.fill("#f-username", username)
        page.fill("#f-display_name", name)
        page.select_option("#f-role", role)
        page.select_option("#f-site", site)
        page.click("#new-user button[type=submit]")
        once[username] = page.get_by_test_id("one-time-password").inner_text()
    page.goto(f"{base}/protocol")
    expect(page.get_by_test_id("protocol-versions")).to_contain_text("editable")
    shots.take(page, "protocol")
    logout(page)

    # -- the investigator: registration, injury, eligibility, consent, raw material -----------------
    first_login(page, base, "ito", once["ito"])
    page.get_by_test_id("register-patient").click()
    page.fill("#f-full_name", "Yamada Hanako")
    page.fill("#f-date_of_birth", f"{INJURY.year - 41}-01-01")  # 41 on the injury day
    page.fill("#f-hospital_number", "KOB-778812")
    page.fill("#f-age_at_injury", "41")
    page.select_option("#f-sex", "F")
    shots.take(page, "register")
    page.click("#save-step")
    page.wait_for_url(f"{base}/patients/KOB-001")
    code = "KOB-001"
    page.get_by_test_id("step-injury").get_by_role("link").click()
    page.fill("#f-injury_date", day(0))
    page.fill("#f-level", "C5")
    page.fill("#f-mechanism", "fall from a ladder")
    page.check("#f-non_penetrating")
    save(page, f"{base}/patients/{code}")
    logout(page)

    # -- the assessor: the screening exam (the checklist's AIS A-C is checked against it) ----------
    first_login(page, base, "sato", once["sato"])
    enter_exam(page, base, code, "screening", day(3))
    logout(page)

    # -- the investigator again: eligibility, consent, raw material ---------------------------------
    login(page, base, "ito", new_password("ito"))
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/patients/{code}")
    page.get_by_test_id("step-eligibility").get_by_role("link").click()
    page.fill("#f-assessed_on", day(6))
    for box in page.locator("fieldset.yesno").all():
        name = box.locator("input").first.get_attribute("name")
        inclusion = "must be met" in box.locator("xpath=..").inner_text()
        page.check(f"input[name='{name}'][value={'yes' if inclusion else 'no'}]")
    page.fill("#f-password", new_password("ito"))
    shots.take(page, "eligibility")
    save(page, f"{base}/patients/{code}")
    page.get_by_test_id("step-consent").get_by_role("link").click()
    page.fill("#f-consent_date", day(6))
    page.fill("#f-form_version", "ICF v2.1 (2026-03)")
    save(page, f"{base}/patients/{code}")
    for n in (14, 21):
        page.get_by_test_id("step-blood-draw").get_by_role("link").click()
        page.fill("#f-drawn_on", day(n))
        page.fill("#f-volume_ml", "240")
        page.fill("#f-serum_volume_ml", "110")
        save(page, f"{base}/patients/{code}")
    page.get_by_test_id("step-harvest").get_by_role("link").click()
    page.fill("#f-harvested_on", day(22))
    page.fill("#f-volume_ml", "50")
    save(page, f"{base}/patients/{code}")
    expect(page.get_by_test_id("step-harvest")).to_have_attribute("data-done", "yes")
    shots.take(page, "patient-path")
    logout(page)

    # -- cell processing: the lot, its label, passages, release tests --------------------------------
    first_login(page, base, "mori", once["mori"])
    page.goto(f"{base}/lots")
    page.get_by_test_id("start-lot").click()
    page.fill("#f-label_code", code)  # read from the marrow bag and serum tube labels
    page.fill("#f-culture_started_on", day(22))
    shots.take(page, "lot-start")
    save(page, re.compile(r".*/lots/\d+/label$"))
    expect(page.get_by_test_id("lot-label")).to_be_visible()
    shots.take(page, "lot-label")
    lot_url = page.url.removesuffix("/label")
    page.goto(lot_url)
    seeded, start = 1.2e4, 22
    for n in range(3):
        page.click("text=Record a passage")
        page.fill("#f-passage_number", str(n + 1))
        page.fill("#f-seeded_on", day(start))
        page.fill("#f-harvested_on", day(start + 5))
        page.fill("#f-cells_seeded", f"{seeded:g}")
        page.fill("#f-cells_harvested", f"{seeded * 22:g}")
        page.fill("#f-viability_pct", "94")
        page.click("#passage-form button[type=submit]")
        expect(page.locator(".flash-ok")).to_contain_text(f"Passage {n + 1} recorded")
        seeded, start = seeded * 22, start + 5
    page.click("text=Finish culture and cryopreserve")
    page.fill("#f-cryopreserved_on", day(38))
    page.fill("#f-total_viable_cells", "1.2e8")
    page.fill("#f-volume_ml", "20")
    page.fill("#f-storage_location", "CPC LN2 tank 1")
    page.click("text=Finish culture (to quarantine)")
    expect(page.get_by_test_id("lot-status")).to_have_text("quarantine")
    results = {"viability": "92", "total_viable_cells": "1.2e8", "cd73": "99", "cd90": "98.5",
               "cd105": "97", "cd45": "0.5", "cd34": "0.3", "hla_dr": "0.4",
               "sterility": "no growth", "mycoplasma": "negative", "endotoxin": "0.1"}  # fmt: skip
    for test, value in results.items():
        page.click("text=Record a release test result")
        page.select_option("#f-test_code", test)
        page.fill("#f-value" if value[0].isdigit() else "#f-text_result", value)
        page.fill("#f-method", "validated SOP")
        page.fill("#f-tested_on", day(39))
        page.click("#test-form button[type=submit]")
        flash = page.locator(".flash-ok")
        expect(flash).to_contain_text("recorded: ")  # the test's name, result and verdict
        expect(flash).to_contain_text("within the limit")
    logout(page)

    # -- QA: release with an electronic signature, dated the day of the decision ----------------------
    first_login(page, base, "kato", once["kato"])
    page.goto(lot_url)
    page.fill("#f-released_on", day(40))
    page.check("#f-meaning_confirmed")
    page.fill("#f-password", new_password("kato"))
    page.click("#sign-release")
    expect(page.get_by_test_id("lot-status")).to_have_text("released")
    lot_number = page.locator("h1").inner_text().split()[1]
    logout(page)

    # -- the investigator: infusion with the two-person chain-of-identity check ------------------------
    login(page, base, "ito", new_password("ito"))
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/patients/{code}/infusions/new")
    for name, value in {
        "wristband_code": code,
        "label_code": lot_number,
        "infused_on": day(45),
        "weight_kg": "58",
        "weight_measured_on": day(45),
        "cells_total": "1.0e8",
        "product_volume_ml": "20",
        "diluent_volume_ml": "60",
        "rate_ml_per_min": "0.8",
        "started_at": f"{day(45)}T09:00",
        "stopped_at": f"{day(45)}T10:40",
        "second_username": "mori",
        "second_password": new_password("mori"),
        "password": new_password("ito"),
    }.items():
        page.fill(f"#f-{name}", value)
    page.fill("input[name=vitals_before_hr]", "72")
    page.fill("input[name=vitals_after_hr]", "75")
    page.click("#record-infusion")
    page.wait_for_url(re.compile(r".*/infusions/\d+$"))
    page.goto(f"{base}/patients/{code}")
    expect(page.get_by_test_id("step-infusion")).to_have_attribute("data-done", "yes")
    logout(page)

    # -- the assessor: the month-6 exam, entered by keyboard on the day it was done --------------------
    login(page, base, "sato", new_password("sato"))
    page.wait_for_url(f"{base}/")
    enter_exam(page, base, code, "month6", day(180))
    logout(page)

    # -- a correction with its reason, seen in the record's history -----------------------------------
    login(page, base, "ito", new_password("ito"))
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/patients/{code}")
    page.locator("[data-kind=harvest] >> text=correct").click()
    page.fill("#f-volume_ml", "52.0")
    page.fill("#f-reason", "volume re-read from the harvest record")
    page.click("#save-correction")
    expect(page.get_by_test_id("record-history")).to_contain_text("50.0 → 52.0")
    expect(page.get_by_test_id("record-history")).to_contain_text("re-read from the harvest")
    shots.take(page, "correction")
    logout(page)

    # -- the statistician: the trial report, built in the background -----------------------------------
    first_login(page, base, "abe", once["abe"])
    page.click("nav >> text=Report")
    page.click("#start-report")
    page.wait_for_url(re.compile(r".*/reports/\d+$"))
    expect(page.get_by_test_id("job-state")).to_have_text("done", timeout=240_000)
    assert page.get_by_test_id("job-steps").locator("li").count() >= 3
    shots.take(page, "report-job")
    with ctx.expect_page() as opened:
        page.click("#open-report")
    report = opened.value
    report.wait_for_load_state()
    assert "trial database" in report.content()  # as `cordtrial report` over the store
    ctx.close()

    # -- nothing of it outside the browser: the store holds one patient, audited --------------------
    from cordtrial.store import audit, db

    with db.session_scope(url) as s:
        assert audit.verify(s).ok

    assert shots.walked == [
        "admin-sites",
        "protocol",
        "register",
        "eligibility",
        "patient-path",
        "lot-start",
        "lot-label",
        "correction",
        "report-job",
    ]
