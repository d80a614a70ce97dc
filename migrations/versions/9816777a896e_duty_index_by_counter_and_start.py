"""duty index by counter and start: who is on duty at a counter is its latest sign-in

Finding who is on duty (every tap, models/intake.py) ordered a counter's whole duty history by
``started_at``; this index lets it read the latest sign-ins first.

Revision ID: 9816777a896e
Revises: 01e192df085c
Create Date: 2026-11-27 06:49:30.028837
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9816777a896e"
down_revision: str | None = "01e192df085c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("duty", schema=None) as batch_op:
        batch_op.create_index("ix_duty_counter_started", ["counter_id", "started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("duty", schema=None) as batch_op:
        batch_op.drop_index("ix_duty_counter_started")
