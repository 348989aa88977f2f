"""The printable label of a cell-product lot: lot number, patient study code, product, expiry,
"for autologous use only", and a QR code (segno) that holds the lot number, so scanning the
label at the bedside types exactly what the infusion's chain-of-identity check compares
(cell-product.md, "Chain of identity"). Pure: text in, SVG out.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

import segno

WIDTH_MM, HEIGHT_MM = 100, 50


@dataclass(frozen=True)
class LabelData:
    lot_number: str
    patient_code: str
    product: str
    expiry: date | None
    status: str
    synthetic: bool = False


def qr_path(text: str, x: float, y: float, size: float) -> str:
    """An SVG path drawing the QR code of ``text`` in a ``size``-wide square at (x, y)."""
    qr = segno.make(text, error="m", micro=False)
    rows = list(qr.matrix_iter(border=0))
    module = size / len(rows)
    parts = []
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark:
                parts.append(
                    f"M{x + c * module:.3f} {y + r * module:.3f}h{module:.3f}v{module:.3f}h-{module:.3f}z"
                )
    return f'<path d="{"".join(parts)}" fill="#000"/>'


def lot_label_svg(label: LabelData) -> str:
    """A 100 x 50 mm label as a standalone SVG document."""

    def text(x, y, value, size, weight="normal"):
        return (
            f'<text x="{x}" y="{y}" font-family="DejaVu Sans, Arial, sans-serif" '
            f'font-size="{size}" font-weight="{weight}">{escape(value)}</text>'
        )

    expiry = label.expiry.isoformat() if label.expiry else "not set (in culture)"
    product = textwrap.wrap(label.product, 34, max_lines=2, placeholder="…") or [""]
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_MM}mm" height="{HEIGHT_MM}mm" '
        f'viewBox="0 0 {WIDTH_MM} {HEIGHT_MM}" role="img" '
        f'aria-label="Lot label {escape(label.lot_number)}">',
        f'<rect x="0.5" y="0.5" width="{WIDTH_MM - 1}" height="{HEIGHT_MM - 1}" rx="2" '
        'fill="#fff" stroke="#000" stroke-width="0.4"/>',
        qr_path(label.lot_number, 4, 5, 28),
        text(3, 41, "Scan: lot number", 2.6),
        text(36, 8, "LOT", 2.8),
        text(36, 15, label.lot_number, 5.2, "bold"),
        text(36, 21, "PATIENT (study code)", 2.8),
        text(36, 27, label.patient_code, 4.6, "bold"),
        text(36, 32.5, f"EXPIRY  {expiry}", 3.4, "bold"),
        *(text(36, 36.5 + 3 * i, line, 2.6) for i, line in enumerate(product)),
        text(36, 44.5, "FOR AUTOLOGOUS USE ONLY", 3.2, "bold"),
        text(36, 48, f"Status at printing: {label.status}", 2.2),
    ]
    if label.synthetic:
        lines.append(text(3, 47.5, "SYNTHETIC DEMO", 2.6, "bold"))
    lines.append("</svg>")
    return "\n".join(lines)
