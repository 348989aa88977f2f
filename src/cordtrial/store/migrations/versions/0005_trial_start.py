"""a trial started by its own team: site time zones, the protocol as versioned data, every
record keeps its protocol version, serum of a lot, consent withdrawal and end of study, the QA
release date, the eligibility signature, background report jobs

Records that exist already were collected under the protocol file the store used so far: it
becomes version 1 and each record says so. The changes are written to the audit trail like any
other, so the trail still replays to the tables.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
VERSIONED = (
    "patients",
    "injuries",
    "eligibility",
    "consents",
    "visits",
    "assessments",
    "blood_draws",
    "marrow_harvests",
    "lots",
    "culture_passages",
    "release_tests",
    "custody_events",
    "infusions",
    "adverse_events",
)
_MEANINGS_OLD = (
    "released for clinical use",
    "infusion performed and chain of identity confirmed",
    "exam reviewed and signed off",
)
_MEANINGS_NEW = (*_MEANINGS_OLD, "eligibility assessed and confirmed")
ACTOR = "system"
REASON = (
    "migration 0005: the protocol is stored as versioned data; records collected before were "
    "collected under the protocol file in use, now version 1"
)


def _meaning_check(meanings: tuple[str, ...]) -> str:
    return "meaning IN (" + ", ".join(repr(m) for m in meanings) + ")"


def upgrade() -> None:
    op.add_column(
        "sites",
        sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC"),
    )
    op.create_table(
        "protocol_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_protocol_versions_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_versions")),
        sa.UniqueConstraint("number", name=op.f("uq_protocol_versions_number")),
    )
    op.create_table(
        "lot_serum",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("blood_draw_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_lot_serum_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["blood_draw_id"],
            ["blood_draws.id"],
            name=op.f("fk_lot_serum_blood_draw_id_blood_draws"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_serum")),
        sa.UniqueConstraint("lot_id", "blood_draw_id", name="uq_lot_serum_lot_draw"),
    )
    op.create_table(
        "report_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_report_jobs_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_jobs")),
    )
    op.create_index(op.f("ix_report_jobs_user_id"), "report_jobs", ["user_id"], unique=False)
    # Plain ADD COLUMN (no table copy) everywhere else.
    for table in VERSIONED:
        op.add_column(table, sa.Column("protocol_version", sa.Integer(), nullable=True))
    op.add_column("patients", sa.Column("ended_on", sa.Date(), nullable=True))
    op.add_column("patients", sa.Column("end_reason", sa.String(length=32), nullable=True))
    op.add_column("patients", sa.Column("end_detail", sa.Text(), nullable=True))
    op.add_column("consents", sa.Column("taken_by", sa.String(length=200), nullable=True))
    op.add_column("consents", sa.Column("withdrawal_use", sa.String(length=32), nullable=True))
    op.add_column("consents", sa.Column("withdrawal_reason", sa.Text(), nullable=True))
    op.add_column("lots", sa.Column("released_on", sa.Date(), nullable=True))
    _set_meanings(_MEANINGS_NEW)
    _version_existing_records()


def _set_meanings(meanings: tuple[str, ...]) -> None:
    # SQLite cannot alter a CHECK constraint: the signatures table is rebuilt (it carries no
    # triggers; its rows are copied unchanged).
    with op.batch_alter_table("signatures") as batch:
        batch.drop_constraint(op.f("ck_signatures_meaning"), type_="check")
        batch.create_check_constraint("meaning", _meaning_check(meanings))


def _version_existing_records() -> None:
    from cordtrial.store.audit import append_entries, canonical_json
    from cordtrial.store.protocol import default_protocol
    from cordtrial.store.types import utcnow

    conn = op.get_bind()
    ids = {
        table: conn.execute(sa.text(f"SELECT id FROM {table} ORDER BY id")).scalars().all()
        for table in VERSIONED
    }
    if not any(ids.values()):
        return  # a new store: version 1 is stored when the first record is collected
    at = utcnow().isoformat()
    content = default_protocol().model_dump(mode="json")
    summary = "the protocol file in use when the store was upgraded (migration 0005)"
    versions = sa.table(
        "protocol_versions",
        sa.column("id", sa.Integer),
        sa.column("number", sa.Integer),
        sa.column("effective_from", sa.Date),
        sa.column("content", sa.JSON),
        sa.column("summary", sa.Text),
        sa.column("created_by_id", sa.Integer),
        sa.column("created_at", _TS),
    )
    now = utcnow()
    conn.execute(
        sa.insert(versions).values(
            id=1, number=1, effective_from=None, content=content, summary=summary, created_at=now
        )
    )
    entries = [
        {
            "at": at,
            "actor": ACTOR,
            "action": "create",
            "table_name": "protocol_versions",
            "record_id": "1",
            "changes": canonical_json(
                {
                    "id": [None, 1],
                    "number": [None, 1],
                    "effective_from": [None, None],
                    "content": [None, content],
                    "summary": [None, summary],
                    "created_by_id": [None, None],
                    "created_at": [None, now.isoformat()],
                }
            ),
            "reason": REASON,
        }
    ]
    for table, rows in ids.items():
        if not rows:
            continue
        conn.execute(sa.text(f"UPDATE {table} SET protocol_version = 1"))
        entries += [
            {
                "at": at,
                "actor": ACTOR,
                "action": "update",
                "table_name": table,
                "record_id": str(row_id),
                "changes": canonical_json({"protocol_version": [None, 1]}),
                "reason": REASON,
            }
            for row_id in rows
        ]
    append_entries(conn, entries)


def downgrade() -> None:
    # Eligibility signatures cannot exist under the old constraint: they go with the revision.
    op.execute(
        sa.text("DELETE FROM signatures WHERE meaning = 'eligibility assessed and confirmed'")
    )
    _set_meanings(_MEANINGS_OLD)
    op.drop_column("lots", "released_on")
    for name in ("withdrawal_reason", "withdrawal_use", "taken_by"):
        op.drop_column("consents", name)
    for name in ("end_detail", "end_reason", "ended_on"):
        op.drop_column("patients", name)
    for table in VERSIONED:
        op.drop_column(table, "protocol_version")
    op.drop_index(op.f("ix_report_jobs_user_id"), table_name="report_jobs")
    op.drop_table("report_jobs")
    op.drop_table("lot_serum")
    op.drop_table("protocol_versions")
    op.drop_column("sites", "time_zone")
