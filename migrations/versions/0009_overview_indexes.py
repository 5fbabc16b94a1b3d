"""indexes for the overviews: the failed captures of a run, the captures that found a change, sources by language

`archiver runs` and the web dashboard count each run's failed captures, and the dashboard lists
the changes found since a day; on a million captures both read every capture row without these
partial indexes. The web interface's sources table counts and filters sources by language.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 16:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

FAILED = "error IS NOT NULL OR verdict IS NULL OR verdict = 'unreachable'"
CHANGED = "verdict IN ('altered', 'moved', 'deleted')"


def upgrade() -> None:
    for name, columns, where in (("ix_captures_failed_run", ["run_id"], FAILED),
                                 ("ix_captures_changed_started", ["started_at"], CHANGED)):
        op.create_index(name, "captures", columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where))
    op.create_index("ix_sources_lang", "sources", ["lang"])


def downgrade() -> None:
    op.drop_index("ix_sources_lang", table_name="sources")
    op.drop_index("ix_captures_changed_started", table_name="captures")
    op.drop_index("ix_captures_failed_run", table_name="captures")
