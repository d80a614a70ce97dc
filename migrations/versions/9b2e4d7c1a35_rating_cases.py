"""rating cases: a case for every 差评

``rating_case`` holds one row per low rating that must be verified and answered (models/cases.py),
opened with the rating; a formal complaint about the same rating links to it. Its handling
(finding, action, answer, grade) is on the row; ``rating_case_event`` holds each step, callback
attempts included (models/case_flow.py).

Revision ID: 9b2e4d7c1a35
Revises: 7a4f1c9e2d60
Create Date: 2026-12-05 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.clock

revision: str = "9b2e4d7c1a35"
down_revision: str | None = "7a4f1c9e2d60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("pending", "verifying", "found", "acting", "answered", "closed")


def upgrade() -> None:
    op.create_table(
        "rating_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rating_id", sa.Uuid(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("counter_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("opened_at", models.clock.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("code_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("contact_kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("consent_at", models.clock.UTCDateTime(), nullable=True),
        sa.Column("finding", sa.String(length=16), nullable=True),
        sa.Column("about", sa.String(length=16), nullable=True),
        sa.Column("found_at", models.clock.UTCDateTime(), nullable=True),
        sa.Column("found_by", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=True),
        sa.Column("action_text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("action_due_at", models.clock.UTCDateTime(), nullable=True),
        sa.Column("action_done_at", models.clock.UTCDateTime(), nullable=True),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("answered_at", models.clock.UTCDateTime(), nullable=True),
        sa.Column("answered_via", sa.String(length=16), nullable=True),
        sa.Column("grade", sa.String(length=16), nullable=True),
        sa.Column("graded_at", models.clock.UTCDateTime(), nullable=True),
        sa.Column("closed_at", models.clock.UTCDateTime(), nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_rating_case_score")),
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")", name=op.f("ck_rating_case_status")
        ),
        sa.ForeignKeyConstraint(["branch_id"], ["branch.id"], name=op.f("fk_rating_case_branch_id_branch")),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"], name=op.f("fk_rating_case_complaint_id_complaint")
        ),
        sa.ForeignKeyConstraint(
            ["counter_id"], ["counter.id"], name=op.f("fk_rating_case_counter_id_counter")
        ),
        sa.ForeignKeyConstraint(["found_by"], ["staff.id"], name=op.f("fk_rating_case_found_by_staff")),
        sa.ForeignKeyConstraint(["rating_id"], ["rating.id"], name=op.f("fk_rating_case_rating_id_rating")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_rating_case_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_case")),
        sa.UniqueConstraint("code_digest", name=op.f("uq_rating_case_code_digest")),
        sa.UniqueConstraint("complaint_id", name=op.f("uq_rating_case_complaint_id")),
        sa.UniqueConstraint("rating_id", name=op.f("uq_rating_case_rating_id")),
    )
    with op.batch_alter_table("rating_case", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rating_case_branch_status_opened", ["branch_id", "status", "opened_at"], unique=False
        )
        batch_op.create_index("ix_rating_case_staff_opened", ["staff_id", "opened_at"], unique=False)
    op.create_table(
        "rating_case_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", models.clock.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["staff.id"], name=op.f("fk_rating_case_event_actor_id_staff")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["rating_case.id"], name=op.f("fk_rating_case_event_case_id_rating_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_case_event")),
    )
    with op.batch_alter_table("rating_case_event", schema=None) as batch_op:
        batch_op.create_index("ix_rating_case_event_case_at", ["case_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rating_case_event", schema=None) as batch_op:
        batch_op.drop_index("ix_rating_case_event_case_at")
    op.drop_table("rating_case_event")
    with op.batch_alter_table("rating_case", schema=None) as batch_op:
        batch_op.drop_index("ix_rating_case_staff_opened")
        batch_op.drop_index("ix_rating_case_branch_status_opened")
    op.drop_table("rating_case")
