"""SDTM findings domains: the ISNCSCI exam (NV cells, RS classification), the instruments (QS)
and the cell product (BE events, BS findings).

No CDISC supplement exists for ISNCSCI, SCIM III or the SCI data sets, so test codes here are
sponsor-defined (../shared/reference/standards.md, "CDISC" [R]); docs/exports.md lists them.
"""

from __future__ import annotations

import re
from dataclasses import replace

from cordtrial.instruments import INSTRUMENTS, Instrument, ItemKind
from cordtrial.isncsci import CELL_KEYS, RESULT_KEYS

from . import cde, terms
from .sdtm_common import Subjects, dtc_var, dy_var, id_vars, visit_vars
from .tables import Codelist, Dataset, Variable, number, sequence, text
from .trial import Trial

ISNCSCI_CAT = "ISNCSCI"


def assessment_timing_vars(dom: str, dtc_label: str, dy_label: str) -> list[Variable]:
    """VISITNUM, VISIT, --DTC and --DY of a record made at an assessment."""
    return [
        *visit_vars(dom, "assessments.visit_code"),
        dtc_var(f"{dom}DTC", dtc_label, "assessments.assessed_on"),
        dy_var(f"{dom}DY", dy_label),
    ]


def _findings_vars(
    dom: str, testcd: Codelist, source: str, extra: list[Variable] = ()
) -> list[Variable]:
    return id_vars(dom) + [
        Variable(
            f"{dom}TESTCD",
            "Short Name of Test"[:40],
            codelist=testcd,
            origin="Assigned",
            source=source,
            core="Req",
        ),
        Variable(
            f"{dom}TEST",
            "Name of Test"[:40],
            origin="Assigned",
            source=f"decode of {dom}TESTCD",
            core="Req",
        ),
        Variable(
            f"{dom}CAT", "Category", origin="Assigned", source="instrument or exam", core="Exp"
        ),
        *extra,
        Variable(
            f"{dom}ORRES", "Result or Finding in Original Units", origin="Collected", source=source
        ),
        Variable(
            f"{dom}STRESC",
            "Result or Finding in Standard Format",
            origin="Derived",
            source=f"{dom}ORRES",
        ),
        Variable(
            f"{dom}STRESN",
            "Numeric Result/Finding in Standard Units",
            "float",
            origin="Derived",
            source=f"numeric {dom}ORRES",
        ),
    ]


def nv(trial: Trial, subj: Subjects) -> Dataset:
    tests = {code: name for code, name in terms.NV_TESTS.values()}
    variables = _findings_vars(
        "NV",
        terms.testcd_codelist("CL.NVTESTCD", "ISNCSCI exam test codes", tests),
        "assessments.data (ISNCSCI cells, RHI naming)",
        [
            Variable(
                "NVLOC",
                "Location Used for the Measurement",
                origin="Derived",
                source="dermatome or myotome of the RHI key (C2 ... S4-5)",
                core="Perm",
            ),
            Variable(
                "NVLAT",
                "Laterality",
                origin="Derived",
                source="side of the RHI key",
                core="Perm",
            ),
        ],
    ) + assessment_timing_vars(
        "NV", "Date/Time of Collection", "Study Day of Visit/Collection/Exam"
    )
    rows = []
    for p in trial.patients:
        for a in trial.rows("assessments", p):
            if a["kind"] != "isncsci":
                continue
            base = {
                **subj.assessment_base("NV", p, a),
                "NVCAT": ISNCSCI_CAT,
            }
            data = a["data"] or {}
            for key in CELL_KEYS:
                level, side, kind = terms.parse_cell(key)
                code, name = terms.NV_TESTS[kind]
                rows.append(_result(base, "NV", code, name, data.get(key), NVLOC=level, NVLAT=side))
            for key in ("analContraction", "analSensation"):
                code, name = terms.NV_TESTS[key]
                rows.append(_result(base, "NV", code, name, data.get(key), NVLOC="", NVLAT=""))
            for side in ("right", "left"):
                value = data.get(f"{side}LowestNonKeyMuscleWithMotorFunction")
                if value:
                    code, name = terms.NV_TESTS["LowestNonKey"]
                    rows.append(
                        _result(base, "NV", code, name, value, NVLOC="", NVLAT=side.upper())
                    )
    sequence(rows, "NVSEQ")
    return Dataset(
        "NV",
        "Nervous System Findings",
        variables,
        rows,
        structure="One record per finding per location per laterality per visit per subject",
        cls="FINDINGS",
        keys=("STUDYID", "USUBJID", "NVTESTCD", "NVLOC", "NVLAT", "VISITNUM", "NVDTC"),
    )


