"""The printable ISNCSCI worksheet (PDF): laid out like the paper form, read back as text."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from conftest import login
from pypdf import PdfReader
from test_web_api import API, basic, exam_body, reference_exam

from cordtrial.isncsci import Exam, classify
from cordtrial.isncsci.synthetic import generate_exams
from cordtrial.web.worksheet_pdf import WorksheetRecord, worksheet_pdf


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def record() -> WorksheetRecord:
    rhi = generate_exams(1, 9, nt_rate=0, flag_rate=0, nonkey_rate=0, anal_nt_rate=0,
                         pattern_weights={"complete": 1.0})[0]  # fmt: skip
    rhi.pop("id")
    rhi["c5LeftMotor"] = "2*"
    rhi["t4RightPrick"] = "0**"
    result = classify(Exam.from_rhi(rhi)).to_rhi()
    return WorksheetRecord(
        study_code="SAP-042",
        visit="month 3",
        exam_date="2026-05-01",
        examiner="Dr Müller-Łukasz",
        blinded=True,
        engine_version="engine-x",
        data=rhi,
        result=result,
        comments="Left arm in a cast.\nRe-test C5 next visit.",
        flag_reasons={"c5LeftMotor": "old brachial plexus injury"},
        signatures=["A. Assessor, 2026-05-01 10:00 UTC, 'exam reviewed and signed off' (valid)"],
        printed_at=datetime(2026, 5, 2, 9, 30, tzinfo=UTC),
    )


def test_pdf_has_the_worksheet_the_classification_and_the_notes(record):
    pdf = worksheet_pdf(record)
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    for expected in (
        "International Standards for Neurological Classification",
        "Patient SAP-042",
        "Dr Müller-Łukasz (blinded)",
        "Elbow flexors",
        "S4-5",
        "2*",
        "0**",
        "old brachial plexus injury",
        "T4 right pin prick: 0**",
        "no reason recorded",
        "Re-test C5 next visit.",
        "A. Assessor, 2026-05-01 10:00 UTC",
        "Examiner signature",
        "ASIA Impairment Scale (AIS)",
    ):
        assert expected in text, expected
    for key in ("rightSensory", "neurologicalLevelOfInjury", "rightMotorZpp", "upperMotorTotal"):
        assert record.result[key] in text, key


def test_every_dermatome_row_is_printed_in_order(record):
    text = text_of(worksheet_pdf(record))
    positions = [text.index(f" {level} ") for level in ("C2", "C5", "T1", "L2", "S1", "S3")]
    assert positions == sorted(positions)


def test_download_from_the_exam_page(client):
    exam, totals = reference_exam()
    cell = next(k for k, v in exam.items() if k.endswith("Motor") and v in ("0", "1", "2"))
    exam[cell] += "*"
    body = exam_body(exam) | {"comments": "Spasticity.", "flag_reasons": {cell: "old fracture"}}
    r = client.post(f"{API}/patients/SAP-001/isncsci-exams", json=body, auth=basic("assessor"))
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    login(client, "monitor")
    page = client.get(f"/assessments/{aid}")
    assert f'href="/assessments/{aid}/worksheet.pdf"' in page.text
    resp = client.get(f"/assessments/{aid}/worksheet.pdf")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/pdf"
    assert "attachment" in resp.headers["content-disposition"]
    text = text_of(resp.content)
    assert "old fracture" in text and "Spasticity." in text and "SAP-001" in text
    assert r.json()["result"]["asiaImpairmentScale"] in text
    missing = client.get("/assessments/999999/worksheet.pdf")
    assert missing.status_code == 404
