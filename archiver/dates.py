"""How dates and times are shown to people: one format in every command, report and message.

Every time in the store is UTC, and is shown in UTC as "2024-05-01 10:00" (with " UTC" where a
reader outside the archiver sees it: reports, digests, sentences). Scripts get ISO 8601 in
`--json` instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

MINUTES = "%Y-%m-%d %H:%M"
SECONDS = "%Y-%m-%d %H:%M:%S"


def _parsed(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def when(value: datetime | str | None, *, seconds: bool = False, utc: bool = False, missing: str = "-") -> str:
    """A moment (a datetime, or ISO 8601 text) as "2024-05-01 10:00" in UTC; `seconds` adds them,
    `utc` appends " UTC"; `missing` for None."""
    moment = _parsed(value)
    if moment is None:
        return missing
    return moment.strftime(SECONDS if seconds else MINUTES) + (" UTC" if utc else "")


def wayback_timestamp(value: datetime) -> str:
    """YYYYMMDDhhmmss in UTC, the Wayback Machine's way of writing a moment."""
    return value.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def day(value: datetime | str | None, *, missing: str = "") -> str:
    """The UTC day of a moment: "2024-05-01"; `missing` for None."""
    moment = _parsed(value)
    return moment.strftime("%Y-%m-%d") if moment else missing
