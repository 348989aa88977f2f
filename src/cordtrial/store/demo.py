"""A SYNTHETIC demo trial shaped like the 13-patient Sapporo case series.

Nothing here is patient data. The shape follows the published design (study.md, cell-product.md):
cervical non-penetrating injuries, AIS A/B/C at enrolment, blood draws for autologous serum,
bone-marrow harvest, about two weeks of culture, QA release, one IV infusion 40-54 days after
injury, exams on the protocol schedule, and a few expected adverse events. Recovery is drawn
(seeded, reproducible) from the NATURAL-HISTORY figures in ``cordtrial.analysis.natural_history``
(EMSCI conversion rates, van Middendorp 2009; EMSCI motor-score means by grade), i.e. the demo
data contain no treatment effect by construction. Every site, study code, assessor and the
``synthetic`` flags say "synthetic".

Everything goes through the services, so the demo obeys the same rules and leaves the same audit
trail and signatures as real entry would.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import ROLES, Patient, Site, User
from .passwords import hash_password
from .protocol import Protocol
from .protocol_versions import protocol_on
from .rules import eligible_answers
from .services import adverse_events, assessments, infusions, patients, users
from .services import manufacturing as mf

SITES = (("SAP", "Sapporo (synthetic demo site)"), ("ASA", "Asahikawa (synthetic demo site)"))
PATIENTS_PER_SITE = (11, 2)
# Baseline mix A/B/C: one of the illustrative mixes of natural-history.md section 6 (6/2/5);
# the case series' own mix is not public.
BASELINE_MIX = ("A",) * 6 + ("B",) * 2 + ("C",) * 5
KEY_MUSCLES = ("c5", "c6", "c7", "c8", "t1", "l2", "l3", "l4", "l5", "s1")
DERMATOMES = (
    "c2", "c3", "c4", "c5", "c6", "c7", "c8",
    "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11", "t12",
    "l1", "l2", "l3", "l4", "l5", "s1", "s2", "s3", "s4_5",
)  # fmt: skip
MECHANISMS = (
    "fall from standing height",
    "fall from height",
    "traffic accident",
    "sports injury",
    "fall down stairs",
)
ASSESSOR = "Synthetic Assessor"


def username_for(site_code: str, role: str) -> str:
    return f"{site_code.lower()}_{role}"


def demo_usernames() -> dict[str, list[str]]:
    """role -> the demo usernames with that role (one per demo site)."""
    return {role: [username_for(code, role) for code, _ in SITES] for role in ROLES}


class DemoError(RuntimeError):
    """The store is not in a state the demo can be seeded into."""


# -- natural history ---------------------------------------------------------------------------


def _natural_history():
    from cordtrial.analysis import natural_history as nh

    return nh


def draw_outcome(rng: np.random.Generator, grade: str) -> str:
    """The one-year grade without treatment, from EMSCI conversion figures (van Middendorp 2009,
    via natural_history.DEFAULT_REFERENCE): A: >= 1 grade 26.1 %, >= 2 grades 11.8 %;
    B: 73 % convert, split C:D 30:37 as in Marino 2011 (SCIMS tetraplegia); C: 74 % reach D."""
    nh = _natural_history()
    u = rng.random()
    if grade == "A":
        two = nh.reference_rate(nh.DEFAULT_REFERENCE["A"], "ge2_grades").rate
        one = nh.reference_rate(nh.DEFAULT_REFERENCE["A"], "ge1_grade").rate
        return "C" if u < two else "B" if u < one else "A"
    if grade == "B":
        conv = nh.reference_rate(nh.DEFAULT_REFERENCE["B"], "ge1_grade").rate
        return ("C" if rng.random() < 30 / 67 else "D") if u < conv else "B"
    conv = nh.reference_rate(nh.DEFAULT_REFERENCE["C"], "ge1_grade").rate
    return "D" if u < conv else "C"


def conversion_day(rng: np.random.Generator, grade: str) -> int:
    """Day of conversion: inverse of the grade's EMSCI recovery-fraction curve (most recovery in
    the first 3 months, Fawcett 2007)."""
    nh = _natural_history()
    u = rng.uniform(0.02, 0.98)
    for day in range(14, 366):
        if nh.recovery_fraction(day, grade) >= u:
            return day
    return 365


# -- exams -------------------------------------------------------------------------------------


def _distribute(points: float, slots: int, strong_max: int | None) -> list[int]:
    """Spread motor points over muscles rostral first (cap 5); at most ``strong_max`` >= 3."""
    out, rem, strong = [], max(0, round(points)), 0
    for _ in range(slots):
        v = min(5, rem)
        if strong_max is not None and v >= 3 and strong >= strong_max:
            v = min(v, 2)
        strong += v >= 3
        out.append(v)
        rem -= v
    return out


def build_exam(
    rng: np.random.Generator, nli: str, grade: str, uems: float, lems: float, recovered: float
) -> dict[str, str]:
    """An exam in RHI naming with neurological level ``nli`` (c5-c7) and the pattern of ``grade``
    (ISNCSCI 2019 definitions), motor points near the targets. The engine classifies it."""
    k = KEY_MUSCLES.index(nli)
    below = KEY_MUSCLES[k + 1 :]
    n_upper_below = 5 - (k + 1)
    half = math.ceil(len(below) / 2)
    rhi: dict[str, str] = {}
    for side in ("Right", "Left"):
        jitter = rng.normal(0, 1.0)
        upper_pts = uems / 2 - (5 * k + 4) + jitter
        lower_pts = lems / 2 - jitter
        if grade in ("A", "B"):
            # motor complete: nothing more than three levels below the motor level
            within = min(3, n_upper_below)
            vals = _distribute(upper_pts, within, None) + [0] * (len(below) - within)
        else:
            strong_max = half - 1 if grade == "C" else None
            if strong_max is None:
                upper = _distribute(upper_pts, n_upper_below, None)
                lower = _distribute(lower_pts, 5, None)
            else:
                # AIS C: fewer than half the key muscles below the NLI at >= 3. Legs get their
                # share of strong muscles first so LEMS does not fall as arms recover.
                lower = _distribute(lower_pts, 5, min(strong_max, math.ceil(lower_pts / 5)))
                used = sum(v >= 3 for v in lower)
                upper = _distribute(upper_pts, n_upper_below, strong_max - used)
            vals = upper + lower
            if grade == "D":
                i = len(vals) - 1
                while sum(v >= 3 for v in vals) < half and i >= 0:
                    vals[i] = max(vals[i], 3)
                    i -= 1
        for m in KEY_MUSCLES[:k]:
            rhi[f"{m}{side}Motor"] = "5"
        rhi[f"{nli}{side}Motor"] = "4"  # pins the motor level at the NLI
        for m, v in zip(below, vals, strict=True):
            rhi[f"{m}{side}Motor"] = str(v)
        d_nli = DERMATOMES.index(nli)
        p_two = 0.1 + 0.5 * recovered if grade == "D" else 0.05 + 0.2 * recovered
        for i, derm in enumerate(DERMATOMES):
            for kind in ("Touch", "Prick"):
                if i <= d_nli:
                    v = 2
                elif grade == "A":
                    v = 1 if i == d_nli + 1 else 0
                elif i == d_nli + 1:
                    v = 1  # keeps the sensory level at the NLI
                else:
                    v = 2 if rng.random() < p_two else 1
                    if derm == "s4_5" and grade == "B" and kind == "Prick":
                        v = int(rng.random() < 0.5)
                rhi[f"{derm}{side}{kind}"] = str(v)
    rhi["analContraction"] = "Yes" if grade in ("C", "D") else "No"
    rhi["analSensation"] = "No" if grade == "A" else "Yes"
    return rhi


def _option(values: tuple, frac: float) -> int | str:
    frac = min(1.0, max(0.0, frac))
    return values[round(frac * (len(values) - 1))]


def scim_record(rng: np.random.Generator, uems: float, lems: float, grade: str) -> dict:
    """SCIM III items loosely tied to arm and leg strength (synthetic, not a validated model)."""
    from cordtrial.instruments import INSTRUMENTS

    scim = INSTRUMENTS["scim3"]
    arm, leg = uems / 50, lems / 50
    sphincter = {"A": 0.1, "B": 0.2, "C": 0.45, "D": 0.75}[grade]
    frac = {
        "feeding": arm,
        "bathing_upper": arm * 0.9,
        "bathing_lower": arm * 0.6,
        "dressing_upper": arm * 0.9,
        "dressing_lower": arm * 0.5,
        "grooming": arm,
        "respiration": 0.6 + 0.4 * arm,
        "bladder": sphincter,
        "bowel": sphincter,
        "toilet": (arm + leg) / 2,
        "bed_mobility": arm * 0.8,
        "transfer_bed_wheelchair": arm * 0.8,
        "transfer_wheelchair_toilet": arm * 0.7,
        "mobility_indoors": 0.25 * arm + 0.75 * leg,
        "mobility_moderate": 0.2 * arm + 0.7 * leg,
        "mobility_outdoors": 0.15 * arm + 0.65 * leg,
        "stairs": leg * 0.8,
        "transfer_wheelchair_car": arm * 0.6,
        "transfer_ground_wheelchair": leg * 0.7,
    }
    return {
        item.id: _option(item.allowed_values, frac[item.id] + rng.normal(0, 0.08))
        for item in scim.items
    }


def wisci_record(rng: np.random.Generator, lems: float) -> dict:
    maximum = (
        0 if lems < 15 else int(np.clip(round((lems - 15) / 35 * 20 + rng.normal(0, 1.5)), 0, 20))
    )
    return {"self_selected": max(0, maximum - int(rng.integers(0, 3))), "maximum": maximum}


def nbd_record(rng: np.random.Generator, grade: str) -> dict:
    from cordtrial.instruments import INSTRUMENTS

    severity = {"A": 0.8, "B": 0.7, "C": 0.45, "D": 0.25}[grade]
    out = {}
    for item in INSTRUMENTS["nbd"].items:
        values = item.allowed_values
        if item.id == "faecal_incontinence_frequency":  # listed from most to least frequent
            values = tuple(reversed(values))
        out[item.id] = _option(values, severity + rng.normal(0, 0.2))
    return out


def lutf_record(rng: np.random.Generator, grade: str) -> dict:
    method = {
        "A": "intermittent_self_catheterisation",
        "B": "intermittent_self_catheterisation",
        "C": "reflex_triggering",
        "D": "normal_voiding",
    }[grade]
    return {
        "awareness_of_need_to_empty": "no" if grade in ("A", "B") else "yes",
        "main_emptying_method": method,
        "supplementary_emptying_methods": ["none"],
        # voluntary emptyings: none when catheterising, a few when reflex or normal voiding
        "voluntary_emptyings_per_day": {"A": 0, "B": 0, "C": 3, "D": 6}[grade],
        "involuntary_leakage_last_3_months": "weekly" if grade in ("A", "B") else "monthly",
        "collecting_appliances": "no",
        "urinary_tract_drugs": "yes" if grade in ("A", "B") else "no",
        "urinary_tract_surgery": "no",
        "change_in_symptoms": "no",
    }


# -- seeding -----------------------------------------------------------------------------------


@dataclass
class _Course:
    """One synthetic patient's natural course."""

    nli: str
    baseline: str
    outcome: str
    converts_on: int
    uems0: float
    lems0: float
    uems_gain: float
    lems_gain: float

    def at(self, day: int) -> tuple[str, float, float, float]:
        nh = _natural_history()
        f = nh.recovery_fraction(day, self.baseline)
        grade = self.outcome if day >= self.converts_on else self.baseline
        uems = self.uems0 + self.uems_gain * f
        lems = 0.0 if grade in ("A", "B") else self.lems0 + self.lems_gain * f
        if grade in ("C", "D") and self.baseline in ("A", "B"):
            lems = self.lems_gain * max(0.0, f - 0.2)
        return grade, uems, lems, f


