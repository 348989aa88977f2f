"""The trial as CDISC SDTM datasets (pure: a :class:`Trial` in, :class:`Dataset` s out).

Domain by domain mapping and what is not mapped: docs/exports.md. Writers: Dataset-JSON
(:mod:`.datasetjson`), SAS XPT v5 (:mod:`.xpt`), Define-XML 2.1 (:mod:`.define`).
"""

from __future__ import annotations

from . import sdtm_design as design
from . import sdtm_findings as findings
from . import sdtm_subject as subject
from .sdtm_common import Subjects
from .tables import Dataset
from .trial import Trial


def sdtm_datasets(trial: Trial) -> list[Dataset]:
    """Every SDTM dataset of the trial, trial design first, SUPP-- after their parent."""
    subj = Subjects(trial)
    out = [design.ts(trial), design.te(trial), design.ta(trial), design.tv(trial)]
    for build in (subject.dm, subject.mh):
        out.extend(build(trial, subj))
    out += [subject.ds(trial, subj), subject.sv(trial, subj)]
    out.extend(subject.ex(trial, subj))
    out.append(subject.vs(trial, subj))
    out.extend(subject.ae(trial, subj))
    for build in (findings.nv, findings.rs, findings.qs, findings.be, findings.bs):
        out.append(build(trial, subj))
    problems = [msg for ds in out for msg in check(ds)]
    if problems:
        raise ValueError("SDTM metadata break the XPT v5 limits: " + "; ".join(problems))
    return out


def check(ds: Dataset) -> list[str]:
    """The SAS V5 transport limits every SDTM dataset must keep (standards.md, "XPT"):
    names <= 8 characters, labels <= 40 bytes."""
    out = []
    if len(ds.name) > 8 or len(ds.label.encode()) > 40:
        out.append(f"{ds.name}: name or label too long")
    for v in ds.variables:
        if len(v.name) > 8:
            out.append(f"{ds.name}.{v.name}: name longer than 8")
        if len(v.label.encode()) > 40:
            out.append(f"{ds.name}.{v.name}: label {v.label!r} longer than 40")
    return out
