"""Plots as inline SVG strings (matplotlib, Agg backend; text kept as text for small files)."""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from . import natural_history as nh  # noqa: E402
from . import poisson_binomial as pb  # noqa: E402
from .descriptive import baseline_exams  # noqa: E402
from .tables import AnalysisTables  # noqa: E402

GRADE_COLOURS = {
    "A": "#b2182b",
    "B": "#ef8a62",
    "C": "#2166ac",
    "D": "#1b7837",
    "E": "#762a83",
    None: "#777777",
}
plt.rcParams.update(
    {
        "svg.fonttype": "none",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.hashsalt": "cordtrial",
    }
)

MEASURE_LABELS = {
    "uems": "UEMS (0-50)",
    "lems": "LEMS (0-50)",
    "lt_total": "Light touch (0-112)",
    "pp_total": "Pin prick (0-112)",
    "scim3.total": "SCIM III total (0-100)",
    "wisci2.max_level": "WISCI II, maximum level (0-20)",
}


def to_svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog/doctype for inline use
    # drop the RDF metadata block (creator/licence URIs): not needed inline
    return re.sub(r"<metadata>.*?</metadata>\s*", "", text, count=1, flags=re.S)


def _baseline_grade(tables: AnalysisTables) -> dict[str, str | None]:
    b = baseline_exams(tables)
    return {p: nh.best_grade(a) for p, a in zip(b["patient"], b["ais"], strict=True)}


def _series(tables: AnalysisTables, measure: str) -> pd.DataFrame:
    if "." in measure:
        instrument, name = measure.split(".", 1)
        i = tables.instruments
        d = i[(i["instrument"] == instrument) & (i["measure"] == name)]
        return d[["patient", "days_since_injury", "value"]]
    e = tables.exams
    return e[["patient", "days_since_injury", measure]].rename(columns={measure: "value"})


def _populations(tables: AnalysisTables) -> dict[str, bool]:
    return tables.patients.set_index("patient")["tetraplegia"].astype(bool).to_dict()


def spaghetti(tables: AnalysisTables, measure: str, reference_curve: bool = True) -> str:
    """Per-patient trajectories vs days since injury, coloured by baseline AIS, with each
    patient's infusion marked; optionally the EMSCI mean curve of the same score for each
    (population, baseline grade) in the data (dashed: tetraplegia, dotted: paraplegia)."""
    data = _series(tables, measure).dropna(subset=["value"])
    grades = _baseline_grade(tables)
    tetra = _populations(tables)
    inf = tables.infusions.groupby("patient")["days_since_injury"].min()
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for pid, g in data.groupby("patient"):
        g = g.sort_values("days_since_injury")
        c = GRADE_COLOURS.get(grades.get(pid), "#777777")
        ax.plot(g["days_since_injury"], g["value"], "-o", color=c, ms=2.5, lw=1, alpha=0.8)
        if pid in inf.index:
            y = np.interp(inf[pid], g["days_since_injury"], g["value"])
            ax.plot([inf[pid]], [y], marker="v", color="black", ms=5, zorder=3)
    curves = reference_curve and measure in nh.CURVE_SCORES
    if curves:
        groups = {(tetra.get(p, True), g) for p, g in grades.items() if g in nh.CURVE_GRADES}
        days = np.geomspace(14, nh.ONE_YEAR_DAYS, 60)
        for tet, grade in sorted(groups):
            if measure == "uems" and not tet:
                continue  # arms unaffected in paraplegia
            mean = nh.expected_score(measure, grade, tet, days)
            ls = "--" if tet else ":"
            ax.plot(days, mean, ls, color=GRADE_COLOURS[grade], lw=2, alpha=0.45)
    ax.set_xlabel("days since injury")
    ax.set_ylabel(MEASURE_LABELS.get(measure, measure))
    handles = [
        plt.Line2D([], [], color=GRADE_COLOURS[g], label=f"baseline AIS {g}")
        for g in sorted({g for g in grades.values() if g})
    ]
    handles.append(plt.Line2D([], [], marker="v", color="black", ls="", label="infusion"))
    if curves:
        pops = set(tetra.values())
        if True in pops:
            handles.append(
                plt.Line2D([], [], ls="--", color="grey", label="EMSCI mean, tetraplegia")
            )
        if False in pops and measure != "uems":
            handles.append(plt.Line2D([], [], ls=":", color="grey", label="EMSCI mean, paraplegia"))
    ax.legend(
        handles=handles, fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5)
    )
    return to_svg(fig)


