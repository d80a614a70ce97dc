"""staff consent to be named in public

``staff.public_name_consent_at``: when the person agreed to have their name shown in public (the
Service Star on the counter tablets); None while they have not, or after they withdrew it
(个人信息保护法 §25). Existing staff start without consent: nobody is named until they agree.

Revision ID: 8d1f6a3c2b70
Revises: 5e8c3b1d9f42
Create Date: 2026-12-05 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.clock

revision: str = "8d1f6a3c2b70"
down_revision: str | None = "5e8c3b1d9f42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_name_consent_at", models.clock.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("public_name_consent_at")
