"""Revision 0001: the store as `main` made it with `create_all` up to commit 964ceb0.

A database created before migrations existed has exactly these tables and no `alembic_version`
table; `core.store.migrate` stamps it at this revision and upgrades from here.
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scenario",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.String(), nullable=False),
        sa.Column("notes", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_scenario_name", "scenario", ["name"], unique=True)
    op.create_table(
        "trainingrun",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("config", sa.String(), nullable=False),
        sa.Column("out_dir", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("max_steps", sa.Integer(), nullable=False),
        sa.Column("stop_requested", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "runmetric",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("train_loss", sa.Float(), nullable=True),
        sa.Column("val_loss", sa.Float(), nullable=True),
        sa.Column("tokens_per_second", sa.Float(), nullable=True),
        sa.Column("learning_rate", sa.Float(), nullable=True),
        sa.Column("wall_seconds", sa.Float(), nullable=True),
        sa.Column("sample", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_runmetric_run_id", "runmetric", ["run_id"], unique=False)
    op.create_table(
        "modelentry",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("base", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("metrics", sa.String(), nullable=False),
        sa.Column("card", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "evaluation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=120), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("data_path", sa.String(), nullable=False),
        sa.Column("metrics", sa.String(), nullable=False),
        sa.Column("command", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evaluation_model_id", "evaluation", ["model_id"], unique=False)
    op.create_table(
        "useraccelerator",
        sa.Column("accelerator_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("bf16_tflops_dense", sa.Float(), nullable=False),
        sa.Column("memory_gib", sa.Float(), nullable=False),
        sa.Column("bandwidth_tbs", sa.Float(), nullable=False),
        sa.Column("board_power_w", sa.Float(), nullable=True),
        sa.Column("usd_per_accelerator_hour", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("accelerator_id"),
    )
    op.create_table(
        "usertrainingrun",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("params_b", sa.Float(), nullable=False),
        sa.Column("tokens_b", sa.Float(), nullable=False),
        sa.Column("accelerator_id", sa.String(length=64), nullable=False),
        sa.Column("accelerator_count", sa.Integer(), nullable=True),
        sa.Column("reported_accelerator_hours", sa.Float(), nullable=True),
        sa.Column("reported_days", sa.Float(), nullable=True),
        sa.Column("reported_mfu", sa.Float(), nullable=True),
        sa.Column("reported_tokens_per_s_per_accelerator", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )


def downgrade() -> None:
    for table in ("usertrainingrun", "useraccelerator", "evaluation", "modelentry", "runmetric", "trainingrun",
                  "scenario"):
        op.drop_table(table)