def _result(base: dict, dom: str, code: str, name: str, value, **extra) -> dict:
    shown = text(value)
    return {
        **base,
        f"{dom}TESTCD": code,
        f"{dom}TEST": name,
        **extra,
        f"{dom}ORRES": shown,
        f"{dom}STRESC": shown,
        f"{dom}STRESN": number(value),
    }


def rs(trial: Trial, subj: Subjects) -> Dataset:
    tests = {code: name for code, name, _ in terms.RS_TESTS.values()}
    testcd = terms.testcd_codelist("CL.RSTESTCD", "ISNCSCI classification result codes", tests)
    cdes = tuple(
        (terms.RS_TESTS[k][0], cde.CONTEXT, f"{c[0]} {c[1]}")
        for k, c in cde.ISNCSCI_RESULTS.items()
    )
    variables = _findings_vars(
        "RS",
        replace(testcd, aliases=cdes),
        "assessments.result (classify().to_rhi(), 25 fields)",
        [
            Variable(
                "RSLAT", "Laterality", origin="Derived", source="side of the result", core="Perm"
            )
        ],
    ) + [
        Variable(
            "RSMETHOD",
            "Method of Test or Examination",
            origin="Assigned",
            source="assessments.engine_version",
            core="Perm",
        ),
        *assessment_timing_vars(
            "RS", "Date/Time of Collection", "Study Day of Visit/Collection/Exam"
        ),
    ]
    rows = []
    for p in trial.patients:
        for a in trial.rows("assessments", p):
            if a["kind"] != "isncsci":
                continue
            base = {
                **subj.assessment_base("RS", p, a),
                "RSCAT": ISNCSCI_CAT,
                "RSMETHOD": a["engine_version"] or "",
            }
            for key in RESULT_KEYS:
                code, name, lat = terms.RS_TESTS[key]
                rows.append(
                    _result(base, "RS", code, name, (a["result"] or {}).get(key), RSLAT=lat or "")
                )
    sequence(rows, "RSSEQ")
    return Dataset(
        "RS",
        "Disease Response and Clin Classification",
        variables,
        rows,
        structure="One record per classification result per visit per subject",
        cls="FINDINGS",
        keys=("STUDYID", "USUBJID", "RSTESTCD", "VISITNUM", "RSDTC"),
    )


# -- instruments -------------------------------------------------------------------------------

QS_PREFIX = {"scim3": "SCIM", "wisci2": "WISCI", "nbd": "NBD", "lutf": "LUTF"}
QS_CAT = {
    "scim3": "SCIM III",
    "wisci2": "WISCI II",
    "nbd": "NBD SCORE",
    "lutf": "SCI LUTF BASIC DATA SET V2.0",
}
_SCORE_ABBR = {
    "total": "TOT", "self_care": "SC", "respiration_sphincter": "RSM", "mobility": "MOB",
    "mobility_room_toilet": "MRT", "mobility_indoors_outdoors": "MIO", "self_selected": "SS",
    "maximum": "MX", "walks_indoors": "WKIN", "severity": "SEV",
}  # fmt: skip


def qs_item_code(inst: Instrument, item_id: str) -> str:
    """QSTESTCD of an item: instrument prefix + item number ("SCIM02A"); <= 8 characters."""
    item = inst.item(item_id)
    if inst.id == "wisci2":
        return QS_PREFIX[inst.id] + _SCORE_ABBR[item.id]
    num = re.sub(r"[^0-9A-Za-z]", "", item.number).upper()
    digits = re.match(r"\d+", num)
    num = f"{int(digits.group()):02d}{num[digits.end() :]}" if digits else num
    return (QS_PREFIX[inst.id] + num)[:8]


def qs_score_code(inst: Instrument, score_id: str) -> str:
    return (QS_PREFIX[inst.id] + _SCORE_ABBR[score_id])[:8]


