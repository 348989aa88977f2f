"""Calibration by simulation: how often does the report find an effect in trials that have none?

Every effect the report states with a 95% CI against 0, and every P value it sets against
natural history, is recomputed on many synthetic trials with no treatment effect
(``datasets.make_example``, seeded: trial i uses seed ``SEED + i``). A calibrated effect excludes
0 (or has P < 0.05) in about 5% of them. An effect found in more than ``CALIBRATED_MAX`` of them
is not calibrated, and the report prints it only with a plain warning.

The shipped results (``data/calibration.csv``) come from
``python -m cordtrial.analysis.calibration`` (``TRIALS`` trials); the test suite recomputes the
first ``CHECK_TRIALS`` of them and compares. docs/analysis.md lists the rates.

What this does and does not show: the synthetic trials follow the natural history the
comparators assume on average (EMSCI means, published conversion rates, the walking rule), with
more patient-to-patient variation than the models assume. So a calibrated effect does not report
effects that are not there when those sources describe the patients; it says nothing about bias
when they do not (other eras, case mixes, unblinded raters).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from . import comparator, walking
from . import self_controlled as sc
from .datasets.make_example import Knobs, make
from .intervals import clopper_pearson, excludes_zero
from .tables import AnalysisTables

SEED = 14_000
TRIALS = 1000
CHECK_TRIALS = 200
ALPHA = 0.05
# Above this share of no-effect trials an effect is "not calibrated" (nominal 5%; 7.5% leaves
# room for the simulation error of 1000 trials, about +/- 1.4 points).
CALIBRATED_MAX = 0.075
SEGMENTED_MEASURES = ("uems", "lems", "lt_total", "pp_total")
RATE_WINDOWS = {"7d": 7, "last": None}
CSV_NAME = "calibration.csv"


@dataclass(frozen=True)
class Effect:
    key: str
    label: str
    test: str  # "95% CI excludes 0" or "P < 0.05"


def effects() -> list[Effect]:
    """Every effect or P value the report states, in report order."""
    ci, p = "95% CI excludes 0", "P < 0.05"
    out = [
        Effect("comparator.ais_1_grade", "P(>= observed) untreated, >= 1 AIS grade", p),
        Effect("comparator.regulator_preset", "P(>= observed) untreated, regulator preset", p),
        Effect("excess_gain.uems", "Mean UEMS gain over natural history", ci),
        Effect("excess_gain.lems", "Mean LEMS gain over natural history", ci),
    ]
    for m in SEGMENTED_MEASURES:
        out.append(Effect(f"segmented.step.{m}", f"Step in the first week after infusion, {m}", ci))
        out.append(Effect(f"segmented.slope.{m}", f"Change in pace after infusion, {m}", ci))
    for m in SEGMENTED_MEASURES:
        for w in RATE_WINDOWS:
            out.append(Effect(f"rate_before_after.{m}.{w}", f"Rate before vs after ({w}), {m}", p))
    for rule in walking.rules():
        out.append(Effect(f"walking.{rule}", f"P(>= observed walkers), {rule}", p))
    return out


def _below(p: float) -> bool | None:
    return None if not np.isfinite(p) else bool(p < ALPHA)


def trial_findings(tables: AnalysisTables) -> dict[str, bool | None]:
    """For one trial: effect key -> True when the report would show an effect (CI excludes 0,
    or P < 0.05), False when not, None when the analysis cannot be computed."""
    out: dict[str, bool | None] = {}
    for name in ("ais_1_grade", "regulator_preset"):
        res = comparator.compare(tables, name, draws=0)
        out[f"comparator.{name}"] = _below(res.p_at_least_observed) if res.evaluable else None
        if name == "ais_1_grade":
            for score in ("uems", "lems"):
                m, lo, hi, n = res.excess.get(score, (np.nan,) * 3 + (0,))
                out[f"excess_gain.{score}"] = excludes_zero((lo, hi))
    for m in SEGMENTED_MEASURES:
        try:
            r = sc.segmented_model(tables, m)
        except ValueError:
            out[f"segmented.step.{m}"] = out[f"segmented.slope.{m}"] = None
            continue
        out[f"segmented.step.{m}"] = excludes_zero(r.step_ci)
        out[f"segmented.slope.{m}"] = excludes_zero(r.slope_change_ci)
    for m in SEGMENTED_MEASURES:
        for w, after in RATE_WINDOWS.items():
            s = sc.summarise_rates(sc.rate_before_after(tables, m, after), after)
            out[f"rate_before_after.{m}.{w}"] = _below(s.wilcoxon_p)
    summ = walking.summary(walking.predict(tables))
    for _, row in summ.iterrows():
        out[f"walking.{row['rule']}"] = _below(row["p_at_least_observed"])
    return out


def simulate(
    trials: int = TRIALS,
    seed: int = SEED,
    knobs: Knobs | None = None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """One row per synthetic no-effect trial, one column per effect key (True/False/None)."""
    if trials < 1:
        raise ValueError(f"trials must be >= 1 (got {trials!r})")
    rows = []
    for i in range(trials):
        rows.append(trial_findings(make(seed + i, knobs)))
        if progress:
            progress(i + 1)
    keys = [e.key for e in effects()]
    return pd.DataFrame(rows).reindex(columns=keys)


def summarise(findings: pd.DataFrame, check_trials: int = CHECK_TRIALS) -> pd.DataFrame:
    """Per effect: trials where it could be computed, how often it was found, the rate with its
    exact 95% CI, whether it is calibrated, and the counts over the first ``check_trials``."""
    out = []
    head = findings.iloc[:check_trials]
    for e in effects():
        col = findings[e.key]
        n, k = int(col.notna().sum()), int((col == True).sum())  # noqa: E712 (None-aware)
        lo, hi = clopper_pearson(k, n)
        rate = k / n if n else float("nan")
        out.append(
            {
                "effect": e.key,
                "label": e.label,
                "test": e.test,
                "trials": n,
                "found": k,
                "rate": rate,
                "rate_ci_low": lo,
                "rate_ci_high": hi,
                "calibrated": bool(n and rate <= CALIBRATED_MAX),
                "check_trials": int(head[e.key].notna().sum()),
                "check_found": int((head[e.key] == True).sum()),  # noqa: E712
            }
        )
    return pd.DataFrame(out)


@lru_cache(maxsize=1)
def stored() -> pd.DataFrame:
    """The shipped calibration table (``data/calibration.csv``); empty if it was never made
    (every effect then reads "not simulated")."""
    path = resources.files("cordtrial.analysis.data").joinpath(CSV_NAME)
    if not path.is_file():
        return pd.DataFrame(columns=["effect", "rate", "trials", "calibrated"])
    with path.open("r") as fh:
        return pd.read_csv(fh)


@dataclass(frozen=True)
class Calibration:
    key: str
    rate: float
    trials: int
    calibrated: bool

    @property
    def text(self) -> str:
        return (
            f"found in {self.rate:.1%} of {self.trials} synthetic trials without any effect "
            "(nominal 5%)"
        )

    @property
    def warning(self) -> str:
        """Plain warning for an uncalibrated effect ("" when calibrated)."""
        if self.calibrated:
            return ""
        return (
            f"Not calibrated: in {self.trials} synthetic trials without any effect this was "
            f"'found' in {self.rate:.0%} (nominal 5%). Do not read it as evidence of an effect."
        )


def status(key: str) -> Calibration | None:
    """The shipped calibration of one effect; None when it was never simulated."""
    t = stored()
    rows = t[t["effect"] == key]
    if rows.empty:
        return None
    r = rows.iloc[0]
    return Calibration(key, float(r["rate"]), int(r["trials"]), bool(r["calibrated"]))


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    variants = {
        "default": Knobs(),
        "paraplegia": Knobs(paraplegia_share=0.5, mix=("A",) * 4 + ("B",) * 4 + ("C",) * 5),
        "heterogeneous": Knobs(speed_sd=0.6, gain_sd=0.6),
        "incomplete": Knobs(mix=("C",) * 10 + ("D",) * 3),
    }
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=TRIALS)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--generator", choices=sorted(variants), default="default")
    default_out = Path(__file__).parent / "data" / CSV_NAME
    ap.add_argument("--out", type=Path, default=default_out)
    args = ap.parse_args(argv)
    console = Console(stderr=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(f"no-effect trials ({args.generator})", total=args.trials)
        findings = simulate(
            args.trials,
            args.seed,
            variants[args.generator],
            lambda i: bar.update(task, completed=i),
        )
    table = summarise(findings)
    table.insert(0, "generator", args.generator)
    table.insert(1, "seed", args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False, float_format="%.4f")
    console.print(table[["effect", "trials", "found", "rate", "calibrated"]].to_string())
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
