"""Claims, data points and citations through the `archiver` entry point: ids, validation, idempotency."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from archiver.db import open_database
from archiver.models import Source
from evidence.claims import EvidenceError, check_coordinates, check_date, slugify
from evidence.models import Citation, Claim, DataPoint, QuoteCheck

PAGE = """<html><head><title>Camera deal</title></head><body><article><h1>Camera deal</h1>
<p>The bureau said on Friday that the contract covers the installation of 1,200 high-definition cameras across
the four districts of the city, linked to a central command platform.</p>
<p>The deal is worth 86 million yuan according to a procurement notice published by the city government.</p>
</article></body></html>"""


def count(db_url, model) -> int:
    with open_database(db_url)() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_claim_add_makes_a_readable_id_and_is_idempotent(cli):
    first = cli("claim", "add", "Hikvision supplied cameras for mosques in Xinjiang", "--tag", "hikvision",
                "--tag", "xinjiang;mosques", "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert data == {"id": "hikvision-supplied-cameras-for-mosques-in-xinjiang",
                    "text": "Hikvision supplied cameras for mosques in Xinjiang",
                    "tags": ["hikvision", "xinjiang", "mosques"], "created": True}
    again = cli("claim", "add", "Hikvision supplied cameras for mosques in Xinjiang")
    assert again.exit_code == 0 and "already there" in again.output
    assert count(cli.db_url, Claim) == 1


def test_chinese_claims_get_distinct_ids(cli):
    a = json.loads(cli("claim", "add", "海康威视为新疆清真寺提供摄像头", "--json").output)
    b = json.loads(cli("claim", "add", "大华股份参与新疆监控项目", "--json").output)
    assert a["id"] != b["id"]
    listed = json.loads(cli("claim", "list", "--json").output)
    assert {row["text"] for row in listed} == {"海康威视为新疆清真寺提供摄像头", "大华股份参与新疆监控项目"}


def test_claim_id_conflicts_and_bad_ids_are_refused(cli):
    assert cli("claim", "add", "First text", "--id", "c1").exit_code == 0
    clash = cli("claim", "add", "Other text", "--id", "c1")
    assert clash.exit_code == 2
    assert "already exists with different text" in clash.output
    bad = cli("claim", "add", "Text", "--id", "has space")
    assert bad.exit_code == 2 and "may only hold" in bad.output
    assert count(cli.db_url, Claim) == 1


def test_claim_edit_changes_text_and_tags(cli):
    cli("claim", "add", "Old wording", "--id", "c1", "--tag", "a")
    assert cli("claim", "edit", "c1", "--text", "New wording", "--tag", "b", "--tag", "c").exit_code == 0
    rows = json.loads(cli("claim", "list", "--json").output)
    assert rows[0]["text"] == "New wording" and rows[0]["tags"] == ["b", "c"]
    assert cli("claim", "edit", "c1", "--no-tags").exit_code == 0
    assert json.loads(cli("claim", "list", "--json").output)[0]["tags"] == []
    missing = cli("claim", "edit", "nope", "--text", "x")
    assert missing.exit_code == 2 and "unknown claim id 'nope'" in missing.output


def test_datapoint_add_validates_fields(cli):
    cli("claim", "add", "CloudWalk signed with Zimbabwe", "--id", "cw")
    ok = cli("datapoint", "add", "--entity", "CloudWalk", "--country", "Zimbabwe", "--category",
             "surveillance relationship", "--place", "Harare", "--lat", "-17.8292", "--lon", "31.0522",
             "--date", "2018-03", "--claim", "cw", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["id"] == "dp-cloudwalk-zimbabwe-harare"
    for args, message in [
        (("--lat", "91", "--lon", "0"), "latitude 91 is out of range"),
        (("--lat", "10", "--lon", "-181"), "longitude -181 is out of range"),
        (("--lat", "10"), "give both latitude and longitude"),
        (("--lat", "north", "--lon", "1"), "latitude 'north' is not a number"),
        (("--date", "2018-13"), "bad date '2018-13'"),
        (("--date", "March 2018"), "bad date"),
        (("--claim", "nope"), "unknown claim id 'nope'"),
    ]:
        result = cli("datapoint", "add", "--entity", "X", *args)
        assert result.exit_code == 2, args
        assert message in result.output, (args, result.output)
    points = json.loads(cli("datapoint", "list", "--json").output)
    assert len(points) == 1
    assert points[0]["latitude"] == -17.8292 and points[0]["claim_id"] == "cw"


def test_cite_tracks_new_urls_once_and_validates(cli):
    cli("claim", "add", "A claim", "--id", "c1")
    first = cli("cite", "c1", "HTTP://Example.COM/page#top", "--quote", "a passage", "--accessed", "2019-05-02",
                "--note", "fn 12", "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert data["created"] and data["source_created"] and data["url"] == "http://example.com/page"
    again = cli("cite", "c1", "http://example.com/page", "--quote", "a passage")
    assert again.exit_code == 0 and "already cited" in again.output
    updated = json.loads(cli("cite", "c1", "http://example.com/page", "--quote", "a passage", "--note", "fn 13",
                             "--json").output)
    assert updated["updated"] == ["note"] and not updated["created"]
    assert count(cli.db_url, Citation) == 1 and count(cli.db_url, Source) == 1
    for args, message in [
        (("nope", "http://example.com/"), "unknown claim or data point id 'nope'"),
        (("c1", "ftp://example.com/x"), "bad URL"),
        (("c1", "not a url"), "bad URL"),
        (("c1", "http://example.com/", "--accessed", "02/05/2019"), "bad accessed date"),
    ]:
        result = cli("cite", *args)
        assert result.exit_code == 2, args
        assert message in result.output, (args, result.output)
    assert count(cli.db_url, Citation) == 1 and count(cli.db_url, Source) == 1


def test_cite_a_data_point_and_settle_an_ambiguous_id(cli):
    cli("claim", "add", "Shared id", "--id", "x1")
    cli("datapoint", "add", "--entity", "Huawei", "--country", "Ecuador", "--id", "x1")
    ambiguous = cli("cite", "x1", "http://example.com/a")
    assert ambiguous.exit_code == 2 and "datapoint:x1" in ambiguous.output
    assert cli("cite", "datapoint:x1", "http://example.com/a").exit_code == 0
    with open_database(cli.db_url)() as session:
        citation = session.scalars(select(Citation)).one()
        assert (citation.claim_id, citation.datapoint_id) == (None, "x1")


def test_cite_checks_the_quote_at_once_against_existing_captures(cli, site):
    url = site.set("/deal.html", PAGE)
    cli("add", url)
    assert cli("run", "--all").exit_code == 0
    cli("claim", "add", "The deal covers 1,200 cameras", "--id", "deal")
    present = json.loads(cli("cite", "deal", url, "--quote", "covers the installation of 1,200 high-definition "
                                                             "cameras", "--json").output)
    assert present["quote_status"] == "present"
    wrong = json.loads(cli("cite", "deal", url, "--quote", "installation of 1,500 high-definition cameras",
                           "--json").output)
    assert wrong["quote_status"] == "missing"
    with open_database(cli.db_url)() as session:
        checks = session.scalars(select(QuoteCheck).order_by(QuoteCheck.id)).all()
        assert [c.status for c in checks] == ["present", "missing"]
        assert "'1,500' -> '1,200'" in checks[1].detail
        assert checks[1].closest == "installation of 1,200 high-definition cameras"


def test_validators():
    assert check_date("2019") == "2019" and check_date("2019-02-28") == "2019-02-28" and check_date(" ") is None
    with pytest.raises(EvidenceError):
        check_date("2019-02-30")
    assert check_coordinates("", None) == (None, None)
    assert check_coordinates("-90", "180") == (-90.0, 180.0)
    with pytest.raises(EvidenceError):
        check_coordinates("nan", "1")
    assert slugify("Huawei’s “Safe City” in Nairobi!") == "huaweis-safe-city-in-nairobi"
    assert slugify("华为") != slugify("中兴") and len(slugify("华为")) == 8


def test_datapoint_with_same_id_and_fields_is_idempotent(cli):
    args = ("datapoint", "add", "--entity", "ZTE", "--country", "Venezuela", "--id", "dp-zte-ve")
    assert cli(*args).exit_code == 0
    assert "already there" in cli(*args).output
    clash = cli("datapoint", "add", "--entity", "ZTE", "--country", "Bolivia", "--id", "dp-zte-ve")
    assert clash.exit_code == 2 and "different fields" in clash.output
    assert count(cli.db_url, DataPoint) == 1
