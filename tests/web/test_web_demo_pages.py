"""The app over the seeded demo trial: every main page renders in Chromium, and the `serve`
command's demo seeding. With CORDTRIAL_WEB_SCREENSHOTS=docs/img the screenshots in the docs are
written from here."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from conftest import DEMO_PASSWORDS, _free_port, browser_login
from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def demo_server(demo_store):
    import uvicorn

    from cordtrial.web.app import create_app

    url = demo_store
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(url), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", url
    server.should_exit = True
    thread.join(10)


def _out(tmp_path) -> Path:
    return Path(os.environ.get("CORDTRIAL_WEB_SCREENSHOTS") or tmp_path)


def test_demo_pages_render(demo_server, browser, tmp_path):
    base, _ = demo_server
    out = _out(tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/login")
    page.screenshot(path=str(out / "web-login.png"))
    browser_login(page, base, "sap_investigator", DEMO_PASSWORDS["investigator"])
    from cordtrial.store.demo import demo_size

    # SAP's demo patients: the case series and one at every stage of the pipeline
    assert page.locator("[data-testid=patient-link]").count() == demo_size() - 2
    for stage in ("screening", "enrolled", "harvested", "culture", "released", "infused"):
        assert page.locator(f"[data-stage={stage}] [data-testid=patient-link]").count() >= 1
    page.screenshot(path=str(out / "web-dashboard.png"), full_page=True)
    page.locator("[data-stage=infused] [data-testid=patient-link]").first.click()
    assert page.locator("[data-kind=infusion]").count() == 1
    assert page.locator("[data-kind=assessment]").count() > 3
    page.screenshot(path=str(out / "web-timeline.png"), full_page=True)
    lot_link = page.locator("ol.timeline a[href^='/lots/']").first
    lot_link.click()
    assert page.locator("svg.chart circle").count() >= 2
    page.screenshot(path=str(out / "web-cell-product.png"), full_page=True)
    page.goto(f"{base}/adverse-events")
    page.screenshot(path=str(out / "web-adverse-events.png"), full_page=True)
    page.goto(f"{base}/audit")
    assert page.locator("[data-testid=audit-table] tbody tr").count() == 50
    page.screenshot(path=str(out / "web-audit.png"))
    page.goto(f"{base}/exports")
    page.screenshot(path=str(out / "web-exports.png"))
    analysis = page.request.get(f"{base}/exports/analysis_exams.csv")
    assert analysis.status == 200 and "SYN-SAP-01" in analysis.text()
    assert "SYN-ASA" not in analysis.text()
    page.goto(f"{base}/api/v1/docs")
    page.screenshot(path=str(out / "web-api.png"), full_page=True)
    # Worksheet: normal down to C5, then the start of a C5 AIS B-like exam below it.
    code = page.request.get(f"{base}/api/v1/patients").json()[0]["study_code"]
    page.goto(f"{base}/patients/{code}/exams/new")
    page.select_option("#quickfill-level", "C5")
    page.click("#quickfill-apply")
    for key in "43210000":
        page.keyboard.press(key)
    # expect() polls from the test side: the page's CSP forbids eval-based waits.
    expect(page.locator("#cls-status")).to_contain_text("blank")
    expect(page.get_by_test_id("result-rightMotor")).not_to_have_text("–")
    page.screenshot(path=str(out / "web-worksheet.png"), full_page=True)
    ctx.close()
    for name in ("login", "dashboard", "timeline", "cell-product", "worksheet", "audit"):
        assert (out / f"web-{name}.png").stat().st_size > 10_000


def test_demo_casebook_and_worklists(demo_server, browser, tmp_path):
    """The monitor's view after the demo's monitoring visit: SYN-SAP-01 verified and signed up
    to month 1, a query open on its month 3 exam; the worklists with their counts."""
    base, _ = demo_server
    out = _out(tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    browser_login(page, base, "sap_monitor", DEMO_PASSWORDS["monitor"])
    page.goto(f"{base}/patients/SYN-SAP-01/casebook")
    cell = page.get_by_test_id("cell-month1-isncsci")
    assert cell.get_attribute("data-statuses") == "done verified signed"
    assert page.get_by_test_id("cell-month3-isncsci").get_attribute("data-status") == "queried"
    assert page.get_by_test_id("count-queries").inner_text() == "1"
    page.screenshot(path=str(out / "web-casebook.png"), full_page=True)
    page.goto(f"{base}/worklists")
    assert page.get_by_test_id("wl-count-queries").inner_text() == "2"
    page.screenshot(path=str(out / "web-worklists.png"), full_page=True)
    page.goto(f"{base}/worklists/queries")
    assert page.get_by_test_id("wl-row").count() == 2
    page.screenshot(path=str(out / "web-worklist-queries.png"), full_page=True)
    ctx.close()
    for name in ("casebook", "worklists"):
        assert (out / f"web-{name}.png").stat().st_size > 10_000


def test_demo_lot_page_for_qa_and_infusion_page(demo_server, browser, tmp_path):
    base, _ = demo_server
    out = _out(tmp_path)
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    browser_login(page, base, "sap_investigator", DEMO_PASSWORDS["investigator"])
    code = page.request.get(f"{base}/api/v1/patients").json()[0]["study_code"]
    page.goto(f"{base}/patients/{code}/infusions/new")
    page.fill("#f-wristband_code", code)
    page.fill("#f-label_code", "not-a-lot")
    assert "not a released lot" in page.inner_text("#label-check")
    page.screenshot(path=str(out / "web-infusion.png"), full_page=True)
    ctx.close()


def test_serve_demo_seeding_is_once_only(demo_server, capsys):
    from cordtrial.web.commands import _seed_demo

    _, url = demo_server
    note = _seed_demo(url)
    assert "already has patients" in capsys.readouterr().out
    assert "ynthetic" in note


def test_serve_command_registers():
    import typer
    from typer.testing import CliRunner

    from cordtrial.web.commands import register

    app = typer.Typer()
    register(app)

    @app.command("other")
    def other() -> None:  # a second command so Typer keeps sub-command names
        pass

    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--demo", "--host", "--port", "--database-url"):
        assert option in result.output


def test_serve_demo_prints_passwords_once(tmp_path, monkeypatch, capsys):
    import uvicorn

    from cordtrial.web import app as web_app
    from cordtrial.web.commands import serve

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append((app, kw)))
    # serve() hands its settings to the workers through the environment: restore it afterwards
    for name in (
        "CORDTRIAL_DATABASE_URL",
        web_app.ENV_COOKIE_SECURE,
        web_app.ENV_DEMO_NOTICE,
        web_app.ENV_REQUEST_LOG,
    ):
        monkeypatch.setenv(name, "")
    url = f"sqlite:///{tmp_path / 'serve.sqlite'}"
    options = dict(
        host="127.0.0.1",
        port=8123,
        database_url=url,
        insecure_cookies=False,
        workers=2,
        proxy_headers=False,
        forwarded_allow_ips="127.0.0.1",
        request_log="off",
    )
    serve(demo=True, **options)
    out = capsys.readouterr().out
    assert "shown once" in out and "sap_qa" in out
    [(target, kw)] = served
    assert target == "cordtrial.web.app:app_from_environment" and kw["factory"]
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8123 and kw["workers"] == 2
    app = web_app.app_from_environment()  # what each worker builds
    assert app.state.database_url == url
    assert app.state.cookie_secure and app.state.demo_notice
    serve(demo=True, **options)
    again = capsys.readouterr().out
    assert "already has patients" in again and "shown once" not in again
