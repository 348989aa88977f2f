"""SDTM special-purpose, interventions and events domains: DM, MH, DS, SV, EX, VS, AE.

Each function maps a :class:`Trial` to one :class:`Dataset` (and its SUPP-- when the parent
has values with no standard variable). Sources and codelists are documented in docs/exports.md.
"""

from __future__ import annotations

from datetime import date

from . import terms
from .sdtm_common import Subjects, dtc_var, dy_var, id_vars, visit_vars
from .sdtm_supp import Qualifier, supp_dataset
from .tables import Codelist, Dataset, Variable, iso_datetime, sequence, text, yn
from .trial import Row, Trial

ARMCD, ARM = "MSCIV", "Autologous MSC, intravenous, once"
ARM_CL = Codelist("CL.ARMCD", "Arm code", ((ARMCD, ARM),), terms.SPONSOR)
ARMNRS = Codelist(
    "CL.ARMNRS",
    "Reason Arm and/or Actual Arm is Null",
    (("SCREEN FAILURE", "Screen Failure"), ("NOT ASSIGNED", "Not Assigned"),
     ("ASSIGNED, NOT TREATED", "Assigned, Not Treated")),
    terms.CDISC_CT,
)  # fmt: skip


def _enrolled(trial: Trial, p: Row) -> bool:
    elig = trial.rows("eligibility", p)
    return bool(elig) and elig[-1]["eligible"] and bool(trial.rows("consents", p))


