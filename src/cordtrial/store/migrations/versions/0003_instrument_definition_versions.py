"""instrument records keep their definition version

Before this revision an instrument record's ``engine_version`` held only the instrument id
("wisci2"). Every such record was entered under version 1 of its definition (the versions
before WISCI II levels 18/19 were fixed), so it now says so: "wisci2@1". The change is written
to the audit trail like any other, so the trail still replays to the tables.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTRUMENT_KINDS = ("scim3", "wisci2", "nbd", "lutf")
ACTOR = "system"
REASON = (
    "migration 0003: instrument definitions are versioned; records entered before keep the "
    "version they were entered under (1)"
)

_assessments = sa.table(
    "assessments", sa.column("id"), sa.column("kind"), sa.column("engine_version")
)


def upgrade() -> None:
    from cordtrial.store.audit import append_entries, canonical_json
    from cordtrial.store.types import utcnow

    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_assessments.c.id, _assessments.c.kind, _assessments.c.engine_version)
        .where(_assessments.c.kind.in_(INSTRUMENT_KINDS))
        .order_by(_assessments.c.id)
    ).all()
    entries = []
    at = utcnow().isoformat()
    for row_id, kind, old in rows:
        if old is not None and "@" in old:
            continue
        new = f"{kind}@1"
        conn.execute(
            sa.update(_assessments).where(_assessments.c.id == row_id).values(engine_version=new)
        )
        entries.append(
            {
                "at": at,
                "actor": ACTOR,
                "action": "update",
                "table_name": "assessments",
                "record_id": str(row_id),
                "changes": canonical_json({"engine_version": [old, new]}),
                "reason": REASON,
            }
        )
    if entries:
        append_entries(conn, entries)


def downgrade() -> None:
    # Left as they are: earlier releases never read an instrument record's engine_version, and
    # stripping it would make records entered under the corrected definitions look pre-fix.
    pass
