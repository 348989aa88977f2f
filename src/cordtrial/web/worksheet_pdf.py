"""A printable ISNCSCI worksheet (PDF) for one stored exam, laid out like the paper form.

The 2019 ASIA/ISCoS worksheet: per dermatome row the right side's key muscle, motor grade, light
touch and pin prick, then the left side mirrored; totals beneath; VAC and DAP; the lowest
non-key muscle with motor function; the classification (sensory and motor levels, NLI,
complete or incomplete, AIS, zones of partial preservation) with every star; then what the
examiner wrote beside the grades (the reason for each flagged value, comments) and the
signatures: the electronic ones recorded in the store, with their validity, and a line for a
hand signature on the printed copy. Pure: plain data in, PDF bytes out (fpdf2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

from . import layout as L  # the worksheet's rows, cells and labels

#: A Unicode font shipped with matplotlib (a dependency), so any text in comments prints.
_FONT_DIR = Path(__import__("matplotlib").get_data_path()) / "fonts" / "ttf"


@dataclass
class WorksheetRecord:
    """What the printed worksheet shows: the exam as stored and its context."""

    study_code: str
    visit: str
    exam_date: str
    examiner: str
    blinded: bool
    engine_version: str
    data: dict[str, str]  # the exam in the flat RHI naming
    result: dict[str, str]  # the 25 result fields
    comments: str | None = None
    flag_reasons: dict[str, str] = field(default_factory=dict)
    signatures: list[str] = field(default_factory=list)  # "name, time, meaning (valid)"
    synthetic: bool = False
    printed_at: datetime | None = None


def _value(data: dict[str, str], key: str) -> str:
    return str(data.get(key) or "")


class _Sheet(FPDF):
    def __init__(self, record: WorksheetRecord) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.record = record
        self.add_font("DejaVu", "", str(_FONT_DIR / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(_FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(True, margin=12)
        self.set_margins(10, 10, 10)
        self.set_title(f"ISNCSCI worksheet {record.study_code} {record.visit} {record.exam_date}")
        self.set_creator("cordtrial")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("DejaVu", "", 7)
        r = self.record
        printed = (r.printed_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M")
        self.cell(0, 4, f"{r.study_code} · {r.visit} · {r.exam_date} · engine {r.engine_version}"
                  f" · printed {printed} UTC · page {self.page_no()}/{{nb}}", align="C")  # fmt: skip


def worksheet_pdf(record: WorksheetRecord) -> bytes:
    """The worksheet of one exam as PDF bytes (A4, one or two pages)."""
    pdf = _Sheet(record)
    pdf.alias_nb_pages()
    pdf.add_page()
    _header(pdf, record)
    _grid(pdf, record)
    _anal_and_non_key(pdf, record)
    _classification(pdf, record)
    _beside_the_grades(pdf, record)
    _signatures(pdf, record)
    return bytes(pdf.output())


def _header(pdf: FPDF, r: WorksheetRecord) -> None:
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 6, "International Standards for Neurological Classification of Spinal Cord "
             "Injury (ISNCSCI)", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_font("DejaVu", "", 8)
    synthetic = "  ·  SYNTHETIC DATA" if r.synthetic else ""
    pdf.cell(0, 4.5, f"Patient {r.study_code}  ·  visit {r.visit}  ·  exam date {r.exam_date}  ·  "
             f"examiner {r.examiner}{' (blinded)' if r.blinded else ''}{synthetic}",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.cell(0, 4.5, "Motor 0-5, sensory 0-2 (light touch LT, pin prick PP), NT not testable; "
             "* non-SCI impairment considered not normal, ** considered normal.",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(1)


# Column widths (mm): right key muscle, motor, LT, PP, level, LT, PP, motor, left key muscle.
_WIDTHS = (46, 12, 12, 12, 14, 12, 12, 12, 46)
_ROW = 5.6


def _grid(pdf: FPDF, r: WorksheetRecord) -> None:
    pdf.set_font("DejaVu", "B", 7.5)
    pdf.set_fill_color(235, 235, 235)
    heads = (
        "RIGHT key muscle",
        "Motor",
        "LT",
        "PP",
        "Level",
        "LT",
        "PP",
        "Motor",
        "LEFT key muscle",
    )
    for width, head in zip(_WIDTHS, heads, strict=True):
        pdf.cell(width, _ROW, head, border=1, align="C", fill=True)
    pdf.ln()
    for level in L.DERMATOMES:
        muscle = L.KEY_MUSCLES.get(level, "")
        cells = [
            muscle,
            _value(r.data, L.motor_field(level, "Right")) if muscle else "",
            _value(r.data, L.sensory_field(level, "Right", "Touch")),
            _value(r.data, L.sensory_field(level, "Right", "Prick")),
            level,
            _value(r.data, L.sensory_field(level, "Left", "Touch")),
            _value(r.data, L.sensory_field(level, "Left", "Prick")),
            _value(r.data, L.motor_field(level, "Left")) if muscle else "",
            muscle,
        ]
        for i, (width, text) in enumerate(zip(_WIDTHS, cells, strict=True)):
            pdf.set_font("DejaVu", "B" if i == 4 or (text.endswith("*")) else "", 7.5)
            shaded = i in (1, 7) and not muscle
            pdf.cell(width, _ROW, text, border=1, align="L" if i in (0, 8) else "C", fill=shaded)
        pdf.ln()
    res = r.result
    pdf.set_font("DejaVu", "B", 7.5)
    totals = (
        ("Right totals", res.get("rightMotorTotal", ""), res.get("rightTouchTotal", ""),
         res.get("rightPrickTotal", "")),
    )  # fmt: skip
    for label, motor, touch, prick in totals:
        pdf.cell(_WIDTHS[0], _ROW, f"{label} (max 50, 56, 56)", border=1)
        for width, value in zip(_WIDTHS[1:4], (motor, touch, prick), strict=True):
            pdf.cell(width, _ROW, value, border=1, align="C")
    pdf.cell(_WIDTHS[4], _ROW, "", border=1)
    for width, key in zip(_WIDTHS[5:8], ("leftTouchTotal", "leftPrickTotal", "leftMotorTotal"),
                          strict=True):  # fmt: skip
        pdf.cell(width, _ROW, res.get(key, ""), border=1, align="C")
    pdf.cell(_WIDTHS[8], _ROW, "Left totals (max 56, 56, 50)", border=1)
    pdf.ln()
    pdf.set_font("DejaVu", "", 7.5)
    summary = (
        f"Motor subscores: UER {res.get('rightUpperMotorTotal', '')} + UEL "
        f"{res.get('leftUpperMotorTotal', '')} = UEMS {res.get('upperMotorTotal', '')} (max 50);  "
        f"LER {res.get('rightLowerMotorTotal', '')} + LEL {res.get('leftLowerMotorTotal', '')} = "
        f"LEMS {res.get('lowerMotorTotal', '')} (max 50).  Sensory subscores: LT total "
        f"{res.get('touchTotal', '')} (max 112), PP total {res.get('prickTotal', '')} (max 112)."
    )
    pdf.multi_cell(0, 4.2, summary, new_x="LMARGIN", new_y="NEXT")


def _anal_and_non_key(pdf: FPDF, r: WorksheetRecord) -> None:
    pdf.set_font("DejaVu", "", 8)
    non_key = {side: _value(r.data, L.NON_KEY[side]) or "none recorded" for side in L.SIDES}
    pdf.cell(0, 4.5, f"(VAC) voluntary anal contraction: {_value(r.data, L.VAC)}    "
             f"(DAP) deep anal pressure: {_value(r.data, L.DAP)}", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.cell(0, 4.5, f"Lowest non-key muscle with motor function: right {non_key['Right']}, "
             f"left {non_key['Left']}", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(1)


def _classification(pdf: FPDF, r: WorksheetRecord) -> None:
    res = r.result
    pdf.set_font("DejaVu", "B", 9)
    pdf.cell(0, 5.5, "Neurological levels and classification", new_x="LMARGIN", new_y="NEXT")
    rows = (
        ("1. Sensory levels", f"R {res.get('rightSensory', '')}   L {res.get('leftSensory', '')}"),
        ("2. Motor levels", f"R {res.get('rightMotor', '')}   L {res.get('leftMotor', '')}"),
        ("3. Neurological level of injury (NLI)", res.get("neurologicalLevelOfInjury", "")),
        ("4. Complete or incomplete", res.get("injuryComplete", "")),
        ("5. ASIA Impairment Scale (AIS)", res.get("asiaImpairmentScale", "")),
        ("6. Zone of partial preservation, sensory",
         f"R {res.get('rightSensoryZpp', '')}   L {res.get('leftSensoryZpp', '')}"),
        ("    motor", f"R {res.get('rightMotorZpp', '')}   L {res.get('leftMotorZpp', '')}"),
    )  # fmt: skip
    for label, value in rows:
        pdf.set_font("DejaVu", "", 8)
        pdf.cell(70, 5, label, border="B")
        pdf.set_font("DejaVu", "B", 8)
        pdf.cell(0, 5, value, border="B", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 7)
    pdf.multi_cell(0, 3.6, "A value with * rests on a value flagged as due to a non-SCI condition; "
                   "several values: not-testable cells leave the result open (every possible "
                   f"value listed). Classified by cordtrial {r.engine_version} (ISNCSCI 2019).",
                   new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(1)


def _beside_the_grades(pdf: FPDF, r: WorksheetRecord) -> None:
    flagged = L.flagged(r.data)
    pdf.set_font("DejaVu", "B", 9)
    pdf.cell(0, 5.5, "Non-SCI impairment flags and comments", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    if not flagged:
        pdf.cell(0, 4.5, "No value is flagged.", new_x="LMARGIN", new_y="NEXT")
    for key, value in flagged.items():
        reason = r.flag_reasons.get(key) or "no reason recorded"
        pdf.multi_cell(0, 4.5, f"{L.CELL_LABELS[key]}: {value}  —  {reason}",
                       new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.multi_cell(0, 4.5, f"Comments: {r.comments or 'none'}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _signatures(pdf: FPDF, r: WorksheetRecord) -> None:
    pdf.set_font("DejaVu", "B", 9)
    pdf.cell(0, 5.5, "Signatures", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    for line in r.signatures or ["No electronic signature recorded."]:
        pdf.multi_cell(0, 4.5, f"Electronic: {line}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.cell(95, 5, "Examiner signature: ______________________________")
    pdf.cell(0, 5, "Date: ________________", new_x="LMARGIN", new_y="NEXT")