def dm(trial: Trial, subj: Subjects) -> tuple[Dataset, Dataset]:
    variables = id_vars("DM", seq=False) + [
        Variable(
            "SUBJID",
            "Subject Identifier for the Study",
            origin="Collected",
            source="patients.study_code",
            core="Req",
        ),
        Variable(
            "RFSTDTC",
            "Subject Reference Start Date/Time",
            "date",
            origin="Derived",
            source="first infusions.infused_on",
        ),
        Variable(
            "RFENDTC",
            "Subject Reference End Date/Time",
            "date",
            origin="Derived",
            source="last infusions.infused_on",
        ),
        Variable(
            "RFXSTDTC",
            "Date/Time of First Study Treatment",
            "datetime",
            origin="Derived",
            source="first infusions.started_at (UTC)",
        ),
        Variable(
            "RFXENDTC",
            "Date/Time of Last Study Treatment",
            "datetime",
            origin="Derived",
            source="last infusions.stopped_at (UTC)",
        ),
        Variable(
            "RFICDTC",
            "Date/Time of Informed Consent",
            "date",
            origin="Derived",
            source="first consents.consent_date",
        ),
        Variable(
            "RFPENDTC",
            "Date/Time of End of Participation",
            "date",
            origin="Derived",
            source="last assessment, infusion or AE onset date",
        ),
        Variable(
            "DTHDTC",
            "Date/Time of Death",
            "date",
            origin="Derived",
            source="not collected by cordtrial",
            note="always empty",
        ),
        Variable(
            "DTHFL",
            "Subject Death Flag",
            codelist=terms.NY,
            origin="Derived",
            source="not collected by cordtrial",
            note="always empty",
        ),
        Variable(
            "SITEID", "Study Site Identifier", origin="Assigned", source="sites.code", core="Req"
        ),
        Variable(
            "AGE",
            "Age",
            "integer",
            origin="Collected",
            source="patients.age_at_injury (age at injury)",
        ),
        Variable("AGEU", "Age Units", codelist=terms.AGEU, origin="Assigned", source='"YEARS"'),
        Variable(
            "SEX",
            "Sex",
            codelist=terms.SEX,
            origin="Collected",
            source="patients.sex (empty -> U)",
            core="Req",
        ),
        Variable(
            "RACE",
            "Race",
            origin="Collected",
            source="not collected by cordtrial",
            note="always empty",
        ),
        Variable(
            "ETHNIC",
            "Ethnicity",
            origin="Collected",
            source="not collected by cordtrial",
            core="Perm",
            note="always empty",
        ),
        Variable(
            "ARMCD",
            "Planned Arm Code",
            codelist=ARM_CL,
            origin="Assigned",
            source="eligible and consented",
        ),
        Variable(
            "ARM", "Description of Planned Arm", origin="Assigned", source="eligible and consented"
        ),
        Variable(
            "ACTARMCD", "Actual Arm Code", codelist=ARM_CL, origin="Derived", source="infused"
        ),
        Variable("ACTARM", "Description of Actual Arm", origin="Derived", source="infused"),
        Variable(
            "ARMNRS",
            "Reason Arm and/or Actual Arm is Null",
            codelist=ARMNRS,
            origin="Derived",
            source="eligibility, consent, infusion",
        ),
        Variable(
            "COUNTRY",
            "Country",
            origin="Assigned",
            source="not stored per site in cordtrial",
            core="Req",
            note="empty: the store has no site country",
        ),
        Variable(
            "DMDTC",
            "Date/Time of Collection",
            "date",
            origin="Derived",
            source="patients.created_at (date of registration)",
            core="Perm",
        ),
    ]
    rows, supp_values = [], []
    for p in trial.patients:
        inf = trial.rows("infusions", p)
        consents = trial.rows("consents", p)
        elig = trial.rows("eligibility", p)
        enrolled, treated = _enrolled(trial, p), bool(inf)
        if elig and not elig[-1]["eligible"]:
            nrs = "SCREEN FAILURE"
        elif not enrolled:
            nrs = "NOT ASSIGNED"
        elif not treated:
            nrs = "ASSIGNED, NOT TREATED"
        else:
            nrs = None
        rows.append(
            {
                **subj.base("DM", p),
                "SUBJID": p["study_code"],
                "RFSTDTC": text(min((i["infused_on"] for i in inf), default=None)),
                "RFENDTC": text(max((i["infused_on"] for i in inf), default=None)),
                "RFXSTDTC": text(min((i["started_at"] for i in inf), default=None)),
                "RFXENDTC": text(max((i["stopped_at"] for i in inf), default=None)),
                "RFICDTC": text(consents[0]["consent_date"]) if consents else "",
                "RFPENDTC": text(trial.last_date(p)),
                "DTHDTC": "",
                "DTHFL": "",
                "SITEID": p["site_code"],
                "AGE": p["age_at_injury"],
                "AGEU": "YEARS",
                "SEX": p["sex"] or "U",
                "RACE": "",
                "ETHNIC": "",
                "ARMCD": ARMCD if enrolled else "",
                "ARM": ARM if enrolled else "",
                "ACTARMCD": ARMCD if treated else "",
                "ACTARM": ARM if treated else "",
                "ARMNRS": nrs or "",
                "COUNTRY": "",
                "DMDTC": text(p["created_at"].date()) if p.get("created_at") else "",
            }
        )
        supp_values.append({"SYNTHFL": "Y" if p["synthetic"] else None, "PTSTATUS": p["status"]})
    ds = Dataset(
        "DM", "Demographics", variables, rows, structure="One record per subject",
        cls="SPECIAL PURPOSE", keys=("STUDYID", "USUBJID"),
    )  # fmt: skip
    supp = supp_dataset(
        ds,
        [
            Qualifier("SYNTHFL", "Synthetic (Demo) Data Flag", "patients.synthetic", "Assigned"),
            Qualifier("PTSTATUS", "Patient Status in cordtrial", "patients.status", "Derived"),
        ],
        supp_values,
        None,
    )
    return ds, supp


