"""Instrument result pages read as a person reads them; the worklist and export of records a
definition correction may have changed (WISCI II 18/19 under wisci2@1), by role and site; and
re-entering such a record from the source document."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from conftest import INJURY, login
from sqlalchemy import select

from cordtrial.store import db as store_db
from cordtrial.store.models import Assessment, Patient, User
from cordtrial.store.services import assessments

ON = INJURY + timedelta(days=7)  # after the consent (day 6)


def _store(url: str, kind: str, data: dict, *, patient="SAP-001", user="ass", version=None):
    """Record an instrument through the store; ``version`` relabels it as the migration labels
    a record entered before the fix (e.g. "wisci2@1")."""
    with store_db.session_scope(url) as s:
        who = s.scalar(select(User).where(User.username == user))
        p = s.scalar(select(Patient).where(Patient.study_code == patient))
        row = assessments.record_instrument(
            who,
            s,
            p,
            kind=kind,
            visit_code="unscheduled",
            assessed_on=ON,
            data=data,
            assessor_name="Dr Walk",
            blinded=False,
            confirm=("instrument_incomplete",),  # several records are partial on purpose
        )
        if version:
            row.engine_version = version
        s.flush()
        return row.id


def _row(page: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, testid
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


# -- result pages ------------------------------------------------------------------------------


def test_incomplete_scim_page_names_missing_items_and_shows_subscales(scenario, client):
    from cordtrial.instruments import SCIM3

    data = {i.id: i.options[-1].value for i in SCIM3.items}
    del data["bathing_upper"], data["stairs"]
    aid = _store(scenario.url, "scim3", data)
    login(client, "monitor")
    page = client.get(f"/assessments/{aid}").text
    assert '<pre class="json">' not in page and '"scores": {' not in page
    missing = re.search(r'data-testid="missing-items"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "2 of 19 items not assessed" in missing
    assert "2A Bathing, upper body" in missing and "15 Stair management" in missing
    assert _row(page, "score-total").startswith(
        "SCIM III total not computable: items 2A, 15 missing"
    )
    assert "40 / 40" in _row(page, "score-respiration_sphincter")
    assert "not computable: item 2A missing" in _row(page, "score-self_care")
    assert "yes (item 12 at level 4 or more)" in _row(page, "derived-walks_indoors")
    assert "not assessed" in _row(page, "answer-bathing_upper")
    assert "stand-in wording" in _row(page, "answer-feeding")
    assert "8: walks without aids" in _row(page, "answer-mobility_indoors")
    assert "definition scim3@1" in page


def test_wisci_page_shows_levels_with_their_description(scenario, client):
    aid = _store(scenario.url, "wisci2", {"self_selected": 13, "maximum": 18})
    login(client, "statistician")
    page = client.get(f"/assessments/{aid}").text
    assert _row(page, "score-maximum").startswith(
        "Maximum level level 18 · no devices, braces, no assistance"
    )
    assert "level 13 · walker, no braces, no assistance" in _row(page, "score-self_selected")
    assert "unverified" in _row(page, "answer-maximum")
    assert "unverified" not in _row(page, "answer-self_selected")
    assert 'data-testid="review-needed"' not in page and "explicitly incomplete" not in page


def test_nbd_page_shows_points_and_severity_band(scenario, client):
    from cordtrial.instruments import NBD

    data = {i.id: i.options[0].value for i in NBD.items}
    data["faecal_incontinence_frequency"] = "1_to_6_per_week"
    data["time_per_defecation"] = "31_to_60_min"
    aid = _store(scenario.url, "nbd", data)
    login(client, "investigator")
    page = client.get(f"/assessments/{aid}").text
    assert "10 / 47" in _row(page, "score-total")
    assert "lower is better" in _row(page, "score-total")
    assert "moderate (10-13)" in _row(page, "derived-severity")
    assert (
        _row(page, "answer-time_per_defecation")
        == "2 Time per defecation 31-60 minutes unverified 3"
    )


def test_lut_page_shows_answers_in_words(scenario, client):
    data = {
        "main_emptying_method": "intermittent_self_catheterisation",
        "supplementary_emptying_methods": ["straining", "external_compression"],
        "voluntary_emptyings_per_day": 4,
        "involuntary_leakage_last_3_months": "less_than_monthly",
    }
    aid = _store(scenario.url, "lutf", data)
    login(client, "assessor")
    page = client.get(f"/assessments/{aid}").text
    assert "intermittent self-catheterisation" in _row(page, "answer-main_emptying_method")
    assert "straining; external compression" in _row(page, "answer-supplementary_emptying_methods")
    assert "4 per day" in _row(page, "answer-voluntary_emptyings_per_day")
    assert "less than monthly" in _row(page, "answer-involuntary_leakage_last_3_months")
    assert "5 of 9 items not assessed" in page
    assert 'data-testid="scores"' not in page  # a descriptive record has no scores


# -- records awaiting definition review --------------------------------------------------------


@pytest.fixture
def pending(scenario):
    """WISCI II records entered before the fix: at 18/19 at each site, and one at 12; plus one
    at 19 entered under the fixed definition."""
    url = scenario.url
    return {
        "sap": _store(url, "wisci2", {"self_selected": 18, "maximum": 19}, version="wisci2@1"),
        "sap12": _store(url, "wisci2", {"maximum": 12}, version="wisci2@1"),
        "oth": _store(
            url, "wisci2", {"maximum": 18}, patient="OTH-001", user="inv-b", version="wisci2@1"
        ),
        "fixed": _store(url, "wisci2", {"maximum": 19}),
    }


@pytest.mark.parametrize(
    "role, allowed",
    [("investigator", True), ("monitor", True), ("admin", True)]
    + [(r, False) for r in ("assessor", "statistician", "qa", "cell_processing")],
)
def test_worklist_by_role_and_site(pending, client, role, allowed):
    login(client, role)
    r = client.get("/review/definitions")
    nav = client.get("/").text
    assert ("/review/definitions" in nav) == allowed
    if not allowed:
        assert r.status_code == 403
        return
    assert r.status_code == 200
    rows = re.findall(r'href="/assessments/(\d+)" data-testid="review-open"', r.text)
    expected = [pending["sap"]] + ([pending["oth"]] if role == "admin" else [])
    assert sorted(map(int, rows)) == sorted(expected)
    assert "Maximum level <strong>19</strong>" in r.text
    assert "entered as “19: no devices, braces, no assistance”" in r.text


def test_worklist_empty_on_a_store_without_old_records(client):
    login(client, "monitor")
    page = client.get("/review/definitions").text
    assert 'data-testid="review-empty"' in page and "wisci2-levels-18-19" in page


def _csv(client, query: str) -> list[dict]:
    r = client.get(f"/exports/instruments.csv{query}")
    assert r.status_code == 200, r.text
    return list(csv.DictReader(io.StringIO(r.text)))


def test_export_has_version_and_review_columns_and_filters(pending, client):
    login(client, "monitor")
    everything = _csv(client, "")
    assert {r["definition_version"] for r in everything} == {"wisci2@1", "wisci2@2"}
    pending_rows = _csv(client, "?review=pending")
    assert [r["awaiting_review"] for r in pending_rows] == [
        "wisci2-levels-18-19: self_selected=18, maximum=19"
    ]
    old = _csv(client, "?version=wisci2@1")
    assert {r["definition_version"] for r in old} == {"wisci2@1"} and len(old) == 2
    assert _csv(client, "?version=wisci2@2&review=pending") == []
    login(client, "admin")
    assert len(_csv(client, "?review=pending")) == 2  # both sites


@pytest.mark.parametrize(
    "query, needle",
    [
        ("?version=wisci2@9", "version: got 'wisci2@9'; allowed: a definition version: scim3@1"),
        ("?review=all", "review: got 'all'"),
        ("?sort=date", "sort: got 'date'"),
    ],
)
def test_export_filter_errors_name_the_field(pending, client, query, needle):
    login(client, "monitor")
    r = client.get(f"/exports/instruments.csv{query}")
    assert r.status_code == 422
    assert needle in r.text.replace("&#39;", "'")
    r = client.get(f"/exports/patients.csv{query}")
    assert r.status_code == 422 and "takes no query" in r.text


def test_exports_page_offers_the_version_filter(client):
    login(client, "statistician")
    page = client.get("/exports").text
    form = page.split('data-testid="instrument-export-filter"')[1]
    assert '<option value="wisci2@1">' in form and 'name="review" value="pending"' in form


def test_old_record_page_shows_both_wordings_and_reentry_resolves_it(pending, client):
    aid = pending["sap"]
    login(client, "monitor")
    page = client.get(f"/assessments/{aid}").text
    flag = page.split('data-testid="review-flag-maximum"')[1].split("</li>")[0]
    assert "entered under wisci2@1 as “19: no devices, braces, no assistance”" in flag
    assert "19 is “19: one cane/crutch, no braces, no assistance”" in flag
    # Read with the definition it was entered under, never silently with the new one.
    assert "level 19 · no devices, braces, no assistance" in _row(page, "score-maximum")
    assert 'data-testid="review-link"' not in page  # monitors do not change data
    assert client.get(f"/assessments/{aid}/review").status_code == 403

    token = login(client, "investigator")
    page = client.get(f"/assessments/{aid}").text
    assert f'href="/assessments/{aid}/review"' in page
    form_page = client.get(f"/assessments/{aid}/review").text
    # Affected items start blank: the level is read again from the source document.
    assert re.search(r'<option value="19"\s+selected', form_page) is None
    assert 'data-testid="must-answer-maximum"' in form_page
    r = client.post(
        f"/assessments/{aid}/review",
        data={"csrf_token": token, "item_self_selected": "18", "reason": "CRF"},
    )
    assert r.status_code == 422
    assert "required: the value read from the source document, under wisci2@2" in r.text
    r = client.post(
        f"/assessments/{aid}/review",
        data={"csrf_token": token, "item_self_selected": "18", "item_maximum": "18"},
    )
    assert r.status_code == 422 and "why the values are as entered" in r.text
    r = client.post(
        f"/assessments/{aid}/review",
        data={
            "csrf_token": token,
            "item_self_selected": "18",
            "item_maximum": "18",
            "reason": "CRF: walks 10 m with braces, no devices",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "Re-entered under wisci2@2" in page and "definition wisci2@2" in page
    assert 'data-testid="review-needed"' not in page
    assert "level 18 · no devices, braces, no assistance" in _row(page, "score-maximum")
    listed = client.get("/review/definitions").text
    assert f'href="/assessments/{aid}" data-testid="review-open"' not in listed
    with store_db.session_scope(client.app.state.database_url) as s:
        assert s.get(Assessment, aid).engine_version == "wisci2@2"


def test_other_site_record_cannot_be_reviewed(pending, client):
    login(client, "investigator")
    assert client.get(f"/assessments/{pending['oth']}/review").status_code == 403
    assert client.get(f"/assessments/{pending['oth']}").status_code == 403


def test_timeline_marks_records_awaiting_review(pending, client):
    login(client, "investigator")
    page = client.get("/patients/SAP-001").text
    assert page.count("definition corrected: review") == 1
