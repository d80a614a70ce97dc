"""complaint work order

``complaint.work_order_no``: the 12345 hotline's work-order number (工单号) a hotline entry came
with, when it came with one; unique, so one work order is one complaint (models/complaint/work_order.py).

Revision ID: c6d8e0f2a4b6
Revises: b5c7d9e1f3a5
Create Date: 2026-12-05 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sqlmodel

revision: str = "c6d8e0f2a4b6"
down_revision: str | None = "b5c7d9e1f3a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN on both databases (a nullable column needs no copy of the
    # complaints table on SQLite); the uniqueness is an index, which SQLite adds in place too.
    op.add_column(
        "complaint", sa.Column("work_order_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
    )
    op.create_index("uq_complaint_work_order_no", "complaint", ["work_order_no"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_complaint_work_order_no", table_name="complaint")
    with op.batch_alter_table("complaint") as batch:
        batch.drop_column("work_order_no")
