"""record text retention

``complaint.text_erased_at`` and ``rating_case.text_erased_at``: when a closed record's free text was
removed at the end of the policy's ``record_retention_days`` (models/retention.py); the numbers stay.

Revision ID: e6b3d8a05c17
Revises: c4a7e2f91d38
Create Date: 2026-12-05 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.clock

revision: str = "e6b3d8a05c17"
down_revision: str | None = "c4a7e2f91d38"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("complaint", "rating_case")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("text_erased_at", models.clock.UTCDateTime(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("text_erased_at")
