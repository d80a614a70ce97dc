"""rating day roll-up: counted ratings of closed local days per branch, counter and score

The month-wide dashboard figures read closed days from ``rating_day`` (scores) and
``rating_day_reason`` (clauses cited by low ratings) instead of counting every rating again
(models/rollup.py); ``rating_day_mark`` says which (branch, day) the rows are good for.
Both start empty: until the ``rating-rollup`` job has run, every day is read from the ratings.

Revision ID: 09d5a4e58058
Revises: 9816777a896e
Create Date: 2026-11-27 12:08:33.785817
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.clock

revision: str = "09d5a4e58058"
down_revision: str | None = "9816777a896e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rating_day",
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("counter_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["branch_id"], ["branch.id"], name=op.f("fk_rating_day_branch_id_branch")),
        sa.PrimaryKeyConstraint("branch_id", "day", "counter_id", "score", name=op.f("pk_rating_day")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rating_day_reason",
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branch.id"], name=op.f("fk_rating_day_reason_branch_id_branch")
        ),
        sa.PrimaryKeyConstraint("branch_id", "day", "code", name=op.f("pk_rating_day_reason")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rating_day_mark",
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rolled", sa.Integer(), nullable=False),
        sa.Column("rolled_at", models.clock.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branch.id"], name=op.f("fk_rating_day_mark_branch_id_branch")
        ),
        sa.PrimaryKeyConstraint("branch_id", "day", name=op.f("pk_rating_day_mark")),
    )


def downgrade() -> None:
    op.drop_table("rating_day_mark")
    op.drop_table("rating_day_reason")
    op.drop_table("rating_day")
