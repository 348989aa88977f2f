"""A SYNTHETIC demo trial shaped like the 13-patient Sapporo case series.

Nothing here is patient data. The shape follows the published design (study.md, cell-product.md):
cervical non-penetrating injuries, AIS A/B/C at enrolment, blood draws for autologous serum,
bone-marrow harvest, about two weeks of culture, QA release, one IV infusion 40-54 days after
injury, exams on the protocol schedule, and a few expected adverse events. Each patient's
recovery is the no-effect natural course of ``cordtrial.analysis.datasets.natural_course`` (the
model of the analysis's example trial: EMSCI conversion rates and score means by grade, walking
by one year from the van Middendorp 2011 rule at the first exam), written as ISNCSCI worksheets
and instruments by ``demo_records``; the demo data contain no treatment effect by construction.
Every site, study code, assessor and the ``synthetic`` flags say "synthetic".

Everything goes through the services, so the demo obeys the same rules and leaves the same audit
trail and signatures as real entry would.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cordtrial.analysis.datasets.natural_course import Course, ExamState, draw_course, side_items

from . import demo_records as records
from .models import ROLES, Assessment, Patient, Site, User
from .passwords import hash_password
from .protocol import Protocol
from .protocol_versions import protocol_on
from .rules import eligible_answers
from .services import adverse_events, assessments, infusions, patients, users
from .services import manufacturing as mf
from .types import utcnow

SITES = (("SAP", "Sapporo (synthetic demo site)"), ("ASA", "Asahikawa (synthetic demo site)"))
PATIENTS_PER_SITE = (11, 2)
# Baseline mix A/B/C: one of the illustrative mixes of natural-history.md section 6 (6/2/5);
# the case series' own mix is not public.
BASELINE_MIX = ("A",) * 6 + ("B",) * 2 + ("C",) * 5
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
    today = today or utcnow().date()
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
        self.plan = self._plan()
        self.age = int(rng.integers(20, 71))
        self.course: Course = draw_course(
            rng,
            baseline,
            tetraplegia=True,
            age=self.age,
            first_day=self.plan["screen"],
            nli_choices=records.DEMO_LEVELS,
        )
        self.nli = records.demo_nli(self.course)
        self.states: dict[int, ExamState] = {}

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
        if stop == "complete":
            self.end_of_study()

    def end_of_study(self) -> None:
        """The one-year visit done, the investigator records the end of study (completed)."""
        last = self.s.scalar(
            select(func.max(Assessment.assessed_on)).where(Assessment.patient_id == self.p.id)
        )
        patients.end_study(
            self.team["investigator"], self.s, self.p, ended_on=last, reason="completed"
        )

    def register(self) -> None:
        inv, rng, code = self.team["investigator"], self.rng, self.code
        self.p = patients.register(
            inv,
            self.s,
            site=self.site,
            study_code=code,
            sex="M" if rng.random() < 0.8 else "F",
            age_at_injury=self.age,
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
            level=self.nli.upper(),
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
        """The course's exam on day ``d`` as a worksheet; the first carries the L3/S1 items the
        walking rule was given (natural_course.side_items)."""
        state = self.course.exam(self.rng, d, post=d > self.plan["infusion"])
        self.states[d] = state
        first = self.course.first_items if visit == "screening" else None
        items = side_items(state.grade, state.scores["lems"], first) if first else None
        rhi = records.worksheet(records.exam_target(self.course, self.nli, state, items))
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
        state, rng = self.states[d], self.rng  # the same day's exam
        recs = {"scim3": records.scim_record(rng, state), "wisci2": records.wisci_record(state)}
        if bowel_bladder:
            recs |= {
                "nbd": records.nbd_record(rng, state.grade),
                "lutf": records.lutf_record(state.grade),
            }
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
