"""End-to-end: real headless Chromium (Debian package) against the app served on loopback.
(The screenshots in docs/ come from test_web_demo_pages.py, over the demo trial.)"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import (
    INJURY,
    PASSWORD,
    TODAY,
    USERNAME,
    browser_login,
    reference_case,
)
from playwright.sync_api import expect

from cordtrial.web.layout import DAP, ENTRY_ORDER, NON_KEY, VAC

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ROLE_LABEL = {
    "investigator": "Investigator",
    "assessor": "Assessor",
    "cell_processing": "Cell processing",
    "qa": "Quality assurance",
    "monitor": "Monitor",
    "statistician": "Statistician",
    "admin": "Administrator",
}


def test_each_role_logs_in_and_out(live_server, page):
    base, _ = live_server
    for role, username in USERNAME.items():
        browser_login(page, base, username, PASSWORD[role])
        assert ROLE_LABEL[role] in page.get_by_test_id("whoami").inner_text()
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(f"{base}/login")
    page.goto(f"{base}/")
    assert page.url.startswith(f"{base}/login")


def _keys_for(value: str, field: str) -> list[str]:
    """The keystrokes that enter a value in a worksheet cell (see static/js/worksheet.js)."""
    if field in (VAC, DAP):
        return [{"Yes": "y", "No": "n", "NT": "t"}[value]]
    base = value.rstrip("*")
    keys = ["n"] if base == "NT" else [base]
    stars = len(value) - len(base)
    if stars:
        # The digit already moved on: go back, cycle the flag, come forward again.
        keys += ["ArrowUp"] + ["*"] * stars + ["Enter"]
    return keys


@pytest.mark.parametrize("case_index", [0, 6])
def test_full_isncsci_exam_by_keyboard(live_server, page, case_index):
    base, _ = live_server
    case = reference_case(case_index)
    expected = case["totals"]
    browser_login(page, base, USERNAME["assessor"], PASSWORD["assessor"])
    page.goto(f"{base}/patients/SAP-001/exams/new")
    page.select_option("#visit_code", "screening")
    page.fill("#assessed_on", (INJURY + timedelta(days=6)).isoformat())
    page.focus("#f-" + ENTRY_ORDER[0])
    for field in ENTRY_ORDER:
        if field in NON_KEY.values():
            continue
        active = page.evaluate("document.activeElement.name")
        assert active == field, f"focus is on {active}, expected {field}"
        for key in _keys_for(case[field], field):
            page.keyboard.press(key)
    for side, name in NON_KEY.items():
        key = f"{side.lower()}LowestNonKeyMuscleWithMotorFunction"
        if case.get(key):
            page.select_option("#f-" + name, case[key])
    for key in (
        "asiaImpairmentScale",
        "neurologicalLevelOfInjury",
        "rightSensory",
        "leftSensory",
        "rightMotor",
        "leftMotor",
        "injuryComplete",
    ):
        # expect() polls from the test side: the page's CSP forbids eval-based waits.
        expect(page.get_by_test_id(f"result-{key}")).to_have_text(expected[key])
    expect(page.locator("#cls-status")).to_have_text("complete")
    assert page.inner_text("#cls-explanation")
    page.click("#save-exam")
    page.wait_for_url(re.compile(r".*/assessments/\d+$"))
    assert (
        page.get_by_test_id("result-asiaImpairmentScale").inner_text()
        == expected["asiaImpairmentScale"]
    )


def test_quick_fill_and_invalid_key(live_server, page):
    base, _ = live_server
    browser_login(page, base, USERNAME["assessor"], PASSWORD["assessor"])
    page.goto(f"{base}/isncsci")
    page.select_option("#quickfill-level", "C6")
    page.click("#quickfill-apply")
    assert page.input_value("#f-c6RightMotor") == "5"
    assert page.input_value("#f-c6LeftPrick") == "2"
    assert page.input_value("#f-c7RightMotor") == ""
    # Focus continues at the first blank cell in entry order.
    assert page.evaluate("document.activeElement.name") == "c7RightMotor"
    page.keyboard.press("7")
    assert "not allowed" in page.inner_text("#err-c7RightMotor")
    assert page.input_value("#f-c7RightMotor") == ""
    expect(page.get_by_test_id("result-rightSensory")).to_contain_text("C6")
    # A classification that runs after the rejected key (here: another cell edited) keeps the
    # message; it used to clear it when the pending request of the quick fill came late.
    before = page.get_attribute("#worksheet", "data-classified") or ""
    page.fill("#f-c8RightMotor", "3")
    expect(page.locator("#worksheet")).not_to_have_attribute("data-classified", before)
    assert "not allowed" in page.inner_text("#err-c7RightMotor")


def test_flag_reasons_and_comments_are_entered_saved_and_shown(live_server, page):
    base, _ = live_server
    browser_login(page, base, USERNAME["assessor"], PASSWORD["assessor"])
    page.goto(f"{base}/patients/SAP-001/exams/new")
    page.select_option("#visit_code", "screening")
    # after the consent (an exam before it asks for a confirmation) and in the screening window
    page.fill("#assessed_on", (INJURY + timedelta(days=8)).isoformat())
    page.select_option("#quickfill-level", "S4-5")
    page.click("#quickfill-apply")
    for field in (VAC, DAP):
        page.fill("#f-" + field, "Yes")
    expect(page.locator("#no-flags")).to_be_visible()
    # Flag two cells: a reason row appears for each, in entry order; unflagging removes it.
    page.focus("#f-c6RightMotor")
    page.keyboard.press("2")
    page.focus("#f-c6RightMotor")
    page.keyboard.press("*")
    page.fill("#f-t4LeftTouch", "1**")
    page.dispatch_event("#f-t4LeftTouch", "input")
    expect(page.locator("#flag-reasons tr")).to_have_count(2)
    assert page.get_attribute("#flag-reasons tr >> nth=0", "data-cell") == "c6RightMotor"
    assert page.inner_text("#flag-reasons tr >> nth=0 >> .flag-value") == "2*"
    page.fill("#reason-c6RightMotor", "old radial nerve injury")
    page.fill("#reason-t4LeftTouch", "herpes zoster scar")
    page.fill("#f-t4LeftTouch", "1")
    page.dispatch_event("#f-t4LeftTouch", "input")
    expect(page.locator("#flag-reasons tr")).to_have_count(1)
    page.fill("#f-t4LeftTouch", "1**")
    page.dispatch_event("#f-t4LeftTouch", "input")
    expect(page.locator("#reason-t4LeftTouch")).to_have_value("herpes zoster scar")  # kept
    page.fill("#comments", "Right wrist in a splint.\nRe-test next week.")
    page.click("#save-exam")
    page.wait_for_url(re.compile(r".*/assessments/\d+$"))
    rows = page.locator("#flag-reasons tbody tr")
    expect(rows).to_have_count(2)
    assert "old radial nerve injury" in rows.nth(0).inner_text()
    assert "C6 right motor" in rows.nth(0).inner_text()
    assert "herpes zoster scar" in rows.nth(1).inner_text()
    assert page.inner_text("#exam-comments") == "Right wrist in a splint.\nRe-test next week."


def test_release_a_lot_with_an_electronic_signature(live_server, page):
    base, scenario = live_server
    browser_login(page, base, USERNAME["qa"], PASSWORD["qa"])
    page.goto(f"{base}/lots/{scenario.lot_quarantine}")
    assert page.get_by_test_id("lot-status").inner_text() == "quarantine"
    page.check("#f-meaning_confirmed")
    page.fill("#f-password", PASSWORD["qa"])
    page.click("#sign-release")
    page.wait_for_selector("text=Lot released for clinical use")
    assert page.get_by_test_id("lot-status").inner_text() == "released"
    sigs = page.get_by_test_id("lot-signatures").inner_text()
    assert "Qa User" in sigs and "released for clinical use" in sigs and "valid" in sigs


def test_infusion_of_another_patients_lot_is_refused(live_server, page):
    base, _ = live_server
    browser_login(page, base, USERNAME["investigator"], PASSWORD["investigator"])
    page.goto(f"{base}/patients/SAP-001/infusions/new")
    page.fill("#f-wristband_code", "SAP-001")
    page.fill("#f-label_code", "LOT-SAP-002")  # SAP-002's released lot
    assert "not a released lot of SAP-001" in page.inner_text("#label-check")
    for name, value in {
        "weight_kg": "60",
        "cells_total": "1e8",
        "product_volume_ml": "20",
        "diluent_volume_ml": "60",
        "rate_ml_per_min": "0.8",
        "started_at": f"{TODAY.isoformat()}T09:00",
        "stopped_at": f"{TODAY.isoformat()}T10:40",
        "second_username": USERNAME["assessor"],
        "second_password": PASSWORD["assessor"],
        "password": PASSWORD["investigator"],
    }.items():
        page.fill(f"#f-{name}", value)
    page.fill("input[name=vitals_before_hr]", "70")
    page.fill("input[name=vitals_after_hr]", "72")
    page.click("#record-infusion")
    refusal = page.get_by_test_id("refusal").inner_text()
    assert "LOT-SAP-002 belongs to SAP-002, not SAP-001" in refusal
    assert "nothing was saved" in refusal
    page.goto(f"{base}/patients/SAP-001")
    assert page.locator("[data-kind=infusion]").count() == 0


def test_record_an_adverse_event(live_server, page):
    base, _ = live_server
    browser_login(page, base, USERNAME["investigator"], PASSWORD["investigator"])
    page.goto(f"{base}/patients/SAP-001")
    page.get_by_test_id("new-ae").click()
    page.fill("#f-term", "Fever")
    page.select_option("#f-grade", "1")
    page.select_option("#f-related_infusion", "possible")
    page.fill("#f-onset_date", TODAY.isoformat())
    page.click("#save-ae")
    page.wait_for_selector("text=Adverse event “Fever” recorded.")
    assert "Adverse event: Fever" in page.get_by_test_id("timeline").inner_text()
    page.goto(f"{base}/adverse-events")
    assert "Fever" in page.get_by_test_id("ae-log").inner_text()


def test_monitor_cannot_edit_and_sees_no_other_site(live_server, page):
    base, scenario = live_server
    browser_login(page, base, USERNAME["monitor"], PASSWORD["monitor"])
    dashboard = page.inner_text("main")
    assert "SAP-001" in dashboard and "OTH-001" not in dashboard
    page.goto(f"{base}/patients/SAP-001")
    assert page.get_by_test_id("new-exam").count() == 0
    assert page.get_by_test_id("new-ae").count() == 0
    page.goto(f"{base}/lots/{scenario.lot_quarantine}")
    assert page.locator("#release-form").count() == 0
    resp = page.goto(f"{base}/patients/SAP-001/exams/new")
    assert resp.status == 403
    # Pages and API of the other site's patient
    resp = page.goto(f"{base}/patients/OTH-001")
    assert (
        resp.status == 403 and "another site" in page.get_by_test_id("error-message").inner_text()
    )
    api = page.request.get(f"{base}/api/v1/patients")
    assert {p["study_code"] for p in api.json()} == {"SAP-001", "SAP-002"}
    assert page.request.get(f"{base}/api/v1/patients/OTH-001").status == 403
    assert page.request.get(f"{base}/api/v1/lots/{scenario.lot_other_site}").status == 404
    # A write through the API with the monitor's session is refused too.
    token = page.get_attribute("meta[name=csrf-token]", "content")
    r = page.request.post(
        f"{base}/api/v1/patients/SAP-001/adverse-events",
        headers={"X-CSRF-Token": token},
        data={"term": "Fever", "grade": 1, "serious": False, "onset_date": TODAY.isoformat()},
    )
    assert r.status == 403
    page.goto(f"{base}/audit")


def test_the_lots_growth_chart_fits_a_phone_screen(live_server, page):
    """The growth curve (an SVG 560 px wide) made the whole lot page 586 px wide at 390 px."""
    base, scenario = live_server
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login(page, base, USERNAME["cell_processing"], PASSWORD["cell_processing"])
    page.goto(f"{base}/lots/{scenario.lot_quarantine}")
    chart = page.locator("svg.chart").first
    expect(chart).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = chart.bounding_box()
    assert box["width"] <= 390 and box["height"] > 100  # scaled down, not cut off or flattened
