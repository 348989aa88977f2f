"""The store's last line against refused text and numbers (cordtrial.store.text).

The web refuses them at the door; this flush hook refuses them for every other path (CLI,
imports, scripts) before they reach the database, where PostgreSQL would fail on a NUL and
JSON columns on a NaN. The refusal names the table and column, and is logged like any other.
"""

from __future__ import annotations

from sqlalchemy import JSON, Float, String, Text, event
from sqlalchemy.orm import Session

from .audit import AuditedSession, actor_of
from .refusals import refuse
from .text import value_problems

_CHECKED = (String, Text, JSON, Float)


@event.listens_for(AuditedSession, "before_flush")
def _refuse_bad_values(session: Session, _ctx, _instances) -> None:
    for obj in list(session.new) + list(session.dirty):
        table = getattr(obj, "__table__", None)
        if table is None:
            continue
        mapper = obj.__mapper__
        for column in table.columns:
            if not isinstance(column.type, _CHECKED):
                continue
            value = getattr(obj, mapper.get_property_by_column(column).key, None)
            for path, problem in value_problems(value, (f"{table.name}.{column.name}",)):
                field = ".".join(str(p) for p in path)
                refuse(
                    session,
                    actor_of(session),
                    "invalid_text",
                    f"{field}: {problem}",
                    field=field,
                    value=None,
                    allowed=problem,
                )
