"""Accounts and administration in real Chromium, on the demo trial: an administrator creates an
account, the new user logs in with the one-time password, chooses a password and sets up
two-factor login; pages checked at 1440 and 390 px. With CORDTRIAL_WEB_SCREENSHOTS=docs/img the
screenshots in docs/web.md are written from here."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import expect
from test_web_demo_pages import DEMO_PASSWORDS, demo_server  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _out(tmp_path) -> Path:
    out = Path(os.environ.get("CORDTRIAL_WEB_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _fits(page) -> None:
    """Nothing wider than the window (no sideways scrolling on a phone)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, (page.url, width)


def _login(page, base, username, password) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_admin_creates_an_account_and_its_owner_takes_over(demo_server, browser, tmp_path):  # noqa: F811
    base, _ = demo_server
    out = _out(tmp_path)
    admin = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    _login(admin, base, "sap_admin", DEMO_PASSWORDS["admin"])
    admin.click("text=Administration")
    admin.fill("#f-username", "nurse.kato")
    admin.fill("#f-display_name", "Kato Yumi")
    admin.select_option("#f-role", "assessor")
    if admin.locator("select#f-site").count():
        admin.select_option("#f-site", "SAP")
    admin.click("#new-user button[type=submit]")
    once = admin.get_by_test_id("one-time-password").inner_text()
    expect(admin.get_by_test_id("accounts")).to_contain_text("new password due")
    admin.screenshot(path=str(out / "web-admin-accounts.png"), full_page=True)
    admin.goto(f"{base}/admin/security")
    admin.screenshot(path=str(out / "web-admin-policy.png"))

    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    _login(page, base, "nurse.kato", once)
    expect(page).to_have_url(re.compile("/account/password$"))
    page.fill("#f-current_password", once)
    page.fill("#f-new_password", "password1234")
    page.fill("#f-confirm_password", "password1234")
    page.click("button.primary")
    expect(page.locator("#err-new_password")).to_contain_text("common")
    page.fill("#f-current_password", once)
    page.fill("#f-new_password", "amber kiwi lantern 58")
    page.fill("#f-confirm_password", "amber kiwi lantern 58")
    page.click("button.primary")
    expect(page).to_have_url(f"{base}/")
    page.goto(f"{base}/account")
    page.screenshot(path=str(out / "web-account.png"), full_page=True)
    page.click("text=Set up two-factor login")
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    page.screenshot(path=str(out / "web-two-factor.png"), full_page=True)
    totp = pyotp.TOTP(secret)
    page.fill("#f-code", totp.now())
    page.click("button.primary")
    expect(page.get_by_test_id("two-factor")).to_contain_text("on")

    # The same person on a phone: password, then a code; every page fits 390 px
    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    _login(phone, base, "nurse.kato", "amber kiwi lantern 58")
    expect(phone).to_have_url(re.compile("/login/code$"))
    _fits(phone)
    phone.fill("#code", totp.at(__import__("time").time() + 30))
    phone.click("button.primary")
    expect(phone).to_have_url(f"{base}/")
    for path in ("/", "/account/password", "/account"):
        phone.goto(f"{base}{path}")
        _fits(phone)
    expect(phone.get_by_test_id("sessions").locator("tbody tr")).to_have_count(2)
    admin.set_viewport_size({"width": 390, "height": 844})
    for path in ("/admin/users", "/admin/users/nurse.kato", "/admin/security"):
        admin.goto(f"{base}{path}")
        _fits(admin)
