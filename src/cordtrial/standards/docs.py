"""Generate the mapping tables of docs/exports.md from the mappings themselves, so the
documentation lists exactly the variables, sources and codelists the exports write.

    python -m cordtrial.standards.docs docs/exports.md   # rewrite the generated section
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from .crf import FORMS
from .sdtm import sdtm_datasets
from .tables import Codelist
from .terms import parse_cell
from .trial import Trial

BEGIN = "<!-- BEGIN GENERATED MAPPING (python -m cordtrial.standards.docs docs/exports.md) -->"
END = "<!-- END GENERATED MAPPING -->"
SHOWN_LEVELS = ("C2", "C5", "C7", "L3", "S1", "S4-5")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _empty_trial() -> Trial:
    from cordtrial.store.protocol import default_protocol

    return Trial(default_protocol(), False, [], [], exported_at=datetime(2000, 1, 1, tzinfo=UTC))


def sdtm_tables() -> str:
    out, codelists = [], {}
    for ds in sdtm_datasets(_empty_trial()):
        out += [
            f"#### {ds.name}: {ds.label}",
            "",
            f"{ds.cls.title()}; {ds.structure}. Keys: {', '.join(ds.keys)}.",
            "",
        ]
        out += [
            "| variable | label | type | origin | source in cordtrial | codelist | NINDS CDE |",
            "|---|---|---|---|---|---|---|",
        ]
        for v in ds.variables:
            cl = v.codelist.oid if v.codelist else ""
            if v.codelist:
                codelists[v.codelist.oid] = v.codelist
            source = v.source + (f" ({v.note})" if v.note else "")
            cde = f"{v.cde[0]} {v.cde[1]}" if v.cde else ""
            out.append(
                f"| {v.name} | {_cell(v.label)} | {v.type} | {v.origin} | {_cell(source)} | {cl} | {cde} |"
            )
        out.append("")
    out += [
        "#### SDTM codelists",
        "",
        "| codelist | name | source | values (coded value = decode) |",
        "|---|---|---|---|",
    ]
    for oid in sorted(codelists):
        out.append(_codelist_row(codelists[oid]))
    return "\n".join(out) + "\n"


def _codelist_row(cl: Codelist) -> str:
    values = "; ".join(f"{v} = {d}" for v, d in cl.items)
    extra = "; ".join(f"{v}: {ctx} {name}" for v, ctx, name in cl.aliases)
    return f"| {cl.oid} | {_cell(cl.name)} | {cl.source} | {_cell(values)}{' (aliases: ' + _cell(extra) + ')' if extra else ''} |"


def crf_tables() -> str:
    out = [
        "| form (ODM FormDef / REDCap instrument) | events | field (REDCap name; ODM ItemDef Name) | type | store key | imported | choices / note |",
        "|---|---|---|---|---|---|---|",
    ]
    for form in FORMS:
        for f in form.fields:
            cell = parse_cell(f.store_key)
            if cell and cell[0] not in SHOWN_LEVELS:
                continue  # the cells repeat one pattern; a few levels stand for all
            imported = (
                "recomputed"
                if f.derived
                else ("no (export only)" if form.name == "infusion" else "yes")
            )
            if f.identifying:
                imported += "; identified export only"
            note = "; ".join(
                x for x in (", ".join(f"{c}" for c, _ in f.choices)[:120], f.note) if x
            )
            out.append(
                f"| {form.name} | {form.events} | {f.name} | {f.type} | {f.store_key} | {imported} | {_cell(note)} |"
            )
    return "\n".join(out) + "\n"


def generated() -> str:
    return "\n".join([BEGIN, "", "### SDTM datasets and variables", "", sdtm_tables(), "### ODM and REDCap forms and fields", "",
                      "ISNCSCI cells: every RHI input key; the rows for C2, C5, C7, L3, S1 and S4-5 stand for the 132 cells (same pattern for every level).", "",
                      crf_tables(), END])  # fmt: skip


def update(path: Path) -> bool:
    """Rewrite the generated section of ``path``; True when it changed."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    new = text[:start] + generated() + text[end:]
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    changed = update(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/exports.md"))
    print("updated" if changed else "up to date")
