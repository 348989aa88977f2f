"""SDTM trial design domains from the protocol data: TE, TA, TV, TS.

The protocol file (store/protocols/*.toml) holds the visit windows, dose limits and number of
infusions; everything else a full TS would carry (phase, sponsor, registry id, planned number
of subjects) is not in the protocol data and is left out rather than invented.
"""

from __future__ import annotations

from . import terms
from .sdtm_common import SDTM_VERSION, SDTMIG_VERSION
from .sdtm_subject import ARM, ARMCD, EPOCH, EXTRT
from .tables import Codelist, Dataset, Variable, text
from .trial import Trial

ELEMENTS = (
    (
        "SCRN",
        "Screening and product manufacture",
        "Informed consent",
        "Start of infusion",
        "SCREENING",
    ),
    ("MSCIV", "Autologous MSC infusion", "Start of infusion", "End of infusion", "TREATMENT"),
    ("FU", "Follow-up", "End of infusion", "Last protocol visit (month 12)", "FOLLOW-UP"),
)
ETCD = Codelist("CL.ETCD", "Element code", tuple((e[0], e[1]) for e in ELEMENTS), terms.SPONSOR)


def _design_vars(domain: str) -> list[Variable]:
    return [
        Variable(
            "STUDYID", "Study Identifier", origin="Assigned", source="protocol id", core="Req"
        ),
        Variable(
            "DOMAIN", "Domain Abbreviation", origin="Assigned", source=f'"{domain}"', core="Req"
        ),
    ]


def te(trial: Trial) -> Dataset:
    variables = _design_vars("TE") + [
        Variable(
            "ETCD",
            "Element Code",
            codelist=ETCD,
            origin="Protocol",
            source="design of the label protocol",
            core="Req",
        ),
        Variable(
            "ELEMENT", "Description of Element", origin="Protocol", source="see ETCD", core="Req"
        ),
        Variable(
            "TESTRL", "Rule for Start of Element", origin="Protocol", source="design", core="Req"
        ),
        Variable(
            "TEENRL", "Rule for End of Element", origin="Protocol", source="design", core="Exp"
        ),
    ]
    rows = [
        {
            "STUDYID": trial.study_id,
            "DOMAIN": "TE",
            "ETCD": c,
            "ELEMENT": e,
            "TESTRL": s,
            "TEENRL": n,
        }
        for c, e, s, n, _ in ELEMENTS
    ]
    return Dataset(
        "TE",
        "Trial Elements",
        variables,
        rows,
        structure="One record per planned Element",
        cls="TRIAL DESIGN",
        keys=("STUDYID", "ETCD"),
    )


def ta(trial: Trial) -> Dataset:
    variables = _design_vars("TA") + [
        Variable("ARMCD", "Planned Arm Code", origin="Protocol", source="single arm", core="Req"),
        Variable(
            "ARM", "Description of Planned Arm", origin="Protocol", source="single arm", core="Req"
        ),
        Variable(
            "TAETORD",
            "Planned Order of Element within Arm",
            "integer",
            origin="Protocol",
            source="design",
            core="Req",
        ),
        Variable(
            "ETCD", "Element Code", codelist=ETCD, origin="Protocol", source="design", core="Req"
        ),
        Variable(
            "ELEMENT", "Description of Element", origin="Protocol", source="design", core="Perm"
        ),
        Variable("EPOCH", "Epoch", codelist=EPOCH, origin="Protocol", source="design", core="Req"),
    ]
    rows = [
        {
            "STUDYID": trial.study_id,
            "DOMAIN": "TA",
            "ARMCD": ARMCD,
            "ARM": ARM,
            "TAETORD": n,
            "ETCD": c,
            "ELEMENT": e,
            "EPOCH": ep,
        }
        for n, (c, e, _, _, ep) in enumerate(ELEMENTS, start=1)
    ]
    return Dataset(
        "TA",
        "Trial Arms",
        variables,
        rows,
        structure="One record per planned Element per Arm",
        cls="TRIAL DESIGN",
        keys=("STUDYID", "ARMCD", "TAETORD"),
    )


