"""Revision 0002: every scenario, training run, registered model and evaluation has an owner.

Adds `owner` (the acting user's id: an e-mail with sign-in, the local user's name without) and
`shared` (visible read-only to the whole team) to the four tables. Rows that existed before are
given to the local user of the machine that upgrades (`OPPLAB_USER`, default "local"), unshared.
Scenario names become unique per owner instead of globally (two people may both have "Base case").

Downgrade drops both columns and restores the global unique name; it fails, changing nothing
(one transaction on PostgreSQL; SQLite's batch copy is discarded), when two owners have
scenarios with the same name: rename one first.
"""
import sqlalchemy as sa
from alembic import op

from core.config import get_settings

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("scenario", "trainingrun", "modelentry", "evaluation")


def upgrade() -> None:
    local = get_settings().local_user
    for table in TABLES:
        op.add_column(table, sa.Column("owner", sa.String(length=254), nullable=False, server_default=""))
        op.add_column(table, sa.Column("shared", sa.Boolean(), nullable=False, server_default=sa.false()))
        op.execute(sa.text(f"UPDATE {table} SET owner = :owner").bindparams(owner=local))  # table: a constant
        op.create_index(f"ix_{table}_owner", table, ["owner"], unique=False)
    op.drop_index("ix_scenario_name", table_name="scenario")
    op.create_index("ix_scenario_name", "scenario", ["name"], unique=False)
    op.create_index("ux_scenario_owner_name", "scenario", ["owner", "name"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_scenario_owner_name", table_name="scenario")
    op.drop_index("ix_scenario_name", table_name="scenario")
    op.create_index("ix_scenario_name", "scenario", ["name"], unique=True)
    for table in TABLES:
        op.drop_index(f"ix_{table}_owner", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("shared")
            batch.drop_column("owner")
