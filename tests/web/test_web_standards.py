"""The exports page's data standards: the roles allowed to export pick a format and download a
zip of their site's (or, sponsor-level, every site's) de-identified data."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from conftest import PASSWORD, USERNAME, browser_login, login


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


def test_site_user_gets_only_their_site(client):
    login(client, "monitor")
    page = client.get("/exports").text
    assert 'data-testid="format-sdtm"' in page and 'data-testid="format-stata"' in page
    zf = _zip(client.get("/exports/standard?format=odm"))
    odm = zf.read("cordtrial-odm/odm.xml").decode()
    assert 'SubjectKey="SAP-001"' in odm and "OTH-001" not in odm
    assert "Name of" not in odm  # no identity data
    readme = zf.read("cordtrial-odm/README.txt").decode()
    assert "de-identified" in readme


def test_sponsor_level_statistician_gets_every_site_in_each_format(client):
    login(client, "statistician")
    expect = {
        "sdtm": "define.xml",
        "odm": "odm.xml",
        "redcap": "data_dictionary.csv",
        "sas": "patients.sas",
        "spss": "patients.sav",
        "stata": "patients.dta",
    }
    for fmt, member in expect.items():
        zf = _zip(client.get(f"/exports/standard?format={fmt}"))
        names = {Path(n).name for n in zf.namelist()}
        assert member in names, (fmt, sorted(names)[:10])
    dm = (
        zipfile.ZipFile(io.BytesIO(client.get("/exports/standard?format=sdtm").content))
        .read("cordtrial-sdtm/json/dm.json")
        .decode()
    )
    assert "SAP-001" in dm and "OTH-001" in dm


def test_bad_format_and_roles_without_export(client):
    login(client, "statistician")
    r = client.get("/exports/standard?format=xlsx")
    assert r.status_code == 400 and "allowed: sdtm, odm, redcap, sas, spss, stata" in r.text
    login(client, "assessor")
    assert client.get("/exports/standard?format=sdtm").status_code == 403


@pytest.mark.slow
@pytest.mark.browser
def test_download_from_the_page_in_chromium(live_server, page, tmp_path):
    base, _ = live_server
    browser_login(page, base, USERNAME["investigator"], PASSWORD["investigator"])
    page.goto(f"{base}/exports")
    page.check('[data-testid="format-redcap"]')
    if os.environ.get("CORDTRIAL_WEB_SCREENSHOTS"):
        page.screenshot(
            path=str(Path(os.environ["CORDTRIAL_WEB_SCREENSHOTS"]) / "web-exports.png"),
            full_page=True,
        )
    with page.expect_download() as info:
        page.click('[data-testid="standards-download"]')
    download = info.value
    assert download.suggested_filename == "cordtrial-redcap-sap.zip"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with zipfile.ZipFile(saved) as zf:
        records = zf.read("cordtrial-redcap/records.csv").decode()
    assert "SAP-001" in records and "OTH-001" not in records