def tv(trial: Trial) -> Dataset:
    variables = _design_vars("TV") + [
        Variable(
            "VISITNUM",
            "Visit Number",
            "float",
            origin="Protocol",
            source="order of protocol.visits",
            core="Req",
        ),
        Variable(
            "VISIT", "Visit Name", origin="Protocol", source="protocol.visits code", core="Perm"
        ),
        Variable(
            "VISITDY",
            "Planned Study Day of Visit",
            "integer",
            origin="Protocol",
            source="protocol.visits day (infusion-anchored visits only)",
            core="Perm",
        ),
        Variable("ARMCD", "Planned Arm Code", origin="Protocol", source="single arm", core="Exp"),
        Variable(
            "TVSTRL",
            "Visit Start Rule",
            origin="Protocol",
            source="protocol.visits anchor, day, minus, plus",
            core="Req",
        ),
        Variable(
            "TVENRL",
            "Visit End Rule",
            origin="Protocol",
            source="protocol.visits plus",
            core="Perm",
        ),
    ]
    rows = []
    for v in trial.protocol.visits:
        anchor = "injury" if v.anchor == "injury" else "infusion"
        # Study day 1 is the infusion day (RFSTDTC), so only infusion-anchored visits have a day.
        visitdy = (v.day + 1 if v.day >= 0 else v.day) if v.anchor == "infusion" else None
        unverified = "" if v.verified else " [window unverified]"
        rows.append({
            "STUDYID": trial.study_id, "DOMAIN": "TV", "VISITNUM": float(terms.VISITNUM[v.code]),
            "VISIT": terms.visit_label(v.code), "VISITDY": visitdy, "ARMCD": ARMCD,
            "TVSTRL": f"Day {v.day} after {anchor}, window -{v.minus}/+{v.plus} days{unverified}"[:200],
            "TVENRL": f"Up to {v.plus} days after the target day",
        })  # fmt: skip
    return Dataset(
        "TV",
        "Trial Visits",
        variables,
        rows,
        structure="One record per planned Visit per Arm",
        cls="TRIAL DESIGN",
        keys=("STUDYID", "ARMCD", "VISITNUM"),
    )


def ts(trial: Trial) -> Dataset:
    variables = _design_vars("TS") + [
        Variable(
            "TSSEQ", "Sequence Number", "integer", origin="Assigned", source="order", core="Req"
        ),
        Variable(
            "TSPARMCD",
            "Trial Summary Parameter Short Name",
            origin="Assigned",
            source="CDISC TS parameters",
            core="Req",
        ),
        Variable(
            "TSPARM",
            "Trial Summary Parameter",
            origin="Assigned",
            source="see TSPARMCD",
            core="Req",
        ),
        Variable(
            "TSVAL",
            "Parameter Value",
            origin="Protocol",
            source="protocol file, export run",
            core="Exp",
        ),
    ]
    p = trial.protocol
    consents = [c["consent_date"] for rows in trial.consents.values() for c in rows]
    params = [
        ("TITLE", "Trial Title", p.title),
        ("TRT", "Investigational Therapy or Treatment", EXTRT),
        ("ROUTE", "Route of Administration", "INTRAVENOUS"),
        (
            "DOSFRQ",
            "Dosing Frequency per Interval",
            "ONCE" if p.max_infusions == 1 else f"UP TO {p.max_infusions} TIMES",
        ),
        ("DOSU", "Dose Units", "10^6 cells"),
        (
            "DOSE",
            "Dose per Administration",
            f"{p.dose.min_cells_total / 1e6:g}-{p.dose.max_cells_total / 1e6:g}",
        ),
        ("NARMS", "Planned Number of Arms", "1"),
        ("STYPE", "Study Type", "INTERVENTIONAL"),
        ("SSTDTC", "Study Start Date", text(min(consents)) if consents else ""),
        ("SDTMVER", "SDTM Version", SDTM_VERSION),
        ("SDTIGVER", "SDTM IG Version", SDTMIG_VERSION),
        ("PROTSRC", "Protocol Source (cordtrial protocol file)", p.source),
        (
            "DCUTDTC",
            "Data Cutoff Date",
            text(trial.exported_at.date()) if trial.exported_at else "",
        ),
    ]
    rows = [
        {
            "STUDYID": trial.study_id,
            "DOMAIN": "TS",
            "TSSEQ": 1,
            "TSPARMCD": c,
            "TSPARM": n[:40],
            "TSVAL": v,
        }
        for c, n, v in params
        if v
    ]
    return Dataset(
        "TS",
        "Trial Summary",
        variables,
        rows,
        structure="One record per trial summary parameter value",
        cls="TRIAL DESIGN",
        keys=("STUDYID", "TSPARMCD", "TSSEQ"),
    )