def _course(rng: np.random.Generator, baseline: str) -> _Course:
    nh = _natural_history()
    nli = str(rng.choice(("c5", "c6", "c7"), p=(0.4, 0.35, 0.25)))
    k = KEY_MUSCLES.index(nli)
    means = nh.motor_means_table()

    def mean_sd(score: str, grade: str, week: int) -> tuple[float, float]:
        row = means[
            (means["score"] == score)
            & (means["population"] == "tetraplegia")
            & (means["ais"] == grade)
            & (means["week"] == week)
        ].iloc[0]
        return float(row["mean"]), float(row["sd"])

    m, sd = mean_sd("uems", baseline, 2)
    floor = 2 * (5 * k + 4)
    uems0 = float(np.clip(rng.normal(m, sd / 2), floor, floor + 12))
    outcome = draw_outcome(rng, baseline)
    # gains: EMSCI tetraplegia means of the baseline grade, week 2 -> 52 (natural-history.md §3)
    uems_gain = max(
        0.0, nh.expected_motor_gain("uems", baseline, True, 14, 364) * rng.lognormal(0, 0.3)
    )
    if baseline == "C":
        lm, lsd = mean_sd("lems", "C", 2)
        lems0 = float(np.clip(rng.normal(lm, lsd / 2), 2, 20))
        lems_gain = nh.expected_motor_gain("lems", "C", True, 14, 364) * rng.lognormal(0, 0.3)
    else:
        lems0 = 0.0
        target = mean_sd("lems", baseline, 52)[0] if outcome in ("C", "D") else 0.0
        lems_gain = target * rng.lognormal(0, 0.3)
        if outcome == "D":
            lems_gain = max(lems_gain, 30.0)
    return _Course(
        nli,
        baseline,
        outcome,
        conversion_day(rng, baseline) if outcome != baseline else 10_000,
        uems0,
        lems0,
        uems_gain,
        lems_gain,
    )


