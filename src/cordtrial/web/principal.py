"""Who is asking: the logged-in account, its role and site, and what the role may do here.

The store's services enforce role and site again on every write; this table decides what the
pages offer and lets the web refuse early with a clear message.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLE_LABELS = {
    "investigator": "Investigator",
    "assessor": "Assessor",
    "cell_processing": "Cell processing",
    "qa": "Quality assurance",
    "monitor": "Monitor",
    "statistician": "Statistician",
    "admin": "Administrator",
}

# action -> roles allowed. Read access to a site's patients is given to every role (scoped by
# site); changes only to the roles whose job it is (cell-product.md, "Records and signatures").
PERMISSIONS: dict[str, frozenset[str]] = {
    "view_patients": frozenset(ROLE_LABELS),
    "view_lots": frozenset(ROLE_LABELS),
    "view_adverse_events": frozenset(ROLE_LABELS),
    "enter_assessments": frozenset({"assessor", "investigator"}),
    "edit_culture": frozenset({"cell_processing"}),
    "record_release_test": frozenset({"cell_processing", "qa"}),
    "release_lot": frozenset({"qa"}),
    "infuse": frozenset({"investigator"}),
    "record_adverse_event": frozenset({"investigator"}),
    "view_audit": frozenset({"monitor", "qa", "admin", "investigator"}),
    "export": frozenset({"statistician", "monitor", "admin", "investigator"}),
    # Data management: records a definition correction may have changed (store REVIEW_ROLES).
    "review_definitions": frozenset({"monitor", "admin", "investigator"}),
    "view_identity": frozenset({"investigator", "admin"}),
    # Casebook and data management (store: services.data_queries, sdv, locks, deviations).
    "open_query": frozenset({"monitor", "admin"}),
    "answer_query": frozenset({"investigator", "assessor", "cell_processing", "qa"}),
    "verify_source": frozenset({"monitor"}),
    "mark_not_done": frozenset({"investigator", "assessor"}),
    "report_deviation": frozenset({"investigator", "monitor", "admin"}),
    "lock_casebook": frozenset({"investigator"}),
    "unlock_casebook": frozenset({"investigator", "admin"}),
    "lock_trial": frozenset({"admin"}),
    "manage_users": frozenset({"admin"}),
    # The start of a patient's trial (issue 13): registration, the clinical steps, the lot.
    "register_patient": frozenset({"investigator", "admin"}),
    "record_clinical": frozenset({"investigator"}),
    "start_lot": frozenset({"cell_processing"}),
    "manage_sites": frozenset({"admin"}),
    "view_protocol": frozenset(ROLE_LABELS),
    "manage_protocol": frozenset({"admin"}),
    "view_report": frozenset({"statistician", "monitor", "admin", "investigator"}),
}


@dataclass(frozen=True)
class Principal:
    id: int
    username: str
    full_name: str
    role: str
    site_id: int | None  # None: all sites (sponsor-level roles)
    site_code: str | None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def can(self, action: str) -> bool:
        return self.role in PERMISSIONS.get(action, frozenset())

    def sees_site(self, site_id: int) -> bool:
        return self.site_id is None or self.site_id == site_id
