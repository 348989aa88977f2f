"""casebook and data management: data queries, source data verification, deviations,
plausibility confirmations, forms not done, ISNCSCI double data entry, casebook and trial locks

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "casebook_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("locked_at", _TS, nullable=False),
        sa.Column("locked_by_id", sa.Integer(), nullable=False),
        sa.Column("signer_name", sa.String(length=200), nullable=False),
        sa.Column("meaning", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("unlocked_at", _TS, nullable=True),
        sa.Column("unlocked_by_id", sa.Integer(), nullable=True),
        sa.Column("unlock_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["locked_by_id"], ["users.id"], name=op.f("fk_casebook_locks_locked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_casebook_locks_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["unlocked_by_id"], ["users.id"], name=op.f("fk_casebook_locks_unlocked_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casebook_locks")),
    )
    op.create_index(
        op.f("ix_casebook_locks_patient_id"), "casebook_locks", ["patient_id"], unique=False
    )
    op.create_table(
        "confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("record_table", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"], ["users.id"], name=op.f("fk_confirmations_confirmed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_confirmations_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confirmations")),
    )
    op.create_index(
        op.f("ix_confirmations_patient_id"), "confirmations", ["patient_id"], unique=False
    )
    op.create_table(
        "data_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("locked_at", _TS, nullable=False),
        sa.Column("locked_by_id", sa.Integer(), nullable=False),
        sa.Column("signer_name", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("unlocked_at", _TS, nullable=True),
        sa.Column("unlocked_by_id", sa.Integer(), nullable=True),
        sa.Column("unlock_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["locked_by_id"], ["users.id"], name=op.f("fk_data_locks_locked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["unlocked_by_id"], ["users.id"], name=op.f("fk_data_locks_unlocked_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_locks")),
    )
    op.create_table(
        "data_queries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("record_table", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'answered', 'closed')", name=op.f("ck_data_queries_status")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"], ["users.id"], name=op.f("fk_data_queries_opened_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_data_queries_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_queries")),
    )
    op.create_index(
        op.f("ix_data_queries_patient_id"), "data_queries", ["patient_id"], unique=False
    )
    op.create_table(
        "deviations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("visit_code", sa.String(length=32), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("days_outside", sa.Integer(), nullable=True),
        sa.Column("record_table", sa.String(length=64), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=False),
        sa.Column("reported_at", _TS, nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", _TS, nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('visit_out_of_window', 'missed_visit', 'procedure', 'eligibility', 'other')",
            name=op.f("ck_deviations_kind"),
        ),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_deviations_status")),
        sa.CheckConstraint(
            "visit_code IS NULL OR visit_code IN ('screening', 'pre_infusion', 'infusion_day', 'day1', 'week1', 'month1', 'month3', 'month6', 'month12', 'unscheduled')",
            name=op.f("ck_deviations_visit"),
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["users.id"], name=op.f("fk_deviations_closed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_deviations_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"], ["users.id"], name=op.f("fk_deviations_reported_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deviations")),
    )
    op.create_index(op.f("ix_deviations_patient_id"), "deviations", ["patient_id"], unique=False)
    op.create_table(
        "forms_not_done",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_code", sa.String(length=32), nullable=False),
        sa.Column("form", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.CheckConstraint(
            "visit_code IN ('screening', 'pre_infusion', 'infusion_day', 'day1', 'week1', 'month1', 'month3', 'month6', 'month12', 'unscheduled')",
            name=op.f("ck_forms_not_done_visit"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_forms_not_done_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_forms_not_done_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forms_not_done")),
        sa.UniqueConstraint("patient_id", "visit_code", "form", name="uq_forms_not_done_cell"),
    )
    op.create_table(
        "source_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("record_table", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("verified_by_id", sa.Integer(), nullable=False),
        sa.Column("verified_at", _TS, nullable=False),
        sa.Column("cleared_at", _TS, nullable=True),
        sa.Column("cleared_by", sa.String(length=64), nullable=True),
        sa.Column("cleared_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_source_verifications_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"],
            ["users.id"],
            name=op.f("fk_source_verifications_verified_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_verifications")),
    )
    op.create_index(
        op.f("ix_source_verifications_patient_id"),
        "source_verifications",
        ["patient_id"],
        unique=False,
    )
    op.create_table(
        "double_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", _TS, nullable=True),
        sa.Column("resolution", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "status IN ('awaiting_second', 'awaiting_reconciliation', 'reconciled')",
            name=op.f("ck_double_entries_status"),
        ),
        sa.CheckConstraint(
            "visit_code IN ('screening', 'pre_infusion', 'infusion_day', 'day1', 'week1', 'month1', 'month3', 'month6', 'month12', 'unscheduled')",
            name=op.f("ck_double_entries_visit"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_double_entries_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_double_entries_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["users.id"], name=op.f("fk_double_entries_resolved_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_double_entries")),
    )
    op.create_index(
        op.f("ix_double_entries_patient_id"), "double_entries", ["patient_id"], unique=False
    )
    op.create_table(
        "query_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("correction", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.CheckConstraint(
            "action IN ('open', 'answer', 'close', 'reopen')", name=op.f("ck_query_messages_action")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_query_messages_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["query_id"], ["data_queries.id"], name=op.f("fk_query_messages_query_id_data_queries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_messages")),
    )
    op.create_index(
        op.f("ix_query_messages_query_id"), "query_messages", ["query_id"], unique=False
    )
    op.create_table(
        "exam_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("double_entry_id", sa.Integer(), nullable=False),
        sa.Column("entry_number", sa.Integer(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("assessor_name", sa.String(length=200), nullable=False),
        sa.Column("blinded", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=False),
        sa.Column("entered_at", _TS, nullable=False),
        sa.CheckConstraint("entry_number IN (1, 2)", name=op.f("ck_exam_entries_number")),
        sa.ForeignKeyConstraint(
            ["double_entry_id"],
            ["double_entries.id"],
            name=op.f("fk_exam_entries_double_entry_id_double_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["users.id"], name=op.f("fk_exam_entries_entered_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_entries")),
        sa.UniqueConstraint("double_entry_id", "entry_number", name="uq_exam_entries_number"),
    )


TABLES = (
    "exam_entries",
    "query_messages",
    "double_entries",
    "source_verifications",
    "forms_not_done",
    "deviations",
    "data_queries",
    "data_locks",
    "confirmations",
    "casebook_locks",
)


def _record_removal() -> None:
    """The rows these tables hold are deleted with them: the audit trail says so, so that it
    still replays to the tables (as every data migration does, see 0003)."""
    from cordtrial.store.audit import append_entries, canonical_json, row_state
    from cordtrial.store.models import Base
    from cordtrial.store.types import utcnow

    conn = op.get_bind()
    at = utcnow().isoformat()
    entries = []
    for name in TABLES:
        table = Base.metadata.tables[name]
        for row in conn.execute(sa.select(table).order_by(table.c.id)).mappings():
            entries.append(
                {
                    "at": at,
                    "actor": "system",
                    "action": "delete",
                    "table_name": name,
                    "record_id": str(row["id"]),
                    "changes": canonical_json(
                        {k: [v, None] for k, v in row_state(table, row).items()}
                    ),
                    "reason": "migration 0006 downgraded: the data-management tables are removed",
                }
            )
    if entries:
        append_entries(conn, entries)


def downgrade() -> None:
    _record_removal()
    op.drop_table("exam_entries")
    op.drop_index(op.f("ix_query_messages_query_id"), table_name="query_messages")
    op.drop_table("query_messages")
    op.drop_index(op.f("ix_double_entries_patient_id"), table_name="double_entries")
    op.drop_table("double_entries")
    op.drop_index(op.f("ix_source_verifications_patient_id"), table_name="source_verifications")
    op.drop_table("source_verifications")
    op.drop_table("forms_not_done")
    op.drop_index(op.f("ix_deviations_patient_id"), table_name="deviations")
    op.drop_table("deviations")
    op.drop_index(op.f("ix_data_queries_patient_id"), table_name="data_queries")
    op.drop_table("data_queries")
    op.drop_table("data_locks")
    op.drop_index(op.f("ix_confirmations_patient_id"), table_name="confirmations")
    op.drop_table("confirmations")
    op.drop_index(op.f("ix_casebook_locks_patient_id"), table_name="casebook_locks")
    op.drop_table("casebook_locks")
