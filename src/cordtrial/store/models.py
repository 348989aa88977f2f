"""The trial store's tables (SQLAlchemy 2 declarative models).

One patient's path: injury -> eligibility and consent -> blood draws (autologous serum) ->
bone-marrow harvest -> culture passages of one lot -> release tests -> QA release (signed) ->
custody events -> infusion (two-person chain-of-identity check, signed) -> scheduled assessments
and adverse events. Background: ../shared/reference/cell-product.md and study.md.

Domain rules live in :mod:`cordtrial.store.services`, not here; the models only carry structure
and the constraints a database can check by itself. Every change to these tables is written to
the hash-chained audit trail (:mod:`cordtrial.store.audit`) by a session hook.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cordtrial.visits import VISITS

from .types import UTCDateTime, utcnow

ROLES: tuple[str, ...] = (
    "investigator",
    "assessor",
    "cell_processing",
    "qa",
    "monitor",
    "statistician",
    "admin",
)
# Protocol visit codes, shared with the analysis contract.
VISIT_CODES: tuple[str, ...] = VISITS
LOT_STATUSES: tuple[str, ...] = (
    "in_process",
    "quarantine",
    "released",
    "rejected",
    "dispensed",
    "infused",
    "expired",
)
ASSESSMENT_KINDS: tuple[str, ...] = ("isncsci", "scim3", "wisci2", "nbd", "lutf")
RELATEDNESS: tuple[str, ...] = ("not related", "unlikely", "possible", "probable", "definite")
AE_OUTCOMES: tuple[str, ...] = (
    "recovered",
    "recovering",
    "not recovered",
    "recovered with sequelae",
    "fatal",
    "unknown",
)
SESSION_STATES: tuple[str, ...] = ("active", "mfa", "mfa_setup", "password")
SIGNATURE_MEANINGS: tuple[str, ...] = (
    "released for clinical use",
    "infusion performed and chain of identity confirmed",
    "exam reviewed and signed off",
    "eligibility assessed and confirmed",
)
# What a patient who withdraws consent still allows to be used (ICH E6(R3) 2.8: the patient
# decides; the record says what may still be used).
WITHDRAWAL_USES: tuple[str, ...] = ("data_and_samples", "data_only", "none")
END_REASONS: tuple[str, ...] = (
    "completed",
    "consent_withdrawn",
    "not_eligible",
    "lost_to_follow_up",
    "death",
    "adverse_event",
    "investigator_decision",
    "other",
)

# Stable constraint names so Alembic migrations work on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Versioned:
    """A trial record that keeps the protocol version it was collected under (the version in
    effect on the record's event date; set by cordtrial.store.protocol_versions)."""

    protocol_version: Mapped[int | None] = mapped_column(Integer)


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    # IANA time zone: "today" for the site's records (no event dated after the site's today).
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")


class ProtocolVersion(Base):
    """One version of the trial protocol (visit schedule, eligibility, release specification,
    dose limits): version 1 is the shipped protocol as the admin set it up; later versions are
    amendments with the date they take effect. Frozen once a record was collected under it."""

    __tablename__ = "protocol_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    effective_from: Mapped[date | None] = mapped_column(Date)  # None: from the start
    content: Mapped[dict] = mapped_column(JSON)  # cordtrial.store.protocol.Protocol
    summary: Mapped[str] = mapped_column(Text)  # what changed and why
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    # None: all sites (sponsor-level admin, monitor or statistician).
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    # Secret columns (info "secret") enter the audit trail only as a fingerprint (audit.py)
    # and never enter exports or answers.
    password_hash: Mapped[str] = mapped_column(String(255), info={"secret": True})
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The next login must set a new password (after an admin reset, or a first account).
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Time-based one-time passwords (RFC 6238): the shared secret, whether it is in use, and
    # the last 30-s step accepted (a code is accepted once).
    totp_secret: Mapped[str | None] = mapped_column(String(64), info={"secret": True})
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    site: Mapped[Site | None] = relationship()


class RolePolicy(Base):
    """Security settings an administrator sets per role (e.g. two-factor login required)."""

    __tablename__ = "role_policies"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    require_totp: Mapped[bool] = mapped_column(Boolean, default=False)


class Patient(Versioned, Base):
    """A trial participant, known in study data only by the pseudonymous study code."""

    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint("sex IS NULL OR sex IN ('F', 'M')", name="sex"),
        CheckConstraint("age_at_injury BETWEEN 0 AND 120", name="age"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    study_code: Mapped[str] = mapped_column(String(32), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    sex: Mapped[str | None] = mapped_column(String(1))
    age_at_injury: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), default="screening")
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # End of study (completed or withdrawn): the date, a reason (END_REASONS) and details.
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    end_detail: Mapped[str | None] = mapped_column(Text)
    site: Mapped[Site] = relationship()
    injury: Mapped[Injury | None] = relationship(back_populates="patient", uselist=False)


class PatientIdentity(Base):
    """Identifying data, kept apart from study data; read only through services that check role."""

    __tablename__ = "patient_identities"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    hospital_number: Mapped[str | None] = mapped_column(String(64))


class Injury(Versioned, Base):
    __tablename__ = "injuries"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    injury_date: Mapped[date] = mapped_column(Date)
    mechanism: Mapped[str] = mapped_column(String(200))
    non_penetrating: Mapped[bool] = mapped_column(Boolean)
    level: Mapped[str] = mapped_column(String(8))  # radiological/clinical level, e.g. "C5"
    patient: Mapped[Patient] = relationship(back_populates="injury")


class Eligibility(Versioned, Base):
    __tablename__ = "eligibility"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    assessed_on: Mapped[date] = mapped_column(Date)
    criteria: Mapped[dict] = mapped_column(JSON)  # criterion -> met (bool)
    eligible: Mapped[bool] = mapped_column(Boolean)
    assessed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Consent(Versioned, Base):
    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    consent_date: Mapped[date] = mapped_column(Date)
    form_version: Mapped[str] = mapped_column(String(64))
    obtained_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    taken_by: Mapped[str | None] = mapped_column(String(200))  # the person who took consent
    withdrawal_use: Mapped[str | None] = mapped_column(String(32))  # WITHDRAWAL_USES
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)


