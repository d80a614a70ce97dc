"""working-day calendar and the promise a complaint's clock makes

``calendar_day`` holds statutory holidays and make-up working days per scope (the deployment, or
one branch), models/holidays.py. Complaints keep the promise they were given in the clock's own
words (``promise_unit``, ``promise_amount``; 0 on complaints filed before this revision: the screens
then show the due time alone) and a first-contact due time.

Revision ID: 3c0e5d2a7b91
Revises: 09d5a4e58058
Create Date: 2026-12-05 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.clock

revision: str = "3c0e5d2a7b91"
down_revision: str | None = "09d5a4e58058"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("updated_at", models.clock.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f("ck_calendar_day_kind")),
        sa.ForeignKeyConstraint(["branch_id"], ["branch.id"], name=op.f("fk_calendar_day_branch_id_branch")),
        sa.ForeignKeyConstraint(["updated_by"], ["staff.id"], name=op.f("fk_calendar_day_updated_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_day")),
    )
    op.create_index(
        "uq_calendar_day_deployment", "calendar_day", ["day"], unique=True,
        sqlite_where=sa.text("branch_id IS NULL"), postgresql_where=sa.text("branch_id IS NULL"),
    )  # fmt: skip
    op.create_index("uq_calendar_day_branch", "calendar_day", ["branch_id", "day"], unique=True)
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("promise_unit", sa.String(length=16), nullable=False,
                                      server_default="opening_hours"))  # fmt: skip
        batch_op.add_column(sa.Column("promise_amount", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("first_contact_due_at", models.clock.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_column("first_contact_due_at")
        batch_op.drop_column("promise_amount")
        batch_op.drop_column("promise_unit")
    op.drop_index("uq_calendar_day_branch", table_name="calendar_day")
    op.drop_index("uq_calendar_day_deployment", table_name="calendar_day")
    op.drop_table("calendar_day")
