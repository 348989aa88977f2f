"""Descriptive tables: AIS shift tables, score summaries per visit, adverse events."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .natural_history import best_grade
from .tables import AIS_GRADES, RELATEDNESS, VISITS, AnalysisTables

# Relatedness categories counted as "related" (possible or stronger), the usual convention.
RELATED = ("possible", "probable", "definite")


def _grade_label(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    s = str(value)
    return s if s in AIS_GRADES else f"indeterminate ({s})"


def baseline_exams(tables: AnalysisTables) -> pd.DataFrame:
    """The last exam on or before each patient's infusion day (the first exam if no infusion)."""
    inf = tables.infusions.groupby("patient")["days_since_injury"].min()
    ex = tables.exams.sort_values("days_since_injury")
    rows = []
    for pid, g in ex.groupby("patient"):
        pre = g[g["days_since_injury"] <= inf.get(pid, -1)]
        rows.append(pre.iloc[-1] if len(pre) else g.iloc[0])
    return pd.DataFrame(rows).reset_index(drop=True)


def shift_tables(tables: AnalysisTables) -> dict[str, pd.DataFrame]:
    """For each visit after baseline: counts of baseline AIS (rows) x AIS at that visit (columns).

    Indeterminate grades ("A,B") get their own row/column rather than being resolved.
    """
    base = baseline_exams(tables).set_index("patient")["ais"].map(_grade_label)
    out = {}
    ex = tables.exams
    for visit in VISITS:
        v = ex[ex["visit"] == visit]
        if v.empty:
            continue
        v = v.sort_values("days_since_injury").groupby("patient").tail(1)
        after = v.set_index("patient")["ais"].map(_grade_label)
        pair = pd.DataFrame({"baseline": base, visit: after}).dropna()
        tab = pd.crosstab(pair["baseline"], pair[visit])
        order = [g for g in (*AIS_GRADES, "missing") if g in tab.index or g in tab.columns]
        extra = sorted((set(tab.index) | set(tab.columns)) - set(order))
        labels = order + extra
        out[visit] = tab.reindex(
            index=[x for x in labels if x in tab.index], columns=labels, fill_value=0
        )
    return out


def score_summary(
    tables: AnalysisTables, measures: tuple[str, ...] = ("uems", "lems", "lt_total", "pp_total")
) -> pd.DataFrame:
    """Median (IQR), n and median day since injury per visit, for each exam score."""
    ex = tables.exams
    rows = []
    for visit in VISITS:
        v = ex[ex["visit"] == visit]
        if v.empty:
            continue
        row = {
            "visit": visit,
            "n_exams": len(v),
            "median_day": float(v["days_since_injury"].median()),
        }
        for m in measures:
            x = v[m].dropna()
            row[m] = (
                f"{x.median():.1f} ({x.quantile(0.25):.1f}-{x.quantile(0.75):.1f})"
                if len(x)
                else "-"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def instrument_summary(tables: AnalysisTables, instrument: str, measure: str) -> pd.DataFrame:
    """Median (IQR) of one instrument measure per visit."""
    i = tables.instruments
    d = i[(i["instrument"] == instrument) & (i["measure"] == measure)]
    rows = []
    for visit in VISITS:
        x = d.loc[d["visit"] == visit, "value"].dropna()
        if len(x):
            rows.append(
                {
                    "visit": visit,
                    "n": len(x),
                    "median (IQR)": f"{x.median():.1f} ({x.quantile(0.25):.1f}-"
                    f"{x.quantile(0.75):.1f})",
                }
            )
    return pd.DataFrame(rows)


def ae_by_grade_relatedness(tables: AnalysisTables) -> pd.DataFrame:
    """Events (and patients with >= 1 event) by CTCAE grade x relatedness to the cell product."""
    ae = tables.adverse_events
    grades = [1, 2, 3, 4, 5]
    events = pd.crosstab(ae["grade"], ae["related_product"]).reindex(
        index=grades, columns=list(RELATEDNESS), fill_value=0
    )
    events.index = [f"grade {g}" for g in grades]
    events["total events"] = events.sum(axis=1)
    pts = ae.groupby("grade")["patient"].nunique().reindex(grades, fill_value=0)
    events["patients"] = pts.to_numpy()
    return events


def ae_by_term(tables: AnalysisTables) -> pd.DataFrame:
    """Per term: events, patients, worst grade, serious events, events possibly or more related."""
    ae = tables.adverse_events
    if ae.empty:
        return pd.DataFrame(
            columns=["term", "events", "patients", "worst_grade", "serious", "related"]
        )
    g = ae.groupby("term")
    out = pd.DataFrame(
        {
            "events": g.size(),
            "patients": g["patient"].nunique(),
            "worst_grade": g["grade"].max(),
            "serious": g["serious"].sum().astype(int),
            "related": g["related_product"].apply(lambda s: int(s.isin(RELATED).sum())),
        }
    ).reset_index()
    return out.sort_values(["worst_grade", "events"], ascending=False).reset_index(drop=True)


def baseline_characteristics(tables: AnalysisTables) -> pd.DataFrame:
    """One row per patient: age, sex, level, baseline AIS and day, infusion day and dose."""
    p = tables.patients.set_index("patient")
    b = baseline_exams(tables).set_index("patient")
    inf = tables.infusions.sort_values("days_since_injury").groupby("patient").first()
    out = pd.DataFrame(
        {
            "age": p["age"],
            "sex": p["sex"],
            "tetraplegia": p["tetraplegia"],
            "baseline_ais": b["ais"].map(best_grade).reindex(p.index),
            "baseline_day": b["days_since_injury"].reindex(p.index),
            "nli": b["nli"].reindex(p.index),
            "infusion_day": inf["days_since_injury"].reindex(p.index),
            "cells_per_kg": inf["cells_per_kg"].reindex(p.index),
            "synthetic": p["synthetic"],
        }
    )
    return out.reset_index()
