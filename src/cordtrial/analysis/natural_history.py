"""Natural-history comparator: what spontaneous recovery predicts for each patient.

The figures live in ``analysis/data/*.csv`` (one row per published figure, with its citation and
tag [V]/[V2]/[R]/[D]); this module only reads and combines them. Source document:
natural-history.md (sections 1-3 and 6).

Timing assumption (stated in every output that uses it): published conversion rates start from an
exam in the first 1-4 weeks. For a later baseline exam we assume conversion accrues over time in
the same proportion as the mean UEMS recovery curve of the same AIS grade (EMSCI tetraplegia),
interpolated linearly in log(time). A patient still grade X at day d then converts by day t with
probability p*(F(t)-F(d)) / (1 - p*F(d)), where F is the fraction of the one-year change achieved
and F(reference baseline day) = 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from .tables import AIS_GRADES, ais_grades

DAYS_PER_WEEK = 7.0
ONE_YEAR_DAYS = 364.0  # the 52-week column of the EMSCI tables
OUTCOMES = ("ge1_grade", "ge2_grades", "motor_incomplete")


def _read(name: str) -> pd.DataFrame:
    with resources.files("cordtrial.analysis.data").joinpath(name).open("r") as fh:
        return pd.read_csv(fh)


@lru_cache(maxsize=1)
def conversion_table() -> pd.DataFrame:
    """Published AIS conversion figures, one row per (source, outcome); ``percent`` 0-100."""
    return _read("ais_conversion.csv")


@lru_cache(maxsize=1)
def score_means_table() -> pd.DataFrame:
    """EMSCI 2001-2019 cross-sectional means (SD, n) of UEMS, LEMS, light touch and pin prick by
    population, baseline AIS grade and week after injury (``emsci_means.csv``, one cited row each).
    """
    return _read("emsci_means.csv")


# The trial store's demo generator reads the table under its first name.
motor_means_table = score_means_table


@lru_cache(maxsize=1)
def rate_scenarios() -> pd.DataFrame:
    """Rate scenarios for the "k of n improved" sensitivity: the three of natural-history.md
    section 6 (``in_reference_table``) and the published extremes around them (lowest, the
    Khorasanizadeh 2019 meta-analysis, the upper end)."""
    t = _read("rate_scenarios.csv")
    t["in_reference_table"] = t["in_reference_table"].astype(str).str.lower() == "true"
    return t


def reference_table_scenarios() -> pd.DataFrame:
    """The three scenarios of natural-history.md section 6, as published."""
    t = rate_scenarios()
    return t[t["in_reference_table"]].reset_index(drop=True)


# Default reference rows per baseline grade: EMSCI, above T11, exam <= 15 d (van Middendorp 2009)
# because it is the one source giving n for A, B, C and D from the same cohort and exam window.
DEFAULT_REFERENCE: dict[str, str] = {
    "A": "vanmiddendorp2009_A",
    "B": "vanmiddendorp2009_B",
    "C": "vanmiddendorp2009_C",
    "D": "vanmiddendorp2009_D",
}
# Paraplegia: thoracic AIS A converts far less (Marino 2020: T1-9, 90.9% stay A). A key
# "<grade>:paraplegia" overrides the grade's source for patients without tetraplegia.
DEFAULT_REFERENCE["A:paraplegia"] = "marino2020_A_thoracic"
# Modern-era reference for cervical AIS A (Marino 2020, 2013-15); B-D unchanged.
MODERN_REFERENCE: dict[str, str] = {**DEFAULT_REFERENCE, "A": "marino2020_A_2013"}
REFERENCE_SETS: dict[str, dict[str, str]] = {
    "emsci_2009": DEFAULT_REFERENCE,
    "modern_cervical": MODERN_REFERENCE,
}
CURVE_GRADES = ("A", "B", "C", "D")
# Scores with EMSCI mean curves (emsci_means.csv) and their ranges (ISNCSCI).
CURVE_SCORES: dict[str, float] = {"uems": 50.0, "lems": 50.0, "lt_total": 112.0, "pp_total": 112.0}
POPULATIONS = ("tetraplegia", "paraplegia")
# Prior pseudo-sample size used when a source does not report n (stated as an assumption).
ASSUMED_N_WHEN_NOT_REPORTED = 50


@dataclass(frozen=True)
class ReferenceRate:
    """One published conversion figure used as a comparator."""

    id: str
    baseline_ais: str
    outcome: str
    rate: float
    n: int | None
    baseline_exam_max_days: float
    tag: str
    citation: str
    ci: tuple[float, float] | None = None  # published 95% CI of the rate (0-1), if any
    follow_up: str = "about 1 year"

    @property
    def effective_n(self) -> float:
        """The reported n; else the n a binomial 95% CI of the published width implies
        (p(1 - p) / se^2, se = width / 3.92); else ASSUMED_N_WHEN_NOT_REPORTED."""
        if self.n is not None:
            return float(self.n)
        if self.ci is not None and self.ci[1] > self.ci[0]:
            se = (self.ci[1] - self.ci[0]) / (2 * 1.959964)
            return max(1.0, self.rate * (1 - self.rate) / se**2)
        return float(ASSUMED_N_WHEN_NOT_REPORTED)

    @property
    def beta(self) -> tuple[float, float]:
        """Beta(x + 1/2, n - x + 1/2) (Jeffreys) for the rate, x = rate * n, n = effective_n."""
        n = self.effective_n
        x = self.rate * n
        return x + 0.5, n - x + 0.5

    @property
    def n_assumed(self) -> bool:
        return self.n is None and self.ci is None

    @property
    def n_label(self) -> str:
        if self.n is not None:
            return str(self.n)
        if self.ci is not None:
            return f"not reported (about {self.effective_n:.0f} implied by the 95% CI)"
        return f"not reported (assumed {ASSUMED_N_WHEN_NOT_REPORTED})"


@lru_cache(maxsize=256)
def reference_rate(source_id: str, outcome: str = "ge1_grade") -> ReferenceRate:
    """Look up one row of the conversion table; KeyError names what exists."""
    t = conversion_table()
    rows = t[(t["id"] == source_id) & (t["outcome"] == outcome)]
    if rows.empty:
        have = sorted(set(t.loc[t["id"] == source_id, "outcome"])) or sorted(set(t["id"]))
        raise KeyError(f"no conversion figure {source_id!r}/{outcome!r}; available: {have}")
    r = rows.iloc[0]
    has_ci = not (pd.isna(r["ci_low"]) or pd.isna(r["ci_high"]))
    return ReferenceRate(
        id=source_id,
        baseline_ais=str(r["baseline_ais"]),
        outcome=outcome,
        rate=float(r["percent"]) / 100.0,
        n=None if pd.isna(r["n"]) else int(r["n"]),
        baseline_exam_max_days=float(r["baseline_exam_max_days"]),
        tag=str(r["tag"]),
        citation=str(r["citation"]),
        ci=(float(r["ci_low"]) / 100, float(r["ci_high"]) / 100) if has_ci else None,
        follow_up=str(r["follow_up"]),
    )


@lru_cache(maxsize=64)
def _curve(score: str, population: str, ais: str) -> tuple[np.ndarray, np.ndarray]:
    m = score_means_table()
    rows = m[(m["score"] == score) & (m["population"] == population) & (m["ais"] == ais)]
    if rows.empty:
        raise KeyError(f"no {score} means for {population} AIS {ais}")
    rows = rows.sort_values("week")
    return rows["week"].to_numpy(float) * DAYS_PER_WEEK, rows["mean"].to_numpy(float)


def population_of(tetraplegia: bool) -> str:
    return "tetraplegia" if tetraplegia else "paraplegia"


@lru_cache(maxsize=128)
def stage_sd(score: str, population: str, ais: str, week: int) -> float:
    """EMSCI between-patient SD of ``score`` at one stage (NaN when the table has no row)."""
    m = score_means_table()
    rows = m[
        (m["score"] == score)
        & (m["population"] == population)
        & (m["ais"] == ais)
        & (m["week"] == week)
    ]
    return float(rows["sd"].iloc[0]) if len(rows) else float("nan")


def expected_score(
    score: str, ais: str, tetraplegia: bool, day: float | np.ndarray
) -> float | np.ndarray:
    """EMSCI mean ``score`` of untreated patients with this baseline grade and population on
    ``day`` (days since injury): the 2/4/12/26/52-week means, linear in log(time) between stages.

    Held flat outside weeks 2-52: EMSCI's first stage pools exams from the first 2 weeks, and the
    tables end at one year. UEMS in paraplegia is 50 at every stage (EMSCI: arms unaffected).
    """
    if score not in CURVE_SCORES:
        raise ValueError(f"no EMSCI curve for {score!r}; allowed: {sorted(CURVE_SCORES)}")
    if ais not in CURVE_GRADES:
        raise KeyError(f"no EMSCI curve for baseline AIS {ais!r}; allowed: A, B, C, D")
    if score == "uems" and not tetraplegia:
        return np.full_like(np.asarray(day, float), CURVE_SCORES["uems"])[()]
    days, means = _curve(score, population_of(tetraplegia), ais)
    d = np.clip(np.asarray(day, float), days[0], days[-1])
    out = np.interp(np.log(d), np.log(days), means)
    return float(out) if out.ndim == 0 else out


def recovery_fraction(day: float, ais: str, start_day: float = 14.0) -> float:
    """Share of the mean UEMS change from ``start_day`` to one year reached by ``day``.

    Uses the EMSCI tetraplegia UEMS means of the grade (section 3), linear in log(day); clipped
    to [0, 1] (no extrapolation before week 2 or after week 52).
    """
    if ais not in CURVE_GRADES:
        raise KeyError(f"no recovery curve for AIS {ais!r}; allowed: A, B, C, D")
    days, means = _curve("uems", "tetraplegia", ais)

    def at(d: float) -> float:
        d = float(np.clip(d, days[0], days[-1]))
        return float(np.interp(np.log(d), np.log(days), means))

    total = at(ONE_YEAR_DAYS) - at(start_day)
    if total <= 0:
        return 1.0
    return float(np.clip((at(day) - at(start_day)) / total, 0.0, 1.0))


def conditional_rate(
    rate: float, ais: str, baseline_day: float, end_day: float, reference_day: float
) -> float:
    """P(convert by ``end_day`` | still grade ``ais`` at ``baseline_day``), see module docstring.

    ``reference_day`` is the typical exam day of the source cohort (we use half its window, at
    least 2 weeks since the curves start at week 2).
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be within 0-1 (got {rate!r})")
    if end_day < baseline_day:
        raise ValueError(f"end_day {end_day} is before baseline_day {baseline_day}")
    f_base = recovery_fraction(baseline_day, ais, reference_day)
    f_end = recovery_fraction(end_day, ais, reference_day)
    denom = 1.0 - rate * f_base
    return 0.0 if denom <= 0 else rate * (f_end - f_base) / denom


