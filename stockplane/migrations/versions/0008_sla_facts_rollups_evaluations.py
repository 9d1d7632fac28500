"""SLA facts, per-minute SLO rollups, evaluations, watermark; transactions indexed by update

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_transaction_facts",
        sa.Column("correlation_id", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workflow", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("system", sa.String(length=64), nullable=True),
        sa.Column("location_id", sa.String(length=64), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("book_quantity", sa.Float(), nullable=True),
        sa.Column("counted_quantity", sa.Float(), nullable=True),
        sa.Column("abc_class", sa.String(length=8), nullable=True),
        sa.Column("accepted_order", sa.Boolean(), nullable=False),
        sa.Column("oversold", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("correlation_id"),
    )
    op.create_index(
        "ix_sla_transaction_facts_started", "sla_transaction_facts", ["started_at", "workflow"], unique=False
    )
    op.create_table(
        "sla_slo_minute",
        sa.Column("slo", sa.String(length=100), nullable=False),
        sa.Column("series", sa.String(length=300), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("good", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("slo", "series", "minute"),
    )
    op.create_table(
        "sla_slo_evaluation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slo", sa.String(length=100), nullable=False),
        sa.Column("series", sa.String(length=300), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("policy_pack", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("good", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("attainment", sa.Float(), nullable=True),
        sa.Column("budget_remaining", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_sla_slo_evaluation_slo_at", "sla_slo_evaluation", ["slo", "evaluated_at"], unique=False
    )
    op.create_index(
        op.f("ix_sla_slo_evaluation_evaluated_at"), "sla_slo_evaluation", ["evaluated_at"], unique=False
    )
    op.create_table(
        "sla_watermark",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("inventory_transaction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inventory_transaction_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inventory_transaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inventory_transaction_updated_at"))
    op.drop_table("sla_watermark")
    op.drop_index(op.f("ix_sla_slo_evaluation_evaluated_at"), table_name="sla_slo_evaluation")
    op.drop_index("ix_sla_slo_evaluation_slo_at", table_name="sla_slo_evaluation")
    op.drop_table("sla_slo_evaluation")
    op.drop_table("sla_slo_minute")
    op.drop_index("ix_sla_transaction_facts_started", table_name="sla_transaction_facts")
    op.drop_table("sla_transaction_facts")
