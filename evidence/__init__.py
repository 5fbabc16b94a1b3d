"""Evidence: claims and data points, the citations that back them, quote checks and citation reports.

Builds on `archiver` (sources and captures); `archiver` never imports from here.

The package's error and its shared vocabulary are defined here, not in the modules that write
with the ORM (evidence.claims, evidence.checks), because the CLI module and the reports need
them without loading SQLAlchemy.
"""

# Live captures whose text is the page as it stands (checked for quotes; the page "supports live").
LIVE_GOOD = ("new", "unchanged", "altered", "moved")
# Quote statuses that say the page shows the quote (archiver.quotes.PRESENT_STATUSES, repeated
# here so that the reports need not load the quote matcher).
PRESENT_STATUSES = ("present", "present (outside the main text)")
# Capture origins that are archive evidence, never the live page.
ARCHIVE_ORIGINS = ("wayback", "warc")

CATEGORIES = (
    "5G relationship",
    "smart city/public security",
    "surveillance relationship",
    "R&D lab",
    "university partnership",
    "data centre",
    "undersea cable",
    "telecommunications/ICT project",
)


class EvidenceError(ValueError):
    """Input that cannot be stored: unknown id, bad date, coordinates out of range, bad URL..."""