def mh(trial: Trial, subj: Subjects) -> tuple[Dataset, Dataset]:
    variables = id_vars("MH") + [
        Variable(
            "MHTERM",
            "Reported Term for the Medical History",
            origin="Assigned",
            source="injuries (one per patient)",
            core="Req",
        ),
        Variable(
            "MHCAT",
            "Category for Medical History",
            origin="Assigned",
            source='"PRIMARY DIAGNOSIS"',
            core="Perm",
        ),
        Variable(
            "MHLOC",
            "Location of the Event",
            origin="Collected",
            source="injuries.level (cord segment)",
            core="Perm",
        ),
        dtc_var("MHSTDTC", "Start Date/Time of Medical History Event", "injuries.injury_date"),
        dy_var("MHSTDY", "Study Day of Start of Observation"),
    ]
    rows, supp = [], []
    for p in trial.patients:
        inj = trial.injuries.get(p["id"])
        if inj is None:
            continue
        rows.append(
            {
                **subj.base("MH", p),
                "MHTERM": "TRAUMATIC SPINAL CORD INJURY",
                "MHCAT": "PRIMARY DIAGNOSIS",
                "MHLOC": inj["level"],
                "MHSTDTC": text(inj["injury_date"]),
                "MHSTDY": subj.day(p, inj["injury_date"]),
            }
        )
        supp.append({"MECHAN": inj["mechanism"], "NONPENFL": yn(inj["non_penetrating"])})
    sequence(rows, "MHSEQ")
    ds = Dataset(
        "MH",
        "Medical History",
        variables,
        rows,
        structure="One record per medical history event per subject",
        cls="EVENTS",
        keys=("STUDYID", "USUBJID", "MHTERM", "MHSTDTC"),
    )
    quals = [
        Qualifier("MECHAN", "Mechanism of Injury", "injuries.mechanism"),
        Qualifier("NONPENFL", "Non-penetrating Injury Flag", "injuries.non_penetrating"),
    ]
    return ds, supp_dataset(ds, quals, supp, "MHSEQ")


def ds(trial: Trial, subj: Subjects) -> Dataset:
    variables = id_vars("DS") + [
        Variable(
            "DSTERM",
            "Reported Term for the Disposition Event",
            origin="Derived",
            source="consents, eligibility, assessments",
            core="Req",
        ),
        Variable(
            "DSDECOD",
            "Standardized Disposition Term",
            codelist=DSDECOD,
            origin="Derived",
            source="see DSTERM",
            core="Req",
        ),
        Variable(
            "DSCAT",
            "Category for Disposition Event",
            codelist=DSCAT,
            origin="Assigned",
            source="see DSTERM",
        ),
        Variable(
            "EPOCH",
            "Epoch",
            codelist=EPOCH,
            origin="Derived",
            source="SCREENING before infusion, FOLLOW-UP after",
        ),
        dtc_var(
            "DSSTDTC",
            "Start Date/Time of Disposition Event",
            "consent_date, eligibility.assessed_on, withdrawn_on, last visit",
        ),
        dy_var("DSSTDY", "Study Day of Start of Disposition Event"),
    ]
    rows = []

    def add(p: Row, term: str, cat: str, epoch: str, on: date) -> None:
        rows.append(
            {
                **subj.base("DS", p),
                "DSTERM": term,
                "DSDECOD": term,
                "DSCAT": cat,
                "EPOCH": epoch,
                "DSSTDTC": text(on),
                "DSSTDY": subj.day(p, on),
            }
        )

    for p in trial.patients:
        for c in trial.rows("consents", p):
            add(
                p, "INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE", "SCREENING", c["consent_date"]
            )
        elig = trial.rows("eligibility", p)
        if elig and not elig[-1]["eligible"]:
            add(p, "SCREEN FAILURE", "DISPOSITION EVENT", "SCREENING", elig[-1]["assessed_on"])
        for c in trial.rows("consents", p):
            if c["withdrawn_on"] is not None:
                epoch = "FOLLOW-UP" if trial.rows("infusions", p) else "SCREENING"
                add(p, "WITHDRAWAL BY SUBJECT", "DISPOSITION EVENT", epoch, c["withdrawn_on"])
        last = [a for a in trial.rows("assessments", p) if a["visit_code"] == "month12"]
        if last and not any(c["withdrawn_on"] for c in trial.rows("consents", p)):
            add(
                p,
                "COMPLETED",
                "DISPOSITION EVENT",
                "FOLLOW-UP",
                max(a["assessed_on"] for a in last),
            )
    sequence(rows, "DSSEQ")
    return Dataset(
        "DS",
        "Disposition",
        variables,
        rows,
        structure="One record per disposition status or protocol milestone per subject",
        cls="EVENTS",
        keys=("STUDYID", "USUBJID", "DSDECOD", "DSSTDTC"),
    )


