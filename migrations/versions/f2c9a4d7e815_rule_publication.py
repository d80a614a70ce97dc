"""rule publication

``policy_revision.published_at`` (backfilled with ``saved_at``: a saved version has always been on the
staff's rules page), ``adopted_on`` and ``adopted_how`` (how a version was adopted, recorded by an
administrator), and ``evaluation.rule_versions``: which published versions a monthly evaluation used.

Revision ID: f2c9a4d7e815
Revises: b71d0e4a9c53
Create Date: 2026-12-05 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.clock
import sqlmodel

revision: str = "f2c9a4d7e815"
down_revision: str | None = "b71d0e4a9c53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("policy_revision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_at", models.clock.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("adopted_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("adopted_how", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default="")
        )
    op.execute("UPDATE policy_revision SET published_at = saved_at WHERE published_at IS NULL")
    with op.batch_alter_table("evaluation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rule_versions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evaluation", schema=None) as batch_op:
        batch_op.drop_column("rule_versions")
    with op.batch_alter_table("policy_revision", schema=None) as batch_op:
        batch_op.drop_column("adopted_how")
        batch_op.drop_column("adopted_on")
        batch_op.drop_column("published_at")