def swimmer(tables: AnalysisTables) -> str:
    """One lane per patient from injury to last exam: AIS letter at each exam, infusion and
    adverse events (size by grade, filled when serious) marked."""
    ex = tables.exams.sort_values("days_since_injury")
    inf = tables.infusions.groupby("patient")["days_since_injury"].min()
    ae = tables.adverse_events
    pids = list(tables.patients["patient"])
    fig, ax = plt.subplots(figsize=(6.8, 0.32 * len(pids) + 1.2))
    for y, pid in enumerate(pids):
        g = ex[ex["patient"] == pid]
        last = float(g["days_since_injury"].max()) if len(g) else 0.0
        ax.barh(y, last, color="#e8e8e8", height=0.6)
        for _, e in g.iterrows():
            grade = nh.worst_grade(e["ais"])
            ax.text(
                e["days_since_injury"],
                y,
                str(e["ais"]) if pd.notna(e["ais"]) else "?",
                ha="center",
                va="center",
                fontsize=6.5,
                color=GRADE_COLOURS.get(grade),
            )
        if pid in inf.index:
            ax.plot([inf[pid]], [y], marker="|", color="black", ms=12, mew=2)
        for _, a in ae[ae["patient"] == pid].iterrows():
            ax.plot(
                [a["days_since_injury"]],
                [y + 0.32],
                marker="^",
                ms=2 + a["grade"],
                color="#d95f02",
                mfc="#d95f02" if a["serious"] else "none",
            )
    ax.set_yticks(range(len(pids)), pids, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("days since injury")
    ax.legend(
        handles=[
            plt.Line2D([], [], marker="|", color="black", ls="", ms=10, mew=2, label="infusion"),
            plt.Line2D(
                [],
                [],
                marker="^",
                color="#d95f02",
                ls="",
                mfc="none",
                label="adverse event (filled: serious)",
            ),
        ],
        fontsize=7,
        frameon=False,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12 - 2 / (len(pids) + 4)),
        ncol=2,
    )
    return to_svg(fig)


def observed_vs_expected(per_patient: pd.DataFrame) -> str:
    """Per patient: natural-history probability of meeting the threshold (bar) and the observed
    outcome."""
    d = per_patient.dropna(subset=["expected_p"])
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    x = np.arange(len(d))
    cols = [GRADE_COLOURS.get(nh.best_grade(a)) for a in d["baseline_ais"]]
    ax.bar(x, d["expected_p"], color=cols, alpha=0.55, label="P(meet threshold), untreated")
    ax.scatter(
        x, d["observed"], color="black", zorder=3, s=14, label="observed (1 = met the threshold)"
    )
    ax.set_xticks(x, d["patient"], rotation=60, fontsize=7)
    ax.set_ylim(-0.05, 1.1)
    ax.set_ylabel("probability / outcome")
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return to_svg(fig)


def k_of_n(probs: list[float], observed: int) -> str:
    """Distribution of the number meeting the threshold with no treatment; observed marked."""
    dist = pb.pmf(probs)
    k = np.arange(dist.size)
    fig, ax = plt.subplots(figsize=(5.6, 2.8))
    ax.bar(k, dist, color=["#2166ac" if i < observed else "#b2182b" for i in k])
    ax.axvline(observed - 0.5, color="black", ls=":", lw=1)
    ax.set_xlabel("number meeting the threshold with no treatment")
    ax.set_ylabel("probability")
    ax.set_title(
        f"P(>= {observed} of {len(probs)}) = {pb.sf(observed, probs):.3g}  (red bars)", fontsize=9
    )
    return to_svg(fig)


