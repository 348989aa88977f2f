"""Statistical files: SAS (XPT v5 + a format program), SPSS (.sav) and Stata (.dta), written
with pyreadstat, one file per table, with variable labels and value labels.

Tables (one row per record): patients, isncsci, one per instrument, infusions, adverse_events,
culture_passages, release_tests. Categories are stored as integer codes with value labels
(Stata labels integers only); the code books are the same in all three formats. SAS transport
v5 allows 8-character names, so the SAS files carry short names and ``<table>.sas`` renames
them to the long names (SAS 9: up to 32 characters) and attaches the value formats.
"""

from __future__ import annotations

import math
import re
from datetime import date
from pathlib import Path

import pandas as pd

from cordtrial.instruments import INSTRUMENTS, ItemKind
from cordtrial.isncsci import RESULT_KEYS
from cordtrial.store.models import AE_OUTCOMES, LOT_STATUSES, RELATEDNESS, VISIT_CODES

from . import crf, terms
from .tables import Codelist, Dataset, Variable, number
from .trial import Row, Trial

MAX_NAME = 31  # ReadStat writes Stata names of at most 31 characters (Stata allows 32, SPSS 64)


def _coded(oid: str, name: str, values) -> Codelist:
    return Codelist(
        oid, name, tuple((n, str(v)) for n, v in enumerate(values, start=1)), terms.SPONSOR
    )


YESNO = Codelist("YESNO", "No/yes", ((0, "no"), (1, "yes")), terms.SPONSOR)
SEX = _coded("SEX", "Sex", ("F", "M"))
VISIT = Codelist(
    "VISIT",
    "Visit",
    tuple((terms.VISITNUM.get(c, terms.UNSCHEDULED_BASE), c) for c in VISIT_CODES),
    terms.SPONSOR,
)
AIS = _coded("AIS", "AIS grade", ("A", "B", "C", "D", "E"))
REL = _coded("REL", "Relatedness", RELATEDNESS)
OUTCOME = _coded("OUTCOME", "AE outcome", AE_OUTCOMES)
LOTSTAT = _coded("LOTSTAT", "Lot status", LOT_STATUSES)
STATUS = _coded(
    "PTSTATUS", "Patient status", ("screening", "eligible", "not eligible", "enrolled", "infused")
)


