"""appeal clock alerts

The alert kind check gains 'appeal_due_soon' (an undecided appeal nearing its decision time) and
'appeal_overdue' (one past it), raised by the SLA sweep (models/appeal_clock.py, issue 16). The kind
column (16 characters) holds both names as it is.

Revision ID: b71d0e4a9c53
Revises: e6b3d8a05c17
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b71d0e4a9c53"
down_revision: str | None = "e6b3d8a05c17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("high_complaint", "overdue", "negative_burst", "due_soon", "first_contact", "escalation")
NEW_KINDS = (*OLD_KINDS, "appeal_due_soon", "appeal_overdue")


def _check(kinds: Sequence[str]) -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_alert_kind"), f"kind IN ({', '.join(repr(k) for k in kinds)})"
        )


def upgrade() -> None:
    _check(NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM alert WHERE kind IN ('appeal_due_soon', 'appeal_overdue')")
    _check(OLD_KINDS)