class Visit(Versioned, Base):
    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("patient_id", "code", name="uq_visits_patient_code"),
        CheckConstraint(_in("code", VISIT_CODES), name="code"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    code: Mapped[str] = mapped_column(String(32))
    target_date: Mapped[date] = mapped_column(Date)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)


class Assessment(Versioned, Base):
    """One exam or instrument record: the data as entered, its result, and who assessed it."""

    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint(_in("kind", ASSESSMENT_KINDS), name="kind"),
        CheckConstraint(_in("visit_code", VISIT_CODES), name="visit_code"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(16))
    visit_code: Mapped[str] = mapped_column(String(32))
    assessed_on: Mapped[date] = mapped_column(Date)
    data: Mapped[dict] = mapped_column(JSON)  # as entered (ISNCSCI: flat RHI naming)
    result: Mapped[dict] = mapped_column(JSON)  # ISNCSCI: classify().to_rhi(); else the score
    engine_version: Mapped[str | None] = mapped_column(String(64))  # ISNCSCI engine / instrument
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assessor_name: Mapped[str] = mapped_column(String(200))
    blinded: Mapped[bool] = mapped_column(Boolean)
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # ISNCSCI: what the examiner writes beside the grades (cordtrial.isncsci.notes).
    comments: Mapped[str | None] = mapped_column(Text)
    flag_reasons: Mapped[dict | None] = mapped_column(JSON)  # flagged cell -> reason


