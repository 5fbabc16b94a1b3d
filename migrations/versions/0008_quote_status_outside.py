"""quote checks may record "present (outside the main text)": now done by the `evidence` branch

The evidence tables have their own migration branch; this revision stays, empty, so that a
database made before the split, which records it, still finds its place in the chain.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:30:00
"""


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