# Patients on their way through the trial on the day the demo is seeded: (stage they have
# reached, how many); their injuries are dated back from that day so every page has something
# current to show (cordtrial.web.queries.STAGES).
IN_PROGRESS: tuple[tuple[str, int], ...] = (
    ("screening", 1),
    ("consented", 1),
    ("raw_material", 1),
    ("culture", 1),
    ("quarantine", 1),
    ("released", 1),
    ("follow_up", 2),
)
JOURNEY = (
    "screening",
    "consented",
    "raw_material",
    "culture",
    "quarantine",
    "released",
    "follow_up",
    "complete",
)


def demo_size() -> int:
    """How many synthetic patients the demo seeds."""
    return len(BASELINE_MIX) + sum(n for _, n in IN_PROGRESS)


def seed_demo(
    session: Session,
    seed: int = 2021,
    passwords: dict[str, str] | None = None,
    protocol: Protocol | None = None,
    progress: Callable[[str], None] | None = None,
    today: date | None = None,
) -> dict[str, str]:
    """Seed the synthetic demo trial into an empty store; return {role: password}.

    The 13-patient case series (completed follow-up, fixed dates in 2024-25) and, dated back
    from ``today``, patients at every stage of the pipeline (IN_PROGRESS). One demo user per
    role at each of two sites (usernames ``<site>_<role>``, e.g. ``sap_qa``, ``asa_qa``); both
    users of a role share the returned password. Passwords not given are generated (print them
    once). Same seed and day, same data (apart from those passwords and the timestamps of
    entry).
    """
    protocol = protocol or protocol_on(session)
    today = today or date.today()
    if session.scalar(select(func.count()).select_from(Patient)):
        raise DemoError(
            "the store already has patients; seed the demo only into an empty store "
            "(cordtrial demo-data --reset starts from scratch)"
        )
    rng = np.random.default_rng(seed)
    passwords = dict(passwords or {})
    for role in ROLES:
        passwords.setdefault(role, secrets.token_urlsafe(12))
    sites = []
    for code, name in SITES:
        site = Site(code=code, name=name, synthetic=True, time_zone="Asia/Tokyo")
        session.add(site)
        sites.append(site)
    session.flush()
    by_site: dict[str, dict[str, User]] = {}
    for role in ROLES:
        pw_hash = hash_password(passwords[role])
        for site in sites:
            u = users.create_user(
                None,
                session,
                username=username_for(site.code, role),
                display_name=f"{role.replace('_', ' ').title()} ({site.code}, synthetic)",
                role=role,
                site=site,
                password_hash=pw_hash,
            )
            by_site.setdefault(site.code, {})[role] = u
    baselines = list(rng.permutation(BASELINE_MIX))
    n = 0
    for site, count in zip(sites, PATIENTS_PER_SITE, strict=True):
        for i in range(count):
            n += 1
            if progress:
                progress(f"patient {n}/{demo_size()}")
            injury = date(2024, 1, 8) + timedelta(days=int(n * 27 + rng.integers(0, 20)))
            journey = _Journey(
                session, rng, protocol, site, by_site[site.code], passwords, n,
                f"SYN-{site.code}-{i + 1:02d}", str(baselines[n - 1]), today,
            )  # fmt: skip
            journey.run(injury, "complete")
    home = sites[0]
    for stage, count in IN_PROGRESS:
        for _ in range(count):
            n += 1
            if progress:
                progress(f"patient {n}/{demo_size()}")
            code = f"SYN-{home.code}-{n - PATIENTS_PER_SITE[1]:02d}"
            baseline = str(rng.choice(("A", "B", "C")))
            journey = _Journey(
                session,
                rng,
                protocol,
                home,
                by_site[home.code],
                passwords,
                n,
                code,
                baseline,
                today,
            )
            journey.run(today - timedelta(days=journey.days_to_reach(stage) + 1), stage)
    _monitoring_visit(session, by_site[SITES[0][0]], passwords)
    return passwords


