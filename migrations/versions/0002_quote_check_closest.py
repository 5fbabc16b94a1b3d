"""quote checks keep the closest passage when a quote is missing: now done by the `evidence` branch

The evidence tables have their own migration branch; this revision stays, empty, so that a
database made before the split, which records it, still finds its place in the chain.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:00:00
"""


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
