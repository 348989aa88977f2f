"""The forms of a trial's start (issue 13): one Strict model per form, read by the JSON API and
by the page alike, so each field's rule is written once. ``title`` is the field's label on the
page, ``description`` what is allowed (quoted in every error message); the store's services
check the rules that need the database (site, dates against the injury and the protocol,
chain of identity).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from cordtrial.store.models import END_REASONS, WITHDRAWAL_USES
from cordtrial.store.protocol import Protocol

from .schemas import Strict

_DAY = "a date YYYY-MM-DD, the day it happened (not later than today)"
_NAME = "a person's name, 1-200 characters"
_TEXT = "text of at most 2000 characters"
_PASSWORD = "your password (re-entered to sign)"
TEXTAREA = {"widget": "textarea"}
PASSWORD = {"widget": "password"}

WithdrawalUse = Literal[WITHDRAWAL_USES]  # type: ignore[valid-type]
EndReason = Literal[END_REASONS]  # type: ignore[valid-type]
WITHDRAWAL_LABELS = {
    "data_and_samples": "data and samples collected until the withdrawal may be used",
    "data_only": "data collected until the withdrawal may be used; samples are destroyed",
    "none": "no further use of data or samples (kept only as the law requires)",
}
END_LABELS = {
    "completed": "completed the study",
    "consent_withdrawn": "withdrew consent",
    "not_eligible": "not eligible (screening failure)",
    "lost_to_follow_up": "lost to follow-up",
    "death": "death",
    "adverse_event": "adverse event",
    "investigator_decision": "investigator's decision",
    "other": "other (say which in the details)",
}


class PatientIn(Strict):
    """Register a patient (patients.register). The study code is pseudonymous; name, date of
    birth and hospital number go to the restricted identity table only."""

    study_code: str | None = Field(
        default=None,
        pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$",
        title="Study code",
        description="blank for the next free code of the site (e.g. SAP-001), or 2-32 of "
        "A-Z, 0-9 and '-' (never a name or hospital number)",
    )
    site: str | None = Field(
        default=None,
        max_length=16,
        title="Site",
        description="the site's code (users bound to a site register at their own site)",
    )
    sex: Literal["F", "M"] | None = Field(default=None, title="Sex", description="F, M or blank")
    age_at_injury: int = Field(
        ge=0, le=120, title="Age at injury (years)", description="whole years 0-120"
    )
    full_name: str = Field(
        min_length=1,
        max_length=200,
        title="Full name (identifying)",
        description="the patient's full name, 1-200 characters (seen by investigators and "
        "admins only)",
    )
    date_of_birth: date | None = Field(
        default=None, title="Date of birth (identifying)", description="a date YYYY-MM-DD or blank"
    )
    hospital_number: str | None = Field(
        default=None,
        max_length=64,
        title="Hospital number (identifying)",
        description="the hospital's record number, or blank",
    )


class InjuryIn(Strict):
    injury_date: date = Field(title="Day of the injury", description=_DAY)
    level: str = Field(
        pattern=r"^(C[1-8]|T([1-9]|1[0-2])|L[1-5]|S[1-5])$",
        title="Level (imaging / clinical)",
        description="C1-C8, T1-T12, L1-L5 or S1-S5",
    )
    mechanism: str = Field(
        min_length=1,
        max_length=200,
        title="Mechanism",
        description="how it happened, e.g. fall from standing height (1-200 characters)",
    )
    non_penetrating: bool = Field(
        default=False, title="Non-penetrating injury", description="true or false"
    )


class EligibilityIn(Strict):
    """The eligibility checklist of the protocol version in effect on the assessment day,
    signed by the investigator."""

    assessed_on: date = Field(title="Assessed on", description=_DAY)
    criteria: dict[str, bool] = Field(
        max_length=100,
        title="Criteria",
        description="every criterion of the protocol answered: inclusion met true/false, "
        "exclusion applies true/false",
    )
    password: str = Field(
        min_length=1, max_length=1024, title="Password", description=_PASSWORD,
        json_schema_extra=PASSWORD,
    )  # fmt: skip


class ConsentIn(Strict):
    consent_date: date = Field(title="Consent signed on", description=_DAY)
    form_version: str = Field(
        min_length=1,
        max_length=64,
        title="Consent form version",
        description="the version printed on the signed form, 1-64 characters",
    )
    taken_by: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        title="Consent taken by",
        description=f"{_NAME} (blank: you)",
    )


class WithdrawalIn(Strict):
    withdrawn_on: date = Field(title="Consent withdrawn on", description=_DAY)
    use: WithdrawalUse = Field(
        title="What may still be used",
        description="data_and_samples, data_only or none",
        json_schema_extra={"labels": WITHDRAWAL_LABELS},
    )
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        title="Reason given (optional)",
        description=_TEXT,
        json_schema_extra=TEXTAREA,
    )


class BloodDrawIn(Strict):
    drawn_on: date = Field(title="Drawn on", description=_DAY)
    volume_ml: float = Field(
        gt=0, le=1000, title="Blood drawn (mL)", description="mL of peripheral blood, e.g. 240"
    )
    serum_volume_ml: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        title="Serum prepared (mL)",
        description="mL of autologous serum prepared, or blank until it is",
    )
    operator: str = Field(min_length=1, max_length=200, title="Drawn by", description=_NAME)


class HarvestIn(Strict):
    harvested_on: date = Field(title="Harvested on", description=_DAY)
    volume_ml: float = Field(
        gt=0, le=1000, title="Marrow aspirated (mL)", description="mL of bone marrow, e.g. 50"
    )
    anatomical_site: str = Field(
        default="posterior iliac crest",
        min_length=1,
        max_length=100,
        title="Aspiration site",
        description="where the marrow was aspirated, e.g. posterior iliac crest",
    )
    operator: str = Field(min_length=1, max_length=200, title="Aspirated by", description=_NAME)
    complications: str | None = Field(
        default=None,
        max_length=2000,
        title="Complications (optional)",
        description="e.g. puncture-site pain; " + _TEXT,
        json_schema_extra=TEXTAREA,
    )


class LotIn(Strict):
    """Start a lot from the patient's bone-marrow harvest and autologous serum; the study code
    read on the raw materials' labels must be the patient's (chain of identity)."""

    label_code: str = Field(
        min_length=1,
        max_length=64,
        title="Study code on the raw-material labels",
        description="the patient study code scanned or typed from the labels of the marrow "
        "bag and serum tubes",
    )
    harvest_id: int = Field(
        ge=1, le=2**31 - 1, title="Bone-marrow harvest", description="the id of the harvest"
    )
    serum_draw_ids: list[int] = Field(
        min_length=1,
        max_length=10,
        title="Autologous serum from",
        description="the ids of the blood draws whose serum the culture uses (at least one)",
    )
    culture_started_on: date = Field(title="Culture started on", description=_DAY)
    lot_number: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$",
        title="Lot number",
        description="blank for the next number (e.g. SAP-001-L1), or 2-64 of A-Z, a-z, 0-9, "
        "'.', '_' and '-'",
    )


class EndOfStudyIn(Strict):
    ended_on: date = Field(title="Last day in the study", description=_DAY)
    reason: EndReason = Field(
        title="Reason",
        description=", ".join(END_REASONS),
        json_schema_extra={"labels": END_LABELS},
    )
    detail: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        title="Details",
        description="required for 'other'; " + _TEXT,
        json_schema_extra=TEXTAREA,
    )
    confirm: list[Literal["completed_without_last_visit"]] = Field(
        default=[],
        max_length=1,
        title="Confirmed warnings",
        description="completed_without_last_visit: 'completed' although nothing is recorded at "
        "the protocol's last visit (plausibility rule; the confirmation is stored and audited)",
    )


class VisitPlanIn(Strict):
    planned_infusion: date = Field(
        title="Planned infusion day",
        description="a date YYYY-MM-DD on or after the injury (the visits anchored to the "
        "infusion are scheduled around it)",
    )


Scalar = str | int | float | bool | None


class CorrectionIn(Strict):
    """Correct a saved record: the fields to change and why (records.amend)."""

    changes: dict[str, Scalar | dict[str, Any] | list[Any]] = Field(
        min_length=1,
        max_length=30,
        title="Changes",
        description="field -> corrected value (dates YYYY-MM-DD; see the record's fields)",
    )
    reason: str = Field(
        min_length=1,
        max_length=2000,
        title="Reason for the correction",
        description="why the record is corrected (e.g. what the source document shows)",
        json_schema_extra=TEXTAREA,
    )


class SiteIn(Strict):
    code: str = Field(
        pattern=r"^[A-Z0-9]{2,16}$",
        title="Code",
        description="2-16 capital letters or digits; it starts the site's study codes (SAP-001)",
    )
    name: str = Field(min_length=1, max_length=200, title="Name", description="1-200 characters")
    time_zone: str = Field(
        min_length=1,
        max_length=64,
        title="Time zone",
        description="required: the site's IANA time zone name, e.g. Asia/Tokyo, Europe/Berlin "
        "or UTC (the site's dates and times are entered and shown in it)",
    )


class SiteUpdateIn(Strict):
    name: str | None = Field(
        default=None, min_length=1, max_length=200, title="Name", description="1-200 characters"
    )
    time_zone: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        title="Time zone",
        description="an IANA time zone name, e.g. Asia/Tokyo, Europe/Berlin or UTC",
    )


class ProtocolEditIn(Strict):
    """New content for a protocol version no record was collected under yet."""

    summary: str = Field(
        min_length=1,
        max_length=2000,
        title="What changed and why",
        description="e.g. the protocol's title and approval; 1-2000 characters",
        json_schema_extra=TEXTAREA,
    )
    protocol: Protocol = Field(
        title="Protocol",
        description="the whole protocol: visit schedule, eligibility criteria, release "
        "specification, dose limits (as GET /api/v1/protocol shows it)",
    )


class AmendmentIn(ProtocolEditIn):
    effective_from: date = Field(
        title="In effect from",
        description="a date YYYY-MM-DD from today on, after the latest version's",
    )
