"""complaint extensions, first-contact and escalation alerts

``complaint_extension`` holds requests to extend a reply clock and their decisions
(models/extensions.py). The alert kind check gains 'first_contact' (a new case not acknowledged in
time) and 'escalation' (督办: still overdue some working days after its due time); the complaint
event kind check gains 'extended'.

Revision ID: 7a4f1c9e2d60
Revises: 3c0e5d2a7b91
Create Date: 2026-12-05 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.clock

revision: str = "7a4f1c9e2d60"
down_revision: str | None = "3c0e5d2a7b91"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ALERTS = ("high_complaint", "overdue", "negative_burst", "due_soon")
NEW_ALERTS = (*OLD_ALERTS, "first_contact", "escalation")
OLD_EVENTS = (
    "received", "acknowledged", "assigned", "investigating", "replied", "resolved", "closed", "rejected",
    "reopened", "escalated", "satisfied", "unsatisfied", "contact_erased",
)  # fmt: skip
NEW_EVENTS = (*OLD_EVENTS[:10], "extended", *OLD_EVENTS[10:])


def _kinds(kinds: Sequence[str]) -> str:
    return ", ".join(f"'{k}'" for k in kinds)


def _check(table: str, kinds: Sequence[str]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_kind"), type_="check")
        batch_op.create_check_constraint(op.f(f"ck_{table}_kind"), f"kind IN ({_kinds(kinds)})")


def upgrade() -> None:
    op.create_table(
        "complaint_extension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", models.clock.UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", models.clock.UTCDateTime(), nullable=True),
        sa.Column("decision_note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("due_before", models.clock.UTCDateTime(), nullable=False),
        sa.Column("due_after", models.clock.UTCDateTime(), nullable=True),
        sa.CheckConstraint("length > 0", name=op.f("ck_complaint_extension_length")),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'refused')", name=op.f("ck_complaint_extension_status")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"], name=op.f("fk_complaint_extension_complaint_id_complaint")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["staff.id"], name=op.f("fk_complaint_extension_decided_by_staff")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["staff.id"], name=op.f("fk_complaint_extension_requested_by_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_extension")),
    )
    op.create_index(
        "uq_complaint_extension_seq", "complaint_extension", ["complaint_id", "seq"], unique=True
    )
    _check("alert", NEW_ALERTS)
    _check("complaint_event", NEW_EVENTS)


def downgrade() -> None:
    op.execute("DELETE FROM alert WHERE kind IN ('first_contact', 'escalation')")
    op.execute("DELETE FROM complaint_event WHERE kind = 'extended'")
    _check("complaint_event", OLD_EVENTS)
    _check("alert", OLD_ALERTS)
    op.drop_index("uq_complaint_extension_seq", table_name="complaint_extension")
    op.drop_table("complaint_extension")
