"""complaint findings and grades

A formal complaint gets the same finding (属实 / 部分属实 / 不属实 / 无法核实), subject (staff,
service, process, policy, facilities, other) and customer grade of the handling (满意 / 基本满意 /
不满意) as a 差评 case (models/complaint.py). Rows resolved before this revision have no finding and
weigh on nobody until one is recorded (models/sanction.py).

Revision ID: 5e8c3b1d9f42
Revises: 9b2e4d7c1a35
Create Date: 2026-12-05 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5e8c3b1d9f42"
down_revision: str | None = "9b2e4d7c1a35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WORDS = {
    "finding": ("substantiated", "partly", "unfounded", "unverifiable"),
    "about": ("staff", "service", "process", "policy", "facilities", "other"),
    "grade": ("satisfied", "fairly", "dissatisfied"),
}


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        for column in WORDS:
            batch_op.add_column(sa.Column(column, sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        for column, words in WORDS.items():
            batch_op.create_check_constraint(
                batch_op.f(f"ck_complaint_{column}"), f"{column} IN ({', '.join(repr(w) for w in words)})"
            )


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        for column in reversed(WORDS):
            batch_op.drop_constraint(batch_op.f(f"ck_complaint_{column}"), type_="check")
        for column in reversed(WORDS):
            batch_op.drop_column(column)
