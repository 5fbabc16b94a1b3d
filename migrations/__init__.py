"""Alembic migrations: the only way the schema changes. Applied automatically on open.

Each branch of the schema has its own folder of revisions (Alembic's `version_locations`):
`versions/` holds the archiver's (branch label `archiver`), `evidence/` the evidence
package's (branch label `evidence`, whose first revision depends on the archiver's first).
The archiver's revisions never name another branch's tables.
"""

from pathlib import Path

VERSION_FOLDERS = ("versions", "evidence")
VERSION_DIRS = tuple(Path(__file__).parent / name for name in VERSION_FOLDERS)