DSDECOD = Codelist(
    "CL.DSDECOD", "Standardized Disposition Term",
    (("COMPLETED", "Completed"), ("INFORMED CONSENT OBTAINED", "Informed Consent Obtained"),
     ("SCREEN FAILURE", "Screen Failure"), ("WITHDRAWAL BY SUBJECT", "Withdrawal by Subject")),
    terms.CDISC_CT,
)  # fmt: skip
DSCAT = Codelist(
    "CL.DSCAT",
    "Category for Disposition Event",
    (("DISPOSITION EVENT", "Disposition Event"), ("PROTOCOL MILESTONE", "Protocol Milestone")),
    terms.CDISC_CT,
)
EPOCH = Codelist(
    "CL.EPOCH",
    "Epoch",
    (("FOLLOW-UP", "Follow-up"), ("SCREENING", "Screening"), ("TREATMENT", "Treatment")),
    terms.CDISC_CT,
)


def epoch_of(visit_code: str) -> str:
    if visit_code in ("screening", "pre_infusion"):
        return "SCREENING"
    return "TREATMENT" if visit_code == "infusion_day" else "FOLLOW-UP"


def sv(trial: Trial, subj: Subjects) -> Dataset:
    variables = (
        id_vars("SV", seq=False)
        + visit_vars("SV", "assessments.visit_code / infusion day")
        + [
            Variable("EPOCH", "Epoch", codelist=EPOCH, origin="Derived", source="visit"),
            dtc_var(
                "SVSTDTC",
                "Start Date/Time of Visit",
                "first assessment (or infusion) date at the visit",
            ),
            dtc_var(
                "SVENDTC",
                "End Date/Time of Visit",
                "last assessment (or infusion) date at the visit",
            ),
            dy_var("SVSTDY", "Study Day of Start of Visit"),
            dy_var("SVENDY", "Study Day of End of Visit"),
        ]
    )
    rows = []
    for p in trial.patients:
        dates: dict[tuple[float, str, str], list[date]] = {}
        events = [(a["visit_code"], a["assessed_on"]) for a in trial.rows("assessments", p)]
        events += [("infusion_day", i["infused_on"]) for i in trial.rows("infusions", p)]
        for code, on in events:
            v = subj.visit(p, code, on)
            dates.setdefault((v["VISITNUM"], v["VISIT"], code), []).append(on)
        for (num, name, code), ds_ in sorted(dates.items()):
            start, end = min(ds_), max(ds_)
            rows.append(
                {
                    **subj.base("SV", p),
                    "VISITNUM": num,
                    "VISIT": name,
                    "EPOCH": epoch_of(code),
                    "SVSTDTC": text(start),
                    "SVENDTC": text(end),
                    "SVSTDY": subj.day(p, start),
                    "SVENDY": subj.day(p, end),
                }
            )
    return Dataset(
        "SV",
        "Subject Visits",
        variables,
        rows,
        structure="One record per actual visit per subject",
        cls="SPECIAL PURPOSE",
        keys=("STUDYID", "USUBJID", "VISITNUM"),
    )


EXTRT = "AUTOLOGOUS BONE MARROW MESENCHYMAL STEM CELLS"