def qs_tests() -> dict[str, tuple[str, str, str, str]]:
    """QSTESTCD -> (instrument id, kind 'item'|'score'|'derived', id, QSTEST label)."""
    out = {}
    for inst in INSTRUMENTS.values():
        for item in inst.items:
            out[qs_item_code(inst, item.id)] = (inst.id, "item", item.id, item.label[:40].rstrip())
        for s in inst.scores:
            if inst.id == "wisci2":
                continue  # WISCI II levels are the items themselves
            out[qs_score_code(inst, s.id)] = (inst.id, "score", s.id, s.label[:40].rstrip())
        for d in inst.derived_fields:
            out[qs_score_code(inst, d.id)] = (inst.id, "derived", d.id, d.label[:40].rstrip())
    assert all(len(c) <= 8 for c in out), "QSTESTCD longer than 8"
    return out


def qs(trial: Trial, subj: Subjects) -> Dataset:
    tests = qs_tests()
    by_key = {(i, k, x): code for code, (i, k, x, _) in tests.items()}
    variables = _findings_vars(
        "QS",
        terms.testcd_codelist(
            "CL.QSTESTCD", "Instrument item and score codes", {c: t[3] for c, t in tests.items()}
        ),
        "assessments.data (items), assessments.result (scores)",
    ) + [
        Variable(
            "QSDRVFL",
            "Derived Flag",
            codelist=terms.NY,
            origin="Derived",
            source="Y for scores and derived fields",
            core="Perm",
        ),
        Variable(
            "QSEVAL",
            "Evaluator",
            origin="Assigned",
            source='"ASSESSOR" (blinded assessor: "INDEPENDENT ASSESSOR")',
            core="Perm",
        ),
        *assessment_timing_vars("QS", "Date/Time of Finding", "Study Day of Finding"),
    ]
    rows = []
    for p in trial.patients:
        for a in trial.rows("assessments", p):
            inst = INSTRUMENTS.get(a["kind"])
            if inst is None:
                continue
            base = {
                **subj.assessment_base("QS", p, a),
                "QSCAT": QS_CAT[inst.id],
                "QSEVAL": "INDEPENDENT ASSESSOR" if a["blinded"] else "ASSESSOR",
            }
            data, result = a["data"] or {}, a["result"] or {}
            for item in inst.items:
                if item.id not in data:
                    continue
                code = by_key[(inst.id, "item", item.id)]
                value = data[item.id]
                row = _result(
                    base,
                    "QS",
                    code,
                    tests[code][3],
                    ", ".join(value) if isinstance(value, list) else value,
                    QSDRVFL="",
                )
                if item.kind is ItemKind.CHOICE and item.point_range is not None:
                    row["QSSTRESN"] = float(item.option(value).score_points)
                rows.append(row)
            scores = (
                {**(result.get("scores") or {}), "total": result.get("total")}
                if inst.id != "wisci2"
                else {}
            )
            for sid, value in scores.items():
                key = (inst.id, "score", sid)
                if key in by_key and value is not None:
                    rows.append(
                        _result(base, "QS", by_key[key], tests[by_key[key]][3], value, QSDRVFL="Y")
                    )
            for did, value in (result.get("derived") or {}).items():
                key = (inst.id, "derived", did)
                if key in by_key and value is not None:
                    shown = ("Y" if value else "N") if isinstance(value, bool) else value
                    rows.append(
                        _result(base, "QS", by_key[key], tests[by_key[key]][3], shown, QSDRVFL="Y")
                    )
    sequence(rows, "QSSEQ")
    return Dataset(
        "QS",
        "Questionnaires",
        variables,
        rows,
        structure="One record per questionnaire per question per time point per visit per subject",
        cls="FINDINGS",
        keys=("STUDYID", "USUBJID", "QSCAT", "QSTESTCD", "VISITNUM", "QSDTC"),
    )


# -- cell product --------------------------------------------------------------------------------

BE_TERMS = Codelist(
    "CL.BEDECOD", "Biospecimen event terms",
    (("BLOOD DRAW FOR AUTOLOGOUS SERUM", "Blood draw for autologous serum"),
     ("BONE MARROW HARVEST", "Bone marrow harvest"),
     ("CULTURE PASSAGE", "Culture passage"), ("CRYOPRESERVATION", "Cryopreservation")),
    terms.SPONSOR,
)  # fmt: skip