def reference_day(ref: ReferenceRate) -> float:
    """Typical baseline exam day of a source cohort: half its window, not before week 2."""
    return max(14.0, ref.baseline_exam_max_days / 2.0)


def expected_gain(
    score: str, ais: str, tetraplegia: bool, baseline_day: float, end_day: float
) -> float:
    """Mean change of ``score`` from ``baseline_day`` to ``end_day`` without treatment: the
    difference of EMSCI cross-sectional means of the same population and baseline grade (not
    paired changes). Each score uses its own measured curve (LEMS: the five EMSCI stages of its
    population, never the UEMS shape).
    """
    return float(
        expected_score(score, ais, tetraplegia, end_day)
        - expected_score(score, ais, tetraplegia, baseline_day)
    )


def expected_motor_gain(
    score: str, ais: str, tetraplegia: bool, baseline_day: float, end_day: float
) -> float:
    """``expected_gain`` for UEMS or LEMS (the motor scores the comparator reports)."""
    if score not in ("uems", "lems"):
        raise ValueError(f"score must be 'uems' or 'lems' (got {score!r})")
    return expected_gain(score, ais, tetraplegia, baseline_day, end_day)


def best_grade(value: object) -> str | None:
    """The most favourable candidate of an AIS cell ("A,B" -> "B"); None when missing."""
    g = ais_grades(value)
    return max(g, key=AIS_GRADES.index) if g else None


def worst_grade(value: object) -> str | None:
    """The least favourable candidate of an AIS cell ("A,B" -> "A"); None when missing."""
    g = ais_grades(value)
    return min(g, key=AIS_GRADES.index) if g else None


def grade_steps(before: object, after: object) -> float:
    """Grades gained from ``before`` to ``after``, conservatively: the best candidate before vs the
    worst candidate after, so an indeterminate exam never manufactures an improvement. NaN when
    either is missing.
    """
    b, a = best_grade(before), worst_grade(after)
    if b is None or a is None:
        return float("nan")
    return float(AIS_GRADES.index(a) - AIS_GRADES.index(b))