def ex(trial: Trial, subj: Subjects) -> tuple[Dataset, Dataset]:
    variables = id_vars("EX") + [
        Variable(
            "EXTRT", "Name of Treatment", origin="Assigned", source="the study product", core="Req"
        ),
        Variable("EXDOSE", "Dose", "float", origin="Derived", source="infusions.cells_total / 1e6"),
        Variable("EXDOSU", "Dose Units", origin="Assigned", source='"10^6 cells"'),
        Variable("EXDOSFRM", "Dose Form", origin="Assigned", source='"SUSPENSION"'),
        Variable(
            "EXROUTE",
            "Route of Administration",
            codelist=terms.ROUTE,
            origin="Assigned",
            source='"INTRAVENOUS"',
            core="Perm",
        ),
        Variable(
            "EXLOT",
            "Lot Number",
            origin="Collected",
            source="lots.lot_number (of infusions.lot_id)",
            core="Perm",
        ),
        Variable(
            "EPOCH", "Epoch", codelist=EPOCH, origin="Assigned", source='"TREATMENT"', core="Perm"
        ),
        *visit_vars("EX", '"infusion_day"'),
        Variable(
            "EXSTDTC",
            "Start Date/Time of Treatment",
            "datetime",
            origin="Collected",
            source="infusions.started_at (UTC)",
        ),
        Variable(
            "EXENDTC",
            "End Date/Time of Treatment",
            "datetime",
            origin="Collected",
            source="infusions.stopped_at (UTC)",
        ),
        dy_var("EXSTDY", "Study Day of Start of Treatment"),
        dy_var("EXENDY", "Study Day of End of Treatment"),
    ]
    rows, supp = [], []
    for p in trial.patients:
        for i in trial.rows("infusions", p):
            rows.append(
                {
                    **subj.base("EX", p),
                    "EXTRT": EXTRT,
                    "EXDOSE": i["cells_total"] / 1e6,
                    "EXDOSU": "10^6 cells",
                    "EXDOSFRM": "SUSPENSION",
                    "EXROUTE": "INTRAVENOUS",
                    "EXLOT": i["lot_number"],
                    "EPOCH": "TREATMENT",
                    **subj.visit(p, "infusion_day", i["infused_on"]),
                    "EXSTDTC": iso_datetime(i["started_at"]),
                    "EXENDTC": iso_datetime(i["stopped_at"]),
                    "EXSTDY": subj.day(p, i["started_at"].date()),
                    "EXENDY": subj.day(p, i["stopped_at"].date()),
                }
            )
            supp.append(
                {
                    "INFNUM": i["infusion_number"],
                    "CELLSKG": f"{i['cells_per_kg'] / 1e6:g}",
                    "PRODVOL": f"{i['product_volume_ml']:g}",
                    "DILVOL": f"{i['diluent_volume_ml']:g}",
                    "DILFACT": f"{i['dilution_factor']:g}",
                    "RATE": f"{i['rate_ml_per_min']:g}",
                    "THAWDTC": iso_datetime(i["thawed_at"]) if i.get("thawed_at") else None,
                    "REACTION": i.get("reaction"),
                }
            )
    sequence(rows, "EXSEQ")
    ds = Dataset(
        "EX",
        "Exposure",
        variables,
        rows,
        structure="One record per constant dosing interval per subject",
        cls="INTERVENTIONS",
        keys=("STUDYID", "USUBJID", "EXTRT", "EXSTDTC"),
    )
    quals = [
        Qualifier("INFNUM", "Infusion Number", "infusions.infusion_number"),
        Qualifier(
            "CELLSKG",
            "Dose per kg Body Weight (10^6 cells/kg)",
            "infusions.cells_per_kg / 1e6",
            "Derived",
        ),
        Qualifier("PRODVOL", "Product Volume (mL)", "infusions.product_volume_ml"),
        Qualifier("DILVOL", "Diluent (Saline) Volume (mL)", "infusions.diluent_volume_ml"),
        Qualifier("DILFACT", "Dilution Factor", "infusions.dilution_factor", "Derived"),
        Qualifier("RATE", "Infusion Rate (mL/min)", "infusions.rate_ml_per_min"),
        Qualifier("THAWDTC", "Date/Time Product Thawed (UTC)", "infusions.thawed_at"),
        Qualifier(
            "REACTION",
            "Infusion Reaction (free text)",
            "infusions.reaction (identified export only)",
        ),
    ]
    return ds, supp_dataset(ds, quals, supp, "EXSEQ")


VITALS = {
    "sbp": ("SYSBP", "Systolic Blood Pressure", "mmHg"),
    "dbp": ("DIABP", "Diastolic Blood Pressure", "mmHg"),
    "hr": ("PULSE", "Pulse Rate", "beats/min"),
    "temp_c": ("TEMP", "Temperature", "C"),
    "spo2": ("OXYSAT", "Oxygen Saturation", "%"),
}
TIMEPOINTS = {
    "before": (1, "BEFORE INFUSION"),
    "during": (2, "DURING INFUSION"),
    "after": (3, "AFTER INFUSION"),
}
VSTESTCD = Codelist(
    "CL.VSTESTCD",
    "Vital Signs Test Code",
    tuple(sorted([(c, t) for c, t, _ in VITALS.values()] + [("WEIGHT", "Weight")])),
    terms.CDISC_CT,
)