class _Journey:
    """One synthetic patient's path, each step through the services on its own day (days after
    injury drawn once, so a patient seeded part-way lives the same plan)."""

    def __init__(self, session, rng, protocol, site, team, passwords, n, code, baseline, today):
        self.s, self.rng, self.protocol, self.site, self.today = session, rng, protocol, site, today
        self.team, self.passwords, self.n, self.code = team, passwords, n, code
        self.course = _course(rng, baseline)
        self.plan = self._plan()

    def _plan(self) -> dict[str, int]:
        """Days after injury of each step (study.md, cell-product.md): screening within 2
        weeks, two draws 2-4 weeks after injury, harvest after them within ~31 days, ~2 weeks
        of culture in three passages, release, infusion 40-54 days after injury."""
        r = self.rng
        plan = {"screen": int(r.integers(3, 12))}
        plan["draw1"] = int(r.integers(14, 18))
        plan["draw2"] = plan["draw1"] + int(r.integers(5, 8))
        plan["harvest"] = plan["draw2"] + int(r.integers(0, 4))
        day, passages = plan["harvest"], []
        for _ in range(3):
            day += int(r.integers(4, 6))
            passages.append(day)
        plan["passages"] = passages
        plan["cryo"] = day + 1
        plan["tests"] = day + 2
        plan["release"] = day + 3
        cap = self.protocol.max_days_injury_to_infusion or 54
        plan["infusion"] = min(max(int(r.integers(40, 55)), day + 4), cap)
        return plan

    def days_to_reach(self, stage: str) -> int:
        """Days after injury on which the last step of ``stage`` happens."""
        p = self.plan
        return {
            "screening": p["screen"],
            "consented": p["screen"],
            "raw_material": p["harvest"],
            "culture": p["passages"][1],
            "quarantine": p["tests"],
            "released": p["release"],
            "follow_up": p["infusion"] + 30,
        }[stage]

    def day(self, d: int) -> date:
        return self.injury + timedelta(days=int(d))

    def run(self, injury: date, stop: str) -> None:
        self.injury = injury
        reached = JOURNEY.index(stop)
        self.register()
        if reached >= JOURNEY.index("consented"):
            self.enrol()
        if reached >= JOURNEY.index("raw_material"):
            self.raw_material()
        if reached >= JOURNEY.index("culture"):
            self.culture(passages=3 if reached > JOURNEY.index("culture") else 2)
        if reached >= JOURNEY.index("quarantine"):
            self.finish_and_test()
        if reached >= JOURNEY.index("released"):
            self.release()
        if reached >= JOURNEY.index("follow_up"):
            self.infuse()
            self.follow_up(complete=stop == "complete")
            self.adverse_events()

    def register(self) -> None:
        inv, rng, code = self.team["investigator"], self.rng, self.code
        self.p = patients.register(
            inv,
            self.s,
            site=self.site,
            study_code=code,
            sex="M" if rng.random() < 0.8 else "F",
            age_at_injury=int(rng.integers(20, 71)),
            synthetic=True,
            identity={
                "full_name": f"Synthetic Person {code}",
                "hospital_number": f"SYN{self.n:05d}",
            },
        )
        patients.record_injury(
            inv,
            self.s,
            self.p,
            injury_date=self.injury,
            mechanism=str(rng.choice(MECHANISMS)),
            non_penetrating=True,
            level=self.course.nli.upper(),
        )
        self.exam("screening", self.plan["screen"])

    def enrol(self) -> None:
        inv, screen = self.team["investigator"], self.plan["screen"]
        patients.record_eligibility(
            inv,
            self.s,
            self.p,
            assessed_on=self.day(screen),
            criteria=eligible_answers(self.protocol),
            password=self.passwords["investigator"],
        )
        patients.record_consent(
            inv, self.s, self.p, consent_date=self.day(screen), form_version="demo-1.0"
        )

    def raw_material(self) -> None:
        inv, rng = self.team["investigator"], self.rng
        self.serum = [
            mf.record_blood_draw(
                inv,
                self.s,
                self.p,
                drawn_on=self.day(self.plan[key]),
                volume_ml=240.0,
                serum_volume_ml=float(round(rng.uniform(100, 125), 1)),
                operator="Synthetic Nurse",
            )
            for key in ("draw1", "draw2")
        ]
        self.harvest = mf.record_harvest(
            inv,
            self.s,
            self.p,
            harvested_on=self.day(self.plan["harvest"]),
            volume_ml=float(round(rng.uniform(40, 60))),
            operator="Synthetic Haematologist",
        )

    def culture(self, passages: int) -> None:
        cp, rng = self.team["cell_processing"], self.rng
        self.lot = mf.create_lot(
            cp,
            self.s,
            self.p,
            lot_number=f"SYN-LOT-{self.n:03d}",
            harvest=self.harvest,
            serum=self.serum,
            culture_started_on=self.day(self.plan["harvest"]),
            label_code=self.code,
        )
        # ~10,000-fold expansion in ~2 weeks (study.md [V2]): three passages of ~20-fold.
        seeded, d = float(round(rng.uniform(1.0e4, 1.4e4), -2)), self.plan["harvest"]
        for k, end in enumerate(self.plan["passages"][:passages]):
            harvested = float(round(seeded * rng.uniform(19, 25), -3))
            mf.record_passage(
                cp,
                self.s,
                self.lot,
                passage_number=k,
                seeded_on=self.day(d),
                harvested_on=self.day(end),
                cells_seeded=seeded,
                cells_harvested=harvested,
                viability_pct=float(round(rng.uniform(90, 98), 1)),
                confluence_pct=float(round(rng.uniform(75, 92))),
                operator="Synthetic CPC Operator",
                vessels=2**k,
            )
            seeded, d = harvested, end
        self.total = float(round(min(seeded * 0.9, 2.4e8), -5))

    def finish_and_test(self) -> None:
        cp, rng = self.team["cell_processing"], self.rng
        mf.finish_culture(
            cp,
            self.s,
            self.lot,
            cryopreserved_on=self.day(self.plan["cryo"]),
            total_viable_cells=self.total,
            volume_ml=20.0,
            storage_location="CPC LN2 tank 2 (synthetic)",
        )
        results = {
            "viability": rng.uniform(85, 97),
            "total_viable_cells": self.total,
            "cd73": rng.uniform(97, 99.9),
            "cd90": rng.uniform(97, 99.9),
            "cd105": rng.uniform(96, 99.5),
            "cd45": rng.uniform(0.1, 1.2),
            "cd34": rng.uniform(0.1, 1.0),
            "hla_dr": rng.uniform(0.1, 1.5),
            "endotoxin": rng.uniform(0.05, 0.3),
        }
        for spec in self.protocol.release_tests:
            kw = (
                {"value": float(round(results[spec.code], 2))}
                if spec.numeric
                else {"text_result": spec.expected}
            )
            mf.record_release_test(
                cp,
                self.s,
                self.lot,
                test_code=spec.code,
                method="SOP (synthetic)",
                tested_on=self.day(self.plan["tests"]),
                analyst="Synthetic Analyst",
                **kw,
            )

    def release(self) -> None:
        day = self.day(self.plan["release"])
        mf.release_lot(self.team["qa"], self.s, self.lot, password=self.passwords["qa"], today=day)
        patients.schedule_visits(
            self.team["investigator"],
            self.s,
            self.p,
            planned_infusion=self.day(self.plan["infusion"]),
        )

    def exam(self, visit: str, d: int, blinded: bool = False) -> None:
        grade, uems, lems, f = self.course.at(d)
        rhi = build_exam(self.rng, self.course.nli, grade, uems, lems, f)
        assessor = self.team["assessor"]
        assessments.record_isncsci(
            assessor,
            self.s,
            self.p,
            visit_code=visit,
            assessed_on=self.day(d),
            rhi=rhi,
            assessor_name=ASSESSOR,
            blinded=blinded,
            assessor=assessor,
        )

    def instruments(self, visit: str, d: int, bowel_bladder: bool = False) -> None:
        grade, uems, lems, _ = self.course.at(d)
        rng = self.rng
        recs = {"scim3": scim_record(rng, uems, lems, grade), "wisci2": wisci_record(rng, lems)}
        if bowel_bladder:
            recs |= {"nbd": nbd_record(rng, grade), "lutf": lutf_record(rng, grade)}
        assessor = self.team["assessor"]
        for kind, data in recs.items():
            assessments.record_instrument(
                assessor,
                self.s,
                self.p,
                kind=kind,
                visit_code=visit,
                assessed_on=self.day(d),
                data=data,
                assessor_name=ASSESSOR,
                blinded=False,
                assessor=assessor,
            )

    def infuse(self) -> None:
        rng, inf_day, protocol = self.rng, self.plan["infusion"], self.protocol
        inv, cp = self.team["investigator"], self.team["cell_processing"]
        pre = inf_day - int(rng.integers(1, 4))
        self.exam("pre_infusion", pre)
        self.instruments("pre_infusion", pre, bowel_bladder=True)
        start = datetime.combine(self.day(inf_day), datetime.min.time(), UTC) + timedelta(
            hours=9, minutes=int(rng.integers(0, 90))
        )
        mf.record_custody(
            cp,
            self.s,
            self.lot,
            at=start - timedelta(hours=2),
            from_location="CPC LN2 tank 2",
            to_location="Ward (thawed at bedside)",
            condition="dry shipper",
            temperature_c=-150.0,
        )
        weight = float(round(rng.uniform(50, 85), 1))
        limits = protocol.dose
        cells = float(
            round(
                min(self.total, limits.max_cells_total, limits.max_cells_per_kg * weight * 0.98), -5
            )
        )
        rate = float(round(rng.uniform(0.75, 1.0), 2))
        diluent = float(rng.choice((40.0, 60.0)))
        minutes = (20.0 + diluent) / rate

        def vit():
            return {
                "sbp": int(rng.integers(105, 135)),
                "dbp": int(rng.integers(60, 85)),
                "hr": int(rng.integers(58, 90)),
                "temp_c": float(round(rng.uniform(36.2, 37.1), 1)),
                "spo2": int(rng.integers(95, 100)),
            }

        infusions.record_infusion(
            inv,
            self.s,
            self.p,
            self.lot,
            infusions.InfusionInput(
                infused_on=self.day(inf_day),
                weight_kg=weight,
                weight_measured_on=self.day(inf_day),
                cells_total=cells,
                product_volume_ml=20.0,
                diluent_volume_ml=diluent,
                rate_ml_per_min=rate,
                thawed_at=start - timedelta(minutes=20),
                started_at=start,
                stopped_at=start + timedelta(minutes=round(minutes)),
                vitals={"before": vit(), "during": vit(), "after": vit()},
                wristband_code=self.code,
                label_code=self.lot.lot_number,
            ),
            password=self.passwords["investigator"],
            second_person=cp,
            second_password=self.passwords["cell_processing"],
        )

    def follow_up(self, complete: bool) -> None:
        inf_day, rng = self.plan["infusion"], self.rng
        self.exam("infusion_day", inf_day)
        for visit, d in (
            ("day1", inf_day + 1),
            ("week1", inf_day + 7),
            ("month1", inf_day + 30),
            ("month3", inf_day + 90),
            ("month6", 180),
            ("month12", inf_day + 365),
        ):
            if not complete and self.day(d) >= self.today:
                break
            self.exam(visit, d, blinded=visit in ("month6", "month12") and rng.random() < 0.3)
            if visit in ("month1", "month3", "month6", "month12"):
                self.instruments(visit, d, bowel_bladder=visit in ("month6", "month12"))

    def adverse_events(self) -> None:
        _adverse_events(
            self.s,
            self.rng,
            self.team["investigator"],
            self.p,
            self.protocol,
            self.plan["harvest"],
            d_blood=self.plan["draw1"],
            inf_day=self.plan["infusion"],
            day=self.day,
            today=self.today,
        )