def _code(cl: Codelist, value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    return next((v for v, d in cl.items if d == str(value)), None)


def _name(long: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", crf.snake(long))[:MAX_NAME].rstrip("_")


def _days(on: date | None, ref: date | None) -> int | None:
    return (on - ref).days if on and ref else None


def _base_vars() -> list[Variable]:
    return [
        Variable("study_code", "Study code (pseudonymous)"),
        Variable("site", "Site code"),
        Variable("synthetic", "Synthetic (demo) record", "integer", YESNO),
    ]


def _base(p: Row) -> dict:
    return {
        "study_code": p["study_code"],
        "site": p["site_code"],
        "synthetic": int(bool(p["synthetic"])),
    }


def patients_table(trial: Trial) -> Dataset:
    v = _base_vars() + [
        Variable("sex", "Sex", "integer", SEX),
        Variable("age_at_injury", "Age at injury (years)", "integer"),
        Variable("status", "Patient status", "integer", STATUS),
        Variable("injury_date", "Date of injury", "date"),
        Variable("injury_level", "Level of injury"),
        Variable("mechanism", "Mechanism of injury"),
        Variable("non_penetrating", "Non-penetrating injury", "integer", YESNO),
        Variable("consent_date", "Date of consent", "date"),
        Variable("eligible", "Eligible at the last assessment", "integer", YESNO),
        Variable("infusion_date", "Date of (first) infusion", "date"),
        Variable("days_injury_to_infusion", "Days from injury to infusion", "integer"),
    ]
    rows = []
    for p in trial.patients:
        inj = trial.injuries.get(p["id"]) or {}
        inf = trial.rows("infusions", p)
        elig = trial.rows("eligibility", p)
        consents = trial.rows("consents", p)
        infused_on = inf[0]["infused_on"] if inf else None
        rows.append({**_base(p), "sex": _code(SEX, p["sex"]), "age_at_injury": p["age_at_injury"], "status": _code(STATUS, p["status"]),
                     "injury_date": inj.get("injury_date"), "injury_level": inj.get("level"), "mechanism": inj.get("mechanism"),
                     "non_penetrating": _code(YESNO, inj.get("non_penetrating")), "consent_date": consents[0]["consent_date"] if consents else None,
                     "eligible": _code(YESNO, elig[-1]["eligible"]) if elig else None, "infusion_date": infused_on,
                     "days_injury_to_infusion": _days(infused_on, inj.get("injury_date"))})  # fmt: skip
    return Dataset("patients", "Patients", v, rows)


def _assessment_vars() -> list[Variable]:
    return _base_vars() + [
        Variable("visit", "Protocol visit", "integer", VISIT),
        Variable("assessed_on", "Date of assessment", "date"),
        Variable("days_since_injury", "Days since injury", "integer"),
        Variable("blinded", "Assessor blinded to treatment state", "integer", YESNO),
        Variable("version", "Engine or instrument version"),
    ]


def _assessment_base(trial: Trial, p: Row, a: Row) -> dict:
    inj = trial.injuries.get(p["id"]) or {}
    return {**_base(p), "visit": _code(VISIT, a["visit_code"]), "assessed_on": a["assessed_on"],
            "days_since_injury": _days(a["assessed_on"], inj.get("injury_date")), "blinded": int(bool(a["blinded"])),
            "version": a["engine_version"]}  # fmt: skip


def isncsci_table(trial: Trial) -> Dataset:
    form = crf.FORM["isncsci"]
    results = []
    for k in RESULT_KEYS:
        if k.endswith("Total"):
            results.append(Variable(_name(k), terms.RS_TESTS[k][1], "float", note=k))
        elif k == "asiaImpairmentScale":
            results.append(Variable(_name(k), "AIS grade", "integer", AIS, note=k))
        else:
            results.append(Variable(_name(k), terms.RS_TESTS[k][1], note=k))
    cells = [
        Variable(_name(f.store_key), f.label, note=f.store_key)
        for f in form.fields
        if not f.derived and f.store_key in crf.RHI_INPUT
    ]
    v = _assessment_vars() + results + cells
    rows = []
    for p in trial.patients:
        for a in trial.rows("assessments", p):
            if a["kind"] != "isncsci":
                continue
            row = _assessment_base(trial, p, a)
            for var in results:
                value = (a["result"] or {}).get(var.note)
                row[var.name] = (
                    number(value)
                    if var.type == "float"
                    else _code(AIS, value)
                    if var.codelist
                    else value
                )
            for var in cells:
                row[var.name] = (a["data"] or {}).get(var.note)
            rows.append(row)
    return Dataset("isncsci", "ISNCSCI exams: classification and cells", v, rows,
                   note="totals ND or with flags read as the number before the flag, ND as missing")  # fmt: skip


def instrument_table(trial: Trial, kind: str) -> Dataset:
    inst = INSTRUMENTS[kind]
    items = []
    for item in inst.items:
        if item.kind is ItemKind.CHOICE:
            if item.integer_valued:
                cl = Codelist(
                    f"{kind}_{item.id}"[:32],
                    item.label,
                    tuple((o.value, o.meaning) for o in item.options),
                    inst.name,
                )
            else:
                cl = Codelist(
                    f"{kind}_{item.id}"[:32],
                    item.label,
                    tuple(
                        (n, f"{o.value}: {o.meaning}") for n, o in enumerate(item.options, start=1)
                    ),
                    inst.name,
                )
            items.append(
                Variable(
                    _name(item.id), f"{item.number}. {item.label}", "integer", cl, note=item.id
                )
            )
        elif item.kind is ItemKind.COUNT:
            items.append(
                Variable(_name(item.id), f"{item.number}. {item.label}", "integer", note=item.id)
            )
        else:
            items.append(
                Variable(_name(item.id), f"{item.number}. {item.label} (comma list)", note=item.id)
            )
    scores = [
        Variable(
            _name(f"{s.id}_score") if s.id in inst.item_ids else _name(s.id),
            s.label,
            "integer",
            note=f"score:{s.id}",
        )
        for s in inst.scores
    ]
    derived = [Variable(_name(d.id), d.label, note=f"derived:{d.id}") for d in inst.derived_fields]
    rows = []
    for p in trial.patients:
        for a in trial.rows("assessments", p):
            if a["kind"] != kind:
                continue
            row = _assessment_base(trial, p, a)
            data, result = a["data"] or {}, a["result"] or {}
            for var, item in zip(items, inst.items, strict=True):
                value = data.get(item.id)
                if value is None:
                    row[var.name] = None
                elif item.kind is ItemKind.CHOICE and not item.integer_valued:
                    row[var.name] = [o.value for o in item.options].index(value) + 1
                elif isinstance(value, list):
                    row[var.name] = ", ".join(str(x) for x in value)
                else:
                    row[var.name] = value
            for var in scores:
                sid = var.note[6:]
                row[var.name] = (
                    result.get("total")
                    if sid == "total" and inst.total_definition
                    else (result.get("scores") or {}).get(sid)
                )
            for var in derived:
                value = (result.get("derived") or {}).get(var.note[8:])
                row[var.name] = ("yes" if value else "no") if isinstance(value, bool) else value
            rows.append(row)
    return Dataset(kind, inst.name[:80], _assessment_vars() + items + scores + derived, rows)


def infusions_table(trial: Trial) -> Dataset:
    cols = [("infusion_number", "Infusion number", "integer"), ("infused_on", "Date of infusion", "date"), ("lot_number", "Lot number", "text"),
            ("cells_total", "Cells infused (total)", "float"), ("cells_per_kg", "Cells per kg body weight", "float"),
            ("weight_kg", "Body weight (kg)", "float"), ("product_volume_ml", "Product volume (mL)", "float"),
            ("diluent_volume_ml", "Diluent volume (mL)", "float"), ("dilution_factor", "Dilution factor", "float"),
            ("rate_ml_per_min", "Infusion rate (mL/min)", "float")]  # fmt: skip
    v = (
        _base_vars()
        + [Variable(n, label, t) for n, label, t in cols]
        + [Variable("days_since_injury", "Days since injury", "integer")]
    )
    rows = []
    for p in trial.patients:
        inj = trial.injuries.get(p["id"]) or {}
        for i in trial.rows("infusions", p):
            rows.append(
                {
                    **_base(p),
                    **{n: i.get(n) for n, _, _ in cols},
                    "days_since_injury": _days(i["infused_on"], inj.get("injury_date")),
                }
            )
    return Dataset("infusions", "Infusions", v, rows)


def adverse_events_table(trial: Trial) -> Dataset:
    v = _base_vars() + [
        Variable("term", "Adverse event term"),
        Variable("grade_scale", "Grading scale"),
        Variable("grade", "Grade (1-5)", "integer"),
        Variable("serious", "Serious", "integer", YESNO),
        *(
            Variable(f"related_{x}", f"Relatedness to the {x.replace('_', ' ')}", "integer", REL)
            for x in ("product", "harvest", "blood_draw", "infusion")
        ),
        Variable("expected", "Expected per protocol", "integer", YESNO),
        Variable("onset_date", "Onset date", "date"),
        Variable("resolution_date", "Resolution date", "date"),
        Variable("outcome", "Outcome", "integer", OUTCOME),
    ]
    rows = []
    for p in trial.patients:
        for e in trial.rows("adverse_events", p):
            rows.append({**_base(p), "term": e["term"], "grade_scale": e["grade_scale"], "grade": e["grade"], "serious": int(e["serious"]),
                         **{f"related_{x}": _code(REL, e[f"related_{x}"]) for x in ("product", "harvest", "blood_draw", "infusion")},
                         "expected": int(e["expected"]), "onset_date": e["onset_date"], "resolution_date": e["resolution_date"],
                         "outcome": _code(OUTCOME, e["outcome"])})  # fmt: skip
    return Dataset("adverse_events", "Adverse events", v, rows)


def culture_table(trial: Trial) -> Dataset:
    v = _base_vars() + [
        Variable("lot_number", "Lot number"), Variable("lot_status", "Lot status", "integer", LOTSTAT),
        Variable("passage_number", "Passage number", "integer"), Variable("seeded_on", "Seeded on", "date"),
        Variable("harvested_on", "Harvested on", "date"), Variable("cells_seeded", "Cells seeded", "float"),
        Variable("cells_harvested", "Cells harvested", "float"), Variable("viability_pct", "Viability (%)", "float"),
        Variable("confluence_pct", "Confluence (%)", "float"),
        Variable("population_doublings", "Population doublings log2(harvested/seeded)", "float"),
    ]  # fmt: skip
    rows = []
    for p in trial.patients:
        for lot in trial.rows("lots", p):
            for ps in lot["passages"]:
                rows.append({**_base(p), "lot_number": lot["lot_number"], "lot_status": _code(LOTSTAT, lot["status"]),
                             **{k: ps[k] for k in ("passage_number", "seeded_on", "harvested_on", "cells_seeded", "cells_harvested", "viability_pct", "confluence_pct")},
                             "population_doublings": math.log2(ps["cells_harvested"] / ps["cells_seeded"])})  # fmt: skip
    return Dataset("culture_passages", "Culture passages", v, rows)


def release_table(trial: Trial) -> Dataset:
    v = _base_vars() + [
        Variable("lot_number", "Lot number"), Variable("test_code", "Release test code"), Variable("method", "Method"),
        Variable("value", "Numeric result", "float"), Variable("text_result", "Text result"),
        Variable("tested_on", "Tested on", "date"), Variable("passed", "Passed the specification", "integer", YESNO),
        Variable("specification", "Specification judged against"),
    ]  # fmt: skip
    rows = []
    for p in trial.patients:
        for lot in trial.rows("lots", p):
            for t in lot["release_tests"]:
                rows.append(
                    {
                        **_base(p),
                        "lot_number": lot["lot_number"],
                        **{
                            k: t[k]
                            for k in (
                                "test_code",
                                "method",
                                "value",
                                "text_result",
                                "tested_on",
                                "specification",
                            )
                        },
                        "passed": int(t["passed"]),
                    }
                )
    return Dataset("release_tests", "Release tests", v, rows)


def stats_tables(trial: Trial) -> list[Dataset]:
    return [patients_table(trial), isncsci_table(trial), *(instrument_table(trial, k) for k in INSTRUMENTS),
            infusions_table(trial), adverse_events_table(trial), culture_table(trial), release_table(trial)]  # fmt: skip


# -- writers -------------------------------------------------------------------------------------


def frame(ds: Dataset) -> pd.DataFrame:
    """Numbers as float64 (missing NaN), dates as ``datetime.date`` objects, text as str ('' when
    missing). Dates stay Python dates: pyreadstat 1.3 writes pandas' microsecond datetime64
    columns as 1970-01-01 in .sav and .dta (found by reading the files back)."""
    data = {}
    for var in ds.variables:
        values = ds.column(var.name)
        if var.numeric:
            data[var.name] = pd.Series(
                [math.nan if x is None else float(x) for x in values], dtype="float64"
            )
        elif var.type == "date":
            data[var.name] = pd.Series([x if x else None for x in values], dtype="object")
        else:
            data[var.name] = pd.Series(
                ["" if x is None else str(x) for x in values], dtype="object"
            )
    return pd.DataFrame(data, columns=[v.name for v in ds.variables])


def value_labels(ds: Dataset) -> dict[str, dict[float, str]]:
    return {
        v.name: {float(c): d for c, d in v.codelist.items}
        for v in ds.variables
        if v.codelist is not None
    }


def write_spss(ds: Dataset, out: Path) -> Path:
    import pyreadstat

    path = out / f"{ds.name}.sav"
    df = frame(ds)
    pyreadstat.write_sav(df, str(path), file_label=ds.label, column_labels={v.name: v.label for v in ds.variables},
                         variable_value_labels=value_labels(ds), variable_measure={v.name: "nominal" for v in ds.variables if v.codelist})  # fmt: skip
    return path


def write_stata(ds: Dataset, out: Path) -> Path:
    import pyreadstat

    path = out / f"{ds.name}.dta"
    pyreadstat.write_dta(frame(ds), str(path), file_label=ds.label[:80], column_labels={v.name: v.label[:80] for v in ds.variables},
                         variable_value_labels=value_labels(ds))  # fmt: skip
    return path


def sas_names(ds: Dataset) -> dict[str, str]:
    """long name -> unique SAS V5 name (<= 8 characters)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for var in ds.variables:
        base = re.sub(r"[^A-Za-z0-9_]", "", var.name).upper()[:8] or "V"
        short, k = base, 1
        while short in used:
            short = f"{base[:5]}{k:03d}"
            k += 1
        used.add(short)
        out[var.name] = short
    return out


def sas_member(ds: Dataset) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", ds.name).upper()[:8]


def write_sas(ds: Dataset, out: Path) -> list[Path]:
    """``<table>.xpt`` (SAS transport v5) and ``<table>.sas``, which reads it, restores the long
    names and attaches value formats."""
    import pyreadstat

    names = sas_names(ds)
    df = frame(ds).rename(columns=names)
    xpt = out / f"{ds.name}.xpt"
    pyreadstat.write_xport(df, str(xpt), file_label=ds.label[:40], table_name=sas_member(ds),
                           column_labels={names[v.name]: v.label[:40] for v in ds.variables}, file_format_version=5)  # fmt: skip
    program = out / f"{ds.name}.sas"
    program.write_text(sas_program(ds, names), encoding="utf-8")
    return [xpt, program]


def sas_program(ds: Dataset, names: dict[str, str]) -> str:
    member = sas_member(ds)
    lines = [f"/* cordtrial export: {ds.label}. Reads {ds.name}.xpt (SAS transport v5). */",
             f'libname xptin xport "{ds.name}.xpt";', "proc format;"]  # fmt: skip
    fmt = {}
    for v in ds.variables:
        if v.codelist is not None:
            fmt[v.name] = f"{names[v.name]}F"  # unique like the short name; may not end in a digit
            pairs = " ".join(
                f"{c}='{d.replace(chr(39), chr(39) * 2)}'" for c, d in v.codelist.items
            )
            lines.append(f"  value {fmt[v.name]} {pairs};")
    lines += ["run;", f"data work.{ds.name};", f"  set xptin.{member};"]
    renames = [f"{s}={long}" for long, s in names.items() if s.lower() != long.lower()]
    if renames:
        lines.append("  rename " + " ".join(renames) + ";")
    lines.append(
        "  label "
        + " ".join(
            f"{names[v.name]}='{v.label.replace(chr(39), chr(39) * 2)}'" for v in ds.variables
        )
        + ";"
    )
    if fmt:
        lines.append("  format " + " ".join(f"{names[n]} {f}." for n, f in fmt.items()) + ";")
    dates = [names[v.name] for v in ds.variables if v.type == "date"]
    if dates:
        lines.append("  format " + " ".join(dates) + " yymmdd10.;")
    lines += ["run;", ""]
    return "\n".join(lines)
