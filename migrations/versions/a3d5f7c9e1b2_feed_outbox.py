"""feed outbox

``feed_record``: the provincial 好差评 feed's outbox, one record per counted rating stored while the
feed is on (written in the rating's own transaction; models/feed.py), with its delivery state;
``feed_attempt``: one row per delivery attempt (when, the HTTP status, the outcome, the answer).

Revision ID: a3d5f7c9e1b2
Revises: f2c9a4d7e815
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.clock
import sqlmodel

revision: str = "a3d5f7c9e1b2"
down_revision: str | None = "f2c9a4d7e815"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rating_id", sa.Uuid(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", models.clock.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", models.clock.UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", models.clock.UTCDateTime(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_answer", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("delivered_at", models.clock.UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'paused')", name=op.f("ck_feed_record_status")),
        sa.ForeignKeyConstraint(["rating_id"], ["rating.id"], name=op.f("fk_feed_record_rating_id_rating")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_record")),
        sa.UniqueConstraint("rating_id", name=op.f("uq_feed_record_rating_id")),
    )
    op.create_index("ix_feed_record_status_next", "feed_record", ["status", "next_attempt_at"], unique=False)
    op.create_table(
        "feed_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("at", models.clock.UTCDateTime(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["feed_record.id"], name=op.f("fk_feed_attempt_record_id_feed_record")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_attempt")),
    )
    op.create_index(op.f("ix_feed_attempt_record_id"), "feed_attempt", ["record_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_feed_attempt_record_id"), table_name="feed_attempt")
    op.drop_table("feed_attempt")
    op.drop_index("ix_feed_record_status_next", table_name="feed_record")
    op.drop_table("feed_record")