def _monitoring_visit(session: Session, team: dict[str, User], passwords: dict[str, str]) -> None:
    """Data management under way at the first site: the first patient's records up to month 1
    are verified against source and its exams up to month 1 signed off; a query on its month 3
    exam is open, and one on the second patient's month 6 SCIM III was answered. (Synthetic:
    the questions are made up to show the workflow.)"""
    from .models import Assessment
    from .services import data_queries, sdv
    from .services.trial_records import records_of

    monitor, assessor = team["monitor"], team["assessor"]
    early = {"screening", "pre_infusion", "infusion_day", "day1", "week1", "month1"}
    first, second = (
        session.scalar(select(Patient).where(Patient.study_code == f"SYN-{SITES[0][0]}-0{i}"))
        for i in (1, 2)
    )
    for _, record in records_of(session, [first.id]):
        visit = getattr(record, "visit_code", None)
        if visit is not None and visit not in early:
            continue
        if record.__tablename__ == "assessments":
            assessments.sign_off(assessor, session, record, passwords["assessor"])
        sdv.verify(monitor, session, record.__tablename__, record.id)

    def assessment(patient: Patient, kind: str, visit: str) -> Assessment:
        return session.scalar(
            select(Assessment).where(
                Assessment.patient_id == patient.id,
                Assessment.kind == kind,
                Assessment.visit_code == visit,
            )
        )

    data_queries.open_query(
        monitor,
        session,
        table="assessments",
        record_id=assessment(first, "isncsci", "month3").id,
        field="data.l3RightMotor",
        text="The worksheet copy in the site file reads this grade differently: please check "
        "it against the source document.",
    )
    q = data_queries.open_query(
        monitor,
        session,
        table="assessments",
        record_id=assessment(second, "scim3", "month6").id,
        field="data.mobility_indoors",
        text="Walking indoors with a frame, but transfers need help: please confirm item 12.",
    )
    data_queries.answer(
        assessor,
        session,
        q,
        text="Confirmed against the CRF: the patient walks indoors with a frame (level 4).",
    )


