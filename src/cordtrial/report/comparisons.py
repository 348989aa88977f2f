"""Every comparison the report states (a P value or a CI against "no effect"), so the report can
show how many it makes and how each behaves in trials without any effect (multiplicity)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cordtrial.analysis import calibration

PRIMARY, SENSITIVITY = "primary", "sensitivity variant"


@dataclass(frozen=True)
class Comparison:
    section: str
    what: str
    result: str
    found: bool | None  # CI excludes 0 / P < 0.05; None when not computable
    kind: str = PRIMARY
    effect_key: str = ""  # the calibration effect, if simulated

    @property
    def calibration(self) -> calibration.Calibration | None:
        return calibration.status(self.effect_key) if self.effect_key else None


def calibration_cell(key: str) -> str:
    """'4.9% of 1000' style text for a table cell, with NOT CALIBRATED when above the bound."""
    c = calibration.status(key)
    if c is None:
        return "not simulated"
    flag = "" if c.calibrated else " - NOT CALIBRATED"
    return f"{c.rate:.1%} of {c.trials}{flag}"


def warning_for(key: str) -> str:
    c = calibration.status(key)
    return c.warning if c is not None else ""


def table(comparisons: list[Comparison]) -> pd.DataFrame:
    rows = []
    for c in comparisons:
        cal = c.calibration
        rows.append(
            {
                "section": c.section,
                "comparison": c.what,
                "kind": c.kind,
                "result": c.result,
                "CI excludes 0 / P < 0.05": "-"
                if c.found is None
                else ("yes" if c.found else "no"),
                "found in no-effect simulations": (
                    "not simulated"
                    if cal is None
                    else f"{cal.rate:.1%} of {cal.trials}"
                    + ("" if cal.calibrated else " (NOT CALIBRATED)")
                ),
            }
        )
    return pd.DataFrame(rows)


def multiplicity_text(comparisons: list[Comparison]) -> str:
    n = len(comparisons)
    primary = sum(c.kind == PRIMARY for c in comparisons)
    found = sum(bool(c.found) for c in comparisons if c.kind == PRIMARY)
    return (
        f"This report states {n} comparisons against natural history or against 'no effect' "
        f"({primary} primary, {n - primary} sensitivity variants of them), across several "
        "definitions, measures and time windows. With no effect at all, about 1 in 20 primary "
        f"comparisons at the 5% level is expected to reach P < 0.05 or a CI that excludes 0 by "
        f"chance (here about {primary * 0.05:.1f}); {found} of the {primary} primary comparisons "
        "did. No correction for multiplicity is applied: read each one as one of many."
    )