def vs(trial: Trial, subj: Subjects) -> Dataset:
    variables = id_vars("VS") + [
        Variable(
            "VSTESTCD",
            "Vital Signs Test Short Name",
            codelist=VSTESTCD,
            origin="Assigned",
            source="infusions.weight_kg, infusions.vitals keys",
            core="Req",
        ),
        Variable(
            "VSTEST", "Vital Signs Test Name", origin="Assigned", source="see VSTESTCD", core="Req"
        ),
        Variable(
            "VSORRES",
            "Result or Finding in Original Units",
            origin="Collected",
            source="infusions.weight_kg, infusions.vitals",
        ),
        Variable("VSORRESU", "Original Units", origin="Assigned", source="per test"),
        Variable(
            "VSSTRESC", "Character Result/Finding in Std Format", origin="Derived", source="VSORRES"
        ),
        Variable(
            "VSSTRESN",
            "Numeric Result/Finding in Standard Units",
            "float",
            origin="Derived",
            source="VSORRES",
        ),
        Variable("VSSTRESU", "Standard Units", origin="Derived", source="VSORRESU"),
        *visit_vars("VS", '"infusion_day"'),
        Variable(
            "VSTPT",
            "Planned Time Point Name",
            origin="Assigned",
            source="infusions.vitals key before/during/after",
            core="Perm",
        ),
        Variable(
            "VSTPTNUM",
            "Planned Time Point Number",
            "integer",
            origin="Assigned",
            source="1 before, 2 during, 3 after",
            core="Perm",
        ),
        dtc_var("VSDTC", "Date/Time of Measurements", "infusions.weight_measured_on / infused_on"),
        dy_var("VSDY", "Study Day of Vital Signs"),
    ]
    rows = []
    for p in trial.patients:
        for i in trial.rows("infusions", p):
            visit = subj.visit(p, "infusion_day", i["infused_on"])

            def add(code, test, value, unit, on, tpt=None, p=p, visit=visit):
                rows.append(
                    {
                        **subj.base("VS", p),
                        "VSTESTCD": code,
                        "VSTEST": test,
                        "VSORRES": f"{value:g}",
                        "VSORRESU": unit,
                        "VSSTRESC": f"{value:g}",
                        "VSSTRESN": float(value),
                        "VSSTRESU": unit,
                        **visit,
                        "VSTPT": tpt[1] if tpt else "",
                        "VSTPTNUM": tpt[0] if tpt else None,
                        "VSDTC": text(on),
                        "VSDY": subj.day(p, on),
                    }
                )

            add("WEIGHT", "Weight", i["weight_kg"], "kg", i["weight_measured_on"])
            for when, tpt in TIMEPOINTS.items():
                for key, value in sorted((i["vitals"] or {}).get(when, {}).items()):
                    if (
                        key in VITALS
                        and isinstance(value, int | float)
                        and not isinstance(value, bool)
                    ):
                        code, test, unit = VITALS[key]
                        add(code, test, value, unit, i["infused_on"], tpt)
    sequence(rows, "VSSEQ")
    return Dataset(
        "VS",
        "Vital Signs",
        variables,
        rows,
        structure="One record per vital sign measurement per time point per visit per subject",
        cls="FINDINGS",
        keys=("STUDYID", "USUBJID", "VSTESTCD", "VISITNUM", "VSTPTNUM"),
    )