def _adverse_events(
    session, rng, inv, p, protocol, harvest_day, d_blood, inf_day, day, today
) -> None:
    """Label-listed reactions (anaemia, puncture-site pain) and the transient fever known from
    IV MSC meta-analyses (instruments.md, "Safety grading"); none before it happened."""

    def ae(**kw):
        if kw["onset_date"] >= today:
            return
        if kw.get("resolution_date") and kw["resolution_date"] >= today:
            kw.update(resolution_date=None, outcome="recovering")
        adverse_events.record_adverse_event(inv, session, p, protocol=protocol, **kw)

    if rng.random() < 0.4:
        ae(
            term="puncture-site pain",
            grade=1,
            serious=False,
            onset_date=day(harvest_day),
            resolution_date=day(harvest_day + int(rng.integers(1, 4))),
            outcome="recovered",
            related_harvest="definite",
        )
    if rng.random() < 0.25:
        ae(
            term="anaemia",
            grade=int(rng.integers(1, 3)),
            serious=False,
            onset_date=day(d_blood + 10),
            resolution_date=day(d_blood + 40),
            outcome="recovered",
            related_blood_draw="probable",
            related_harvest="possible",
        )
    if rng.random() < 0.2:
        ae(
            term="fever",
            grade=1,
            serious=False,
            onset_date=day(inf_day),
            resolution_date=day(inf_day + 1),
            outcome="recovered",
            related_product="possible",
            related_infusion="possible",
        )
    if rng.random() < 0.15:
        ae(
            term="neuropathic pain",
            grade_scale="protocol",
            grade=2,
            serious=False,
            onset_date=day(inf_day + int(rng.integers(20, 90))),
            outcome="recovering",
            related_product="unlikely",
        )
