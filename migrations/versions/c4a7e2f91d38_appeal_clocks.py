"""appeals on a clock

``sanction.told_at``: when the person was told of an approved penalty (their page first showed it,
or they acknowledged it); the appeal window counts from it. ``appeal.decision_due_at``: when the
appeal must be decided by (filed + the policy's appeal_decision_days). Rows from before have neither:
an existing penalty's window starts when its person next opens their page; an open appeal's due time
is shown from its filing time and the policy (models/sanction.py).

Revision ID: c4a7e2f91d38
Revises: 8d1f6a3c2b70
Create Date: 2026-12-05 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.clock

revision: str = "c4a7e2f91d38"
down_revision: str | None = "8d1f6a3c2b70"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sanction", schema=None) as batch_op:
        batch_op.add_column(sa.Column("told_at", models.clock.UTCDateTime(), nullable=True))
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_due_at", models.clock.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.drop_column("decision_due_at")
    with op.batch_alter_table("sanction", schema=None) as batch_op:
        batch_op.drop_column("told_at")