def be(trial: Trial, subj: Subjects) -> Dataset:
    variables = id_vars("BE") + [
        Variable(
            "BEREFID",
            "Reference ID",
            origin="Assigned",
            source="lot number (and passage) or harvest/draw id",
            core="Exp",
        ),
        Variable(
            "BETERM",
            "Reported Term for the Biospecimen Event",
            origin="Assigned",
            source="blood_draws, marrow_harvests, culture_passages, lots",
            core="Req",
        ),
        Variable(
            "BEDECOD",
            "Dictionary-Derived Term",
            codelist=BE_TERMS,
            origin="Assigned",
            source="see BETERM",
            core="Req",
        ),
        Variable(
            "BECAT",
            "Category for Biospecimen Event",
            origin="Assigned",
            source='"RAW MATERIAL" or "MANUFACTURING"',
            core="Perm",
        ),
        Variable(
            "BESPEC",
            "Specimen Material Type",
            origin="Assigned",
            source="blood, bone marrow, MSC culture",
            core="Perm",
        ),
        Variable(
            "BELOC",
            "Location of Specimen Collection",
            origin="Collected",
            source="marrow_harvests.anatomical_site",
            core="Perm",
        ),
        dtc_var(
            "BESTDTC",
            "Start Date/Time of Biospecimen Event",
            "drawn_on, harvested_on, seeded_on, cryopreserved_on",
        ),
        dtc_var(
            "BEENDTC", "End Date/Time of Biospecimen Event", "passage harvested_on", core="Perm"
        ),
        dy_var("BESTDY", "Study Day of Start of Event"),
    ]
    rows = []
    for p in trial.patients:

        def add(ref, term, cat, spec, start, end=None, loc="", p=p):
            rows.append(
                {
                    **subj.base("BE", p),
                    "BEREFID": ref,
                    "BETERM": term,
                    "BEDECOD": term,
                    "BECAT": cat,
                    "BESPEC": spec,
                    "BELOC": loc,
                    "BESTDTC": text(start),
                    "BEENDTC": text(end),
                    "BESTDY": subj.day(p, start),
                }
            )

        for d in trial.rows("blood_draws", p):
            add(
                f"DRAW-{d['id']}",
                "BLOOD DRAW FOR AUTOLOGOUS SERUM",
                "RAW MATERIAL",
                "BLOOD",
                d["drawn_on"],
            )
        for h in trial.rows("harvests", p):
            add(
                f"HARVEST-{h['id']}",
                "BONE MARROW HARVEST",
                "RAW MATERIAL",
                "BONE MARROW",
                h["harvested_on"],
                loc=(h["anatomical_site"] or "").upper(),
            )
        for lot in trial.rows("lots", p):
            for ps in lot["passages"]:
                add(
                    f"{lot['lot_number']}-P{ps['passage_number']}",
                    "CULTURE PASSAGE",
                    "MANUFACTURING",
                    "MESENCHYMAL STEM CELLS",
                    ps["seeded_on"],
                    ps["harvested_on"],
                )
            if lot["cryopreserved_on"]:
                add(
                    lot["lot_number"],
                    "CRYOPRESERVATION",
                    "MANUFACTURING",
                    "MESENCHYMAL STEM CELLS",
                    lot["cryopreserved_on"],
                )
    sequence(rows, "BESEQ")
    return Dataset(
        "BE",
        "Biospecimen Events",
        variables,
        rows,
        structure="One record per instance per biospecimen event per biospecimen identifier per subject",
        cls="EVENTS",
        keys=("STUDYID", "USUBJID", "BEREFID", "BEDECOD", "BESTDTC"),
    )


PASSAGE_TESTS = {
    "cells_seeded": ("CELLSEED", "Cells Seeded", "cells"),
    "cells_harvested": ("CELLHARV", "Cells Harvested", "cells"),
    "viability_pct": ("PASVIAB", "Passage Viability", "%"),
    "confluence_pct": ("CONFLU", "Confluence at Harvest", "%"),
    "population_doublings": ("POPDBL", "Population Doublings", ""),
}


