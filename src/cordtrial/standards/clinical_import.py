"""Store form records (read from ODM or REDCap) in the store: all or nothing.

Everything goes through the services, so imported data obey the same rules as data typed in:
the importing user must be an investigator (of the patients' site, or of every site), each
exam is re-validated and re-classified by the ISNCSCI engine, each instrument re-scored, each
adverse event checked. Derived fields in the file (classification, scores, status) are never
trusted. Sites named in the file and missing from the store are created by a sponsor-level
user. Infusions are not imported: an infusion is a signed chain-of-identity record bound to a
released lot and two people's signatures, which a file cannot carry (21 CFR 11.70); the
infusion forms are counted in the report as skipped. Study codes already in the store are
refused, so an import never merges into existing patients.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.store.models import VISIT_CODES, Patient, Site, User, Visit
from cordtrial.store.refusals import Refusal
from cordtrial.store.services import adverse_events, assessments, patients, records
from cordtrial.store.services.base import check, require_role
from cordtrial.store.services.plausibility import CONFIRM_ALL

from . import crf

NOT_EXPORTED = "(not in the import file)"
IMPORT_REASON = "imported from a standards file"


@dataclass
class ClinicalImportReport:
    source: str
    subjects: int = 0
    forms: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    created_sites: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if not self.ok:
            head = f"{self.source}: REJECTED, nothing imported ({len(self.errors)} problem(s))"
            return "\n".join([head, *(f"  {e}" for e in self.errors[:200])])
        skipped = ", ".join(f"{n} {form} form(s)" for form, n in sorted(self.skipped.items()))
        sites = f"; created site(s) {', '.join(self.created_sites)}" if self.created_sites else ""
        return (
            f"{self.source}: imported {self.subjects} subject(s), {self.forms} form(s){sites}"
            + (f"; not imported: {skipped} (see docs/exports.md)" if skipped else "")
        )


def _group(recs: list[crf.FormRecord]) -> dict[str, list[crf.FormRecord]]:
    out: dict[str, list[crf.FormRecord]] = defaultdict(list)
    for r in recs:
        out[r.subject].append(r)
    return out


def check_records(
    session: Session, user: User, sites: dict[str, str], recs: list[crf.FormRecord]
) -> list[str]:
    """Problems that would stop the import, found before anything is written."""
    errors = []
    known = {s.code: s for s in session.scalars(select(Site))}
    by_subject = _group(recs)
    taken = set(
        session.scalars(select(Patient.study_code).where(Patient.study_code.in_(list(by_subject))))
    )
    for code, forms in by_subject.items():
        where = f"subject {code}"
        if code in taken:
            errors.append(
                f"{where}: study code already in the store; allowed: new patients only (import into an empty store)"
            )
        site = forms[0].site
        if site not in known and site not in sites:
            errors.append(f"{where}: site {site!r} is neither in the store nor in the file")
        if user.site_id is not None and (site not in known or known[site].id != user.site_id):
            errors.append(f"{where}: site {site!r}; allowed: the importing user's own site")
        if not any(r.form == "demographics" for r in forms):
            errors.append(f"{where}: no demographics form; allowed: every subject has one")
        for r in forms:
            form = crf.FORM[r.form]
            for f in form.fields:
                if f.required and not f.derived and r.values.get(f.name) is None:
                    errors.append(
                        f"{where}, event {r.event}, form {r.form}: {f.name} is missing; allowed: a value (required)"
                    )
            if r.event not in crf.EVENTS:
                errors.append(f"{where}: event {r.event!r}; allowed: {', '.join(crf.EVENTS)}")
    if user.site_id is None:
        missing = sorted({r.site for r in recs} - set(known))
        for s in missing:
            if not sites.get(s):
                errors.append(f"site {s}: not in the store and the file gives no name for it")
    return errors


def import_records(
    session: Session,
    user: User,
    sites: dict[str, str],
    recs: list[crf.FormRecord],
    source: str,
    progress=None,
) -> ClinicalImportReport:
    """Check, then store every record in ``session`` (the caller commits, or rolls back when
    the report has errors)."""
    report = ClinicalImportReport(source)
    require_role(session, user, ("investigator",), "import clinical data")
    report.errors = check_records(session, user, sites, recs)
    if report.errors:
        return report
    known = {s.code: s for s in session.scalars(select(Site))}
    by_subject = _group(recs)
    for code in sorted({r.site for r in recs} - set(known)):
        synthetic = all(
            bool(
                next((r.values.get("synthetic") for r in forms if r.form == "demographics"), False)
            )
            for forms in by_subject.values()
            if forms[0].site == code
        )
        site = Site(code=code, name=sites[code], synthetic=synthetic)
        session.add(site)
        session.flush()
        known[code] = site
        report.created_sites.append(code)
    for n, (code, forms) in enumerate(by_subject.items(), start=1):
        try:
            report.forms += _import_subject(
                session, user, known[forms[0].site], code, forms, report
            )
        except Refusal as exc:
            report.errors.append(f"subject {code}: {exc.message}")
            return report
        report.subjects += 1
        if progress:
            progress(n, len(by_subject))
    return report


def _order(r: crf.FormRecord) -> tuple:
    forms = [f.name for f in crf.FORMS]
    return (crf.EVENTS.index(r.event), r.event_repeat, forms.index(r.form), r.form_repeat)


def _import_subject(
    session: Session,
    user: User,
    site: Site,
    code: str,
    forms: list[crf.FormRecord],
    report: ClinicalImportReport,
) -> int:
    forms = sorted(forms, key=_order)
    demo = next(r for r in forms if r.form == "demographics").values
    patient = patients.register(
        user,
        session,
        site=site,
        study_code=code,
        sex=demo.get("sex"),
        age_at_injury=demo.get("age_at_injury"),
        synthetic=bool(demo.get("synthetic")),
    )
    done = 1
    for r in forms:
        v = r.values
        if r.form == "injury":
            patients.record_injury(
                user,
                session,
                patient,
                injury_date=v["injury_date"],
                mechanism=v["mechanism"],
                non_penetrating=v["non_penetrating"],
                level=v["level"],
            )
        elif r.form == "eligibility":
            criteria = v["elig_criteria"]
            check(
                session,
                user,
                isinstance(criteria, dict),
                "elig_criteria",
                criteria,
                "a JSON object of criterion -> true/false",
            )
            # stored unsigned: a file cannot carry the investigator's signature (21 CFR 11.70)
            patients.record_eligibility(
                user, session, patient, assessed_on=v["elig_date"], criteria=criteria, password=None
            )
        elif r.form == "consent":
            consent = patients.record_consent(
                user,
                session,
                patient,
                consent_date=v["consent_date"],
                form_version=v["consent_form_version"],
            )
            if v.get("consent_withdrawn_on"):
                records.amend(
                    user,
                    session,
                    consent,
                    {"withdrawn_on": v["consent_withdrawn_on"]},
                    IMPORT_REASON,
                )
        elif r.form == "visit_schedule":
            _visit(session, user, patient, r.event, v)
        elif r.form in ("isncsci", *assessments.INSTRUMENT_KINDS):
            _assessment(session, user, patient, r)
        elif r.form == "adverse_event":
            adverse_events.record_adverse_event(
                user, session, patient, term=v["ae_term"], grade=v["ae_grade"], serious=v["ae_serious"], onset_date=v["ae_onset_date"],
                grade_scale=v["ae_grade_scale"], related_product=v["ae_related_product"], related_harvest=v["ae_related_harvest"],
                related_blood_draw=v["ae_related_blood_draw"], related_infusion=v["ae_related_infusion"], expected=v["ae_expected"],
                resolution_date=v.get("ae_resolution_date"), outcome=v.get("ae_outcome"),
                confirm=CONFIRM_ALL,
            )  # fmt: skip
        elif r.form == "demographics":
            continue
        else:
            report.skipped[r.form] = report.skipped.get(r.form, 0) + 1
            continue
        done += 1
    if demo.get("ended_on") or demo.get("end_reason"):  # last: no record may follow it
        patients.end_study(
            user,
            session,
            patient,
            ended_on=demo.get("ended_on"),
            reason=demo.get("end_reason"),
            detail=demo.get("end_detail"),
            confirm=CONFIRM_ALL,
        )
    return done


def _visit(session: Session, user: User, patient: Patient, event: str, v: dict) -> None:
    check(session, user, event in VISIT_CODES[:-1], "visit", event, ", ".join(VISIT_CODES[:-1]))
    start, target, end = v["visit_window_start"], v["visit_target_date"], v["visit_window_end"]
    check(
        session,
        user,
        all(isinstance(d, date) for d in (start, target, end)) and start <= target <= end,
        "visit window",
        f"{start} / {target} / {end}",
        "window start <= target <= window end",
    )
    # the injury's record scheduled the visits anchored to it already: the file's dates win
    visit = session.scalar(
        select(Visit).where(Visit.patient_id == patient.id, Visit.code == event)
    ) or Visit(patient_id=patient.id, code=event)
    visit.target_date, visit.window_start, visit.window_end = target, start, end
    session.add(visit)
    session.flush()


def _assessment(session: Session, user: User, patient: Patient, r: crf.FormRecord) -> None:
    form, v = crf.FORM[r.form], r.values
    p = form.name
    data = {
        f.store_key: v[f.name]
        for f in form.fields
        if not f.derived
        and not f.store_key.startswith(("assessed_on", "blinded", "assessor_name"))
        and v.get(f.name) is not None
    }
    common = {
        "visit_code": r.event,
        "assessed_on": v[f"{p}_date"],
        "assessor_name": v.get(f"{p}_assessor") or NOT_EXPORTED,
        "blinded": bool(v[f"{p}_blinded"]),
        # recorded in another system: warnings are confirmed (and stored) in the importer's name
        "confirm": CONFIRM_ALL,
        "deviation_reason": IMPORT_REASON,
    }
    if p == "isncsci":
        assessments.record_isncsci(user, session, patient, rhi=data, **common)
    else:
        assessments.record_instrument(user, session, patient, kind=p, data=data, **common)
