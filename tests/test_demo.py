"""`archiver demo` end to end: the bundled site, two capture passes, the status table and a report."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from archiver.cli import main
from archiver.db import open_database
from archiver.models import Capture, Source
from archiver.readdb import Reader
from archiver.screenshots import screenshots_for
from evidence.demo import DELETED, REDIRECTED, demo_root
from evidence.report import claim_report


def test_demo_site_is_bundled_with_english_chinese_and_gbk_pages():
    root = demo_root()
    pages = sorted(p.relative_to(root / "site").as_posix() for p in (root / "site").rglob("*.html"))
    assert "zh/gonggao.html" in pages and "en/camera-contract.html" in pages
    gbk = (root / "site" / "zh" / "gonggao.html").read_bytes()
    assert b'charset=gbk' in gbk and "共安装高清摄像头1200台".encode("gbk") in gbk
    for path in (*DELETED, *REDIRECTED):
        assert (root / "site" / path.lstrip("/")).exists()
    assert "{site}/" in (root / "bibliography.csv").read_text(encoding="utf-8")


def screenshot_line(out: str):
    from pathlib import Path

    line = next(line for line in out.splitlines() if line.startswith("Screenshot of the rendered portal page: "))
    return Path(line.split(": ", 1)[1])


def test_demo_runs_offline_and_tells_the_whole_story(tmp_path, monkeypatch):
    users_own = tmp_path / "my-research.db"
    monkeypatch.setenv("ARCHIVER_DATABASE_URL", f"sqlite:///{users_own}")
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(main, ["demo", "--db", str(db)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "imported 8 sources, 6 claims, 2 data points, 9 citations" in out
    assert "First capture pass: 8 new." in out
    assert "Second capture pass: 1 altered, 3 deleted, 4 unchanged." in out
    assert "captured with a browser (rendered), screenshot 1280x" in out
    assert "ok         example-vision-command-platform" in out, "the quote is found in the rendered text"
    assert "# Citation report: northgate-camera-contract" in out
    assert "MISSING since" in out and "'1,200' -> '1,800'" in out
    assert "共安装高清摄像头1200台" in out
    assert "ok         northgate-safe-city-mou" in out
    assert out.index("example-vision-exports:") < out.index("northgate-safe-city-mou:")
    assert f"\nDatabase: {db}\n" in out and "object at 0x" not in out

    sessions = open_database(f"sqlite:///{db}")
    with sessions() as session:
        states = {s.url.split("/", 3)[3]: s.state for s in session.scalars(select(Source))}
        assert states == {
            "en/camera-contract.html": "altered",
            "zh/gonggao.html": "unchanged",
            "en/safe-city-mou.html": "unchanged",
            "zh/zhihui-chengshi.html": "unchanged",
            "en/lab-opening.html": "deleted",
            "en/partnership.html": "deleted",
            "zh/hezuo-xieyi.html": "deleted",
            "award.html": "unchanged",
        }
        portal = next(s for s in session.scalars(select(Source)) if s.url.endswith("/award.html"))
        rendered = session.get(Capture, portal.last_capture_id)
        assert rendered.rendered_sha256 and screenshots_for(session, rendered.id)
        supports = {c.url.split("/", 3)[3]: c.support
                    for name in ("northgate-camera-contract", "example-vision-police-partnership",
                                 "example-vision-exports", "northgate-safe-city-mou")
                    for c in claim_report(Reader.of_session(session), name).citations}
    assert supports["en/camera-contract.html"] == "archive"
    assert supports["zh/gonggao.html"] == "live"
    assert supports["zh/hezuo-xieyi.html"] == "archive"
    assert supports["zh/zhihui-chengshi.html"] == "live"
    assert not users_own.exists() and not (tmp_path / "archive.db").exists()
    report = (tmp_path / "demo-report.html").read_text(encoding="utf-8")
    assert "data-originalurl=" in report and "共安装高清摄像头1200台" in report
    shot = screenshot_line(out)
    assert f'<img class="thumb" src="screenshots/{shot.name}"' in report and shot.read_bytes().startswith(b"\x89PNG")
    assert 'url = "sqlite:///' in (tmp_path / "demo-config.toml").read_text(encoding="utf-8")
    again = CliRunner().invoke(main, ["demo", "--db", str(db)])
    assert again.exit_code == 2 and "already exists" in again.output