def release_code(code: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", code.upper())[:8]


def bs(trial: Trial, subj: Subjects) -> Dataset:
    proto = trial.protocol
    tests = {release_code(t.code): t.name[:40] for t in proto.release_tests}
    tests |= {c: n for c, n, _ in PASSAGE_TESTS.values()}
    variables = _findings_vars(
        "BS",
        terms.testcd_codelist("CL.BSTESTCD", "Cell product test codes", tests),
        "release_tests.value/text_result; culture_passages",
        [
            Variable(
                "BSREFID",
                "Specimen ID",
                origin="Assigned",
                source="lots.lot_number (-P<passage>)",
                core="Exp",
            ),
            Variable(
                "BSORRESU",
                "Original Units",
                origin="Assigned",
                source="protocol release_tests unit",
                core="Exp",
            ),
        ],
    ) + [
        Variable(
            "BSSPEC",
            "Specimen Material Type",
            origin="Assigned",
            source='"MESENCHYMAL STEM CELLS"',
            core="Perm",
        ),
        Variable(
            "BSMETHOD",
            "Method of Test or Examination",
            origin="Collected",
            source="release_tests.method",
            core="Perm",
        ),
        Variable(
            "BSNRIND",
            "Reference Range Indicator",
            origin="Derived",
            source="release_tests.passed: NORMAL / ABNORMAL against the specification",
            core="Exp",
        ),
        Variable(
            "BSORNRLO",
            "Reference Range Lower Limit in Orig Unit",
            origin="Protocol",
            source="protocol release_tests min",
            core="Exp",
        ),
        Variable(
            "BSORNRHI",
            "Reference Range Upper Limit in Orig Unit",
            origin="Protocol",
            source="protocol release_tests max",
            core="Exp",
        ),
        dtc_var(
            "BSDTC",
            "Date/Time of Specimen Collection",
            "release_tests.tested_on, culture_passages.harvested_on",
        ),
        dy_var("BSDY", "Study Day of Specimen Collection"),
    ]
    rows = []
    for p in trial.patients:
        for lot in trial.rows("lots", p):
            for t in lot["release_tests"]:
                spec = proto.release_spec(t["test_code"])
                value = t["value"] if t["value"] is not None else t["text_result"]
                rows.append({
                    **subj.base("BS", p), "BSTESTCD": release_code(t["test_code"]),
                    "BSTEST": tests.get(release_code(t["test_code"]), t["test_code"]), "BSCAT": "RELEASE TEST",
                    "BSREFID": lot["lot_number"], "BSORRESU": (spec.unit if spec and spec.unit else ""),
                    "BSORRES": text(value), "BSSTRESC": text(value), "BSSTRESN": number(t["value"]),
                    "BSSPEC": "MESENCHYMAL STEM CELLS", "BSMETHOD": t["method"],
                    "BSNRIND": "NORMAL" if t["passed"] else "ABNORMAL",
                    "BSORNRLO": text(spec.min) if spec and spec.min is not None else "",
                    "BSORNRHI": text(spec.max) if spec and spec.max is not None else "",
                    "BSDTC": text(t["tested_on"]), "BSDY": subj.day(p, t["tested_on"]),
                })  # fmt: skip
            for ps in lot["passages"]:
                pd_ = _doublings(ps)
                for field, (code, name, unit) in PASSAGE_TESTS.items():
                    value = pd_ if field == "population_doublings" else ps[field]
                    if value is None:
                        continue
                    rows.append({
                        **subj.base("BS", p), "BSTESTCD": code, "BSTEST": name, "BSCAT": "CULTURE PASSAGE",
                        "BSREFID": f"{lot['lot_number']}-P{ps['passage_number']}", "BSORRESU": unit,
                        "BSORRES": text(value), "BSSTRESC": text(value), "BSSTRESN": float(value),
                        "BSSPEC": "MESENCHYMAL STEM CELLS", "BSMETHOD": "", "BSNRIND": "", "BSORNRLO": "", "BSORNRHI": "",
                        "BSDTC": text(ps["harvested_on"]), "BSDY": subj.day(p, ps["harvested_on"]),
                    })  # fmt: skip
    sequence(rows, "BSSEQ")
    return Dataset(
        "BS",
        "Biospecimen Findings",
        variables,
        rows,
        structure="One record per measurement per biospecimen identifier per subject",
        cls="FINDINGS",
        keys=("STUDYID", "USUBJID", "BSREFID", "BSTESTCD", "BSDTC"),
    )


def _doublings(ps: dict) -> float | None:
    """PD = log2(harvested / seeded) (cell-product.md step 4; as CulturePassage computes it)."""
    import math

    if ps["cells_seeded"] and ps["cells_harvested"]:
        return round(math.log2(ps["cells_harvested"] / ps["cells_seeded"]), 4)
    return None
