"""How the casebook's forms and records are reached on the web: the page that enters each form,
the page of each record, the link of each worklist row, and the words for statuses and rules.
A new form's pages are one entry in FORM_PAGES.
"""

from __future__ import annotations

from cordtrial.casebook.grid import STATUS_LABELS, Cell
from cordtrial.casebook.plausibility import RULES
from cordtrial.store.record_refs import KIND_LABELS

from . import layout
from .principal import Principal

# form id -> the page that enters it for a patient ({code}); None: entered elsewhere (e.g.
# the lot by cell processing on the lot pages).
FORM_PAGES: dict[str, str | None] = {
    "isncsci": "/patients/{code}/exams/new",
    "scim3": "/patients/{code}/instruments/scim3/new",
    "wisci2": "/patients/{code}/instruments/wisci2/new",
    "nbd": "/patients/{code}/instruments/nbd/new",
    "lutf": "/patients/{code}/instruments/lutf/new",
    "infusion": "/patients/{code}/infusions/new",
    "injury": None,
    "eligibility": None,
    "consent": None,
    "blood_draw": None,
    "harvest": None,
    "lot": "/lots",
}
# Who enters each form (the pages check again; the store decides).
FORM_PERMISSION = {
    **{k: "enter_assessments" for k in ("isncsci", "scim3", "wisci2", "nbd", "lutf")},
    "infusion": "infuse",
    "lot": "edit_culture",
}
STATE_CLASS = {
    "done": "ok",
    "done_out_of_window": "warn",
    "overdue": "bad",
    "due": "due",
    "not_yet_due": "muted",
    "not_done": "nd",
    "not_applicable": "na",
    "not_expected": "muted",
    "queried": "warn",
    "verified": "ok",
    "signed": "ok",
    "locked": "lock",
}


def record_url(table: str, record_id: int) -> str:
    """The page of a stored record (its own page where there is one)."""
    if table == "assessments":
        return f"/assessments/{record_id}"
    return f"/records/{table}/{record_id}"


def full_page(table: str, record) -> str | None:
    """A record's own page beyond the generic one (lots and infusions have theirs)."""
    if table == "lots":
        return f"/lots/{record.id}"
    if table == "infusions":
        return f"/infusions/{record.id}"
    return None


def new_form_url(form: str, code: str, visit: str | None, who: Principal) -> str | None:
    page = FORM_PAGES.get(form)
    needed = FORM_PERMISSION.get(form)
    if page is None or (needed and not who.can(needed)):
        return None
    url = page.format(code=code)
    return f"{url}?visit={visit}" if visit and "{code}" in FORM_PAGES[form] else url


def actor(who: Principal) -> str:
    """Whose next actions a user sees on the casebook: the site's, the monitor's, or none."""
    if who.role in ("investigator", "assessor"):
        return "site"
    if who.role == "monitor":
        return "monitor"
    return "reader"


def action_url(cell: Cell, code: str, who: Principal, double_entries: dict[str, int]) -> str | None:
    """Where the cell's next action is done."""
    step = cell.next_action(actor(who))
    if step is None:
        return None
    if step.kind == "enter" or step.kind == "second_entry":
        return new_form_url(cell.form, code, cell.visit, who)
    if step.kind == "reconcile":
        de = double_entries.get(cell.visit or "")
        return f"/double-entries/{de}" if de else None
    record = step.record or (cell.records[0] if cell.records else None)
    return record_url(record.table, record.id) if record else None


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " "))


def warnings_view(warnings: list[dict]) -> list[dict]:
    """The warnings of a ``confirmation_required`` refusal with their rule's words."""
    out = []
    for w in warnings or []:
        rule = RULES.get(str(w.get("rule")))
        if rule is None:
            continue
        out.append({**w, "summary": rule.summary, "source": rule.source})
    return out


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def row_link(name: str, row: dict) -> str | None:
    """The page a worklist row opens."""
    if row.get("_query"):
        return f"/queries/{row['_query']}"
    if row.get("_lot"):
        return f"/lots/{row['_lot']}"
    if row.get("_record"):
        return record_url(*row["_record"])
    if row.get("_patient"):
        return f"/patients/{row['_patient']}/casebook"
    return None


def cell_label(field: str) -> str:
    """A worksheet field as a person names it ("C5 right motor (elbow flexors)")."""
    names = {
        "assessed_on": "Exam date",
        "assessor_name": "Assessor",
        "blinded": "Assessor blinded",
        layout.VAC: "VAC (voluntary anal contraction)",
        layout.DAP: "DAP (deep anal pressure)",
    }
    for side in layout.SIDES:
        names[layout.NON_KEY[side]] = f"Lowest non-key muscle ({side.lower()})"
    for level in layout.DERMATOMES:
        for side in layout.SIDES:
            names[layout.sensory_field(level, side, "Touch")] = (
                f"{level} {side.lower()} light touch"
            )
            names[layout.sensory_field(level, side, "Prick")] = f"{level} {side.lower()} pin prick"
            if level in layout.KEY_MUSCLES:
                muscle = layout.KEY_MUSCLES[level].lower()
                names[layout.motor_field(level, side)] = f"{level} {side.lower()} motor ({muscle})"
    return names.get(field, field)


def field_label(table: str, kind: str | None, field: str | None) -> str:
    """A queried field as a person names it: a worksheet cell, an instrument item or a column."""
    if not field:
        return "the whole record"
    if field.startswith("data."):
        key = field[len("data.") :]
        if kind == "isncsci":
            return cell_label(key)
        from cordtrial.instruments import INSTRUMENTS

        items = {i.id: i for i in INSTRUMENTS[kind].items} if kind in INSTRUMENTS else {}
        if key in items:
            return f"item {items[key].number}: {items[key].label.split(':')[0]}"
        return key
    return field.replace("_", " ")
