"""The casebook and data management, as pure functions (no I/O, no database).

- ``schedule``: each protocol visit's window from the anchor dates (injury, infusion), and
  where a visit stands on a given day.
- ``plausibility``: the plausibility rules of every form (what each refuses or asks to confirm,
  and its source).
- ``forms``: the casebook's forms (the protocol's assessments and the steps of the cell chain).
- ``grid``: one patient's casebook (visits by forms) with a status and the next action per cell.
- ``reconcile``: double data entry, the cell-by-cell comparison of two entries of an exam.

The store (``cordtrial.store.services.casebook`` and friends) reads the records and applies
these; the web shows them (docs/web.md, "Casebook and data management").
"""