def scenario_sensitivity(table: pd.DataFrame) -> str:
    """P(>= observed) under each rate scenario, as published and conditioned on each patient's
    baseline and end-point day (log scale)."""
    fig, ax = plt.subplots(figsize=(6.4, 2.8))
    x = np.arange(len(table))
    ax.bar(
        x - 0.18,
        table["p_as_published"],
        0.36,
        label="one-year rates as published (baseline <= 2 wk)",
        color="#999999",
    )
    ax.bar(
        x + 0.18,
        table["p_conditioned"],
        0.36,
        label="conditioned on baseline and end-point day",
        color="#2166ac",
    )
    ax.set_yscale("log")
    ax.set_xticks(x, table["scenario"], fontsize=7, rotation=20)
    ax.set_ylabel("P(>= observed), untreated")
    ax.axhline(0.05, color="black", lw=0.8, ls=":")
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return to_svg(fig)


def motor_gain_vs_expected(per_patient: pd.DataFrame, score: str = "uems") -> str:
    """Observed vs natural-history expected motor gain over the same interval, per patient."""
    d = per_patient.dropna(subset=[f"{score}_expected_gain"])
    fig, ax = plt.subplots(figsize=(4.2, 3.4))
    cols = [GRADE_COLOURS.get(nh.best_grade(a)) for a in d["baseline_ais"]]
    ax.scatter(d[f"{score}_expected_gain"], d[f"{score}_observed_gain"], c=cols, s=18)
    lim = [
        min(0, d[[f"{score}_expected_gain", f"{score}_observed_gain"]].min().min()) - 1,
        d[[f"{score}_expected_gain", f"{score}_observed_gain"]].max().max() + 1,
    ]
    ax.plot(lim, lim, color="grey", ls="--", lw=1)
    ax.set_xlabel(f"expected {score.upper()} gain (EMSCI means, same population and grade)")
    ax.set_ylabel(f"observed {score.upper()} gain")
    return to_svg(fig)


def walking_calibration(pred: pd.DataFrame, rule: str = "van_middendorp_2011") -> str:
    """Predicted probability of indoor walking at baseline vs observed walking."""
    d = pred.dropna(subset=[f"{rule}_p"])
    d = d[d["walks_observed"].notna()].sort_values(f"{rule}_p")
    fig, ax = plt.subplots(figsize=(6.0, 2.8))
    x = np.arange(len(d))
    ax.bar(x, d[f"{rule}_p"], color="#999999", label="predicted P(walk), untreated")
    ax.scatter(
        x,
        d["walks_observed"].astype(float),
        color="black",
        s=14,
        zorder=3,
        label="observed walking (1 = yes)",
    )
    ax.set_xticks(x, d["patient"], rotation=60, fontsize=7)
    ax.set_ylim(-0.05, 1.1)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return to_svg(fig)


def power_curve(p_control: float, effects: list[float], ns: list[int], alpha: float = 0.05) -> str:
    """Normal-approximation power against n per group for several treated-arm rates."""
    from .power import power_two_proportions

    fig, ax = plt.subplots(figsize=(5.6, 2.8))
    for p1 in effects:
        pw = [power_two_proportions(n, p1, p_control, alpha) for n in ns]
        ax.plot(ns, pw, label=f"{p1:.2f} vs {p_control:.2f}")
    ax.axhline(0.8, color="black", lw=0.8, ls=":")
    ax.set_xlabel("patients per arm")
    ax.set_ylabel("power (normal approximation)")
    ax.legend(
        fontsize=7,
        frameon=False,
        title="share meeting the threshold: treated vs control",
        title_fontsize=7,
    )
    return to_svg(fig)
