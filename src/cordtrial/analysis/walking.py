"""Walking prediction at baseline against observed walking (natural-history.md section 4).

Rules (coefficients in ``data/walking_rules.toml`` with citations):
- van Middendorp 2011 (Lancet 377:1004): score = (age >= 65 ? -10 : 0) + 2*L3 motor + 2*S1 motor
  + 5*L3 light touch + 5*S1 light touch; P(walk) = 1 / (1 + exp(-(0.267*score - 3.273))).
- Hicks 2017 (Spine J 17:1383): same items, better side, logit = 0.125*score - 1.763; outcome
  FIM locomotor 6-7 [V2]; abbreviated rule logit = 0.211*score - 1.425, whose items differ
  between secondary sources ([R] unverified; cordtrial uses age, L3 motor, L3 light touch).
van Middendorp's side: secondary sources say the better side [V2]; cordtrial uses the better side
of each item and every output says so. The rules were derived from exams within 15 days of
injury (flagged when later) and predict walking at one year (observed walking earlier than that
is compared with a one-year prediction, which the output states).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from . import poisson_binomial as pb
from .tables import AnalysisTables

VALIDATED_EXAM_DAYS = 15  # both rules were derived from exams <= 15 days after injury


@dataclass(frozen=True)
class WalkingRule:
    name: str
    citation: str
    tag: str
    items: tuple[str, ...]
    age_65_points: float
    motor_weight: float
    touch_weight: float
    slope: float
    intercept: float
    auc: str
    side_caveat: str
    outcome: str = "independent walking at 1 year"

    def score(
        self, age: float, l3_motor: float, s1_motor: float, l3_touch: float, s1_touch: float
    ) -> float:
        """Points for one patient (item values already resolved to the side used)."""
        for name, v, hi in (
            ("l3_motor", l3_motor, 5),
            ("s1_motor", s1_motor, 5),
            ("l3_touch", l3_touch, 2),
            ("s1_touch", s1_touch, 2),
        ):
            if name in self.items and not (0 <= v <= hi):
                raise ValueError(f"{name} = {v!r} out of range (allowed 0-{hi})")
        if not 0 <= age <= 120:
            raise ValueError(f"age = {age!r} out of range (allowed 0-120)")
        pts = self.age_65_points if age >= 65 else 0.0
        pts += self.motor_weight * (l3_motor + (s1_motor if "s1_motor" in self.items else 0))
        pts += self.touch_weight * (l3_touch + (s1_touch if "s1_touch" in self.items else 0))
        return float(pts)

    def probability(self, score: float) -> float:
        return 1.0 / (1.0 + math.exp(-(self.slope * score + self.intercept)))


@lru_cache(maxsize=1)
def rules() -> dict[str, WalkingRule]:
    """The walking rules shipped in ``data/walking_rules.toml``."""
    with resources.files("cordtrial.analysis.data").joinpath("walking_rules.toml").open("rb") as f:
        raw = tomllib.load(f)
    return {
        name: WalkingRule(
            name=name,
            citation=r["citation"],
            tag=r["tag"],
            items=tuple(r["items"]),
            age_65_points=float(r["age_65_points"]),
            motor_weight=float(r["motor_weight"]),
            touch_weight=float(r["touch_weight"]),
            slope=float(r["slope"]),
            intercept=float(r["intercept"]),
            auc=str(r["auc"]),
            side_caveat=r["side_caveat"],
            outcome=r.get("outcome", "independent walking at 1 year"),
        )
        for name, r in raw.items()
    }


def observed_walking(tables: AnalysisTables) -> pd.DataFrame:
    """Last known indoor walking per patient: a ``walks_indoors`` measure (any instrument,
    value >= 1) or else SCIM III item 12 ``mobility_indoors`` >= 4 (instruments.md [R])."""
    i = tables.instruments
    w = i[i["measure"] == "walks_indoors"].assign(walks=lambda d: d["value"] >= 1)
    if w.empty:
        m = i[(i["instrument"] == "scim3") & (i["measure"] == "mobility_indoors")]
        w = m.assign(walks=lambda d: d["value"] >= 4)
    w = w.dropna(subset=["value"]).sort_values("days_since_injury")
    last = w.groupby("patient").tail(1)
    return last[["patient", "days_since_injury", "walks"]].rename(
        columns={"days_since_injury": "walking_day"}
    )


def predict(tables: AnalysisTables) -> pd.DataFrame:
    """Per patient: items at the first exam, score and P(walk) for each rule, observed walking."""
    ex = tables.exams.sort_values("days_since_injury").groupby("patient").head(1)
    age = tables.patients.set_index("patient")["age"]
    obs = observed_walking(tables).set_index("patient")
    rows = []
    for _, e in ex.iterrows():
        items = {
            "l3_motor": np.nanmax([e["l3_motor_right"], e["l3_motor_left"]]),
            "s1_motor": np.nanmax([e["s1_motor_right"], e["s1_motor_left"]]),
            "l3_touch": np.nanmax([e["l3_touch_right"], e["l3_touch_left"]]),
            "s1_touch": np.nanmax([e["s1_touch_right"], e["s1_touch_left"]]),
        }
        row = {
            "patient": e["patient"],
            "exam_day": int(e["days_since_injury"]),
            "age": int(age[e["patient"]]),
            **items,
            "outside_validation": bool(e["days_since_injury"] > VALIDATED_EXAM_DAYS),
        }
        for name, rule in rules().items():
            needed = [items[k] for k in rule.items if k != "age"]
            if any(np.isnan(v) for v in needed):
                row[f"{name}_score"], row[f"{name}_p"] = np.nan, np.nan
                continue
            sc = rule.score(row["age"], **items)
            row[f"{name}_score"], row[f"{name}_p"] = sc, rule.probability(sc)
        row["walks_observed"] = (
            bool(obs.loc[e["patient"], "walks"]) if e["patient"] in obs.index else None
        )
        row["walking_day"] = (
            obs.loc[e["patient"], "walking_day"] if e["patient"] in obs.index else np.nan
        )
        rows.append(row)
    return pd.DataFrame(rows)


def summary(pred: pd.DataFrame) -> pd.DataFrame:
    """Observed walkers vs the number each rule expects (with the 95% range of the untreated
    count), and P(>= observed) with no treatment."""
    out = []
    for name, rule in rules().items():
        d = pred.dropna(subset=[f"{name}_p"])
        d = d[d["walks_observed"].notna()]
        k = int(d["walks_observed"].astype(bool).sum())
        p = d[f"{name}_p"].to_numpy(float)
        lo, hi = pb.central_range(p) if len(d) else (np.nan, np.nan)
        out.append(
            {
                "rule": name,
                "tag": rule.tag,
                "evaluable": len(d),
                "observed_walkers": k,
                "expected_walkers": pb.mean(p) if len(d) else np.nan,
                "expected_95_range": f"{lo}-{hi}" if len(d) else "-",
                "p_at_least_observed": pb.sf(k, p) if len(d) else np.nan,
                "last_assessment_days": (
                    f"{d['walking_day'].min():.0f}-{d['walking_day'].max():.0f}" if len(d) else "-"
                ),
                "auc": rule.auc,
                "outcome": rule.outcome,
                "caveat": rule.side_caveat,
                "citation": rule.citation,
            }
        )
    return pd.DataFrame(out)