def ae(trial: Trial, subj: Subjects) -> tuple[Dataset, Dataset]:
    meddra = [
        ("AELLT", "Lowest Level Term"), ("AELLTCD", "Lowest Level Term Code"),
        ("AEDECOD", "Dictionary-Derived Term"), ("AEPTCD", "Preferred Term Code"),
        ("AEHLT", "High Level Term"), ("AEHLTCD", "High Level Term Code"),
        ("AEHLGT", "High Level Group Term"), ("AEHLGTCD", "High Level Group Term Code"),
        ("AEBODSYS", "Body System or Organ Class"), ("AEBDSYCD", "Body System or Organ Class Code"),
        ("AESOC", "Primary System Organ Class"), ("AESOCCD", "Primary System Organ Class Code"),
    ]  # fmt: skip
    variables = id_vars("AE") + [
        Variable(
            "AETERM",
            "Reported Term for the Adverse Event",
            origin="Collected",
            source="adverse_events.term",
            core="Req",
        ),
        *[
            Variable(
                n,
                label,
                "integer" if n.endswith("CD") else "text",
                origin="Assigned",
                source="MedDRA coding (not coded in cordtrial: empty)",
                core="Req" if n == "AEDECOD" else "Exp",
                note="empty until coded",
            )
            for n, label in meddra
        ],
        Variable(
            "AESER",
            "Serious Event",
            codelist=terms.NY,
            origin="Collected",
            source="adverse_events.serious",
        ),
        Variable(
            "AEREL",
            "Causality",
            codelist=terms.REL,
            origin="Collected",
            source="adverse_events.related_product",
        ),
        Variable(
            "AEOUT",
            "Outcome of Adverse Event",
            codelist=terms.OUT,
            origin="Collected",
            source="adverse_events.outcome",
        ),
        Variable(
            "AETOXGR",
            "Standard Toxicity Grade",
            origin="Collected",
            source="adverse_events.grade (scale in SUPPAE.AEGRSCL)",
        ),
        dtc_var("AESTDTC", "Start Date/Time of Adverse Event", "adverse_events.onset_date"),
        dtc_var("AEENDTC", "End Date/Time of Adverse Event", "adverse_events.resolution_date"),
        dy_var("AESTDY", "Study Day of Start of Adverse Event"),
        dy_var("AEENDY", "Study Day of End of Adverse Event"),
    ]
    rows, supp = [], []
    for p in trial.patients:
        for e in trial.rows("adverse_events", p):
            row = {**subj.base("AE", p), "AETERM": e["term"]}
            row.update({n: None for n, _ in meddra})
            row.update(
                {
                    "AESER": yn(e["serious"]),
                    "AEREL": terms.AEREL[e["related_product"]],
                    "AEOUT": terms.AEOUT.get(e["outcome"], "") if e["outcome"] else "",
                    "AETOXGR": str(e["grade"]),
                    "AESTDTC": text(e["onset_date"]),
                    "AEENDTC": text(e["resolution_date"]),
                    "AESTDY": subj.day(p, e["onset_date"]),
                    "AEENDY": subj.day(p, e["resolution_date"]),
                }
            )
            rows.append(row)
            supp.append(
                {
                    "AEGRSCL": e["grade_scale"],
                    "AERELHV": terms.AEREL[e["related_harvest"]],
                    "AERELBD": terms.AEREL[e["related_blood_draw"]],
                    "AERELIN": terms.AEREL[e["related_infusion"]],
                    "AEEXPFL": yn(e["expected"]),
                }
            )
    sequence(rows, "AESEQ")
    ds = Dataset(
        "AE",
        "Adverse Events",
        variables,
        rows,
        structure="One record per adverse event per subject",
        cls="EVENTS",
        keys=("STUDYID", "USUBJID", "AETERM", "AESTDTC"),
    )
    quals = [
        Qualifier(
            "AEGRSCL", "Grading Scale (CTCAE v5.0 or protocol)", "adverse_events.grade_scale"
        ),
        Qualifier(
            "AERELHV", "Relationship to Bone-Marrow Harvest", "adverse_events.related_harvest"
        ),
        Qualifier("AERELBD", "Relationship to Blood Draw", "adverse_events.related_blood_draw"),
        Qualifier(
            "AERELIN", "Relationship to Infusion Procedure", "adverse_events.related_infusion"
        ),
        Qualifier("AEEXPFL", "Expected per Protocol Flag", "adverse_events.expected"),
    ]
    return ds, supp_dataset(ds, quals, supp, "AESEQ")