class BloodDraw(Versioned, Base):
    """Peripheral blood drawn for autologous serum (label: ~480 mL over two draws)."""

    __tablename__ = "blood_draws"
    __table_args__ = (CheckConstraint("volume_ml > 0", name="volume"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    drawn_on: Mapped[date] = mapped_column(Date)
    volume_ml: Mapped[float] = mapped_column(Float)
    serum_volume_ml: Mapped[float | None] = mapped_column(Float)
    operator: Mapped[str] = mapped_column(String(200))


class MarrowHarvest(Versioned, Base):
    __tablename__ = "marrow_harvests"
    __table_args__ = (CheckConstraint("volume_ml > 0", name="volume"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    harvested_on: Mapped[date] = mapped_column(Date)
    volume_ml: Mapped[float] = mapped_column(Float)
    anatomical_site: Mapped[str] = mapped_column(String(100), default="posterior iliac crest")
    operator: Mapped[str] = mapped_column(String(200))
    complications: Mapped[str | None] = mapped_column(Text)


class Lot(Versioned, Base):
    """One patient's cell product, from culture start to infusion."""

    __tablename__ = "lots"
    __table_args__ = (CheckConstraint(_in("status", LOT_STATUSES), name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_number: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    harvest_id: Mapped[int | None] = mapped_column(ForeignKey("marrow_harvests.id"))
    status: Mapped[str] = mapped_column(String(16), default="in_process")
    culture_started_on: Mapped[date] = mapped_column(Date)
    cryopreserved_on: Mapped[date | None] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    total_viable_cells: Mapped[float | None] = mapped_column(Float)
    volume_ml: Mapped[float | None] = mapped_column(Float)
    storage_location: Mapped[str | None] = mapped_column(String(200))
    released_on: Mapped[date | None] = mapped_column(Date)  # the QA release decision's date
    patient: Mapped[Patient] = relationship()
    passages: Mapped[list[CulturePassage]] = relationship(
        back_populates="lot", order_by="CulturePassage.passage_number"
    )
    release_tests: Mapped[list[ReleaseTest]] = relationship(back_populates="lot")


class LotSerum(Base):
    """Autologous serum of a blood draw used in a lot's culture medium (chain of identity: the
    draw and the lot belong to the same patient)."""

    __tablename__ = "lot_serum"
    __table_args__ = (UniqueConstraint("lot_id", "blood_draw_id", name="uq_lot_serum_lot_draw"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    blood_draw_id: Mapped[int] = mapped_column(ForeignKey("blood_draws.id"))


class CulturePassage(Versioned, Base):
    __tablename__ = "culture_passages"
    __table_args__ = (
        UniqueConstraint("lot_id", "passage_number", name="uq_culture_passages_lot_passage"),
        CheckConstraint("cells_seeded > 0 AND cells_harvested > 0", name="cells"),
        CheckConstraint("viability_pct BETWEEN 0 AND 100", name="viability"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    passage_number: Mapped[int] = mapped_column(Integer)
    seeded_on: Mapped[date] = mapped_column(Date)
    harvested_on: Mapped[date] = mapped_column(Date)
    vessels: Mapped[int] = mapped_column(Integer, default=1)
    cells_seeded: Mapped[float] = mapped_column(Float)
    cells_harvested: Mapped[float] = mapped_column(Float)
    viability_pct: Mapped[float] = mapped_column(Float)
    confluence_pct: Mapped[float | None] = mapped_column(Float)
    operator: Mapped[str] = mapped_column(String(200))
    lot: Mapped[Lot] = relationship(back_populates="passages")

    @property
    def population_doublings(self) -> float:
        """PD = log2(harvested / seeded) (standard; cell-product.md step 4)."""
        return math.log2(self.cells_harvested / self.cells_seeded)

    @property
    def doubling_time_hours(self) -> float | None:
        """Culture hours / PD; None when the population did not grow."""
        pd_ = self.population_doublings
        hours = (self.harvested_on - self.seeded_on).days * 24
        return hours / pd_ if pd_ > 0 else None


class ReleaseTest(Versioned, Base):
    __tablename__ = "release_tests"
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    test_code: Mapped[str] = mapped_column(String(64))  # a code from the protocol's specification
    method: Mapped[str] = mapped_column(String(200))
    value: Mapped[float | None] = mapped_column(Float)
    text_result: Mapped[str | None] = mapped_column(String(200))
    tested_on: Mapped[date] = mapped_column(Date)
    analyst: Mapped[str] = mapped_column(String(200))
    passed: Mapped[bool] = mapped_column(Boolean)  # judged by the service against the protocol
    specification: Mapped[str] = mapped_column(String(200))  # the limit it was judged against
    lot: Mapped[Lot] = relationship(back_populates="release_tests")


class CustodyEvent(Versioned, Base):
    __tablename__ = "custody_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_location: Mapped[str] = mapped_column(String(200))
    to_location: Mapped[str] = mapped_column(String(200))
    handled_by: Mapped[str] = mapped_column(String(200))
    condition: Mapped[str | None] = mapped_column(String(200))
    temperature_c: Mapped[float | None] = mapped_column(Float)


class Infusion(Versioned, Base):
    __tablename__ = "infusions"
    __table_args__ = (
        UniqueConstraint("patient_id", "infusion_number", name="uq_infusions_patient_number"),
        CheckConstraint("weight_kg > 0", name="weight"),
        CheckConstraint("cells_total > 0", name="cells"),
        CheckConstraint("confirmed_by_1_id <> confirmed_by_2_id", name="two_persons"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), unique=True)
    infusion_number: Mapped[int] = mapped_column(Integer)
    infused_on: Mapped[date] = mapped_column(Date)
    weight_kg: Mapped[float] = mapped_column(Float)
    weight_measured_on: Mapped[date] = mapped_column(Date)
    cells_total: Mapped[float] = mapped_column(Float)
    cells_per_kg: Mapped[float] = mapped_column(Float)
    product_volume_ml: Mapped[float] = mapped_column(Float)
    diluent_volume_ml: Mapped[float] = mapped_column(Float)
    dilution_factor: Mapped[float] = mapped_column(Float)
    rate_ml_per_min: Mapped[float] = mapped_column(Float)
    thawed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime] = mapped_column(UTCDateTime())
    vitals: Mapped[dict] = mapped_column(JSON)  # {"before": {...}, "during": {...}, "after": {...}}
    wristband_code: Mapped[str] = mapped_column(String(64))
    label_code: Mapped[str] = mapped_column(String(64))
    confirmed_by_1_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_by_2_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reaction: Mapped[str | None] = mapped_column(Text)


class AdverseEvent(Versioned, Base):
    __tablename__ = "adverse_events"
    __table_args__ = (
        CheckConstraint("grade BETWEEN 1 AND 5", name="grade"),
        CheckConstraint("grade_scale IN ('CTCAE v5.0', 'protocol')", name="grade_scale"),
        CheckConstraint(_in("related_product", RELATEDNESS), name="related_product"),
        CheckConstraint(_in("related_harvest", RELATEDNESS), name="related_harvest"),
        CheckConstraint(_in("related_blood_draw", RELATEDNESS), name="related_blood_draw"),
        CheckConstraint(_in("related_infusion", RELATEDNESS), name="related_infusion"),
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', AE_OUTCOMES)}", name="outcome"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    term: Mapped[str] = mapped_column(String(200))
    grade_scale: Mapped[str] = mapped_column(String(16))
    grade: Mapped[int] = mapped_column(Integer)
    serious: Mapped[bool] = mapped_column(Boolean)
    related_product: Mapped[str] = mapped_column(String(16))
    related_harvest: Mapped[str] = mapped_column(String(16))
    related_blood_draw: Mapped[str] = mapped_column(String(16))
    related_infusion: Mapped[str] = mapped_column(String(16))
    expected: Mapped[bool] = mapped_column(Boolean)
    onset_date: Mapped[date] = mapped_column(Date)
    resolution_date: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(32))
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Signature(Base):
    """An electronic signature bound to the exact content of the signed record."""

    __tablename__ = "signatures"
    __table_args__ = (CheckConstraint(_in("meaning", SIGNATURE_MEANINGS), name="meaning"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    record_table: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    meaning: Mapped[str] = mapped_column(String(100))
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(String(200))  # printed name, as shown when signed
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content_hash: Mapped[str] = mapped_column(String(64))


class RefusalLog(Base):
    """Every action the services refused, with who tried it and why it was refused."""

    __tablename__ = "refusals"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    context: Mapped[dict] = mapped_column(JSON)


class AuditEntry(Base):
    """Append-only, hash-chained record of every change (see cordtrial.store.audit)."""

    __tablename__ = "audit_trail"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC, hashed as stored
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # create | update | delete
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(64))
    changes: Mapped[str] = mapped_column(Text)  # canonical JSON {field: [old, new]}
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # a fork cannot commit
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # HMAC-SHA256 of ``hash`` under the audit key, which is kept outside the database
    # (audit_anchor.py): whoever can write the database but not read the key cannot re-hash a
    # rewritten chain. None for entries written before the key existed.
    mac: Mapped[str | None] = mapped_column(String(64))


# -- data management: the casebook's queries, source data verification, double data entry,
# deviations, plausibility confirmations and locks (docs/web.md, "Casebook and data management").
# Record references (record_table, record_id) name any trial record by its table and id.

QUERY_STATUSES: tuple[str, ...] = ("open", "answered", "closed")
QUERY_ACTIONS: tuple[str, ...] = ("open", "answer", "close", "reopen")
DEVIATION_KINDS: tuple[str, ...] = (
    "visit_out_of_window",
    "missed_visit",
    "procedure",
    "eligibility",
    "other",
)
DEVIATION_STATUSES: tuple[str, ...] = ("open", "closed")
DOUBLE_ENTRY_STATUSES: tuple[str, ...] = (
    "awaiting_second",
    "awaiting_reconciliation",
    "reconciled",
)


class DataQuery(Base):
    """A question about a record or one of its fields, from a monitor to the site."""

    __tablename__ = "data_queries"
    __table_args__ = (CheckConstraint(_in("status", QUERY_STATUSES), name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    record_table: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(100))  # None: the record as a whole
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    messages: Mapped[list[QueryMessage]] = relationship(
        back_populates="query", order_by="QueryMessage.id"
    )


class QueryMessage(Base):
    """One step of a query's conversation: opened, answered, closed or re-opened, with text."""

    __tablename__ = "query_messages"
    __table_args__ = (CheckConstraint(_in("action", QUERY_ACTIONS), name="action"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("data_queries.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    correction: Mapped[bool] = mapped_column(Boolean, default=False)  # answered by a correction
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    query: Mapped[DataQuery] = relationship(back_populates="messages")


class SourceVerification(Base):
    """A monitor's source data verification mark on one record; a later change of the record
    clears it (cleared_at, cleared_by and why), so a verified record is one not changed since."""

    __tablename__ = "source_verifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    record_table: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    verified_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cleared_by: Mapped[str | None] = mapped_column(String(64))  # who changed the record
    cleared_reason: Mapped[str | None] = mapped_column(Text)


class Deviation(Base):
    """A protocol deviation: what happened, the site's reason, and its review status."""

    __tablename__ = "deviations"
    __table_args__ = (
        CheckConstraint(_in("kind", DEVIATION_KINDS), name="kind"),
        CheckConstraint(_in("status", DEVIATION_STATUSES), name="status"),
        CheckConstraint(f"visit_code IS NULL OR {_in('visit_code', VISIT_CODES)}", name="visit"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    visit_code: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    days_outside: Mapped[int | None] = mapped_column(Integer)  # visit windows: - early, + late
    record_table: Mapped[str | None] = mapped_column(String(64))
    record_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str | None] = mapped_column(Text)


class Confirmation(Base):
    """A plausibility warning the user read and confirmed when saving a record."""

    __tablename__ = "confirmations"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    record_table: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    confirmed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FormNotDone(Base):
    """A form of a visit that will not be done, and why (a casebook cell "not done")."""

    __tablename__ = "forms_not_done"
    __table_args__ = (
        UniqueConstraint("patient_id", "visit_code", "form", name="uq_forms_not_done_cell"),
        CheckConstraint(_in("visit_code", VISIT_CODES), name="visit"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    visit_code: Mapped[str] = mapped_column(String(32))
    form: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DoubleEntry(Base):
    """Double data entry of one ISNCSCI exam: two independent entries, reconciled by a third
    person into the stored exam (assessment_id), which alone is classified."""

    __tablename__ = "double_entries"
    __table_args__ = (
        CheckConstraint(_in("status", DOUBLE_ENTRY_STATUSES), name="status"),
        CheckConstraint(_in("visit_code", VISIT_CODES), name="visit"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    visit_code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), default="awaiting_second")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # field -> {"entry1": v, "entry2": v, "value": chosen} for every cell that differed
    resolution: Mapped[dict | None] = mapped_column(JSON)
    entries: Mapped[list[ExamEntry]] = relationship(
        back_populates="double_entry", order_by="ExamEntry.entry_number"
    )


class ExamEntry(Base):
    """One of the two independent entries of an exam (as entered, never classified)."""

    __tablename__ = "exam_entries"
    __table_args__ = (
        UniqueConstraint("double_entry_id", "entry_number", name="uq_exam_entries_number"),
        CheckConstraint("entry_number IN (1, 2)", name="number"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    double_entry_id: Mapped[int] = mapped_column(ForeignKey("double_entries.id"))
    entry_number: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[date] = mapped_column(Date)
    assessor_name: Mapped[str] = mapped_column(String(200))
    blinded: Mapped[bool] = mapped_column(Boolean)
    data: Mapped[dict] = mapped_column(JSON)
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    double_entry: Mapped[DoubleEntry] = relationship(back_populates="entries")


class CasebookLock(Base):
    """An investigator's signed lock of one patient's casebook; unlocked_* set by an unlock
    (with its reason). The content hash covers the casebook's records when locked."""

    __tablename__ = "casebook_locks"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    records: Mapped[int] = mapped_column(Integer)
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unlocked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unlock_reason: Mapped[str | None] = mapped_column(Text)


class DataLock(Base):
    """The trial-level data lock before the final analysis: which casebooks it covers (scope)
    and a hash over their locked content; unlocked_* set by an unlock with its reason."""

    __tablename__ = "data_locks"
    id: Mapped[int] = mapped_column(primary_key=True)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    scope: Mapped[dict] = mapped_column(JSON)  # {"patients": [...], "records": {table: n}}
    content_hash: Mapped[str] = mapped_column(String(64))
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unlocked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unlock_reason: Mapped[str | None] = mapped_column(Text)


# -- operational tables: the running system's state, not trial data. Not audited, not exported,
# not backed up (info "operational"): a restored store starts with no sessions.
_OPERATIONAL = {"info": {"operational": True}}


class UserSession(Base):
    """A login session. The browser holds a random token; the store keeps only its SHA-256, so
    a copy of the database cannot be used to take over a session."""

    __tablename__ = "user_sessions"
    __table_args__ = _OPERATIONAL
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # active | mfa (password given, one-time code pending) | mfa_setup (must enrol a second
    # factor first) | password (must change the password first)
    state: Mapped[str] = mapped_column(String(16))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())  # absolute limit
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(200))  # browser, as it names itself
    address: Mapped[str | None] = mapped_column(String(64))


class LoginThrottle(Base):
    """Failed logins per user name (known or not), shared by every worker."""

    __tablename__ = "login_throttle"
    __table_args__ = _OPERATIONAL
    name_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AppSetting(Base):
    """Settings the running system generates once and shares (e.g. the cookie-signing key)."""

    __tablename__ = "app_settings"
    __table_args__ = _OPERATIONAL
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class IdempotencyKey(Base):
    """An API write and its answer, kept under the client's Idempotency-Key so that a retry
    after a lost answer gets the same answer instead of a second record."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
        _OPERATIONAL,
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ReportJob(Base):
    """A trial report being built in the background for one user (progress, then the HTML)."""

    __tablename__ = "report_jobs"
    __table_args__ = _OPERATIONAL
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    steps: Mapped[list] = mapped_column(JSON)  # progress messages, in order
    error: Mapped[str | None] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


AUDITED_MODELS: tuple[type[Base], ...] = (
    Site,
    ProtocolVersion,
    User,
    RolePolicy,
    Patient,
    PatientIdentity,
    Injury,
    Eligibility,
    Consent,
    Visit,
    Assessment,
    BloodDraw,
    MarrowHarvest,
    Lot,
    LotSerum,
    CulturePassage,
    ReleaseTest,
    CustodyEvent,
    Infusion,
    AdverseEvent,
    Signature,
    RefusalLog,
    DataQuery,
    QueryMessage,
    SourceVerification,
    Deviation,
    Confirmation,
    FormNotDone,
    DoubleEntry,
    ExamEntry,
    CasebookLock,
    DataLock,
)


def trial_tables() -> list:
    """The tables that hold the trial (backed up, exported), in dependency order."""
    return [t for t in Base.metadata.sorted_tables if not t.info.get("operational")]


def secret_columns(table) -> frozenset[str]:
    """Names of a table's secret columns (never in the audit trail, exports or answers)."""
    return frozenset(c.name for c in table.columns if c.info.get("secret"))
