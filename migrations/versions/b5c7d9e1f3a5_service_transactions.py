"""service transactions

``service_item``: the hall's services (事项) with code, names, version and implementing department;
``service_transaction``: one finished transaction (办件) each, with its counted rating once it has
one; ``rating.transaction_id`` binds a rating to its transaction and ``rating.is_default`` marks
the policy's default rating (models/services.py, models/default_rating.py).

Revision ID: b5c7d9e1f3a5
Revises: a3d5f7c9e1b2
Create Date: 2026-12-05 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.clock
import sqlmodel

revision: str = "b5c7d9e1f3a5"
down_revision: str | None = "a3d5f7c9e1b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name_zh", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("department_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_item")),
        sa.UniqueConstraint("code", name=op.f("uq_service_item_code")),
    )
    op.create_table(
        "service_transaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("service_item_id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("counter_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("finished_at", models.clock.UTCDateTime(), nullable=False),
        sa.Column("created_at", models.clock.UTCDateTime(), nullable=False),
        sa.Column("invitation_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("rating_id", sa.Uuid(), nullable=True),
        sa.Column("rated_at", models.clock.UTCDateTime(), nullable=True),
        sa.Column("defaulted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branch.id"], name=op.f("fk_service_transaction_branch_id_branch")
        ),
        sa.ForeignKeyConstraint(
            ["counter_id"], ["counter.id"], name=op.f("fk_service_transaction_counter_id_counter")
        ),
        sa.ForeignKeyConstraint(
            ["service_item_id"],
            ["service_item.id"],
            name=op.f("fk_service_transaction_service_item_id_service_item"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_service_transaction_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_transaction")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_service_transaction_idempotency_key")),
        sa.UniqueConstraint("invitation_code", name=op.f("uq_service_transaction_invitation_code")),
        sa.UniqueConstraint("number", name=op.f("uq_service_transaction_number")),
    )
    op.create_index(
        "ix_service_transaction_counter_finished", "service_transaction", ["counter_id", "finished_at"]
    )
    op.create_index(
        "ix_service_transaction_branch_finished", "service_transaction", ["branch_id", "finished_at"]
    )
    op.create_index(
        "ix_service_transaction_rating_finished", "service_transaction", ["rating_id", "finished_at"]
    )
    op.create_index(
        op.f("ix_service_transaction_service_item_id"), "service_transaction", ["service_item_id"]
    )
    op.create_index(op.f("ix_service_transaction_staff_id"), "service_transaction", ["staff_id"])
    # Plain ALTER TABLE ... ADD COLUMN on both databases (no copy of the ratings table on SQLite,
    # which adds a reference only inline): a nullable column with its reference, and a boolean with
    # a constant default.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE rating ADD COLUMN transaction_id INTEGER REFERENCES service_transaction (id)")
    else:
        op.add_column("rating", sa.Column("transaction_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_rating_transaction_id_service_transaction"),
            "rating",
            "service_transaction",
            ["transaction_id"],
            ["id"],
        )
    op.add_column("rating", sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index(op.f("ix_rating_transaction_id"), "rating", ["transaction_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rating_transaction_id"), table_name="rating")
    with op.batch_alter_table("rating") as batch:
        if op.get_bind().dialect.name != "sqlite":
            batch.drop_constraint(op.f("fk_rating_transaction_id_service_transaction"), type_="foreignkey")
        batch.drop_column("is_default")
        batch.drop_column("transaction_id")
    op.drop_table("service_transaction")
    op.drop_table("service_item")
