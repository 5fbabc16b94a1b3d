"""`archiver status` on an archive larger than a screen: the table stops at a sensible number of
rows, problems first; `--json` stays the whole list in the order added (a stable interface)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import update

from archiver.cli.app import console
from archiver.cli.sources import PROBLEM_STATES, TABLE_LIMIT
from archiver.db import open_database
from archiver.models import Source, utcnow
from archiver.sources import add_source
from tests.conftest import make_cli

TOTAL = TABLE_LIMIT + 30
# id -> state for a few sources; the rest are unchanged. Problems sit late in the list, so a
# table in the order added would not show them.
STATES = {TOTAL - 1: "deleted", TOTAL - 5: "altered", 40: "deleted", TOTAL: "unreachable", TOTAL - 9: "moved",
          7: "pending", 8: "new"}


def url(i: int) -> str:
    return f"http://example.com/p{i:04d}"


@pytest.fixture
def archive(tmp_path, monkeypatch, db_url):
    """TOTAL sources in the states of STATES, on SQLite and (when configured) PostgreSQL."""
    cli = make_cli(tmp_path, monkeypatch, db_url)
    monkeypatch.setattr(console, "width", 250)
    sessions = open_database(cli.db_url)
    with sessions.begin() as session:
        for i in range(1, TOTAL + 1):
            add_source(session, url(i))
    with sessions.begin() as session:
        session.execute(update(Source).values(state="unchanged", state_since=utcnow()))
        for i, state in STATES.items():
            session.execute(update(Source).where(Source.url == url(i)).values(state=state))
    sessions.kw["bind"].dispose()
    return cli


def table_urls(output: str) -> list[str]:
    return re.findall(r"http://example\.com/p\d{4}", output)


def expected_table_order() -> list[str]:
    problems = [url(i) for state in PROBLEM_STATES for i in sorted(STATES) if STATES[i] == state]
    return problems + [url(i) for i in range(1, TOTAL + 1) if STATES.get(i) not in PROBLEM_STATES]


def test_table_stops_at_the_default_limit_with_problems_first(archive):
    result = archive("status")
    assert result.exit_code == 0, result.output
    shown = table_urls(result.output)
    assert shown == expected_table_order()[:TABLE_LIMIT]
    assert shown[:5] == [url(40), url(TOTAL - 1), url(TOTAL - 5), url(TOTAL - 9), url(TOTAL)]
    assert f"... and {TOTAL - TABLE_LIMIT:,} more (use --limit N or --all to see them, --json for scripts)" in result.output
    assert f"{TOTAL} sources:" in result.output


def test_all_and_limit(archive):
    everything = archive("status", "--all")
    assert everything.exit_code == 0
    assert table_urls(everything.output) == expected_table_order()
    assert "more (use --limit" not in everything.output

    few = archive("status", "--limit", "3")
    assert table_urls(few.output) == expected_table_order()[:3]
    assert f"... and {TOTAL - 3:,} more" in few.output

    both = archive("status", "--all", "--limit", "3")
    assert both.exit_code == 2
    assert "not both" in both.output


def test_state_filter_counts_what_it_hides(archive):
    deleted = archive("status", "--state", "deleted", "--limit", "1")
    assert table_urls(deleted.output) == [url(40)]
    assert "... and 1 more" in deleted.output
    unchanged = archive("status", "--state", "unchanged")
    assert len(table_urls(unchanged.output)) == TABLE_LIMIT
    assert f"... and {TOTAL - len(STATES) - TABLE_LIMIT:,} more" in unchanged.output


def test_json_is_every_source_in_the_order_added(archive):
    rows = json.loads(archive("status", "--json").output)
    assert [row["url"] for row in rows] == [url(i) for i in range(1, TOTAL + 1)]
    assert rows[39]["state"] == "deleted"
    limited = json.loads(archive("status", "--json", "--limit", "5").output)
    assert [row["url"] for row in limited] == [url(i) for i in range(1, 6)]
    deleted = json.loads(archive("status", "--json", "--state", "deleted").output)
    assert [row["url"] for row in deleted] == [url(40), url(TOTAL - 1)]


def test_a_small_archive_shows_everything_without_a_more_line(cli, monkeypatch):
    monkeypatch.setattr(console, "width", 250)
    cli("add", url(1))
    result = cli("status")
    assert table_urls(result.output) == [url(1)]
    assert "more (use" not in result.output


def test_lines_are_aligned_and_notes_cut_to_a_terminal_width():
    import click

    from archiver.cli.sources import status_lines
    from archiver.sources import SourceRow

    def lines(width):
        return [click.unstyle(line) for line in status_lines(rows, width)]

    since = utcnow()
    rows = [SourceRow(1, url(1), "deleted", since, "status 200, but the text says 页面不存在" * 3, None, since, None, 2,
                      None, None, "zh"),
            SourceRow(2, url(22), "unchanged", since, None, None, since, None, 12, None, None, "en")]
    whole = lines(None)
    assert [line.split()[0] for line in whole] == ["state", "deleted", "unchanged"]
    assert len({line.index("http") for line in whole[1:]}) == 1
    assert whole[1].endswith("页面不存在") and whole[2].endswith(url(22))
    cut = lines(120)
    assert cut[1].endswith("…") and cut[1].startswith(whole[1][:90])
    assert sum(2 if "\u4e00" <= c <= "\u9fff" else 1 for c in cut[1]) <= 120
    assert lines(60) == whole  # too narrow to cut: the terminal wraps the note
